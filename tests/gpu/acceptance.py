# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-GPU acceptance of hymt.gpu_mesh.nvidia_gpu_info (issue 8, items 1 and 3).

Run it through tests/gpu/run.sh, which provides ansible-core and the collection path. It:
1. runs the module on this host with each backend and checks every field against nvidia-smi's
   own CSV (header and units, parsed here by column name), `nvidia-smi --version` and
   /proc/driver/nvidia/version;
2. measures P3 = (median module run - median ping run) / median raw nvidia-smi query, for the
   module process alone, per playbook task and per whole ad-hoc process;
3. saves real outputs worth keeping as unit-test fixtures;
4. writes docs/benchmarks/gpu.md with its own section replaced by this run's measurements.
Exits 1 when a check fails. P3 is reported against its goal, not enforced.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks" / "gpu.md"
BEGIN = "<!-- BEGIN nvidia_gpu_info: written by tests/gpu/run.sh -->"
END = "<!-- END nvidia_gpu_info -->"
P3_GOAL = 1.3
MODULE = "hymt.gpu_mesh.nvidia_gpu_info"
# The module refused at its argument check: everything a run costs (collection loading, AnsiballZ,
# imports) except the probe itself; module minus floor shows how many nvidia-smi calls it makes.
FLOOR = "module floor"

DOC_TEMPLATE = """# GPU benchmarks

Measured on real GPUs by the scripts under tests/gpu/; every number below was written by a script
from its own measurements, never typed in. Re-run: `tests/gpu/build-wheelhouse.sh` on a machine
with package-index access, copy the checkout (with .whl/) to the GPU host, then `tests/gpu/run.sh
RESULTS_DIR` there and copy RESULTS_DIR/gpu.md over this file.

## nvidia_gpu_info on a real GPU (issue 8, items 1 and 3)

{begin}
{end}

## Model serving: HY-MT1.5-1.8B (issue 8, item 4)

Not measured yet.
"""


def load_module_utils():
    """The module's own query arguments: the raw call P3 divides by must be the one it runs."""
    path = ROOT / "plugins" / "module_utils" / "nvidia_gpu.py"
    spec = importlib.util.spec_from_file_location("nvidia_gpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args):
    return subprocess.run(args, capture_output=True, text=True, check=False, env=None)


def ansible(module, module_args=""):
    cmd = [sys.executable, "-m", "ansible", "adhoc", "localhost", "-m", module]
    return cmd + (["-a", module_args] if module_args else [])


def ansible_result(cmd):
    """Run an ad-hoc command and return the module's result dictionary."""
    proc = run(cmd)
    text = proc.stdout
    marker = text.find("=> {")
    if proc.returncode != 0 or marker < 0:
        print("%s failed (rc=%d):\n%s\n%s" % (" ".join(cmd), proc.returncode, text, proc.stderr), flush=True)
        return {"failed": True, "rc": proc.returncode, "stdout": text, "stderr": proc.stderr}
    return json.loads(text[marker + 3:])


def on_off(value):
    return {"Enabled": True, "Disabled": False}.get(value.strip())


def reference_gpus(fields):
    """nvidia-smi's CSV with header and units, read by column name."""
    proc = run(["nvidia-smi", "--query-gpu=" + ",".join(fields), "--format=csv"])
    if proc.returncode != 0:
        raise SystemExit("nvidia-smi --format=csv failed: " + proc.stdout + proc.stderr)
    rows = list(csv.DictReader(io.StringIO(proc.stdout), skipinitialspace=True))
    gpus = []
    for row in rows:
        memory = row["memory.total [MiB]"]
        gpus.append({
            "index": int(row["index"]),
            "name": row["name"],
            "uuid": row["uuid"],
            "pci_bus_id": row["pci.bus_id"],
            "memory_total_mib": int(memory.split()[0]) if memory.endswith("MiB") else None,
            "compute_capability": None if row["compute_cap"].startswith("[") else row["compute_cap"],
            "mig_mode_current": on_off(row["mig.mode.current"]),
            "mig_mode_pending": on_off(row["mig.mode.pending"]),
            "ecc_mode": on_off(row["ecc.mode.current"]),
            "persistence_mode": on_off(row["persistence_mode"]),
        })
    drivers = {row["driver_version"] for row in rows}
    return gpus, drivers.pop() if len(drivers) == 1 else sorted(drivers)


def reference_host():
    version = run(["nvidia-smi", "--version"]).stdout
    cuda = re.search(r"CUDA Version\s*:\s*(\S+)", version)
    try:
        proc_text = Path("/proc/driver/nvidia/version").read_text()
    except OSError:
        proc_text = ""
    module_version = re.search(r"Kernel Module.*?\s(\d+\.\d+(?:\.\d+)?)\s", proc_text)
    return {
        "cuda_version": cuda.group(1) if cuda else None,
        "kernel_module_version": module_version.group(1) if module_version else None,
        "kernel_module_flavour": ("open" if "Open Kernel Module" in proc_text else "proprietary") if proc_text else None,
        "nvidia_smi_version": version.strip(),
    }


def check(result, gpus, driver, host, backend):
    """(field, expected, got) for every fact that has an independent reference."""
    if result.get("failed") or "present" not in result:
        return [("module run", "success", "failed")]
    rows = [
        ("present", True, result["present"]),
        ("backend is the expected one (auto: nvidia-smi, found on PATH)", True, result["backend"] == backend),
        ("driver_version", driver, result["driver_version"]),
        ("driver_branch", driver.split(".")[0], result["driver_branch"]),
        ("cuda_version", host["cuda_version"], result["cuda_version"]),
        ("kernel_module_loaded", True, result["kernel_module_loaded"]),
        ("kernel_module_version", host["kernel_module_version"], result["kernel_module_version"]),
        ("kernel_module_flavour", host["kernel_module_flavour"], result["kernel_module_flavour"]),
        ("driver_mismatch", False, result["driver_mismatch"]),
        ("reboot_required", False, result["reboot_required"]),
        ("gpu_count", len(gpus), result["gpu_count"]),
    ]
    facts = result["ansible_facts"]["nvidia_gpu_info"]
    rows.append(("ansible_facts.nvidia_gpu_info equals the return values", True,
                 facts == {key: result.get(key) for key in facts}))
    by_index = {g["index"]: g for g in result["gpus"]}
    for gpu in gpus:
        got = by_index.get(gpu["index"], {})
        rows += [("gpus[%d].%s" % (gpu["index"], key), value, got.get(key)) for key, value in gpu.items()]
    return rows


def capture_nvml():
    """pynvml's raw answers (types included) as a fixture for the NVML backend's tests."""
    try:
        import pynvml
    except ImportError:
        return {"error": "pynvml not importable"}
    started = time.perf_counter()
    pynvml.nvmlInit()
    try:
        def attempt(call, *args):
            try:
                value = call(*args)
            except pynvml.NVMLError as exc:
                return {"nvml_error": getattr(exc, "value", None), "text": str(exc)}
            if isinstance(value, bytes):
                return {"bytes": value.decode()}
            if hasattr(value, "_fields_"):
                names = [field[0] for field in value._fields_]
                return {name: attempt(getattr, value, name) for name in names if not name.startswith("_")}
            return list(value) if isinstance(value, (tuple, list)) else value

        data = {
            "nvidia_ml_py": importlib.metadata.version("nvidia-ml-py"),
            "nvmlSystemGetDriverVersion": attempt(pynvml.nvmlSystemGetDriverVersion),
            "nvmlSystemGetCudaDriverVersion": attempt(pynvml.nvmlSystemGetCudaDriverVersion),
            "nvmlSystemGetNVMLVersion": attempt(pynvml.nvmlSystemGetNVMLVersion),
            "devices": [],
        }
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            device = {name: attempt(getattr(pynvml, name), handle) for name in (
                "nvmlDeviceGetIndex", "nvmlDeviceGetMinorNumber", "nvmlDeviceGetName", "nvmlDeviceGetUUID",
                "nvmlDeviceGetPciInfo", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetCudaComputeCapability",
                "nvmlDeviceGetMigMode", "nvmlDeviceGetEccMode", "nvmlDeviceGetPersistenceMode",
            )}
            if hasattr(pynvml, "nvmlMemory_v2"):
                device["nvmlDeviceGetMemoryInfo_v2"] = attempt(
                    lambda h: pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2), handle)
            data["devices"].append(device)
    finally:
        pynvml.nvmlShutdown()
    data["seconds_init_to_shutdown"] = round(time.perf_counter() - started, 4)
    return data


def timed(cmd, must_fail=False):
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - started
    if (proc.returncode != 0) != must_fail:
        raise SystemExit("timed command failed (rc=%d): %s" % (proc.returncode, " ".join(cmd)))
    return elapsed


def measure(commands, rounds):
    """Interleave the commands round by round so drift hits all alike; drop one warm-up round."""
    samples = {name: [] for name in commands}
    for round_no in range(rounds + 1):
        for name, cmd in commands.items():
            elapsed = timed(cmd, must_fail=name == FLOOR)
            if round_no:
                samples[name].append(elapsed)
        print("timing round %d/%d done" % (round_no, rounds), flush=True)
    return samples


def in_process_cost(path, statement, runs=10):
    """Median seconds of one module_utils call, each in a fresh process as in a module run."""
    code = ("import importlib.util, sys, time\n"
            "spec = importlib.util.spec_from_file_location('nvidia_gpu', sys.argv[1])\n"
            "m = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(m)\n"
            "t = time.perf_counter()\n"
            "%s\n"
            "print(time.perf_counter() - t)\n" % statement)
    values = []
    for attempt_no in range(runs):
        proc = run([sys.executable, "-c", code, str(path)])
        if proc.returncode != 0:
            print("attempt %d of %r failed: %s" % (attempt_no, statement, proc.stderr), flush=True)
            return None
        values.append(float(proc.stdout))
    return statistics.median(values)


def measure_tasks(variants, rounds, workdir):
    """Per-task durations of the variants, interleaved in ONE playbook run (junit callback times).

    Inside one ansible process the module is built once and no interpreter start-up or
    inventory/collection loading is repeated, so the per-task spread is small enough to resolve
    one nvidia-smi query; ad-hoc process runs vary by hundreds of milliseconds.
    """
    tasks = []
    for round_no in range(rounds + 1):
        for name, (module, module_args) in variants.items():
            task = {"name": "%s %d" % (name, round_no), module: dict(module_args)}
            if name == FLOOR:
                task["ignore_errors"] = True
            tasks.append(task)
    playbook = workdir / "p3.yml"
    playbook.write_text(json.dumps([{"name": "p3", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    junit_dir = workdir / "junit"
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.junit", JUNIT_OUTPUT_DIR=str(junit_dir))
    proc = subprocess.run([sys.executable, "-m", "ansible", "playbook", str(playbook)],
                          capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit("timing playbook failed:\n" + proc.stdout + proc.stderr)
    samples = {name: [] for name in variants}
    for case in ET.parse(next(junit_dir.glob("*.xml"))).getroot().iter("testcase"):
        # '[localhost] p3: <variant> <round>', failed tasks followed by their arguments
        match = re.search(r": (.+?) (\d+)(?: |$)", case.get("name"))
        if int(match.group(2)):  # round 0 builds each module once: a warm-up
            samples[match.group(1)].append(float(case.get("time")))
    return samples


def measure_module_processes(variants, rounds, workdir, raw_cmd):
    """Time each variant's module process alone: the AnsiballZ file Ansible runs on the host.

    One playbook run keeps the AnsiballZ files (ANSIBLE_KEEP_REMOTE_FILES); each is then run
    directly, interleaved with the raw query, with no controller in the way: the module's own
    cost on a host, as precise as a process start allows.
    """
    tasks = [{"name": name, module: dict(module_args), "ignore_errors": name == FLOOR}
             for name, (module, module_args) in variants.items()]
    playbook = workdir / "keep.yml"
    playbook.write_text(json.dumps([{"name": "keep", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    remote_tmp = workdir / "remote"
    env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(remote_tmp))
    proc = subprocess.run([sys.executable, "-m", "ansible", "playbook", str(playbook)],
                          capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit("keep-files playbook failed:\n" + proc.stdout + proc.stderr)
    files = {}
    for path in remote_tmp.glob("ansible-tmp-*/AnsiballZ_*.py"):
        params = re.search(r"^params='(.*)',$", path.read_text(), re.MULTILINE)
        args = {k: v for k, v in json.loads(params.group(1))["ANSIBLE_MODULE_ARGS"].items() if not k.startswith("_ansible")}
        for name, (module, module_args) in variants.items():
            if path.name == "AnsiballZ_%s.py" % module.rsplit(".", 1)[1] and args == module_args:
                files[name] = [sys.executable, str(path)]
    if set(files) != set(variants):
        raise SystemExit("AnsiballZ files not found for %s" % sorted(set(variants) - set(files)))
    return measure(dict(files, raw=raw_cmd), rounds)


def ms(seconds):
    return "%.1f" % (seconds * 1000)


def fmt(value):
    return "`%s`" % json.dumps(value)


def timing_table(title, samples, shown):
    lines = [title, "", "| run | n | median ms | min ms | max ms |", "| --- | --- | --- | --- | --- |"]
    for name, values in samples.items():
        lines.append("| %s | %d | %s | %s | %s |" % (
            shown[name], len(values), ms(statistics.median(values)), ms(min(values)), ms(max(values))))
    return lines + [""]


def p3_of(samples, raw_samples, name, base):
    return (statistics.median(samples[name]) - statistics.median(samples[base])) / statistics.median(raw_samples)


def bootstrap(samples, raw_samples, name, base, draws=2000):
    """95 % interval of p3_of by resampling every sample list with replacement (fixed seed)."""
    rng = random.Random(0)
    values = sorted(
        p3_of({key: rng.choices(samples[key], k=len(samples[key])) for key in (name, base)},
              rng.choices(raw_samples, k=len(raw_samples)), name, base)
        for draw in range(draws)
    )
    return values[int(draws * 0.025)], values[int(draws * 0.975)]


def p3_cell(samples, raw_samples, name, base):
    low, high = bootstrap(samples, raw_samples, name, base)
    return "%.2f (%.2f to %.2f)" % (p3_of(samples, raw_samples, name, base), low, high)


def render(info, checks, direct, tasks, adhoc, shown, backends, diagnostics):
    lines = [BEGIN, "", "### Run of %s" % info["date"], "", "| host | |", "| --- | --- |"]
    for key in ("card", "driver", "os", "software"):
        lines.append("| %s | %s |" % (key, info[key]))
    names = list(checks)
    lines += ["", "#### Item 1: module facts against nvidia-smi's own CSV, --version and /proc", "",
              "Reference: `nvidia-smi --query-gpu=<the module's fields> --format=csv` (header and units, read by column name), "
              "`nvidia-smi --version`, /proc/driver/nvidia/version.", "",
              "| field | reference | " + " | ".join("backend=%s" % b for b in names) + " | result |",
              "| --- | --- |" + " --- |" * len(names) + " --- |"]
    failed = 0
    first = checks[names[0]]
    for i, row in enumerate(first):
        same_shape = all(len(checks[b]) == len(first) for b in names)
        gots = [checks[b][i][2] if same_shape else "run failed" for b in names]
        ok = same_shape and all(checks[b][i][1] == checks[b][i][2] for b in names)
        failed += not ok
        lines.append("| %s | %s | %s | %s |" % (row[0], fmt(row[1]), " | ".join(fmt(g) for g in gots), "pass" if ok else "FAIL"))
    lines += ["", "%d of %d fields match on every backend." % (len(first) - failed, len(first)), ""]

    raw_samples = direct["raw"]
    lines += ["#### Item 3: P3, the module's own cost", "",
              "P3 = (median module run - median `ansible.builtin.ping` run) / median raw query `%s` (%s ms, %d calls "
              "interleaved with the module processes); goal <= %.1f. The floor is the module refused at its argument check "
              "(`backend=refused-by-argument-check`): imports and argument parsing without the probe, so (module - floor) / raw "
              "counts the nvidia-smi queries a run makes." % (shown["raw"], ms(statistics.median(raw_samples)), len(raw_samples), P3_GOAL), ""]
    module_runs = {name: values for name, values in direct.items() if name != "raw"}
    lines += timing_table("Module processes alone: the AnsiballZ files of one playbook run, kept and run directly, interleaved:",
                          module_runs, shown)
    lines += timing_table("Per task, interleaved in one `ansible-playbook` run (junit callback durations):", tasks, shown)
    lines += timing_table("Whole `ansible localhost -m ...` processes, interleaved round by round:", adhoc, shown)
    lines += ["Each cell: value (bootstrap 95 % interval).", "",
              "| module | P3, module process | goal <= %.1f | probe alone, module process | P3 per task | P3 whole processes |" % P3_GOAL,
              "| --- | --- | --- | --- | --- | --- |"]
    for label, name in backends:
        value = p3_of(module_runs, raw_samples, name, "ping")
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, p3_cell(module_runs, raw_samples, name, "ping"), "met" if value <= P3_GOAL else "NOT met",
            p3_cell(module_runs, raw_samples, name, FLOOR),
            p3_cell(tasks, raw_samples, name, "ping"), p3_cell(adhoc, raw_samples, name, "ping")))
    lines += ["", "P3 is judged on the module process, which is what every host runs. Per task adds the controller's "
              "handling of a task and whole processes add once-per-run costs (starting Ansible, loading the collection, "
              "building the module); both vary by more than one query costs, as their intervals show.", ""]
    lines += ["In-process cost of module_utils calls (fresh Python process each, median of 10):", "",
              "| call | median ms |", "| --- | --- |"]
    for call, seconds in diagnostics.items():
        lines.append("| `%s` | %s |" % (call, "n/a" if seconds is None else ms(seconds)))
    lines += ["", END]
    return "\n".join(lines), failed


def write_doc(section, dest):
    # A gpu.md that another part of tests/gpu/run.sh already wrote into RESULTS_DIR keeps its sections.
    source = dest if dest.exists() else DOC
    text = source.read_text() if source.exists() else DOC_TEMPLATE.format(begin=BEGIN, end=END)
    if BEGIN not in text or END not in text:
        raise SystemExit("%s lacks the markers %s / %s" % (DOC, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    dest.write_text(head + section + tail)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="directory for gpu.md and the captured fixtures")
    parser.add_argument("--rounds", type=int, default=10, help="whole ad-hoc runs of each command (at least 10)")
    parser.add_argument("--task-rounds", type=int, default=40, help="timed tasks of each variant in the playbook (at least 10)")
    parser.add_argument("--module-rounds", type=int, default=60, help="direct runs of each module process (at least 10)")
    opts = parser.parse_args()
    if min(opts.rounds, opts.task_rounds, opts.module_rounds) < 10:
        parser.error("--rounds, --task-rounds and --module-rounds must be at least 10")
    fixtures = opts.results / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)

    utils = load_module_utils()
    query = ["nvidia-smi"] + list(utils.NVIDIA_SMI_ARGS)
    (fixtures / "query-gpu-module.csv").write_text(run(query).stdout)
    bogus = run(["nvidia-smi", "--query-gpu=index,no_such_field", "--format=csv,noheader,nounits"])
    (fixtures / "invalid-field.txt").write_text("%d\n%s%s" % (bogus.returncode, bogus.stdout, bogus.stderr))
    (fixtures / "nvml-raw.json").write_text(json.dumps(capture_nvml(), indent=2) + "\n")
    has_nvml = utils.load_pynvml() is not None

    gpus, driver = reference_gpus(list(utils.QUERY_FIELDS))
    host = reference_host()
    # auto must pick nvidia-smi, which this script itself finds on PATH.
    expected = {"auto": "nvidia-smi", "nvidia-smi": "nvidia-smi"}
    if has_nvml:
        expected["nvml"] = "nvml"
    checks = {}
    for backend, answering in expected.items():
        result = ansible_result(ansible(MODULE, "backend=%s" % backend))
        (fixtures / ("module-%s.json" % backend)).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        checks[backend] = check(result, gpus, driver, host, answering)

    variants = {"ping": ("ansible.builtin.ping", {}), "module default": (MODULE, {})}
    if has_nvml:
        variants["module nvml"] = (MODULE, {"backend": "nvml"})
    variants[FLOOR] = (MODULE, {"backend": "refused-by-argument-check"})
    shown = {"raw": " ".join(query)}
    for name, (module, module_args) in variants.items():
        shown[name] = "`%s`%s" % (" ".join([module] + ["%s=%s" % item for item in module_args.items()]),
                                  " (floor)" if name == FLOOR else "")
    backends = [("default (auto: nvidia-smi)", "module default")] + ([("nvml", "module nvml")] if has_nvml else [])

    with tempfile.TemporaryDirectory() as workdir:
        direct = measure_module_processes(variants, opts.module_rounds, Path(workdir), query)
        tasks = measure_tasks(variants, opts.task_rounds, Path(workdir))
    commands = {name: ansible(module, " ".join("%s=%s" % item for item in module_args.items()))
                for name, (module, module_args) in variants.items()}
    adhoc = measure(commands, opts.rounds)

    utils_path = ROOT / "plugins" / "module_utils" / "nvidia_gpu.py"
    diagnostics = {"cuda_driver_version()": in_process_cost(utils_path, "m.cuda_driver_version()")}
    if has_nvml:
        diagnostics["load_pynvml() (import pynvml)"] = in_process_cost(utils_path, "m.load_pynvml()")
        diagnostics["probe_nvml(pynvml), after the import"] = in_process_cost(
            utils_path, "p = m.load_pynvml(); t = time.perf_counter(); m.probe_nvml(p)")

    ansible_version = run([sys.executable, "-m", "ansible", "adhoc", "--version"]).stdout.splitlines()[0]
    try:
        nvml_version = importlib.metadata.version("nvidia-ml-py")
    except importlib.metadata.PackageNotFoundError:
        nvml_version = "absent"
    os_release = dict(
        line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line
    )
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "card": "%d x %s, %s MiB" % (
            len(gpus), ", ".join(sorted({g["name"] for g in gpus})), ", ".join(sorted({str(g["memory_total_mib"]) for g in gpus}))),
        "driver": "%s (%s kernel module %s), CUDA %s" % (
            driver, host["kernel_module_flavour"], host["kernel_module_version"], host["cuda_version"]),
        "os": "%s, kernel %s, %s" % (os_release.get("PRETTY_NAME", "?").strip('"'), platform.release(), platform.machine()),
        "software": "Python %s, %s, nvidia-ml-py %s" % (platform.python_version(), ansible_version, nvml_version),
    }
    section, failed = render(info, checks, direct, tasks, adhoc, shown, backends, diagnostics)
    write_doc(section, opts.results / "gpu.md")
    print(section)
    print("\nsamples per task (s): " + json.dumps(tasks))
    print("samples per process (s): " + json.dumps(adhoc))
    print("samples per module process (s): " + json.dumps(direct))
    print("%s: %d field(s) failed" % ("FAIL" if failed else "PASS", failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
