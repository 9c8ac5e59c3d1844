# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Register the NVIDIA runtime with containerd, CRI-O and Docker without rewriting their files.

This runs on the managed host with its own python3, so it uses the standard library only.
containerd gets a drop-in (conf.d/99-nvidia.toml) plus one ``imports`` entry spliced into the
user's config.toml as text; CRI-O gets a drop-in; Docker's daemon.json is edited key by key.
Reading TOML needs tomllib (Python 3.11+) or tomli; without either, files that have nothing to
carry over are still handled and the rest fail with a message saying what is missing.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import math
import os
import re
import tempfile

try:
    import tomllib as _toml_reader
except ImportError:  # Python < 3.11
    try:
        import tomli as _toml_reader
    except ImportError:
        _toml_reader = None

HAS_TOML_READER = _toml_reader is not None

RUNTIMES = ("containerd", "crio", "docker")


def runtime_arg_spec():
    """Where and how the NVIDIA runtime is registered: the options container_runtime_nvidia writes by and
    nvidia_host_verify checks by (a fresh dict per call: AnsibleModule fills defaults into what it gets)."""
    return dict(
        runtimes=dict(type="list", elements="str", choices=list(RUNTIMES), required=True),
        runtime_name=dict(type="str", default="nvidia"),
        runtime_path=dict(type="path", default="/usr/bin/nvidia-container-runtime"),
        set_as_default=dict(type="bool", default=False),
        containerd_config=dict(type="path", default="/etc/containerd/config.toml"),
        containerd_drop_in=dict(type="path", default="/etc/containerd/conf.d/99-nvidia.toml"),
        containerd_config_version=dict(type="int", choices=[2, 3]),
        crio_drop_in=dict(type="path", default="/etc/crio/crio.conf.d/99-nvidia.toml"),
        docker_config=dict(type="path", default="/etc/docker/daemon.json"),
    )


# CRI runtime plugin per containerd config version (2: containerd 1.x, 3: containerd 2.x).
CRI_PLUGINS = {2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}

# containerd 1.x replaces a whole plugin table with an imported one instead of merging it key by
# key (seen with Debian's 1.6.20 and 1.7.24; 2.x merges them), so there the drop-in must carry the
# user's CRI plugin table along.
CONTAINERD_DEEP_MERGE_SINCE = (2, 0)

MANAGED_HEADER = (
    "# Managed by hymt.gpu_mesh (role nvidia_container_toolkit): registers the NVIDIA runtime.\n"
    "# Changes here are overwritten; change the role's variables instead.\n"
)
CARRY_NOTE = (
    "# containerd 1.x replaces a whole plugin table on import, so this file also carries the\n"
    "# CRI plugin settings of {config}: edit them there and rerun the role.\n"
)


class RuntimeConfigError(Exception):
    """A runtime configuration cannot be edited safely; the message says why."""


# --- TOML reading -------------------------------------------------------------------------------


def load_toml(text, path):
    """Parse TOML text; the error names the file. Needs HAS_TOML_READER."""
    if _toml_reader is None:
        raise RuntimeConfigError(
            "Failed to read %s: this host's Python has no TOML reader (tomllib needs Python 3.11+; "
            "or install the tomli package)" % path
        )
    try:
        return _toml_reader.loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError, tomli's own class
        raise RuntimeConfigError("Failed to parse %s as TOML: %s" % (path, exc))


# --- TOML writing: enough for containerd's plugin tables ----------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_key(key):
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(value):
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join("%s = %s" % (_toml_key(k), _toml_value(v)) for k, v in value.items()) + "}"
    raise RuntimeConfigError("Failed to write TOML: unsupported value %r" % (value,))


def _is_table_array(value):
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def dump_toml(data):
    """Serialise nested dicts the way tomllib reads them back (round trip tested)."""
    lines = []
    _dump_table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _dump_table(table, path, lines, header="[%s]"):
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    arrays = [(k, v) for k, v in table.items() if _is_table_array(v)]
    # A header is written for every table that holds values, or that is empty and would vanish.
    if path and (scalars or not (tables or arrays) or header != "[%s]"):
        lines.append("")
        lines.append(header % ".".join(_toml_key(p) for p in path))
    for key, value in scalars:
        lines.append("%s = %s" % (_toml_key(key), _toml_value(value)))
    for key, value in tables:
        _dump_table(value, path + [key], lines)
    for key, value in arrays:
        for item in value:
            _dump_table(item, path + [key], lines, header="[[%s]]")


# --- TOML text scanning: find the root ``imports`` array without rewriting the file -------------


def _skip_string(text, i):
    """Return the index after the string starting at text[i] (a quote)."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        j = i + 3
        while j < len(text):
            if quote == '"' and text[j] == "\\":
                j += 2
                continue
            if text.startswith(quote * 3, j):
                end = j + 3
                # Up to two quotes may end the content right before the delimiter.
                while end < len(text) and text[end] == quote and end - j < 5:
                    end += 1
                return end
            j += 1
        raise RuntimeConfigError("unterminated multi-line string")
    j = i + 1
    while j < len(text) and text[j] != "\n":
        if quote == '"' and text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    raise RuntimeConfigError("unterminated string")


def _skip_blank(text, i):
    """Skip whitespace, newlines and comments (as allowed inside arrays)."""
    while i < len(text):
        if text[i] in " \t\r\n":
            i += 1
        elif text[i] == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        else:
            break
    return i


def _skip_value(text, i):
    """Return (end, elements) for the value at text[i]; elements are (start, end) of an array's items."""
    char = text[i] if i < len(text) else ""
    if char in "\"'":
        return _skip_string(text, i), None
    if char == "[":
        elements = []
        j = _skip_blank(text, i + 1)
        while j < len(text) and text[j] != "]":
            end = _skip_value(text, j)[0]
            elements.append((j, end))
            j = _skip_blank(text, end)
            if j < len(text) and text[j] == ",":
                j = _skip_blank(text, j + 1)
            elif j < len(text) and text[j] != "]":
                raise RuntimeConfigError("malformed array")
        if j >= len(text):
            raise RuntimeConfigError("unterminated array")
        return j + 1, elements
    if char == "{":
        j = i + 1
        while j < len(text) and text[j] != "}":
            if text[j] in "\"'":
                j = _skip_string(text, j)
            elif text[j] in "[{":
                j = _skip_value(text, j)[0]
            else:
                j += 1
        if j >= len(text):
            raise RuntimeConfigError("unterminated inline table")
        return j + 1, None
    j = i
    while j < len(text) and text[j] not in ",]}#\n":
        j += 1
    while j > i and text[j - 1] in " \t\r":
        j -= 1
    if j == i:
        raise RuntimeConfigError("missing value")
    return j, None


def scan_root(text):
    """Return (root_keys, first_table_offset) of a TOML document.

    root_keys maps each root-level key (as written, unquoted when simple) to a dict with the
    statement's ``start`` and end of line ``line_end``, and the value's ``value_start``,
    ``value_end`` and array ``elements``. first_table_offset is where the first table header
    starts (len(text) when there is none).
    """
    keys = {}
    i = 0
    n = len(text)
    while i < n:
        i = _skip_blank(text, i)
        if i >= n:
            break
        if text[i] == "[":
            return keys, i
        start = i
        while i < n and text[i] not in "=\n":
            if text[i] in "\"'":
                i = _skip_string(text, i)
            else:
                i += 1
        if i >= n or text[i] != "=":
            raise RuntimeConfigError("expected 'key = value' at offset %d" % start)
        key = text[start:i].strip()
        if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
            key = key[1:-1]
        value_start = i + 1
        while value_start < n and text[value_start] in " \t":
            value_start += 1
        value_end, elements = _skip_value(text, value_start)
        line_end = value_end
        while line_end < n and text[line_end] != "\n":
            line_end += 1
        keys[key] = {
            "start": start,
            "line_end": line_end,
            "value_start": value_start,
            "value_end": value_end,
            "elements": elements,
        }
        i = line_end
    return keys, n


def _scan(text, path):
    try:
        return scan_root(text)
    except RuntimeConfigError as exc:
        raise RuntimeConfigError("Failed to read %s: %s" % (path, exc))


def _import_covered(imports, drop_in):
    return any(entry == drop_in or fnmatch.fnmatchcase(drop_in, entry) for entry in imports)


def ensure_import(text, drop_in, version, path):
    """Return config.toml text that imports drop_in, changing nothing else.

    text is None for a missing file. An empty file (comments only) gets ``version`` too: without it
    containerd would read the file as config version 1.
    """
    if text is None:
        text = ""
    keys, first_table = _scan(text, path)
    entry = _toml_string(drop_in)
    if "imports" not in keys:
        line = "imports = [%s]\n" % entry
        if not keys and first_table == len(text):
            return text + ("" if text.endswith("\n") or not text else "\n") + "version = %d\n%s" % (version, line)
        if "version" in keys:
            # Right below the version line reads naturally and is still at root level.
            at = keys["version"]["line_end"] + 1
            return text[:at] + line + text[at:]
        return line + text
    found = keys["imports"]
    elements = found["elements"]
    if elements is None:
        raise RuntimeConfigError("Failed to edit %s: 'imports' is not an array" % path)
    current = []
    for start, end in elements:
        raw = text[start:end]
        if raw[:1] not in "\"'":
            raise RuntimeConfigError("Failed to edit %s: 'imports' holds a non-string entry %s" % (path, raw))
        current.append(_unquote(raw))
    if _import_covered(current, drop_in):
        return text
    if elements:
        at = elements[-1][1]
        return text[:at] + ", " + entry + text[at:]
    at = found["value_start"] + 1
    return text[:at] + entry + text[at:]


def _unquote(raw):
    if raw.startswith("'"):
        return raw.strip("'")
    return json.loads(raw) if not raw.startswith('"""') else raw[3:-3]


def root_scalar(text, key, path):
    """Read one simple root-level value (int or string) without a TOML library."""
    keys = _scan(text, path)[0]
    if key not in keys:
        return None
    raw = text[keys[key]["value_start"]:keys[key]["value_end"]]
    if re.match(r"^[+-]?[0-9_]+$", raw):
        return int(raw.replace("_", ""))
    if raw[:1] in "\"'":
        return _unquote(raw)
    return raw


def has_settings(text, path):
    """Whether a TOML document sets anything (comments and blank lines do not count)."""
    keys, first_table = _scan(text, path)
    return bool(keys) or first_table < len(text)


# --- containerd ---------------------------------------------------------------------------------


def parse_containerd_version(output):
    """(major, minor) from ``containerd --version`` output, or None."""
    match = re.search(r"\sv?(\d+)\.(\d+)\.\d+", output or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def detect_config_version(text, path, containerd_version, override=None):
    """The config version to write: the file's own, else one matching the installed containerd.

    A file with settings but no ``version`` is a version 1 file, which has no imports: refuse it.
    """
    if override:
        return override
    if text is not None and has_settings(text, path):
        version = root_scalar(text, "version", path)
        if version is None:
            raise RuntimeConfigError(
                "%s has no 'version' key, so containerd reads it as config version 1, which does not "
                "support imports; add 'version = 2' (containerd 1.x) after checking the file, or "
                "migrate it with 'containerd config migrate' (containerd 2.x)" % path
            )
        if version not in CRI_PLUGINS:
            raise RuntimeConfigError(
                "%s has config version %r; only versions 2 (containerd 1.x) and 3 (containerd 2.x) are supported"
                % (path, version)
            )
        return version
    if containerd_version and containerd_version[0] >= 2:
        return 3
    return 2


def _deep_merge(base, extra):
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def containerd_drop_in(cri_table, version, runtime_name, runtime_path, set_as_default, carry, config_path):
    """Text of the containerd drop-in.

    cri_table is the CRI plugin table of config.toml ({} when it has none). The NVIDIA runtime
    starts as a copy of the default low-level runtime (so settings such as SystemdCgroup match
    the kubelet's), with its binary replaced. With carry, the whole CRI table is included too.
    """
    containerd = cri_table.get("containerd", {})
    runtimes = containerd.get("runtimes", {})
    base_name = containerd.get("default_runtime_name")
    if base_name in (None, runtime_name) or base_name not in runtimes:
        base_name = "runc" if "runc" in runtimes else "crun"
    runtime = _deep_merge(runtimes.get(base_name, {}), runtimes.get(runtime_name, {}))
    runtime.setdefault("runtime_type", "io.containerd.runc.v2")
    runtime["options"] = _deep_merge(runtime.get("options", {}), {"BinaryName": runtime_path})
    ours = {"containerd": {"runtimes": {runtime_name: runtime}}}
    if set_as_default:
        ours["containerd"]["default_runtime_name"] = runtime_name
    table = _deep_merge(cri_table, ours) if carry else ours
    document = {"version": version, "plugins": {CRI_PLUGINS[version]: table}}
    note = CARRY_NOTE.format(config=config_path) if carry else ""
    return MANAGED_HEADER + note + "\n" + dump_toml(document)


def plan_containerd(config_text, containerd_version, params):
    """Return (config_after, drop_in_after, version) for containerd; texts None mean 'absent'."""
    config_path = params["containerd_config"]
    drop_in = params["containerd_drop_in"]
    version = detect_config_version(config_text, config_path, containerd_version, params.get("containerd_config_version"))
    plugin = CRI_PLUGINS[version]
    carry = containerd_version is None or tuple(containerd_version) < CONTAINERD_DEEP_MERGE_SINCE
    cri_table = {}
    if config_text is not None and (plugin in config_text or HAS_TOML_READER):
        parsed = load_toml(config_text, config_path)
        cri_table = parsed.get("plugins", {}).get(plugin, {})
        if not isinstance(cri_table, dict):
            raise RuntimeConfigError("%s: plugins.%s is not a table" % (config_path, plugin))
    config_after = ensure_import(config_text, drop_in, version, config_path)
    if HAS_TOML_READER and config_text is not None and config_after != config_text:
        _check_only_imports_changed(config_text, config_after, drop_in, config_path)
    drop_in_after = containerd_drop_in(
        cri_table, version, params["runtime_name"], params["runtime_path"], params["set_as_default"], carry, config_path
    )
    return config_after, drop_in_after, version


def _check_only_imports_changed(before, after, drop_in, path):
    """Guard the text splice: the result must parse to the old document plus one import."""
    old = load_toml(before, path)
    new = load_toml(after, path)
    expected = dict(old)
    expected["imports"] = list(old.get("imports", [])) + [drop_in]
    if not old:
        expected.setdefault("version", new.get("version"))
    if new != expected:
        raise RuntimeConfigError("Failed to add the import to %s safely; the file was left unchanged" % path)


def check_containerd_dump(dump, version, runtime_name, runtime_path):
    """Raise unless ``containerd config dump`` output shows the NVIDIA runtime as configured."""
    plugin = CRI_PLUGINS[version]
    if HAS_TOML_READER:
        data = load_toml(dump, "the output of 'containerd config dump'")
        runtime = data.get("plugins", {}).get(plugin, {}).get("containerd", {}).get("runtimes", {}).get(runtime_name, {})
        found = runtime.get("options", {}).get("BinaryName")
    else:
        header = '[plugins."%s".containerd.runtimes.%s.options]' % (plugin, _toml_key(runtime_name))
        section = dump.split(header, 1)[1].split("[", 1)[0] if header in dump else ""
        found = runtime_path if ("BinaryName = %s" % _toml_string(runtime_path)) in section else None
    if found != runtime_path:
        raise RuntimeConfigError(
            "containerd loaded the configuration but its runtime '%s' has BinaryName %r, not %r: "
            "the drop-in is not in effect" % (runtime_name, found, runtime_path)
        )


# --- CRI-O --------------------------------------------------------------------------------------


def crio_drop_in(runtime_name, runtime_path, set_as_default):
    """CRI-O merges drop-ins key by key, so this file holds only the NVIDIA runtime."""
    runtime = {"runtimes": {runtime_name: {"runtime_path": runtime_path, "runtime_type": "oci"}}}
    if set_as_default:
        runtime = {"default_runtime": runtime_name, "runtimes": runtime["runtimes"]}
    document = {"crio": {"runtime": runtime}}
    return MANAGED_HEADER + "\n" + dump_toml(document)


# --- Docker -------------------------------------------------------------------------------------


def docker_daemon_json(text, runtime_name, runtime_path, set_as_default, path):
    """daemon.json text with the NVIDIA runtime set; unchanged text when nothing needs to change.

    Only ``runtimes.<name>.path`` and ``default-runtime`` are touched. Without set_as_default, a
    default-runtime pointing at the NVIDIA runtime is removed (the role owns that choice).
    """
    if text is None or not text.strip():
        data = {}
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RuntimeConfigError("Failed to parse %s as JSON: %s" % (path, exc))
        if not isinstance(data, dict):
            raise RuntimeConfigError("%s must hold a JSON object" % path)
    runtimes = data.get("runtimes", {})
    if not isinstance(runtimes, dict) or not isinstance(runtimes.get(runtime_name, {}), dict):
        raise RuntimeConfigError("%s: 'runtimes' and 'runtimes.%s' must be JSON objects" % (path, runtime_name))
    wanted = dict(data)
    entry = dict(runtimes.get(runtime_name) or [("args", [])])
    entry["path"] = runtime_path
    wanted["runtimes"] = dict(runtimes)
    wanted["runtimes"][runtime_name] = entry
    if set_as_default:
        wanted["default-runtime"] = runtime_name
    elif wanted.get("default-runtime") == runtime_name:
        del wanted["default-runtime"]
    if text is not None and wanted == data:
        return text
    return json.dumps(wanted, indent=4) + "\n"


# --- The whole plan -----------------------------------------------------------------------------


def plan(params, files, containerd_version):
    """Return a list of (runtime, path, before, after) for every file whose content must change.

    files maps each path this configuration reads to its text (None when missing). Also returns
    the containerd config version used (None when containerd is not configured).
    """
    changes = []
    version = None
    name, path = params["runtime_name"], params["runtime_path"]
    if "containerd" in params["runtimes"]:
        cfg, drop = params["containerd_config"], params["containerd_drop_in"]
        config_after, drop_after, version = plan_containerd(files.get(cfg), containerd_version, params)
        # The drop-in goes first: config.toml must not import a file that is not there yet.
        changes.append(("containerd", drop, files.get(drop), drop_after))
        changes.append(("containerd", cfg, files.get(cfg), config_after))
    if "crio" in params["runtimes"]:
        drop = params["crio_drop_in"]
        changes.append(("crio", drop, files.get(drop), crio_drop_in(name, path, params["set_as_default"])))
    if "docker" in params["runtimes"]:
        cfg = params["docker_config"]
        after = docker_daemon_json(files.get(cfg), name, path, params["set_as_default"], cfg)
        changes.append(("docker", cfg, files.get(cfg), after))
    return [change for change in changes if change[2] != change[3]], version


def read_paths(params):
    """The files plan() needs to read for these parameters."""
    paths = []
    if "containerd" in params["runtimes"]:
        paths += [params["containerd_config"], params["containerd_drop_in"]]
    if "crio" in params["runtimes"]:
        paths.append(params["crio_drop_in"])
    if "docker" in params["runtimes"]:
        paths.append(params["docker_config"])
    return paths


# --- On the host: read, write atomically, validate, roll back -----------------------------------

BINARIES = {"containerd": "containerd", "crio": "crio", "docker": "dockerd"}


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuntimeConfigError("Failed to read %s: %s" % (path, exc))


def _write(module, path, text):
    """Write text to path atomically (keeping an existing file's owner and mode), or remove it."""
    if text is None:
        os.remove(path)
        return
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".hymt-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    module.atomic_move(tmp, path)


def configure(module):
    """Probe, plan, write and validate in one call; return the module result (a dict)."""
    params = module.params
    if not re.match(r"^[A-Za-z0-9_.-]+$", params["runtime_name"]):
        raise RuntimeConfigError("runtime_name %r may hold only letters, digits, '.', '_' and '-'" % params["runtime_name"])
    if not os.path.exists(params["runtime_path"]):
        message = "runtime_path %s does not exist: install nvidia-container-toolkit first" % params["runtime_path"]
        if not module.check_mode:
            raise RuntimeConfigError(message)
        module.warn(message)
    binaries = {name: module.get_bin_path(binary) for name, binary in BINARIES.items()}
    containerd_version, containerd_version_text = None, None
    if binaries["containerd"]:
        rc, out, err = module.run_command([binaries["containerd"], "--version"])
        containerd_version = parse_containerd_version(out) if rc == 0 else None
        containerd_version_text = out.strip() or None
    files = dict((path, _read(path)) for path in read_paths(params))
    changes, config_version = plan(params, files, containerd_version)
    result = {
        "changed": bool(changes),
        "changed_runtimes": sorted(set(change[0] for change in changes)),
        "installed_runtimes": sorted(name for name, path in binaries.items() if path),
        "containerd_version": containerd_version_text,
        "containerd_config_version": config_version,
        "files": [change[1] for change in changes],
    }
    if module._diff:
        result["diff"] = [
            {"before_header": change[1], "after_header": change[1], "before": change[2] or "", "after": change[3] or ""}
            for change in changes
        ]
    if not changes or module.check_mode:
        return result
    written = []
    try:
        for change in changes:
            _write(module, change[1], change[3])
            written.append(change)
        if params["validate"] and binaries["containerd"] and "containerd" in result["changed_runtimes"]:
            _validate_containerd(module, binaries["containerd"], params, config_version)
    except (RuntimeConfigError, OSError) as exc:
        for change in reversed(written):
            _write(module, change[1], change[2])
        raise RuntimeConfigError("%s; the previous files were restored and nothing was restarted" % exc)
    return result


def _validate_containerd(module, binary, params, version):
    rc, out, err = module.run_command([binary, "--config", params["containerd_config"], "config", "dump"])
    if rc != 0:
        raise RuntimeConfigError(
            "containerd rejected the new configuration ('containerd config dump' exited %d: %s)" % (rc, (err or out).strip())
        )
    check_containerd_dump(out, version, params["runtime_name"], params["runtime_path"])
