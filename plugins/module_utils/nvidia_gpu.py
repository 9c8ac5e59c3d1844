# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe a host's NVIDIA GPUs and driver with one query, for the nvidia_gpu_info module.

Two backends give the same facts: ONE ``nvidia-smi --query-gpu`` call (NVIDIA_SMI_ARGS), or NVML
in-process through nvidia-ml-py (``pynvml``) where nvidia-smi is missing or NVML is asked for. The loaded kernel module is
read from /proc/driver/nvidia/version in both cases, and NVSwitches (whether Fabric Manager is needed)
from the PCI devices in sysfs, which needs no driver. Nothing here imports Ansible, so the parsers
are unit-tested on real captures without it.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import re

PROC_VERSION_PATH = "/proc/driver/nvidia/version"
PCI_DEVICES_DIR = "/sys/bus/pci/devices"
PCI_VENDOR_NVIDIA = "0x10de"
# PCI base class 0x03 (display controller: VGA 0x0300, 3D 0x0302) is a GPU; NVIDIA's NVSwitch chips
# sit on the host's PCI tree as "bridge, other" (0x0680): an HGX H100 8-GPU baseboard shows four
# 10de:22a3, an HGX A100 six 10de:1af1 (NVIDIA Fabric Manager user guide, "PCIe topology").
PCI_CLASS_GPU_PREFIX = "0x03"
PCI_CLASS_NVSWITCH_PREFIX = "0x0680"

# The fields in the order nvidia-smi prints them; fake nvidia-smi fixtures must emulate exactly
# this command line (documented in the module's notes).
QUERY_FIELDS = (
    "index",
    "name",
    "uuid",
    "pci.bus_id",
    "memory.total",
    "compute_cap",
    "mig.mode.current",
    "mig.mode.pending",
    "ecc.mode.current",
    "persistence_mode",
    "driver_version",
)
NVIDIA_SMI_ARGS = ("--query-gpu=" + ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits")

# nvidia-smi exits with the NVML return code; the texts are checked too, since wrappers change rc.
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18

_PROC_RE = re.compile(r"NVRM version:\s*(?P<desc>.*?Kernel Module.*?)\s+(?P<version>\d+\.\d+(?:\.\d+)?)\s")
_NVML_LIB_RE = re.compile(r"NVML library version:\s*(?P<version>\d+\.\d+(?:\.\d+)?)")
_ON_OFF = {"enabled": True, "disabled": False}


class NvidiaGpuError(Exception):
    """Raised when nvidia-smi answers with output this module cannot read."""


def load_pynvml():
    """nvidia-ml-py's pynvml module, or None when it is not installed.

    Imported on demand: it is a large module, and backend=nvidia-smi runs should not pay for it.
    """
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def empty_facts():
    """Facts of a host with no usable GPU; every key the module documents is present."""
    return {
        "present": False,
        "reason": None,
        "backend": None,
        "driver_version": None,
        "driver_branch": None,
        "cuda_version": None,
        "kernel_module_loaded": False,
        "kernel_module_version": None,
        "kernel_module_flavour": None,
        "driver_mismatch": False,
        "reboot_required": False,
        "gpu_count": 0,
        "gpus": [],
        "pci_gpu_count": 0,
        "nvswitch_count": 0,
        "fabric_manager_required": False,
        "fabric_manager_reason": None,
    }


def _na(value):
    """nvidia-smi prints unsupported or unavailable fields as [N/A], [Not Supported], N/A..."""
    value = value.strip()
    if not value or value.startswith("[") or value in ("N/A", "Not Supported"):
        return None
    return value


def _on_off(value):
    value = _na(value)
    if value is None:
        return None
    try:
        return _ON_OFF[value.lower()]
    except KeyError:
        raise NvidiaGpuError("Failed to read nvidia-smi mode value %r (expected Enabled or Disabled)" % value)


def _int(value):
    value = _na(value)
    return None if value is None else int(value)


def branch_of(version):
    """'580.159.04' -> '580'."""
    return version.split(".", 1)[0] if version else None


def parse_proc_version(text):
    """Read the loaded kernel module's version and flavour from /proc/driver/nvidia/version.

    Open module: 'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ...'
    Proprietary: 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ...'
    """
    match = _PROC_RE.search(text or "")
    if not match:
        return {"version": None, "flavour": None}
    flavour = "open" if "Open Kernel Module" in match.group("desc") else "proprietary"
    return {"version": match.group("version"), "flavour": flavour}


def parse_query_csv(text):
    """Parse the output of NVIDIA_SMI_ARGS into (driver_version, [gpu dicts])."""
    gpus = []
    driver_versions = set()
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(QUERY_FIELDS):
            raise NvidiaGpuError(
                "Failed to parse nvidia-smi output line %r: expected %d fields (%s), got %d"
                % (line, len(QUERY_FIELDS), ",".join(QUERY_FIELDS), len(cells))
            )
        row = dict(zip(QUERY_FIELDS, cells))
        try:
            gpus.append({
                "index": int(row["index"]),
                "name": _na(row["name"]),
                "uuid": _na(row["uuid"]),
                "pci_bus_id": _na(row["pci.bus_id"]),
                "memory_total_mib": _int(row["memory.total"]),
                "compute_capability": _na(row["compute_cap"]),
                "mig_mode_current": _on_off(row["mig.mode.current"]),
                "mig_mode_pending": _on_off(row["mig.mode.pending"]),
                "ecc_mode": _on_off(row["ecc.mode.current"]),
                "persistence_mode": _on_off(row["persistence_mode"]),
            })
        except ValueError as exc:
            raise NvidiaGpuError("Failed to parse nvidia-smi output line %r: %s" % (line, exc))
        if _na(row["driver_version"]):
            driver_versions.add(row["driver_version"])
    if len(driver_versions) > 1:
        raise NvidiaGpuError("Failed to parse nvidia-smi output: GPUs report different drivers %s" % sorted(driver_versions))
    return (driver_versions.pop() if driver_versions else None), gpus


def classify_smi_failure(rc, stdout, stderr):
    """Turn a failed nvidia-smi run into (kind, userspace_version, message).

    kind is one of 'no_devices', 'not_loaded', 'mismatch', 'no_library' or 'error'.
    """
    text = "\n".join(part for part in (stdout, stderr) if part).strip()
    first_line = text.splitlines()[0] if text else "nvidia-smi exited with rc=%s and no output" % rc
    lowered = text.lower()
    if "version mismatch" in lowered or rc == NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        match = _NVML_LIB_RE.search(text)
        return "mismatch", (match.group("version") if match else None), first_line
    if "couldn't communicate with the nvidia driver" in lowered or rc == NVML_ERROR_DRIVER_NOT_LOADED:
        return "not_loaded", None, first_line
    if "no devices were found" in lowered or rc == NVML_ERROR_NOT_FOUND:
        return "no_devices", None, first_line
    if "couldn't find libnvidia-ml" in lowered or rc == NVML_ERROR_LIBRARY_NOT_FOUND:
        return "no_library", None, first_line
    return "error", None, first_line


def cuda_driver_version(loader=ctypes.CDLL):
    """The CUDA version the installed driver supports, e.g. '13.0', or None.

    cuDriverGetVersion needs no cuInit and touches no device, so it is cheap; nvidia-smi itself
    reports its 'CUDA Version' from the same call.
    """
    try:
        lib = loader("libcuda.so.1")
        version = ctypes.c_int(0)
        if lib.cuDriverGetVersion(ctypes.byref(version)) != 0 or version.value <= 0:
            return None
    except (OSError, AttributeError):
        return None
    return "%d.%d" % (version.value // 1000, (version.value % 1000) // 10)


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def probe_nvml(nvml):
    """Query every GPU through an imported pynvml module. Returns (status, payload).

    status 'ok' with (driver_version, cuda_version, gpus), or a failure kind as in
    classify_smi_failure with a message.
    """
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        code = getattr(exc, "value", None)
        kind = {
            NVML_ERROR_DRIVER_NOT_LOADED: "not_loaded",
            NVML_ERROR_LIBRARY_NOT_FOUND: "no_library",
            NVML_ERROR_LIB_RM_VERSION_MISMATCH: "mismatch",
        }.get(code, "error")
        return kind, "NVML initialisation failed: %s" % exc
    try:
        def optional(call, *args):
            try:
                return call(*args)
            except nvml.NVMLError as exc:
                if getattr(exc, "value", None) == nvml.NVML_ERROR_NOT_SUPPORTED:
                    return None
                raise

        def mode(value):
            return None if value is None else bool(value)

        driver = _text(nvml.nvmlSystemGetDriverVersion())
        cuda = nvml.nvmlSystemGetCudaDriverVersion()
        gpus = []
        for i in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            mig = optional(nvml.nvmlDeviceGetMigMode, handle) or (None, None)
            ecc = optional(nvml.nvmlDeviceGetEccMode, handle) or (None, None)
            major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append({
                "index": nvml.nvmlDeviceGetIndex(handle),
                "name": _text(nvml.nvmlDeviceGetName(handle)),
                "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
                "pci_bus_id": _text(nvml.nvmlDeviceGetPciInfo(handle).busId),
                "memory_total_mib": nvml.nvmlDeviceGetMemoryInfo(handle).total // (1024 * 1024),
                "compute_capability": "%d.%d" % (major, minor),
                "mig_mode_current": mode(mig[0]),
                "mig_mode_pending": mode(mig[1]),
                "ecc_mode": mode(ecc[0]),
                "persistence_mode": mode(optional(nvml.nvmlDeviceGetPersistenceMode, handle)),
            })
    except nvml.NVMLError as exc:
        return "error", "NVML query failed: %s" % exc
    finally:
        try:
            nvml.nvmlShutdown()
        except nvml.NVMLError:
            pass
    cuda_version = "%d.%d" % (cuda // 1000, (cuda % 1000) // 10) if cuda else None
    return "ok", (driver, cuda_version, gpus)


_REASONS = {
    "no_devices": "the NVIDIA driver is loaded but no GPU was found",
    "not_loaded": "the NVIDIA driver is installed but its kernel module is not loaded",
    "mismatch": "the loaded NVIDIA kernel module and the userspace driver differ",
    "no_library": "the NVIDIA userspace driver library (libnvidia-ml) is missing",
    "no_userspace": "nvidia-smi was not found: the NVIDIA userspace driver is not installed",
}


def assemble(facts, status, message=None, userspace_version=None):
    """Fill the host-level verdicts of facts (kernel module fields already set) for a status."""
    if status == "ok":
        facts["present"] = facts["gpu_count"] > 0
        if not facts["present"]:
            facts["reason"] = _REASONS["no_devices"]
    else:
        facts["reason"] = _REASONS.get(status) or "NVIDIA driver query failed"
        if message:
            facts["reason"] += ": " + message
        if userspace_version and not facts["driver_version"]:
            facts["driver_version"] = userspace_version
    if status == "ok" and facts["kernel_module_version"] is None and facts["driver_version"]:
        # NVML only answers through a loaded module; without a readable /proc file it is still loaded.
        facts["kernel_module_loaded"] = True
    module_version = facts["kernel_module_version"]
    facts["driver_mismatch"] = status == "mismatch" or bool(
        module_version and facts["driver_version"] and module_version != facts["driver_version"]
    )
    userspace_installed = status not in ("no_userspace", "no_library")
    facts["reboot_required"] = facts["driver_mismatch"] or (
        userspace_installed and status == "not_loaded" and not facts["kernel_module_loaded"]
    )
    facts["driver_branch"] = branch_of(facts["driver_version"] or module_version)
    return facts


def read_pci_devices(devices_dir=PCI_DEVICES_DIR):
    """{PCI address: {'vendor', 'device', 'class'}} of the NVIDIA devices under a sysfs devices directory.

    None when the directory cannot be listed (no sysfs); other vendors' devices are skipped after
    reading their vendor file alone.
    """
    def attribute(address, name):
        try:
            with open(os.path.join(devices_dir, address, name)) as handle:
                return handle.read().strip().lower()
        except OSError:
            return None

    try:
        addresses = sorted(os.listdir(devices_dir))
    except OSError:
        return None
    devices = {}
    for address in addresses:
        if attribute(address, "vendor") == PCI_VENDOR_NVIDIA:
            devices[address] = {
                "vendor": PCI_VENDOR_NVIDIA,
                "device": attribute(address, "device"),
                "class": attribute(address, "class") or "",
            }
    return devices


def fabric_manager_verdict(pci_devices):
    """(pci_gpu_count, nvswitch_count, required, reason) from read_pci_devices().

    Fabric Manager is needed exactly where NVSwitches are on this host's PCI tree (HGX/DGX 8-GPU
    baseboards): it programs their routing, and until it has, CUDA does not initialise on the GPUs.
    An SXM GPU alone says nothing: the 4-GPU HGX boards link their GPUs without NVSwitch, and a GPU
    passed through to a VM without its baseboard's switches (as on the project's H100 host) has no
    fabric to manage; multi-node NVLink systems run it on the switch trays, not on the GPU hosts.
    """
    if pci_devices is None:
        return 0, 0, False, "the PCI devices could not be read from sysfs, so no NVSwitch was seen"
    gpus = sum(1 for d in pci_devices.values() if d["class"].startswith(PCI_CLASS_GPU_PREFIX))
    switches = sorted(
        address for address, d in pci_devices.items() if d["class"].startswith(PCI_CLASS_NVSWITCH_PREFIX)
    )
    if switches:
        ids = sorted({pci_devices[a]["device"] for a in switches})
        return gpus, len(switches), True, (
            "%d NVSwitch(es) on the PCI bus (device %s) beside %d NVIDIA GPU(s): the NVLink fabric needs "
            "Fabric Manager before CUDA can use the GPUs" % (len(switches), ", ".join(str(i) for i in ids), gpus)
        )
    return gpus, 0, False, (
        "no NVSwitch on the PCI bus (%d NVIDIA GPU(s), 0 NVSwitches): the GPUs are not on an NVSwitch "
        "fabric (PCIe cards, NVLink without switches, or GPUs passed through without their baseboard's "
        "switches), so Fabric Manager is not needed" % gpus
    )


def uses_nvml(backend, nvidia_smi):
    """Whether a run asks NVML in-process instead of running nvidia-smi.

    auto prefers nvidia-smi: measured on an H100, importing nvidia-ml-py alone costs about three
    nvidia-smi queries, so NVML only serves hosts whose driver ships no nvidia-smi.
    """
    return backend == "nvml" or (backend == "auto" and not nvidia_smi)


def gather(run_command, nvidia_smi, read_proc, backend="auto", nvml=None, cuda_loader=ctypes.CDLL, pci_devices=None):
    """Collect the facts with at most one nvidia-smi run.

    run_command(args) -> (rc, stdout, stderr); nvidia_smi is its path or None when absent;
    read_proc() -> text of /proc/driver/nvidia/version or None; nvml is the pynvml module or None
    (only looked at when uses_nvml()); pci_devices is read_pci_devices()'s answer.
    """
    facts = empty_facts()
    (facts["pci_gpu_count"], facts["nvswitch_count"], facts["fabric_manager_required"],
     facts["fabric_manager_reason"]) = fabric_manager_verdict(pci_devices)
    proc = parse_proc_version(read_proc())
    facts["kernel_module_version"] = proc["version"]
    facts["kernel_module_flavour"] = proc["flavour"]
    facts["kernel_module_loaded"] = proc["version"] is not None

    if uses_nvml(backend, nvidia_smi) and nvml is not None:
        facts["backend"] = "nvml"
        status, payload = probe_nvml(nvml)
        if status != "ok":
            return assemble(facts, status, payload)
        facts["driver_version"], facts["cuda_version"], facts["gpus"] = payload
        facts["gpu_count"] = len(facts["gpus"])
        return assemble(facts, status)

    facts["backend"] = "nvidia-smi"
    if not nvidia_smi:
        return assemble(facts, "no_userspace")
    rc, stdout, stderr = run_command([nvidia_smi] + list(NVIDIA_SMI_ARGS))
    if rc != 0:
        kind, userspace_version, message = classify_smi_failure(rc, stdout, stderr)
        return assemble(facts, kind, message, userspace_version)
    facts["driver_version"], facts["gpus"] = parse_query_csv(stdout)
    facts["gpu_count"] = len(facts["gpus"])
    if facts["gpus"]:
        facts["cuda_version"] = cuda_driver_version(cuda_loader)
    return assemble(facts, "ok")
