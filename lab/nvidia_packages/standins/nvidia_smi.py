"""nvidia-smi SIMULATION (hymt.gpu_mesh lab): answers from /etc/nvidia-sim/gpus.json, not from a GPU.

Prints what the real nvidia-smi prints for --query-gpu (csv, noheader, nounits), -L and --version,
and fails like it when no kernel module is loaded (rc 9) or the loaded one is another version
(rc 18). The loaded module is read from /proc/driver/nvidia/version, or from the file named by
NVIDIA_SIM_PROC_DRIVER_VERSION (lab tests only: a container cannot have the /proc file).
Installed as /usr/lib/nvidia-sim/nvidia_smi.py and run by the /usr/bin/nvidia-smi wrapper.
"""
import json
import os
import sys

DRIVER = "@DRIVER_VERSION@"
CUDA = "@CUDA_VERSION@"
INVENTORY = os.environ.get("NVIDIA_SIM_GPUS", "/etc/nvidia-sim/gpus.json")
PROC = os.environ.get("NVIDIA_SIM_PROC_DRIVER_VERSION", "/proc/driver/nvidia/version")

# field -> (header, unit, value from one GPU entry and its index)
FIELDS = {
    "index": ("index", None, lambda g, i: str(i)),
    "count": ("count", None, None),
    "name": ("name", None, lambda g, i: g["name"]),
    "uuid": ("uuid", None, lambda g, i: g["uuid"]),
    "pci.bus_id": ("pci.bus_id", None, lambda g, i: g["pci_bus_id"]),
    "memory.total": ("memory.total", "MiB", lambda g, i: str(g["memory_total_mib"])),
    "memory.used": ("memory.used", "MiB", lambda g, i: str(g["memory_used_mib"])),
    "compute_cap": ("compute_cap", None, lambda g, i: g["compute_cap"]),
    "mig.mode.current": ("mig.mode.current", None, lambda g, i: g["mig_mode_current"]),
    "mig.mode.pending": ("mig.mode.pending", None, lambda g, i: g["mig_mode_pending"]),
    "ecc.mode.current": ("ecc.mode.current", None, lambda g, i: g["ecc_mode_current"]),
    "persistence_mode": ("persistence_mode", None, lambda g, i: g["persistence_mode"]),
    "driver_version": ("driver_version", None, lambda g, i: DRIVER),
    "vbios_version": ("vbios_version", None, lambda g, i: g["vbios_version"]),
    "power.limit": ("power.limit", "W", lambda g, i: "%.2f" % g["power_limit_w"]),
    "temperature.gpu": ("temperature.gpu", None, lambda g, i: str(g["temperature_gpu"])),
    "utilization.gpu": ("utilization.gpu", "%", lambda g, i: str(g["utilization_gpu"])),
}


def loaded_module_version():
    try:
        with open(PROC) as handle:
            text = handle.read()
    except OSError:
        return None
    for word in text.split():
        if word.count(".") >= 1 and word.replace(".", "").isdigit():
            return word
    return None


def check_driver():
    module = loaded_module_version()
    if module is None:
        sys.stdout.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
                         "Make sure that the latest NVIDIA driver is installed and running.\n\n")
        sys.exit(9)
    if module != DRIVER:
        sys.stdout.write("Failed to initialize NVML: Driver/library version mismatch\n"
                         "NVML library version: %s\n" % ".".join(DRIVER.split(".")[:2]))
        sys.exit(18)


def gpus():
    with open(INVENTORY) as handle:
        return json.load(handle)["gpus"]


def query(spec, fmt):
    names = [f.strip() for f in spec.split(",") if f.strip()]
    for name in names:
        if name not in FIELDS:
            sys.stdout.write('Field "%s" is not a valid field to query.\n\n' % name)
            sys.exit(2)
    options = fmt.split(",")
    if options[0] != "csv":
        sys.stdout.write('"%s" is not a valid format.\n' % fmt)
        sys.exit(2)
    units = "nounits" not in options
    check_driver()
    inventory = gpus()
    if "noheader" not in options:
        print(", ".join(FIELDS[n][0] + (" [%s]" % FIELDS[n][1] if FIELDS[n][1] else "") for n in names))
    for index, gpu in enumerate(inventory):
        cells = []
        for name in names:
            _header, unit, value = FIELDS[name]
            text = str(len(inventory)) if name == "count" else value(gpu, index)
            cells.append(text + (" " + unit if unit and units else ""))
        print(", ".join(cells))


def main(argv):
    spec = fmt = None
    for arg in argv:
        if arg.startswith("--query-gpu="):
            spec = arg.split("=", 1)[1]
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
    if spec is not None:
        query(spec, fmt or "csv")
    elif argv in (["-L"], ["--list-gpus"]):
        check_driver()
        for index, gpu in enumerate(gpus()):
            print("GPU %d: %s (UUID: %s)" % (index, gpu["name"], gpu["uuid"]))
    elif argv == ["--version"]:
        check_driver()
        branch_minor = ".".join(DRIVER.split(".")[:2])
        print("NVIDIA-SMI version  : %s\nNVML version        : %s\nDRIVER version      : %s\nCUDA Version        : %s"
              % (DRIVER, branch_minor, DRIVER, CUDA))
    elif not argv:
        check_driver()
        print("NVIDIA-SMI %s (SIMULATION, hymt.gpu_mesh lab)   Driver Version: %s   CUDA Version: %s"
              % (DRIVER, DRIVER, CUDA))
        for index, gpu in enumerate(gpus()):
            print("  %d  %s  %s  %d MiB" % (index, gpu["name"], gpu["pci_bus_id"], gpu["memory_total_mib"]))
    else:
        sys.stderr.write("nvidia-smi SIMULATION: %s is not simulated; supported: --query-gpu=... --format=csv[,noheader]"
                         "[,nounits], -L, --version\n" % " ".join(argv))
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
