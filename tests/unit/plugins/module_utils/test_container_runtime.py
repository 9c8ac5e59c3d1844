# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/container_runtime.py: version detection, imports splicing, drop-ins, daemon.json.

Results are checked by parsing them (tomllib, json) and by diffing against the user's text, never
against strings copied from the code. The containerd inputs are real captures from Debian's
containerd packages (see tests/unit/fixtures/container_runtime/README.md).
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import tomllib
from pathlib import Path

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import container_runtime as cr

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "container_runtime"
DEBIAN_CONFIG = (FIXTURES / "debian-containerd-config.toml").read_text()
V2 = "io.containerd.grpc.v1.cri"
V3 = "io.containerd.cri.v1.runtime"
DROP_IN = "/etc/containerd/conf.d/99-nvidia.toml"
RUNTIME = "/usr/bin/nvidia-container-runtime"

USER_CONFIG = """\
# Site containerd settings: owned by the platform team.
version = 2
root = "/srv/containerd"   # big disk

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.internal.example/pause:3.10"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["https://mirror.internal.example"]

[debug]
  level = "warn"
"""


def params(**overrides):
    values = {
        "runtimes": ["containerd"],
        "runtime_name": "nvidia",
        "runtime_path": RUNTIME,
        "set_as_default": False,
        "containerd_config": "/etc/containerd/config.toml",
        "containerd_drop_in": DROP_IN,
        "containerd_config_version": None,
        "crio_drop_in": "/etc/crio/crio.conf.d/99-nvidia.toml",
        "docker_config": "/etc/docker/daemon.json",
        "validate": True,
    }
    values.update(overrides)
    return values


def only_insertions(before, after):
    """True when after is before with text inserted and nothing removed or changed."""
    opcodes = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    return all(opcode[0] in ("equal", "insert") for opcode in opcodes)


@pytest.fixture
def no_toml_reader(monkeypatch):
    monkeypatch.setattr(cr, "_toml_reader", None)
    monkeypatch.setattr(cr, "HAS_TOML_READER", False)


# --- containerd version and config version ------------------------------------------------------


@pytest.mark.parametrize(
    "output, expected",
    [
        ((FIXTURES / "containerd-bookworm-version.txt").read_text(), (1, 6)),
        ((FIXTURES / "containerd-trixie-version.txt").read_text(), (1, 7)),
        ("containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da\n", (1, 7)),
        ("containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376\n", (2, 1)),
        ("", None),
        ("command not found", None),
    ],
)
def test_parse_containerd_version(output, expected):
    assert cr.parse_containerd_version(output) == expected


@pytest.mark.parametrize(
    "text, binary, override, expected",
    [
        (DEBIAN_CONFIG, (1, 6), None, 2),
        (DEBIAN_CONFIG, (2, 1), None, 2),  # the file's own version wins over the binary
        ('version = 3\n[plugins."io.containerd.cri.v1.images"]\n', (2, 0), None, 3),
        (None, (2, 0), None, 3),
        (None, (1, 7), None, 2),
        (None, None, None, 2),
        ("# only comments\n\n   # here\n", (2, 1), None, 3),
        (None, None, 3, 3),
    ],
)
def test_detect_config_version(text, binary, override, expected):
    assert cr.detect_config_version(text, "/etc/containerd/config.toml", binary, override) == expected


@pytest.mark.parametrize(
    "text, needle",
    [
        ('[plugins.cri]\n  systemd_cgroup = true\n', "no 'version' key"),
        ('root = "/var/lib/containerd"\n', "no 'version' key"),
        ("version = 1\n", "config version 1"),
        ("version = 4\n", "config version 4"),
    ],
)
def test_detect_config_version_refuses_what_has_no_imports(text, needle):
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.detect_config_version(text, "/etc/containerd/config.toml", (1, 7))
    assert needle in str(err.value)
    assert "/etc/containerd/config.toml" in str(err.value)


# --- imports splicing ---------------------------------------------------------------------------

IMPORT_CASES = {
    "debian": DEBIAN_CONFIG,
    "user": USER_CONFIG,
    "single-line imports": 'version = 2\nimports = ["/etc/containerd/other.toml"]\n\n[debug]\n  level = "info"\n',
    "multi-line imports with comments": (
        "version = 2\n"
        "imports = [\n"
        '  "/etc/containerd/a.toml",  # first\n'
        "  # a comment with a ] bracket\n"
        "  '/etc/containerd/b].toml',\n"
        "]\n"
        "[grpc]\n  address = \"/run/containerd/containerd.sock\"\n"
    ),
    "empty imports": "version = 2\nimports = []\n[debug]\nlevel = 'info'\n",
    "imports before version": 'imports = ["/x.toml"] # keep\nversion = 2\n',
    "no version line first": '# header\nroot = "/srv"\nversion = 2\n[ttrpc]\naddress = ""\n',
    "multi-line string at root": 'version = 2\nroot = """\n[not a table]\n"""\n[debug]\nlevel = "info"\n',
}


@pytest.mark.parametrize("name", sorted(IMPORT_CASES))
def test_ensure_import_adds_one_entry_and_keeps_the_rest(name):
    before = IMPORT_CASES[name]
    after = cr.ensure_import(before, DROP_IN, 2, "config.toml")
    old, new = tomllib.loads(before), tomllib.loads(after)
    assert new.pop("imports") == old.pop("imports", []) + [DROP_IN]
    assert new == old
    assert only_insertions(before, after)
    assert cr.ensure_import(after, DROP_IN, 2, "config.toml") == after


@pytest.mark.parametrize("text", [None, "", "# nothing set yet\n", "# no newline at the end"])
def test_ensure_import_on_missing_or_empty_file_sets_version(text):
    after = cr.ensure_import(text, DROP_IN, 3, "config.toml")
    assert tomllib.loads(after) == {"version": 3, "imports": [DROP_IN]}
    assert only_insertions(text or "", after)


@pytest.mark.parametrize(
    "existing",
    ["/etc/containerd/conf.d/*.toml", DROP_IN, "/etc/containerd/conf.d/99-*.toml"],
)
def test_ensure_import_leaves_a_covering_import_alone(existing):
    before = 'version = 2\nimports = ["%s"]\n' % existing
    assert cr.ensure_import(before, DROP_IN, 2, "config.toml") is before


@pytest.mark.parametrize(
    "text, needle",
    [
        ('version = 2\nimports = "/etc/containerd/conf.d/*.toml"\n', "not an array"),
        ("version = 2\nimports = [1]\n", "non-string"),
        ('version = 2\nimports = ["/a.toml"\n', "unterminated array"),
    ],
)
def test_ensure_import_refuses_what_it_cannot_edit(text, needle):
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.ensure_import(text, DROP_IN, 2, "/etc/containerd/config.toml")
    assert needle in str(err.value)


def test_imports_of_a_table_are_not_the_root_imports():
    before = 'version = 2\n[plugins."x"]\nimports = ["/not/root.toml"]\n'
    after = cr.ensure_import(before, DROP_IN, 2, "config.toml")
    parsed = tomllib.loads(after)
    assert parsed["imports"] == [DROP_IN]
    assert parsed["plugins"]["x"]["imports"] == ["/not/root.toml"]


# --- TOML writer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"version": 2, "plugins": {V2: {"containerd": {"runtimes": {"nvidia": {"options": {"BinaryName": RUNTIME}}}}}}},
        {
            "a.b": {"key with space": "quote \" backslash \\ tab \t newline \n bell \x07 é ✓"},
            "ints": [1, -2, 3_000],
            "floats": [1.5, -0.0, 1e300, float("inf"), float("-inf")],
            "bools": [True, False],
            "when": datetime.datetime(2026, 11, 25, 12, 30, tzinfo=datetime.timezone.utc),
            "day": datetime.date(2026, 11, 25),
            "nested": [[1, 2], ["x"], []],
            "mixed": [{"a": 1}, 2],
            "empty": {},
            "servers": [{"name": "a", "tls": {"on": True}}, {"name": "b"}],
            "inline": {"deep": {"deeper": {"deepest": "x"}}},
        },
    ],
)
def test_dump_toml_round_trips(data):
    assert tomllib.loads(cr.dump_toml(data)) == data


@pytest.mark.parametrize("name", ["containerd-bookworm-dump-debian-config.toml", "containerd-trixie-dump-with-nvidia-drop-in.toml"])
def test_dump_toml_round_trips_real_containerd_dumps(name):
    data = tomllib.loads((FIXTURES / name).read_text())
    assert tomllib.loads(cr.dump_toml(data)) == data


# --- containerd drop-in -------------------------------------------------------------------------


def runtime_of(drop_in_text, plugin=V2, name="nvidia"):
    return tomllib.loads(drop_in_text)["plugins"][plugin]["containerd"]["runtimes"][name]


@pytest.mark.parametrize("binary", [(1, 6), (1, 7), None])
def test_drop_in_carries_the_cri_table_for_containerd_1(binary):
    config_after, drop_in, version = cr.plan_containerd(USER_CONFIG, binary, params())
    user_cri = tomllib.loads(USER_CONFIG)["plugins"][V2]
    written = tomllib.loads(drop_in)
    assert version == 2 and written["version"] == 2
    cri = written["plugins"][V2]
    assert cri["sandbox_image"] == user_cri["sandbox_image"]
    assert cri["registry"] == user_cri["registry"]
    assert cri["containerd"]["runtimes"]["runc"] == user_cri["containerd"]["runtimes"]["runc"]
    assert cri["containerd"]["default_runtime_name"] == "runc"
    assert set(written) == {"version", "plugins"} and set(written["plugins"]) == {V2}
    assert tomllib.loads(config_after)["imports"] == [DROP_IN]


def test_drop_in_holds_only_the_runtime_for_containerd_2():
    drop_in = cr.plan_containerd(USER_CONFIG, (2, 0), params())[1]
    cri = tomllib.loads(drop_in)["plugins"][V2]
    assert list(cri) == ["containerd"] and list(cri["containerd"]) == ["runtimes"]
    assert list(cri["containerd"]["runtimes"]) == ["nvidia"]


@pytest.mark.parametrize("binary", [(1, 7), (2, 1)])
def test_nvidia_runtime_copies_the_default_runtime_and_replaces_the_binary(binary):
    drop_in = cr.plan_containerd(USER_CONFIG, binary, params())[1]
    runtime = runtime_of(drop_in)
    assert runtime["runtime_type"] == "io.containerd.runc.v2"
    assert runtime["options"] == {"SystemdCgroup": True, "BinaryName": RUNTIME}


def test_nvidia_runtime_without_any_runc_entry_gets_runc_v2():
    drop_in = cr.plan_containerd(DEBIAN_CONFIG, (1, 6), params())[1]
    runtime = runtime_of(drop_in)
    assert runtime == {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": RUNTIME}}
    cni = tomllib.loads(drop_in)["plugins"][V2]["cni"]
    assert cni == tomllib.loads(DEBIAN_CONFIG)["plugins"][V2]["cni"]


@pytest.mark.parametrize("binary", [(1, 6), (2, 0)])
def test_set_as_default(binary):
    drop_in = cr.plan_containerd(USER_CONFIG, binary, params(set_as_default=True))[1]
    assert tomllib.loads(drop_in)["plugins"][V2]["containerd"]["default_runtime_name"] == "nvidia"


def test_containerd_2_without_config_gets_a_version_3_drop_in():
    config_after, drop_in, version = cr.plan_containerd(None, (2, 1), params(runtime_name="nvidia-gpu"))
    assert version == 3
    assert tomllib.loads(config_after) == {"version": 3, "imports": [DROP_IN]}
    assert runtime_of(drop_in, V3, "nvidia-gpu")["options"]["BinaryName"] == RUNTIME
    assert set(tomllib.loads(drop_in)["plugins"]) == {V3}


def test_invalid_toml_is_refused_before_any_edit():
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.plan_containerd('version = 2\n[plugins\n', (2, 0), params())
    assert "/etc/containerd/config.toml" in str(err.value)


def test_without_a_toml_reader_a_config_without_cri_table_is_still_handled(no_toml_reader):
    before = 'version = 2\nroot = "/srv"\n[debug]\n  level = "info"\n'
    config_after, drop_in, version = cr.plan_containerd(before, (1, 6), params())
    assert version == 2 and only_insertions(before, config_after)
    assert tomllib.loads(config_after)["imports"] == [DROP_IN]
    assert runtime_of(drop_in)["options"]["BinaryName"] == RUNTIME


def test_without_a_toml_reader_a_cri_table_is_refused_with_the_reason(no_toml_reader):
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.plan_containerd(DEBIAN_CONFIG, (1, 6), params())
    assert "Python 3.11" in str(err.value) and "tomli" in str(err.value)


# --- containerd config dump check ---------------------------------------------------------------


@pytest.mark.parametrize("reader", [True, False])
@pytest.mark.parametrize("suite", ["bookworm", "trixie"])
def test_check_containerd_dump_on_real_dumps(monkeypatch, reader, suite):
    if not reader:
        monkeypatch.setattr(cr, "_toml_reader", None)
        monkeypatch.setattr(cr, "HAS_TOML_READER", False)
    good = (FIXTURES / ("containerd-%s-dump-with-nvidia-drop-in.toml" % suite)).read_text()
    plain = (FIXTURES / ("containerd-%s-dump-debian-config.toml" % suite)).read_text()
    cr.check_containerd_dump(good, 2, "nvidia", RUNTIME)
    for dump, path in ((plain, RUNTIME), (good, "/opt/other/runtime")):
        with pytest.raises(cr.RuntimeConfigError) as err:
            cr.check_containerd_dump(dump, 2, "nvidia", path)
        assert "not in effect" in str(err.value)


# --- CRI-O and Docker ---------------------------------------------------------------------------


@pytest.mark.parametrize("default", [False, True])
def test_crio_drop_in(default):
    runtime = tomllib.loads(cr.crio_drop_in("nvidia", RUNTIME, default))["crio"]["runtime"]
    assert runtime["runtimes"] == {"nvidia": {"runtime_path": RUNTIME, "runtime_type": "oci"}}
    assert runtime.get("default_runtime") == ("nvidia" if default else None)


DAEMON_JSON = """{
  "data-root": "/srv/docker",
  "log-driver": "journald",
  "runtimes": {"runsc": {"path": "/usr/local/bin/runsc"}},
  "default-runtime": "runsc"
}
"""


def test_docker_keeps_other_keys_and_runtimes():
    after = json.loads(cr.docker_daemon_json(DAEMON_JSON, "nvidia", RUNTIME, False, "daemon.json"))
    before = json.loads(DAEMON_JSON)
    assert after.pop("runtimes") == dict(before.pop("runtimes"), nvidia={"args": [], "path": RUNTIME})
    assert after == before


def test_docker_is_idempotent_and_keeps_the_users_formatting():
    once = cr.docker_daemon_json(DAEMON_JSON, "nvidia", RUNTIME, True, "daemon.json")
    assert json.loads(once)["default-runtime"] == "nvidia"
    assert cr.docker_daemon_json(once, "nvidia", RUNTIME, True, "daemon.json") is once
    compact = '{"runtimes":{"nvidia":{"path":"%s","runtimeArgs":["--debug"]}}}' % RUNTIME
    assert cr.docker_daemon_json(compact, "nvidia", RUNTIME, False, "daemon.json") is compact


def test_docker_updates_only_the_path_of_an_existing_nvidia_entry():
    before = '{"runtimes": {"nvidia": {"path": "/old/runtime", "runtimeArgs": ["--debug"]}}}'
    after = json.loads(cr.docker_daemon_json(before, "nvidia", RUNTIME, False, "daemon.json"))
    assert after == {"runtimes": {"nvidia": {"path": RUNTIME, "runtimeArgs": ["--debug"]}}}


def test_docker_drops_an_nvidia_default_when_not_asked_for():
    before = '{"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "%s"}}}' % RUNTIME
    after = json.loads(cr.docker_daemon_json(before, "nvidia", RUNTIME, False, "daemon.json"))
    assert "default-runtime" not in after


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_docker_creates_a_missing_or_empty_file(text):
    after = json.loads(cr.docker_daemon_json(text, "nvidia", RUNTIME, False, "daemon.json"))
    assert after == {"runtimes": {"nvidia": {"args": [], "path": RUNTIME}}}


@pytest.mark.parametrize(
    "text, needle",
    [("{not json", "Failed to parse"), ("[1, 2]", "JSON object"), ('{"runtimes": []}', "JSON objects")],
)
def test_docker_refuses_what_it_cannot_edit(text, needle):
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.docker_daemon_json(text, "nvidia", RUNTIME, False, "/etc/docker/daemon.json")
    assert needle in str(err.value) and "/etc/docker/daemon.json" in str(err.value)


# --- configure() on a real directory with a stand-in AnsibleModule ------------------------------


class FakeModule:
    """The parts of AnsibleModule that configure() uses; containerd answers from fixtures."""

    def __init__(self, root, check_mode=False, dump_rc=0, **overrides):
        self.root = root
        self.params = params(
            runtimes=["containerd", "crio", "docker"],
            runtime_path=str(root / "nvidia-container-runtime"),
            containerd_config=str(root / "containerd/config.toml"),
            containerd_drop_in=str(root / "containerd/conf.d/99-nvidia.toml"),
            crio_drop_in=str(root / "crio/crio.conf.d/99-nvidia.toml"),
            docker_config=str(root / "docker/daemon.json"),
            **overrides,
        )
        self.check_mode = check_mode
        self._diff = True
        self.dump_rc = dump_rc
        self.commands = []
        self.warnings = []

    def get_bin_path(self, name):
        return "/usr/bin/containerd" if name == "containerd" else None

    def run_command(self, args):
        self.commands.append(args)
        if args[1] == "--version":
            return 0, (FIXTURES / "containerd-bookworm-version.txt").read_text(), ""
        if self.dump_rc:
            return self.dump_rc, "", "containerd: failed to load TOML: invalid value"
        # A stand-in for containerd's own loading: the effective CRI table is the drop-in's.
        drop_in = tomllib.loads(Path(self.params["containerd_drop_in"]).read_text())
        return 0, cr.dump_toml(drop_in), ""

    def atomic_move(self, src, dest):
        os.replace(src, dest)

    def warn(self, message):
        self.warnings.append(message)


@pytest.fixture
def host(tmp_path):
    (tmp_path / "containerd").mkdir()
    (tmp_path / "containerd/config.toml").write_text(USER_CONFIG)
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker/daemon.json").write_text(DAEMON_JSON)
    (tmp_path / "nvidia-container-runtime").write_text("#!/bin/sh\n")
    return tmp_path


def snapshot(root):
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_configure_writes_validates_and_is_idempotent(host):
    module = FakeModule(host)
    result = cr.configure(module)
    assert result["changed"] and result["changed_runtimes"] == ["containerd", "crio", "docker"]
    assert result["containerd_config_version"] == 2 and result["installed_runtimes"] == ["containerd"]
    assert ["/usr/bin/containerd", "--config", module.params["containerd_config"], "config", "dump"] in module.commands
    assert only_insertions(USER_CONFIG, (host / "containerd/config.toml").read_text())
    assert len(result["diff"]) == 4
    again = cr.configure(FakeModule(host))
    assert not again["changed"] and again["files"] == [] and again["diff"] == []


def test_configure_in_check_mode_writes_nothing(host):
    before = snapshot(host)
    result = cr.configure(FakeModule(host, check_mode=True))
    assert result["changed"] and len(result["files"]) == 4
    assert snapshot(host) == before


def test_configure_restores_the_files_when_containerd_rejects_them(host):
    before = snapshot(host)
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.configure(FakeModule(host, dump_rc=1))
    assert "invalid value" in str(err.value) and "restored" in str(err.value)
    assert snapshot(host) == before


def test_configure_needs_the_runtime_binary_except_in_check_mode(host):
    (host / "nvidia-container-runtime").unlink()
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.configure(FakeModule(host))
    assert "does not exist" in str(err.value)
    module = FakeModule(host, check_mode=True)
    assert cr.configure(module)["changed"] and module.warnings


def test_configure_refuses_an_odd_runtime_name(host):
    with pytest.raises(cr.RuntimeConfigError) as err:
        cr.configure(FakeModule(host, runtime_name="nv idia"))
    assert "runtime_name" in str(err.value)
