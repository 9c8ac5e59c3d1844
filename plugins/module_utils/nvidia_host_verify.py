# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every host-side check of the verify phase in one pass, for the nvidia_host_verify module.

verify() reads the host once and judges it: driver and GPU facts come from nvidia_gpu.gather() (one
nvidia-smi query), ECC and memory-repair counters from ONE more nvidia-smi query (ECC_SMI_ARGS), the
installed packages from ONE dpkg-query or rpm query (which also gives containerd's version), and the
container runtime's files are judged by container_runtime.plan(), the same code that writes them: a
plan with changes means the runtime is not configured the way the toolkit role configures it. Every
result has the shape of fleet_checks.check(). A failing check is a result, never an exception;
HostVerifyError is raised only for bad arguments. Standard library only: this runs on the managed host.
"""

from __future__ import annotations

import ctypes
import difflib
import fnmatch
import os
import re
import socket

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import container_runtime, fleet_checks, nvidia_gpu
from ansible_collections.hymt.gpu_mesh.plugins.module_utils.fleet_checks import check

# ECC counters and memory repair, per GPU, in one query. Every field is in `nvidia-smi --help-query-gpu`
# of driver 580 (tests check it against the real listing). H100 repairs memory by row remapping; its
# retired_pages.* fields read [N/A], which means "not supported", never a failure.
ECC_FIELDS = (
    "index",
    "uuid",
    "ecc.errors.uncorrected.volatile.total",
    "ecc.errors.uncorrected.aggregate.total",
    "ecc.errors.corrected.volatile.total",
    "retired_pages.pending",
    "retired_pages.double_bit.count",
    "remapped_rows.pending",
    "remapped_rows.failure",
    "remapped_rows.uncorrectable",
    "remapped_rows.correctable",
)
ECC_SMI_ARGS = ("--query-gpu=" + ",".join(ECC_FIELDS), "--format=csv,noheader,nounits")

# One line per package, in the C locale. The \n is left to dpkg-query and rpm to expand.
DPKG_QUERY = ("dpkg-query", "--show", "--showformat",
              r"${db:Status-Want} ${db:Status-Status} ${Package} ${Architecture} ${Version}\n")
# rpm has no "installed as a dependency" flag, so each package's requires and provides come along: a
# driver package another driver package requires is a dependency, locked through the one requiring it.
RPM_QUERY = ("rpm", "--query", "--all", "--queryformat",
             r"%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} requires:[%{REQUIRENAME},] provides:[%{PROVIDENAME},]\n")
# dpkg states of a package whose files are on the host (as the nvidia_driver role counts them).
DPKG_INSTALLED_STATES = ("installed", "half-installed", "unpacked", "half-configured", "triggers-awaited",
                         "triggers-pending")
APT_EXTENDED_STATES = "/var/lib/apt/extended_states"
DNF_VERSIONLOCK_LIST = "/etc/dnf/plugins/versionlock.list"
OS_RELEASE = "/etc/os-release"
CONTAINERD_PACKAGES = ("containerd", "containerd.io")
DRIVER_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
RUNTIME_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
MIG_MODES = ("any", "enabled", "disabled")
EVIDENCE_DIFF_LINES = 40

_NOT_ANSWERING = "not checked, because the driver does not answer (host.driver_loaded says why)"


class HostVerifyError(Exception):
    """Bad arguments; the message names the parameter and what is wrong with it."""


def container_runtime_options():
    """Suboptions of the container_runtime option: container_runtime_nvidia's options, as the toolkit role
    passes them (container_runtime.runtime_arg_spec), except that ``runtimes`` may be empty (nothing to check)."""
    spec = container_runtime.runtime_arg_spec()
    spec["runtimes"] = dict(spec["runtimes"], default=[])
    del spec["runtimes"]["required"]
    return spec


# --- reading the host -----------------------------------------------------------------------------

def read_text(path):
    """Text of a file, or None when it does not exist; other errors (permissions) raise OSError."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def parse_os_release(text):
    """{KEY: value} of /etc/os-release (shell-style assignments, quotes removed)."""
    values = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return values


def os_family(release, which):
    """'Debian', 'RedHat' or None, from os-release's ID and ID_LIKE, else from the package tool found."""
    ids = set((release.get("ID", "") + " " + release.get("ID_LIKE", "")).lower().split())
    if ids & {"debian", "ubuntu"}:
        return "Debian"
    if ids & {"rhel", "fedora", "centos", "rocky", "almalinux", "ol", "amzn"}:
        return "RedHat"
    if which("dpkg-query"):
        return "Debian"
    if which("rpm"):
        return "RedHat"
    return None


def _yes_no(value):
    value = nvidia_gpu._na(value)  # pylint: disable=protected-access
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("yes", "no"):
        return lowered == "yes"
    raise ValueError("expected Yes or No, got %r" % value)


def parse_ecc_csv(text):
    """{gpu index: counters} from the output of ECC_SMI_ARGS; None for a field the GPU does not support."""
    gpus = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(ECC_FIELDS):
            raise ValueError("line %r has %d fields, expected %d (%s)" % (line, len(cells), len(ECC_FIELDS), ",".join(ECC_FIELDS)))
        row = dict(zip(ECC_FIELDS, cells))
        number = nvidia_gpu._int  # pylint: disable=protected-access
        gpus[int(row["index"])] = {
            "uuid": nvidia_gpu._na(row["uuid"]),  # pylint: disable=protected-access
            "uncorrected_volatile": number(row["ecc.errors.uncorrected.volatile.total"]),
            "uncorrected_aggregate": number(row["ecc.errors.uncorrected.aggregate.total"]),
            "corrected_volatile": number(row["ecc.errors.corrected.volatile.total"]),
            "retired_pages_pending": _yes_no(row["retired_pages.pending"]),
            "retired_pages_double_bit": number(row["retired_pages.double_bit.count"]),
            "remapped_rows_pending": _yes_no(row["remapped_rows.pending"]),
            "remapped_rows_failure": _yes_no(row["remapped_rows.failure"]),
            "remapped_rows_uncorrectable": number(row["remapped_rows.uncorrectable"]),
            "remapped_rows_correctable": number(row["remapped_rows.correctable"]),
        }
    return gpus


def _strip_epoch(version):
    return re.sub(r"^[0-9]+:", "", version or "")


def parse_dpkg(text):
    """[{name, arch, version, want, status}] of the installed packages in DPKG_QUERY's output."""
    packages = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 5 or parts[1] not in DPKG_INSTALLED_STATES:
            continue
        packages.append({"want": parts[0], "status": parts[1], "name": parts[2], "arch": parts[3], "version": parts[4]})
    return packages


def parse_extended_states(text):
    """{(package, architecture)} marked Auto-Installed in apt's extended_states; absent means manual."""
    auto = set()
    for stanza in re.split(r"\n\s*\n", text or ""):
        fields = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.strip()
        if fields.get("package") and fields.get("auto-installed") == "1":
            auto.add((fields["package"], fields.get("architecture", "")))
    return auto


def parse_rpm(text):
    """[{name, epoch, version, release, arch, requires, provides}] from RPM_QUERY's output."""
    packages = []
    for line in (text or "").splitlines():
        head, sep, tail = line.partition(" requires:")
        parts = head.split()
        if not sep or len(parts) != 5:
            continue
        requires, _sep, provides = tail.partition(" provides:")
        packages.append({
            "name": parts[0], "epoch": None if parts[1] == "(none)" else parts[1], "version": parts[2],
            "release": parts[3], "arch": parts[4],
            "requires": set(_capability(c) for c in requires.split(",") if c.strip()),
            "provides": set(_capability(c) for c in provides.split(",") if c.strip()),
        })
    return packages


def _capability(name):
    """'nvidia-driver-libs(x86-64)' -> 'nvidia-driver-libs': the arch-qualified form names the same package."""
    return re.sub(r"\([^()]*\)$", "", name.strip())


def parse_versionlock(text):
    """The lock patterns of dnf's versionlock.list (comments and '!' exclusions left out)."""
    return [line.strip() for line in (text or "").splitlines()
            if line.strip() and not line.strip().startswith(("#", "!"))]


def rpm_locked(package, patterns):
    """Whether a versionlock pattern (name-[epoch:]version-release[.arch], globs allowed) matches the package."""
    evr = "%s-%s" % (package["version"], package["release"])
    candidates = [
        "%s-%s:%s.%s" % (package["name"], package["epoch"] or "0", evr, package["arch"]),
        "%s-%s.%s" % (package["name"], evr, package["arch"]),
        "%s-%s:%s" % (package["name"], package["epoch"] or "0", evr),
        "%s-%s" % (package["name"], evr),
    ]
    return any(fnmatch.fnmatchcase(candidate, pattern) for pattern in patterns for candidate in candidates)


def version_matches(package_version, driver_version):
    """Whether a package version ('580.159.04-1', '1:580.159.04-0ubuntu1') is of the driver '580.159.04'."""
    version = _strip_epoch(package_version)
    if not driver_version or not version.startswith(driver_version):
        return False
    rest = version[len(driver_version):]
    return rest == "" or rest[0] in "-~+" or (rest[0] == "." and driver_version.count(".") < 2)


def containerd_version_of(packages):
    """(major, minor) of the installed containerd package, or None (not installed from a package)."""
    for package in packages:
        if package["name"] in CONTAINERD_PACKAGES:
            match = re.match(r"^(\d+)\.(\d+)", _strip_epoch(package["version"]))
            if match:
                return int(match.group(1)), int(match.group(2))
    return None


# --- the checks ------------------------------------------------------------------------------------

class _Context:
    """What every check needs to name its node and remedies."""

    def __init__(self, node, host):
        self.node = node
        self.host = host
        self.subject = "node " + node

    def check(self, check_id, status, summary, evidence="", remedy=""):
        return check(check_id, status, summary, subject=self.subject, node=self.node, evidence=evidence, remedy=remedy)

    def playbook(self, name, extra=""):
        return "ansible-playbook hymt.gpu_mesh.%s --limit %s%s" % (name, self.host, extra)


def _gpu_label(gpu):
    return "GPU %d (%s)" % (gpu["index"], gpu.get("pci_bus_id") or gpu.get("uuid") or "?")


def _shown(value):
    if value is None:
        return "[N/A]"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _upgrade_extra(pin):
    return " -e driver_upgrade_version=%s" % pin if pin else ""


def check_driver_loaded(ctx, facts, pin, unreadable=None):
    if unreadable:
        return ctx.check("host.driver_loaded", "not_checked",
                         "not checked, because nvidia-smi's answer could not be read: %s" % unreadable,
                         "loaded kernel module %s" % (facts["kernel_module_version"] or "none"))
    evidence = "userspace driver %s, loaded kernel module %s (%s), %s" % (
        facts["driver_version"] or "unknown", facts["kernel_module_version"] or "none",
        facts["kernel_module_flavour"] or "flavour unknown", facts["reason"] or "nvidia-smi answered")
    if facts["driver_mismatch"]:
        return ctx.check(
            "host.driver_loaded", "fail",
            ("loaded kernel module %s differs from installed driver %s" % (facts["kernel_module_version"], facts["driver_version"] or "unknown")
             if facts["kernel_module_version"] else
             "the loaded kernel module differs from installed driver %s (nvidia-smi: Driver/library version mismatch; "
             "the module's version is unreadable here)" % (facts["driver_version"] or "unknown")),
            evidence,
            "%s: it drains the node and reboots it into the installed driver" % ctx.playbook("driver_upgrade", _upgrade_extra(pin)))
    if facts["reboot_required"]:
        return ctx.check(
            "host.driver_loaded", "fail", "no NVIDIA kernel module is loaded although the driver is installed: %s" % facts["reason"],
            evidence,
            "%s: it drains the node and reboots it so that the module loads; if it still does not, read "
            "`dmesg | grep -i nvrm` (Secure Boot, a failed DKMS build)" % ctx.playbook("driver_upgrade", _upgrade_extra(pin)))
    if not facts["present"]:
        return ctx.check(
            "host.driver_loaded", "fail", facts["reason"] or "the NVIDIA driver does not answer", evidence,
            "run the gpu_hosts phase for this host (%s), then read `nvidia-smi` and `dmesg | grep -i -E 'nvrm|xid'`"
            % ctx.playbook("gpu_hosts"))
    if facts["kernel_module_version"] is None:
        return ctx.check("host.driver_loaded", "pass",
                         "driver %s answers (the loaded module's version is not readable from %s)"
                         % (facts["driver_version"], nvidia_gpu.PROC_VERSION_PATH), evidence)
    return ctx.check("host.driver_loaded", "pass",
                     "loaded kernel module %s (%s) is the installed driver's"
                     % (facts["kernel_module_version"], facts["kernel_module_flavour"]), evidence)


def check_driver_pinned(ctx, facts, pin):
    if not pin:
        return ctx.check("host.driver_pinned", "not_checked",
                         "not checked, because no driver version is pinned (driver_version is empty)",
                         "installed driver %s" % (facts["driver_version"] or "unknown"))
    if not facts["present"] or facts["driver_mismatch"] or not facts["driver_version"]:
        return ctx.check("host.driver_pinned", "not_checked",
                         "not checked, because the installed driver's version cannot be read: %s"
                         % (facts["reason"] or "the driver does not answer"),
                         "pinned %s; nvidia-smi reports %s" % (pin, facts["driver_version"] or "no version"))
    if facts["driver_version"] != pin:
        return ctx.check(
            "host.driver_pinned", "fail", "driver %s is installed, %s is pinned" % (facts["driver_version"], pin),
            "userspace driver %s (branch %s), pinned %s" % (facts["driver_version"], facts["driver_branch"], pin),
            "run the gpu_hosts phase for this host (%s), or roll it: %s"
            % (ctx.playbook("gpu_hosts"), ctx.playbook("driver_upgrade", _upgrade_extra(pin))))
    return ctx.check("host.driver_pinned", "pass", "driver %s is the pinned version" % pin,
                     "userspace driver %s" % facts["driver_version"])


def check_gpu_count(ctx, facts, expected, pci_dir):
    pci = facts["pci_gpu_count"]
    if expected is None:
        if not pci:
            return ctx.check("host.gpu_count", "not_checked",
                             "not checked, because no GPU count was given and no NVIDIA GPU is visible on the PCI bus at %s" % pci_dir)
        expected, source = pci, "the NVIDIA GPUs on the PCI bus"
    else:
        source = "gpu_count"
    if not facts["present"]:
        return ctx.check("host.gpu_count", "not_checked", _NOT_ANSWERING,
                         "expected %d (%s); %d NVIDIA GPU(s) on the PCI bus" % (expected, source, pci))
    seen = facts["gpu_count"]
    evidence = "nvidia-smi lists %d GPU(s) [%s]; %d NVIDIA GPU(s) on the PCI bus at %s; expected %d (%s)" % (
        seen, ", ".join(_gpu_label(g) for g in facts["gpus"]), pci, pci_dir, expected, source)
    if seen < expected:
        where = ("%d of them are not even on the PCI bus: fell off the bus" % (expected - pci) if pci < expected
                 else "they are on the PCI bus but the driver did not initialise them")
        return ctx.check(
            "host.gpu_count", "fail", "%d of %d expected GPUs are visible to the driver (%s)" % (seen, expected, where), evidence,
            "drain the node; read `nvidia-smi -q` and `dmesg | grep -i xid` (Xid 79: the GPU fell off the bus), "
            "reseat or RMA the GPU; check the node's allocatable nvidia.com/gpu (`kubectl describe node %s`)" % ctx.node)
    if seen > expected:
        return ctx.check("host.gpu_count", "warn", "%d GPUs are visible, only %d expected" % (seen, expected), evidence,
                         "correct gpu_count for this host in the inventory")
    return ctx.check("host.gpu_count", "pass", "%d of %d expected GPUs are visible to the driver" % (seen, expected), evidence)


def model_counts(gpus):
    """[{name, count}] in order of first appearance."""
    counts = {}
    for gpu in gpus:
        name = gpu["name"] or "unknown"
        counts[name] = counts.get(name, 0) + 1
    return [{"name": name, "count": count} for name, count in counts.items()]


def check_gpu_models(ctx, facts, accepted):
    if not facts["present"]:
        return ctx.check("host.gpu_models", "not_checked", _NOT_ANSWERING)
    models = ", ".join("%d x %s" % (m["count"], m["name"]) for m in model_counts(facts["gpus"]))
    if not accepted:
        return ctx.check("host.gpu_models", "pass", "GPU models: %s (no models required)" % models, models)
    wanted = [a.lower() for a in accepted]
    wrong = [g for g in facts["gpus"] if not any(a in (g["name"] or "").lower() for a in wanted)]
    evidence = "models: %s; accepted (substrings, case-insensitive): %s" % (models, ", ".join(accepted))
    if wrong:
        return ctx.check(
            "host.gpu_models", "fail",
            "%d GPU(s) of no accepted model: %s" % (len(wrong), ", ".join("%s %s" % (_gpu_label(g), g["name"] or "unknown") for g in wrong)),
            evidence, "move the host out of the GPU group these models are meant for, or add its model to gpu_models")
    return ctx.check("host.gpu_models", "pass", "every GPU is of an accepted model: %s" % models, evidence)


def check_mig_mode(ctx, facts, wanted):
    if not facts["present"]:
        return ctx.check("host.mig_mode", "not_checked", _NOT_ANSWERING)
    wrong, pending, lines = [], [], []
    for gpu in facts["gpus"]:
        current, after = gpu["mig_mode_current"], gpu["mig_mode_pending"]
        lines.append("%s current %s, pending %s" % (_gpu_label(gpu), _mig_word(current), _mig_word(after)))
        if current is not None and after is not None and current != after:
            pending.append(gpu)
        if wanted == "enabled" and current is not True:
            wrong.append(gpu)
        elif wanted == "disabled" and current is True:
            wrong.append(gpu)
    evidence = "; ".join(lines) + "; wanted: %s" % wanted
    if wrong:
        return ctx.check(
            "host.mig_mode", "fail", "MIG mode is not %s on %s" % (wanted, ", ".join(_gpu_label(g) for g in wrong)), evidence,
            "run the gpu_hosts phase for this host (%s), which sets the MIG layout; a mode change may then wait for a GPU "
            "reset or reboot" % ctx.playbook("gpu_hosts"))
    if pending:
        return ctx.check(
            "host.mig_mode", "warn",
            "a GPU reset is pending: the MIG mode of %s changes at the next reset" % ", ".join(_gpu_label(g) for g in pending),
            evidence,
            "drain node %s, then reset those GPUs (`nvidia-smi -r -i <index>` on an idle GPU) or reboot the host, and run "
            "the gpu_hosts phase again (%s) to create the MIG instances" % (ctx.node, ctx.playbook("gpu_hosts")))
    return ctx.check("host.mig_mode", "pass",
                     "MIG mode as wanted (%s), no change pending" % wanted if wanted != "any" else "no MIG mode change pending",
                     evidence)


def _mig_word(value):
    return "[N/A]" if value is None else ("Enabled" if value else "Disabled")


def check_persistence(ctx, facts, wanted):
    if not wanted:
        return ctx.check("host.persistence_mode", "not_checked", "not checked, because persistence_mode is false")
    if not facts["present"]:
        return ctx.check("host.persistence_mode", "not_checked", _NOT_ANSWERING)
    off = [g for g in facts["gpus"] if g["persistence_mode"] is False]
    unsupported = [g for g in facts["gpus"] if g["persistence_mode"] is None]
    evidence = "; ".join("%s persistence mode %s" % (_gpu_label(g), _shown(g["persistence_mode"])) for g in facts["gpus"])
    if off:
        return ctx.check(
            "host.persistence_mode", "warn", "persistence mode is off on %s" % ", ".join(_gpu_label(g) for g in off), evidence,
            "start the persistence daemon that the nvidia_driver role installs: `systemctl enable --now nvidia-persistenced`, "
            "or run the gpu_hosts phase for this host (%s)" % ctx.playbook("gpu_hosts"))
    summary = "persistence mode is on on every GPU"
    if unsupported:
        summary += " that supports it (%d report [N/A])" % len(unsupported)
    return ctx.check("host.persistence_mode", "pass", summary, evidence)


def check_ecc(ctx, facts, ecc, ecc_error):
    if not facts["present"]:
        return ctx.check("host.ecc", "not_checked", _NOT_ANSWERING)
    if ecc is None:
        return ctx.check("host.ecc", "not_checked", "not checked, because the ECC query failed: %s" % ecc_error,
                         "nvidia-smi %s" % " ".join(ECC_SMI_ARGS))
    failed, lifetime, disabled, lines = [], [], [], []
    for gpu in facts["gpus"]:
        counters = ecc.get(gpu["index"], {})
        volatile = counters.get("uncorrected_volatile")
        aggregate = counters.get("uncorrected_aggregate")
        lines.append("%s ECC %s, uncorrected volatile %s, uncorrected aggregate %s, corrected volatile %s" % (
            _gpu_label(gpu), {True: "enabled", False: "disabled", None: "[N/A]"}[gpu["ecc_mode"]], _shown(volatile),
            _shown(aggregate), _shown(counters.get("corrected_volatile"))))
        if volatile:
            failed.append("%s has %d uncorrectable ECC error(s) since the driver loaded" % (_gpu_label(gpu), volatile))
        elif aggregate:
            lifetime.append("%s has %d uncorrectable ECC error(s) over its life, none since the driver loaded"
                            % (_gpu_label(gpu), aggregate))
        if gpu["ecc_mode"] is False:
            disabled.append(gpu)
    evidence = "; ".join(lines)
    if failed:
        return ctx.check(
            "host.ecc", "fail", "; ".join(failed), evidence,
            "drain node %s, read `nvidia-smi -q -d ECC,ROW_REMAPPER`, then reset the GPU (`nvidia-smi -r -i <index>`) or "
            "reboot; a GPU whose uncorrectable errors come back goes to RMA" % ctx.node)
    problems = list(lifetime)
    if disabled:
        problems.append("ECC is disabled on %s" % ", ".join(_gpu_label(g) for g in disabled))
    if problems:
        remedy = []
        if lifetime:
            remedy.append("watch `nvidia-smi -q -d ECC,ROW_REMAPPER` on this host; a GPU whose errors grow goes to RMA")
        if disabled:
            remedy.append("enable ECC with `nvidia-smi -e 1 -i <index>` and reboot the drained node")
        return ctx.check("host.ecc", "warn", "; ".join(problems), evidence, "; ".join(remedy))
    return ctx.check("host.ecc", "pass", "no uncorrectable ECC error on any GPU", evidence)


def check_memory_remap(ctx, facts, ecc, ecc_error):
    if not facts["present"]:
        return ctx.check("host.memory_remap", "not_checked", _NOT_ANSWERING)
    if ecc is None:
        return ctx.check("host.memory_remap", "not_checked", "not checked, because the ECC query failed: %s" % ecc_error)
    failed, pending, lines = [], [], []
    supported = False
    for gpu in facts["gpus"]:
        counters = ecc.get(gpu["index"], {})
        rows = [counters.get(k) for k in ("remapped_rows_pending", "remapped_rows_failure",
                                          "remapped_rows_correctable", "remapped_rows_uncorrectable")]
        pages = [counters.get(k) for k in ("retired_pages_pending", "retired_pages_double_bit")]
        supported = supported or any(v is not None for v in rows + pages)
        lines.append("%s remapped rows: pending %s, failure %s, correctable %s, uncorrectable %s; retired pages: pending %s, "
                     "double-bit %s" % ((_gpu_label(gpu),) + tuple(_shown(v) for v in rows + pages)))
        if counters.get("remapped_rows_failure"):
            failed.append(gpu)
        if counters.get("remapped_rows_pending") or counters.get("retired_pages_pending"):
            pending.append(gpu)
    evidence = "; ".join(lines) + " ([N/A]: not supported by the GPU)"
    if failed:
        return ctx.check(
            "host.memory_remap", "fail", "row remapping failed on %s: its memory cannot be repaired" % ", ".join(_gpu_label(g) for g in failed),
            evidence,
            "drain node %s and keep it cordoned; open an RMA for the GPU (serial number in `nvidia-smi -q`)" % ctx.node)
    if pending:
        return ctx.check(
            "host.memory_remap", "warn",
            "memory repair is pending on %s: a GPU reset applies it" % ", ".join(_gpu_label(g) for g in pending), evidence,
            "drain node %s, then reset the GPU (`nvidia-smi -r -i <index>`) or reboot the host" % ctx.node)
    if not supported:
        return ctx.check("host.memory_remap", "not_checked",
                         "not checked, because no GPU reports row remapping or page retirement (all [N/A])", evidence)
    return ctx.check("host.memory_remap", "pass", "no memory repair pending or failed", evidence)


def _diff(before, after, path):
    lines = list(difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(),
                                      "%s (on the host)" % path, "%s (as the toolkit role writes it)" % path, lineterm=""))
    if len(lines) > EVIDENCE_DIFF_LINES:
        lines = lines[:EVIDENCE_DIFF_LINES] + ["... (%d more lines)" % (len(lines) - EVIDENCE_DIFF_LINES)]
    return "\n".join(lines)


def runtime_plan(options, files, containerd_version):
    """The changes container_runtime.plan() finds for the containerd version the host has.

    With containerd's version unknown (not installed from a package), the files the role writes for
    containerd 1.x and for 2.x are both accepted: the plan with the fewest changes is returned.
    """
    best = None
    for candidate in [containerd_version] if containerd_version else [None, (2, 0)]:
        changes = container_runtime.plan(options, files, candidate)[0]
        if best is None or len(changes) < len(best):
            best = changes
    return best


def check_container_runtime(ctx, options, read_file, containerd_version):
    if not options or not options.get("runtimes"):
        return ctx.check("host.container_runtime", "not_checked",
                         "not checked, because no container runtime is to be configured (container_runtime.runtimes is empty)")
    runtimes = ", ".join(options["runtimes"])
    files = {}
    for path in container_runtime.read_paths(options):
        try:
            files[path] = read_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            return ctx.check("host.container_runtime", "not_checked", "not checked, because %s cannot be read: %s" % (path, exc))
    try:
        changes = runtime_plan(options, files, containerd_version)
    except container_runtime.RuntimeConfigError as exc:
        if not container_runtime.HAS_TOML_READER:
            return ctx.check("host.container_runtime", "not_checked", "not checked, because %s" % exc,
                             "this host's Python has no TOML reader (tomllib or tomli)")
        return ctx.check("host.container_runtime", "fail",
                         "the NVIDIA runtime cannot be configured as the toolkit role does: %s" % exc, "",
                         "fix that file, then run the gpu_hosts phase for this host (%s)" % ctx.playbook("gpu_hosts"))
    version_note = ("containerd %s" % ".".join(str(v) for v in containerd_version) if containerd_version
                    else "containerd version unknown (no containerd package): the 1.x and 2.x layouts are both accepted")
    checked = "files: %s" % ", ".join(sorted(files))
    if "containerd" in options["runtimes"]:
        checked += "; " + version_note
    if changes:
        summary = "the NVIDIA runtime '%s' is not configured as the toolkit role configures it: %s" % (
            options["runtime_name"],
            ", ".join("%s %s %s" % (c[0], c[1], "is missing" if c[2] is None else "differs") for c in changes))
        evidence = checked + "\n" + "\n".join(_diff(c[2], c[3], c[1]) for c in changes)
        return ctx.check("host.container_runtime", "fail", summary, evidence,
                         "run the gpu_hosts phase for this host (%s): the nvidia_container_toolkit role writes these files and "
                         "restarts the runtime" % ctx.playbook("gpu_hosts"))
    return ctx.check("host.container_runtime", "pass",
                     "the NVIDIA runtime '%s' is registered with %s as the toolkit role configures it" % (options["runtime_name"], runtimes),
                     checked)


def check_toolkit_binaries(ctx, options, which, nvidia_ctk_path):
    if not options or not options.get("runtimes"):
        return ctx.check("host.toolkit_binaries", "not_checked",
                         "not checked, because no container runtime is to be configured (container_runtime.runtimes is empty)")
    found, missing = [], []
    ctk = nvidia_ctk_path or which("nvidia-ctk")
    for name, path in (("nvidia-ctk", ctk), ("nvidia-container-runtime", options["runtime_path"])):
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            found.append("%s at %s" % (name, path))
        else:
            missing.append("%s (%s)" % (name, "looked for %s" % path if path else "not found in PATH"))
    evidence = "; ".join(found + ["missing " + m for m in missing])
    if missing:
        return ctx.check("host.toolkit_binaries", "fail", "NVIDIA container toolkit binaries missing: %s" % ", ".join(missing),
                         evidence,
                         "run the gpu_hosts phase for this host (%s), which installs nvidia-container-toolkit" % ctx.playbook("gpu_hosts"))
    return ctx.check("host.toolkit_binaries", "pass", "nvidia-ctk and nvidia-container-runtime are installed", evidence)


def driver_version_for_packages(facts, pin):
    """The version whose packages are checked: the installed userspace driver's, else the pin, else the loaded module's."""
    if facts["driver_version"] and not facts["driver_mismatch"]:
        return facts["driver_version"]
    return pin or facts["driver_version"] or facts["kernel_module_version"]


def check_debian_holds(ctx, packages, extended_states, version):
    auto = parse_extended_states(extended_states)
    driver = [p for p in packages if version_matches(p["version"], version)]
    manual = [p for p in driver if (p["name"], p["arch"]) not in auto]
    if not driver:
        return None
    if not manual:
        return ctx.check("host.package_holds", "not_checked",
                         "not checked, because every package of driver %s is marked automatically installed" % version,
                         ", ".join(sorted(p["name"] for p in driver)))
    unheld = sorted(set(p["name"] for p in manual if p["want"] != "hold"))
    evidence = "manually installed packages at %s: %s; their dependencies (automatically installed): %d" % (
        version, ", ".join("%s=%s (%s)" % (p["name"], p["version"], p["want"]) for p in manual), len(driver) - len(manual))
    if unheld:
        return ctx.check("host.package_holds", "fail",
                         "driver package(s) not held, so an apt upgrade could replace the driver: %s" % ", ".join(unheld), evidence,
                         "run the gpu_hosts phase for this host (%s), or `apt-mark hold %s`"
                         % (ctx.playbook("gpu_hosts"), " ".join(unheld)))
    return ctx.check("host.package_holds", "pass",
                     "the %d manually installed package(s) of driver %s are held" % (len(manual), version), evidence)


def _required_by_another(package, driver):
    names = {package["name"]} | package["provides"]
    return any(other is not package and names & other["requires"] for other in driver)


def check_redhat_holds(ctx, packages, versionlock, version):
    driver = [p for p in packages if version_matches(p["version"], version)]
    if not driver:
        return None
    # A driver package that another driver package requires is held through it (NVIDIA's packages require
    # their siblings at the exact version); the others must be locked themselves.
    top = [p for p in driver if not _required_by_another(p, driver)] or driver
    patterns = parse_versionlock(versionlock)
    unlocked = sorted(set(p["name"] for p in top if not rpm_locked(p, patterns)))
    evidence = "driver packages at %s required by no other: %s; %d dependencies; %s: %d lock(s)" % (
        version, ", ".join("%s-%s-%s" % (p["name"], p["version"], p["release"]) for p in top),
        len(driver) - len(top), DNF_VERSIONLOCK_LIST, len(patterns))
    if unlocked:
        return ctx.check("host.package_holds", "fail",
                         "driver package(s) not version-locked, so a dnf upgrade could replace the driver: %s" % ", ".join(unlocked),
                         evidence,
                         "run the gpu_hosts phase for this host (%s), or `dnf versionlock add %s`"
                         % (ctx.playbook("gpu_hosts"), " ".join(unlocked)))
    return ctx.check("host.package_holds", "pass",
                     "the %d driver package(s) at %s are version-locked" % (len(top), version), evidence)


def check_package_holds(ctx, wanted, family, query, read_file, version):
    """query is (packages, error) from the one package query (([], None) when it was not run)."""
    if not wanted:
        return ctx.check("host.package_holds", "not_checked", "not checked, because check_holds is false")
    if family is None:
        return ctx.check("host.package_holds", "not_checked",
                         "not checked, because neither dpkg-query nor rpm is installed (not a Debian or RedHat family host)")
    packages, error = query
    if error:
        return ctx.check("host.package_holds", "not_checked", "not checked, because the package query failed: %s" % error)
    if not version:
        return ctx.check("host.package_holds", "not_checked",
                         "not checked, because no driver version is known (none pinned, none installed or loaded)")
    state_file = APT_EXTENDED_STATES if family == "Debian" else DNF_VERSIONLOCK_LIST
    try:
        state = read_file(state_file)
    except (OSError, UnicodeDecodeError) as exc:
        return ctx.check("host.package_holds", "not_checked", "not checked, because %s cannot be read: %s" % (state_file, exc))
    if family == "Debian":
        result = check_debian_holds(ctx, packages, state, version)
    else:
        result = check_redhat_holds(ctx, packages, state, version)
    if result is None:
        return ctx.check("host.package_holds", "not_checked",
                         "not checked, because no installed package is of driver %s (installed another way, e.g. by the "
                         "runfile, or not installed)" % version, "%d packages installed" % len(packages))
    return result


# --- the whole verification ------------------------------------------------------------------------

def validate(params):
    """Raise HostVerifyError on an argument no check can use."""
    pin = params.get("driver_version") or ""
    if pin and not DRIVER_VERSION_RE.match(pin):
        raise HostVerifyError("driver_version must look like 580.159.04 or 535.104, or be empty (got %r)" % pin)
    if params.get("gpu_count") is not None and params["gpu_count"] < 1:
        raise HostVerifyError("gpu_count must be at least 1 when given (got %d); leave it unset to expect the GPUs on "
                              "the PCI bus" % params["gpu_count"])
    if params.get("mig_mode", "any") not in MIG_MODES:
        raise HostVerifyError("mig_mode must be one of %s (got %r)" % (", ".join(MIG_MODES), params["mig_mode"]))
    smi = params.get("nvidia_smi_path")
    if smi and not os.access(smi, os.X_OK):
        raise HostVerifyError("nvidia_smi_path %s is not an executable file" % smi)
    runtime = params.get("container_runtime") or {}
    if runtime.get("runtimes") and not RUNTIME_NAME_RE.match(runtime.get("runtime_name") or ""):
        raise HostVerifyError("container_runtime.runtime_name %r may hold only letters, digits, '.', '_' and '-'"
                              % runtime.get("runtime_name"))


def host_summary(ctx, hostname, release, kernel, facts, ecc, checks):
    """The row of the fleet report's node table."""
    os_name = release.get("PRETTY_NAME") or " ".join(v for v in (release.get("NAME"), release.get("VERSION_ID")) if v) or None
    volatile = None
    if ecc is not None and facts["present"]:
        known = [ecc.get(g["index"], {}).get("uncorrected_volatile") for g in facts["gpus"]]
        known = [v for v in known if v is not None]
        volatile = sum(known) if known else None
    return {
        "node": ctx.node,
        "hostname": hostname,
        "os": os_name,
        "kernel": kernel,
        "driver_version": facts["driver_version"],
        "loaded_module_version": facts["kernel_module_version"],
        "cuda_version": facts["cuda_version"],
        "gpu_count": facts["gpu_count"],
        "gpu_models": model_counts(facts["gpus"]),
        "mig_enabled_gpus": sum(1 for g in facts["gpus"] if g["mig_mode_current"]),
        "ecc_uncorrected_volatile": volatile,
        "persistence_mode_off": sum(1 for g in facts["gpus"] if g["persistence_mode"] is False),
        "verdict": fleet_checks.verdict(checks),
        "counts": fleet_checks.counts(checks),
    }


def _query_packages(family, run_command, which):
    """(packages, error) from the one package query of the host's family."""
    tool = DPKG_QUERY if family == "Debian" else RPM_QUERY
    binary = which(tool[0])
    if not binary:
        return [], "%s is not installed" % tool[0]
    rc, out, err = run_command([binary] + list(tool[1:]))
    if rc != 0:
        return [], "%s exited %d: %s" % (tool[0], rc, (err or out).strip().splitlines()[0] if (err or out).strip() else "no output")
    return (parse_dpkg(out) if family == "Debian" else parse_rpm(out)), None


def verify(params, run_command, which, read_file=read_text, cuda_loader=ctypes.CDLL, hostname=None, kernel=None):
    """Run every check; returns {checks, host, nvidia_gpu_info}.

    params are the module's; run_command(args) -> (rc, stdout, stderr) runs a command in the C locale;
    which(name) -> path or None; read_file(path) -> text, None when missing (OSError otherwise).
    Commands run: nvidia-smi twice at most (facts, then ECC where the driver answers) and one package
    query (dpkg-query or rpm) where holds are checked or containerd is configured.
    """
    validate(params)
    hostname = hostname or socket.gethostname()
    node = params.get("node") or hostname.split(".", 1)[0]
    ctx = _Context(node, params.get("inventory_host") or node)
    pin = params.get("driver_version") or ""
    pci_dir = params.get("pci_devices_dir") or nvidia_gpu.PCI_DEVICES_DIR
    nvidia_smi = params.get("nvidia_smi_path") or which("nvidia-smi")

    def read_proc():
        try:
            return read_file(nvidia_gpu.PROC_VERSION_PATH)
        except (OSError, UnicodeDecodeError):
            return None

    try:
        facts = nvidia_gpu.gather(run_command, nvidia_smi, read_proc, backend="nvidia-smi", cuda_loader=cuda_loader,
                                  pci_devices=nvidia_gpu.read_pci_devices(pci_dir))
        unreadable = None
    except nvidia_gpu.NvidiaGpuError as exc:
        # Output nobody can read is not a verdict on the host: the checks say they could not be made.
        unreadable = str(exc)
        facts = nvidia_gpu.empty_facts()
        facts["reason"] = unreadable
        facts["backend"] = "nvidia-smi"
        facts["kernel_module_version"] = nvidia_gpu.parse_proc_version(read_proc())["version"]

    ecc, ecc_error = None, None
    if facts["present"]:
        rc, out, err = run_command([nvidia_smi] + list(ECC_SMI_ARGS))
        if rc != 0:
            ecc_error = "nvidia-smi exited %d: %s" % (rc, ((out or "") + (err or "")).strip() or "no output")
        else:
            try:
                ecc = parse_ecc_csv(out)
            except ValueError as exc:
                ecc_error = "Failed to parse the ECC query's output: %s" % exc
            else:
                indexes = sorted(g["index"] for g in facts["gpus"])
                if sorted(ecc) != indexes:
                    ecc_error = "the ECC query listed GPUs %s, the first query %s" % (sorted(ecc), indexes)
                    ecc = None

    try:
        release = parse_os_release(read_file(OS_RELEASE))
    except (OSError, UnicodeDecodeError):
        release = {}
    runtime = params.get("container_runtime") or {}
    family = os_family(release, which)
    query = None
    if family and (params.get("check_holds", True) or "containerd" in (runtime.get("runtimes") or [])):
        query = _query_packages(family, run_command, which)
    containerd_version = containerd_version_of(query[0]) if query else None

    checks = [
        check_driver_loaded(ctx, facts, pin, unreadable),
        check_driver_pinned(ctx, facts, pin),
        check_gpu_count(ctx, facts, params.get("gpu_count"), pci_dir),
        check_gpu_models(ctx, facts, params.get("gpu_models") or []),
        check_mig_mode(ctx, facts, params.get("mig_mode") or "any"),
        check_persistence(ctx, facts, params.get("persistence_mode", True)),
        check_ecc(ctx, facts, ecc, ecc_error),
        check_memory_remap(ctx, facts, ecc, ecc_error),
        check_container_runtime(ctx, runtime, read_file, containerd_version),
        check_toolkit_binaries(ctx, runtime, which, params.get("nvidia_ctk_path")),
        check_package_holds(ctx, params.get("check_holds", True), family, query or ([], None), read_file,
                            driver_version_for_packages(facts, pin)),
    ]
    kernel = kernel or os.uname().release
    return {"checks": checks, "host": host_summary(ctx, hostname, release, kernel, facts, ecc, checks), "nvidia_gpu_info": facts}
