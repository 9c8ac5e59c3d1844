"""nvidia-smi SIMULATION (hymt.gpu_mesh lab): answers from /etc/nvidia-sim/gpus.json, not from a GPU.

Prints what the real nvidia-smi prints for --query-gpu (csv, noheader, nounits), --query-compute-apps,
-L and --version, and fails like it when no kernel module is loaded (rc 9) or the loaded one is
another version (rc 18). The loaded module is read from /proc/driver/nvidia/version, or from the file
named by NVIDIA_SIM_PROC_DRIVER_VERSION (lab tests only: a container cannot have the /proc file).
MIG: `-i N -mig 0|1` and `mig -lgip/-lgipp/-lgi/-lci/-cgi [-C]/-dci/-dgi` keep the simulated MIG state in
NVIDIA_SIM_MIG_STATE (default /var/lib/nvidia-sim/mig-state.json), checking creations against the
inventory's profile table and memory slices as the GPU would; a mode change takes effect at once
unless the inventory says "mig_mode_change_needs_reset". fabric.state is "Completed" on an inventory
with NVSwitches while the nv-fabricmanager stand-in runs, "In Progress" otherwise, N/A without NVSwitches.
ECC and memory repair (the fields nvidia_host_verify asks for) come from optional keys of a GPU entry,
defaulting to a healthy H100 as the real card answers: every ECC counter 0, row remapping not pending and
not failed with 0 rows, and the retired_pages fields [N/A] (H100 remaps rows instead of retiring pages):
ecc_errors_uncorrected_volatile, ecc_errors_uncorrected_aggregate, ecc_errors_corrected_volatile,
retired_pages_pending, retired_pages_double_bit, remapped_rows_pending, remapped_rows_failure,
remapped_rows_uncorrectable, remapped_rows_correctable (numbers, or "Yes"/"No" for *_pending/*_failure).
Installed as /usr/lib/nvidia-sim/nvidia_smi.py and run by the /usr/bin/nvidia-smi wrapper.
"""
import json
import os
import sys

DRIVER = "@DRIVER_VERSION@"
CUDA = "@CUDA_VERSION@"
INVENTORY = os.environ.get("NVIDIA_SIM_GPUS", "/etc/nvidia-sim/gpus.json")
PROC = os.environ.get("NVIDIA_SIM_PROC_DRIVER_VERSION", "/proc/driver/nvidia/version")
MIG_STATE = os.environ.get("NVIDIA_SIM_MIG_STATE", "/var/lib/nvidia-sim/mig-state.json")
FABRICMANAGER_PID = "/run/nvidia-fabricmanager/nv-fabricmanager.pid"


def fabric_state(inventory):
    if not inventory.get("nvswitches"):
        return "N/A"
    try:
        with open(FABRICMANAGER_PID) as handle:
            os.kill(int(handle.read().strip()), 0)
        return "Completed"
    except (OSError, ValueError):
        return "In Progress"


def counter(key, default="0"):
    """A GPU entry's optional ECC / memory-repair value, as nvidia-smi prints it."""
    return lambda g, i: str(g.get(key, default))


def mig_mode(i, key):
    return "Enabled" if mig_state()[str(i)][key] else "Disabled"


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
    "mig.mode.current": ("mig.mode.current", None, lambda g, i: mig_mode(i, "current")),
    "mig.mode.pending": ("mig.mode.pending", None, lambda g, i: mig_mode(i, "pending")),
    "fabric.state": ("fabric.state", None, lambda g, i: fabric_state(inventory())),
    "fabric.status": ("fabric.status", None, lambda g, i: "Success" if fabric_state(inventory()) == "Completed" else "N/A"),
    "ecc.mode.current": ("ecc.mode.current", None, lambda g, i: g["ecc_mode_current"]),
    "ecc.errors.uncorrected.volatile.total": ("ecc.errors.uncorrected.volatile.total", None,
                                              counter("ecc_errors_uncorrected_volatile")),
    "ecc.errors.uncorrected.aggregate.total": ("ecc.errors.uncorrected.aggregate.total", None,
                                               counter("ecc_errors_uncorrected_aggregate")),
    "ecc.errors.corrected.volatile.total": ("ecc.errors.corrected.volatile.total", None,
                                            counter("ecc_errors_corrected_volatile")),
    "retired_pages.pending": ("retired_pages.pending", None, counter("retired_pages_pending", "[N/A]")),
    "retired_pages.double_bit.count": ("retired_pages.double_bit.count", None, counter("retired_pages_double_bit", "[N/A]")),
    "remapped_rows.pending": ("remapped_rows.pending", None, counter("remapped_rows_pending", "No")),
    "remapped_rows.failure": ("remapped_rows.failure", None, counter("remapped_rows_failure", "No")),
    "remapped_rows.uncorrectable": ("remapped_rows.uncorrectable", None, counter("remapped_rows_uncorrectable")),
    "remapped_rows.correctable": ("remapped_rows.correctable", None, counter("remapped_rows_correctable")),
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


def inventory():
    with open(INVENTORY) as handle:
        return json.load(handle)


def gpus():
    return inventory()["gpus"]


def mig_state():
    """{index: {current, pending, gpu_instances, compute_instances}}, first taken from the inventory."""
    try:
        with open(MIG_STATE) as handle:
            return json.load(handle)
    except OSError:
        return {str(i): {"current": g["mig_mode_current"] == "Enabled", "pending": g["mig_mode_pending"] == "Enabled",
                         "gpu_instances": [], "compute_instances": []} for i, g in enumerate(gpus())}


def save_mig_state(state):
    os.makedirs(os.path.dirname(MIG_STATE), exist_ok=True)
    with open(MIG_STATE + ".tmp", "w") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)
    os.replace(MIG_STATE + ".tmp", MIG_STATE)


def gpu_indexes(argv):
    """The GPUs an `-i N` option names, else all."""
    if "-i" in argv:
        return [int(argv[argv.index("-i") + 1])]
    return list(range(len(gpus())))


def set_mig_mode(argv):
    enable = argv[argv.index("-mig") + 1] in ("1", "ENABLED")
    state, inv = mig_state(), gpus()
    for i in gpu_indexes(argv):
        gpu = state[str(i)]
        if not enable and gpu["gpu_instances"]:
            sys.stdout.write("Unable to disable MIG Mode for GPU %s: In use by another client\n" % inv[i]["pci_bus_id"])
            sys.exit(3)
        gpu["pending"] = enable
        if not inv[i].get("mig_mode_change_needs_reset"):
            gpu["current"] = enable
        print("%s MIG Mode for GPU %s" % ("Enabled" if enable else "Disabled", inv[i]["pci_bus_id"]))
        if gpu["current"] != gpu["pending"]:
            print("Warning: MIG mode is in pending %s state for GPU %s:Not Supported\nReboot the system or try "
                  "nvidia-smi --gpu-reset to make MIG mode effective on GPU %s"
                  % ("enable" if enable else "disable", inv[i]["pci_bus_id"], inv[i]["pci_bus_id"]))
    save_mig_state(state)
    print("All done.")


def mig_enabled(state, indexes):
    enabled = [i for i in indexes if state[str(i)]["current"]]
    if not enabled:
        print("No MIG-enabled devices found.")
        sys.exit(0)
    return enabled


def mig(argv):
    """The `nvidia-smi mig` subcommands the lab uses."""
    state, inv = mig_state(), gpus()
    indexes = gpu_indexes(argv)
    if "-lgip" in argv or "-lgipp" in argv:
        for i in indexes:
            for p in inv[i]["mig_profiles"]:
                if "-lgipp" in argv:
                    print("GPU  %d Profile ID %2d Placements: {%s}:%d" % (i, p["id"], ",".join(map(str, p["starts"])), p["size"]))
                else:
                    used = sum(1 for gi in state[str(i)]["gpu_instances"] if gi["profile"] == p["name"])
                    print("|  %2d  MIG %-14s %3d     %d/%d        %-6s     No |"
                          % (i, p["name"], p["id"], p["count"] - used, p["count"], p["memory_gib"]))
        return
    if "-lgi" in argv or "-lci" in argv:
        rows = []
        for i in mig_enabled(state, indexes):
            gis = {gi["id"]: gi for gi in state[str(i)]["gpu_instances"]}
            if "-lgi" in argv:
                rows += ["|  %2d  MIG %-14s %3d  %6d  %6d:%d     |" % (i, gi["profile"], gi["profile_id"], gi["id"], gi["start"], gi["size"])
                         for gi in gis.values()]
            else:
                rows += ["|  %2d  %5d     MIG %-14s %3d  %6d  %6d:%d     |"
                         % (i, ci["gi"], ci["profile"], 0, ci["id"], 0, gis[ci["gi"]]["compute"])
                         for ci in state[str(i)]["compute_instances"]]
        if not rows:
            print("No %s instances found: Not Found" % ("GPU" if "-lgi" in argv else "compute"))
            sys.exit(6)
        print("+%s+\n| %s instances: |\n+%s+" % ("-" * 60, "GPU" if "-lgi" in argv else "Compute", "=" * 60))
        print("\n".join(rows))
        return
    i = mig_enabled(state, indexes)[0]
    gpu = state[str(i)]
    if "-dci" in argv or "-dgi" in argv:
        key = "compute_instances" if "-dci" in argv else "gpu_instances"
        if "-dgi" in argv and gpu["compute_instances"]:
            print("Unable to destroy GPU instance: In use by another client")
            sys.exit(3)
        if not gpu[key]:
            print("No %s instances found: Not Found" % ("compute" if key == "compute_instances" else "GPU"))
            sys.exit(6)
        for item in gpu[key]:
            print("Successfully destroyed %s instance ID %2d from GPU %2d" % ("compute" if key == "compute_instances" else "GPU", item["id"], i))
        gpu[key] = []
        save_mig_state(state)
        return
    if "-cgi" in argv:
        profiles = {p["name"]: p for p in inv[i]["mig_profiles"]}
        for spec in argv[argv.index("-cgi") + 1].split(","):
            name, _colon, start = spec.partition(":")
            profile = profiles.get(name)
            if profile is None:
                print("Unable to create a GPU instance on GPU %2d using profile %s: Invalid Argument" % (i, name))
                sys.exit(2)
            used = set(s for gi in gpu["gpu_instances"] for s in range(gi["start"], gi["start"] + gi["size"]))
            starts = [int(start)] if start else profile["starts"]
            fits = [s for s in starts if s in profile["starts"] and not used & set(range(s, s + profile["size"]))]
            count = sum(1 for gi in gpu["gpu_instances"] if gi["profile"] == name)
            if not fits or count >= profile["count"]:
                save_mig_state(state)
                print("Unable to create a GPU instance on GPU %2d using profile %s: Insufficient Resources" % (i, name))
                sys.exit(2)
            gi_id = max([gi["id"] for gi in gpu["gpu_instances"]] + [0]) + 1
            gpu["gpu_instances"].append({"id": gi_id, "profile": name, "profile_id": profile["id"], "start": fits[0],
                                         "size": profile["size"], "compute": profile["compute"]})
            print("Successfully created GPU instance ID %2d on GPU %2d using profile MIG %s (ID %2d)" % (gi_id, i, name, profile["id"]))
            if "-C" in argv:
                gpu["compute_instances"].append({"gi": gi_id, "id": 0, "profile": name})
                print("Successfully created compute instance ID  0 on GPU %2d GPU instance ID %2d using profile MIG %s (ID  0)"
                      % (i, gi_id, name))
        save_mig_state(state)
        return
    sys.stderr.write("nvidia-smi SIMULATION: mig %s is not simulated\n" % " ".join(argv))
    sys.exit(2)


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
    elif any(arg.startswith("--query-compute-apps=") for arg in argv):
        check_driver()
        for gpu in gpus():
            for process in gpu.get("processes", []):
                print("%s, %d, %s" % (gpu["uuid"], process["pid"], process["name"]))
    elif argv[:1] == ["mig"]:
        check_driver()
        mig(argv[1:])
    elif "-mig" in argv:
        check_driver()
        set_mig_mode(argv)
    elif argv in (["-L"], ["--list-gpus"]):
        check_driver()
        state = mig_state()
        for index, gpu in enumerate(gpus()):
            print("GPU %d: %s (UUID: %s)" % (index, gpu["name"], gpu["uuid"]))
            for number, ci in enumerate(state[str(index)]["compute_instances"]):
                print("  MIG %-13s Device %2d: (UUID: MIG-sim-%d-%d)" % (ci["profile"], number, index, ci["gi"]))
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
                         "[,nounits], --query-compute-apps=..., -L, --version, -i N -mig 0|1, mig ...\n" % " ".join(argv))
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
