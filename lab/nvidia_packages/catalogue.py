"""What the fixture repository holds: stand-in packages under the real names of NVIDIA's packages.

The driver packages follow NVIDIA's CUDA repository for Debian (debian12/debian13), a coherent
subset of it: the metapackages `nvidia-open` (open kernel module) and `cuda-drivers` /
`cuda-drivers-<branch>` (proprietary module, through `nvidia-driver`), the DKMS module packages
`nvidia-kernel-open-dkms` and `nvidia-kernel-dkms`, `nvidia-driver-cuda` (nvidia-smi),
`nvidia-persistenced` and `nvidia-fabricmanager` (the name from branch 580 on; a daemon stand-in that
only runs). The container-toolkit packages follow NVIDIA's libnvidia-container
repository at 1.20.0-1. `linux-headers-<kernel release>` stands in for the headers of the running
kernel, which the DKMS stand-ins need in order to "build" their module, as real DKMS does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

STANDINS = Path(__file__).resolve().parent / "standins"
SUITES = {"bookworm": "debian12", "trixie": "debian13"}
TOOLKIT_VERSION = "1.20.0"
CUDA_VERSION = "13.0"
SIMULATED = "SIMULATION for the hymt.gpu_mesh lab: a stand-in with the real package's name, not NVIDIA software."


@dataclass
class Package:
    """One stand-in .deb: control fields, files (path -> (content, mode)) and maintainer scripts."""

    name: str
    version: str
    summary: str
    depends: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    conffiles: list[str] = field(default_factory=list)
    scripts: dict[str, str] = field(default_factory=dict)
    architecture: str = "amd64"
    section: str = "NVIDIA"

    def control(self, installed_size_kib: int) -> str:
        lines = [
            f"Package: {self.name}",
            f"Version: {self.version}",
            f"Architecture: {self.architecture}",
            "Maintainer: hymt.gpu_mesh lab <lab@hymt.invalid>",
            f"Installed-Size: {installed_size_kib}",
            f"Section: {self.section}",
            "Priority: optional",
        ]
        for key, values in (("Depends", self.depends), ("Conflicts", self.conflicts), ("Provides", self.provides)):
            if values:
                lines.append(f"{key}: {', '.join(values)}")
        lines.append(f"Description: {self.summary} (simulation)")
        lines.append(f" {SIMULATED}")
        return "\n".join(lines) + "\n"


def _standin(name: str, **values: str) -> str:
    text = (STANDINS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


# The H100 80GB MIG profile table as the real card prints it (`nvidia-smi mig -lgip` / `-lgipp`, captured in
# tests/unit/fixtures/nvidia-smi/h100-driver-580.159.04-fabric-mig/): the simulated GPU checks creations against it.
H100_MIG_PROFILES = [
    {"id": 19, "name": "1g.10gb", "count": 7, "starts": [0, 1, 2, 3, 4, 5, 6], "size": 1, "compute": 1, "memory_gib": "9.75"},
    {"id": 20, "name": "1g.10gb+me", "count": 1, "starts": [0, 1, 2, 3, 4, 5, 6], "size": 1, "compute": 1, "memory_gib": "9.75"},
    {"id": 15, "name": "1g.20gb", "count": 4, "starts": [0, 2, 4, 6], "size": 2, "compute": 1, "memory_gib": "19.62"},
    {"id": 14, "name": "2g.20gb", "count": 3, "starts": [0, 2, 4], "size": 2, "compute": 2, "memory_gib": "19.62"},
    {"id": 9, "name": "3g.40gb", "count": 2, "starts": [0, 4], "size": 4, "compute": 3, "memory_gib": "39.50"},
    {"id": 5, "name": "4g.40gb", "count": 1, "starts": [0], "size": 4, "compute": 4, "memory_gib": "39.50"},
    {"id": 0, "name": "7g.80gb", "count": 1, "starts": [0], "size": 8, "compute": 7, "memory_gib": "79.25"},
]
# Simulated hosts: "passthrough" is the project's test host twice over (H100 SXM5 GPUs passed through to a VM without
# their baseboard's NVSwitches); "hgx-h100" an HGX H100 8-GPU baseboard with its four NVSwitches (10de:22a3).
INVENTORIES = {
    "passthrough": {"gpus": 2, "nvswitches": 0, "bus": "00000000:00:%02x.0", "first": 6},
    "hgx-h100": {"gpus": 8, "nvswitches": 4, "bus": "00000000:%02x:00.0", "first": 0x18},
}


def _gpus_json(platform: str = "passthrough") -> str:
    """The simulated GPU inventory nvidia-smi reads, of one of INVENTORIES."""
    shape = INVENTORIES[platform]

    def gpu(index: int) -> dict:
        return {
            "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-5a1b0000-0000-4000-8000-%012x" % (0xE001 + index),
            "pci_bus_id": shape["bus"] % (shape["first"] + index), "pci_device_id": "0x2330", "memory_total_mib": 81559,
            "memory_used_mib": 0, "compute_cap": "9.0", "mig_mode_current": "Disabled",
            "mig_mode_pending": "Disabled", "ecc_mode_current": "Enabled", "persistence_mode": "Enabled",
            "vbios_version": "96.00.CF.00.01", "power_limit_w": 700.0, "temperature_gpu": 40 + index,
            "utilization_gpu": 0, "mig_profiles": H100_MIG_PROFILES, "processes": [],
        }
    inventory = {
        "simulation": SIMULATED,
        "gpus": [gpu(i) for i in range(shape["gpus"])],
        "nvswitches": [{"pci_bus_id": "00000000:%02x:00.0" % (5 + i), "pci_device_id": "0x22a3"}
                       for i in range(shape["nvswitches"])],
    }
    return json.dumps(inventory, indent=2) + "\n"


def _pci_tree(platform: str) -> dict[str, tuple[str, int]]:
    """sysfs-like /sys/bus/pci/devices entries (vendor, device, class) of an inventory, for nvidia_gpu_info's
    pci_devices_dir: a container shares the lab host's real PCI tree, which has no NVIDIA devices."""
    inventory = json.loads(_gpus_json(platform))
    devices = [(g["pci_bus_id"], g["pci_device_id"], "0x030200") for g in inventory["gpus"]]
    devices += [(s["pci_bus_id"], s["pci_device_id"], "0x068000") for s in inventory["nvswitches"]]
    files = {}
    for bus_id, device, klass in devices:
        base = f"/usr/share/nvidia-sim/pci/{platform}/{bus_id[4:].lower()}"
        for name, value in (("vendor", "0x10de"), ("device", device), ("class", klass)):
            files[f"{base}/{name}"] = (value + "\n", 0o644)
    return files


def _dkms(name: str, flavour: str, driver: str, conflicts: str) -> Package:
    """A DKMS module package: "builds" at configure time, and fails like DKMS without headers."""
    values = {"PACKAGE": name, "FLAVOUR": flavour, "DRIVER_VERSION": driver}
    return Package(
        name=name, version=f"{driver}-1",
        summary=f"NVIDIA {'open' if flavour == 'open' else 'proprietary'} kernel module {driver}, DKMS source",
        conflicts=[conflicts],
        files={f"/usr/src/nvidia-{driver}/dkms.conf": (
            f"# {SIMULATED}\nPACKAGE_NAME=nvidia\nPACKAGE_VERSION={driver}\n", 0o644)},
        scripts={"postinst": _standin("dkms-postinst.sh", **values), "prerm": _standin("dkms-prerm.sh", **values)},
    )


def driver_packages(driver: str) -> list[Package]:
    branch = driver.split(".", 1)[0]
    version = f"{driver}-1"
    exact = f"(= {version})"
    return [
        Package(
            name="nvidia-driver-cuda", version=version, summary=f"NVIDIA driver {driver} CUDA support and nvidia-smi",
            files={
                "/usr/bin/nvidia-smi": (_standin("nvidia-smi"), 0o755),
                "/usr/lib/nvidia-sim/nvidia_smi.py": (
                    _standin("nvidia_smi.py", DRIVER_VERSION=driver, CUDA_VERSION=CUDA_VERSION), 0o644),
                "/etc/nvidia-sim/gpus.json": (_gpus_json(), 0o644),
                "/usr/share/nvidia-sim/inventories/passthrough.json": (_gpus_json(), 0o644),
                "/usr/share/nvidia-sim/inventories/hgx-h100.json": (_gpus_json("hgx-h100"), 0o644),
                **_pci_tree("passthrough"),
                **_pci_tree("hgx-h100"),
            },
            conffiles=["/etc/nvidia-sim/gpus.json"],
        ),
        Package(
            name="nvidia-persistenced", version=version, summary=f"NVIDIA persistence daemon {driver}",
            files={
                "/usr/bin/nvidia-persistenced": (_standin("nvidia-persistenced", DRIVER_VERSION=driver), 0o755),
                "/lib/systemd/system/nvidia-persistenced.service": (_standin("nvidia-persistenced.service"), 0o644),
            },
        ),
        Package(
            name="nvidia-fabricmanager", version=version, summary=f"NVIDIA Fabric Manager {driver} for NVSwitch systems",
            files={
                "/usr/bin/nv-fabricmanager": (_standin("nv-fabricmanager", DRIVER_VERSION=driver), 0o755),
                "/lib/systemd/system/nvidia-fabricmanager.service": (_standin("nvidia-fabricmanager.service"), 0o644),
            },
        ),
        _dkms("nvidia-kernel-open-dkms", "open", driver, "nvidia-kernel-dkms"),
        _dkms("nvidia-kernel-dkms", "proprietary", driver, "nvidia-kernel-open-dkms"),
        Package(
            name="nvidia-open", version=version, summary=f"NVIDIA driver {driver} with the open kernel module (metapackage)",
            depends=[f"nvidia-kernel-open-dkms {exact}", f"nvidia-driver-cuda {exact}", f"nvidia-persistenced {exact}"],
        ),
        Package(
            name="nvidia-driver", version=version, summary=f"NVIDIA driver {driver} (metapackage)",
            depends=[f"nvidia-kernel-dkms {exact} | nvidia-kernel-open-dkms {exact}", f"nvidia-driver-cuda {exact}",
                     f"nvidia-persistenced {exact}"],
        ),
        Package(
            name="cuda-drivers", version=version, summary=f"NVIDIA driver {driver} with the proprietary kernel module (metapackage)",
            depends=[f"nvidia-driver {exact}", f"nvidia-kernel-dkms {exact}"],
        ),
        Package(
            name=f"cuda-drivers-{branch}", version=version, summary=f"NVIDIA driver branch {branch} (metapackage)",
            depends=[f"cuda-drivers {exact}"],
        ),
    ]


def toolkit_packages() -> list[Package]:
    version = f"{TOOLKIT_VERSION}-1"
    values = {"TOOLKIT_VERSION": TOOLKIT_VERSION}
    return [
        Package(
            name="libnvidia-container1", version=version, summary="NVIDIA container runtime library",
            files={"/usr/share/nvidia-sim/libnvidia-container1.txt": (f"{SIMULATED}\n", 0o644)},
        ),
        Package(
            name="libnvidia-container-tools", version=version, summary="NVIDIA container runtime library, tools",
            depends=[f"libnvidia-container1 (>= {version})"],
            files={"/usr/bin/nvidia-container-cli": (_standin("nvidia-container-cli", **values), 0o755)},
        ),
        Package(
            name="nvidia-container-toolkit-base", version=version, summary="NVIDIA Container Toolkit base",
            files={
                "/usr/bin/nvidia-ctk": (_standin("nvidia-ctk", **values), 0o755),
                "/usr/bin/nvidia-container-runtime": (_standin("nvidia-container-runtime", **values), 0o755),
            },
        ),
        Package(
            name="nvidia-container-toolkit", version=version, summary="NVIDIA Container Toolkit",
            depends=[f"nvidia-container-toolkit-base (= {version})", f"libnvidia-container-tools (>= {version})"],
            files={"/usr/bin/nvidia-container-runtime-hook": (_standin("nvidia-container-cli", **values), 0o755)},
        ),
    ]


def headers_package(kernel_release: str) -> Package:
    return Package(
        name=f"linux-headers-{kernel_release}", version="1.0-1", section="kernel",
        summary=f"Header files for Linux {kernel_release}",
        files={f"/usr/src/linux-headers-{kernel_release}/Makefile": (f"# {SIMULATED}\n", 0o644)},
        symlinks={f"/lib/modules/{kernel_release}/build": f"/usr/src/linux-headers-{kernel_release}"},
    )


def catalogue(suite: str, driver_versions: list[str], kernel_release: str | None = None) -> list[Package]:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {sorted(SUITES)}")
    packages: list[Package] = []
    for driver in driver_versions:
        packages += driver_packages(driver)
    packages += toolkit_packages()
    packages.append(headers_package(kernel_release or os.uname().release))
    return packages
