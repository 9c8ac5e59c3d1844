"""Bring the local lab up or down, and run site.yml against it.

    python -m lab up [--run-site] [--down]   start the lab (and optionally run site.yml, then stop)
    python -m lab down                       stop everything the lab started

The lab's GPU hosts are podman containers (systemd as PID 1) listed in inventories/lab/hosts.yml; its
Kubernetes cluster is upstream Kubernetes built from Go modules with KWOK nodes (lab/control_plane),
whose kubeconfig lab/.state/kubeconfig is what inventories/lab uses. Everything started is recorded under lab/.state/ so that `down` removes exactly that.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "lab" / ".state"
INVENTORY = ROOT / "inventories" / "lab" / "hosts.yml"
LABEL = "hymt.lab=1"
IMAGE = "localhost/hymt-debian-systemd:bookworm"
PHASES = ("gpu_hosts", "cluster_gpu", "mesh", "translation", "verify")
CLUSTER_STATE = STATE / "cluster"
KUBECONFIG = STATE / "kubeconfig"
NVIDIA_REPO = STATE / "nvidia-repo"
# One file per host: the simulated kernel module each host has loaded (tests change one host's).
SIM_MODULES = STATE / "nvidia-loaded-module-version"
REPORTS = STATE / "reports"
MODEL_SERVER_STATE = STATE / "model_server"
# The driver the fixture mirror carries and the lab hosts' simulated kernel module is of.
LAB_DRIVER_VERSION = "580.95.05"


def say(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def lab_hosts() -> list[str]:
    inventory = yaml.safe_load(INVENTORY.read_text())
    return list(inventory["all"]["children"]["gpu_nodes"]["hosts"])


def build_nvidia_mirror() -> None:
    """The fixture NVIDIA apt repository the gpu_hosts phase installs from (a mirror, to the roles)."""
    if (NVIDIA_REPO / "key.asc").exists():
        return
    say(f"building the fixture NVIDIA package repository (driver {LAB_DRIVER_VERSION}) in {NVIDIA_REPO}")
    # One driver version only: the lab's simulated kernel module is of that version.
    rc = subprocess.call([sys.executable, "-m", "lab.nvidia_packages", "--out", str(NVIDIA_REPO), "--suite", "bookworm",
                          "--driver-version", LAB_DRIVER_VERSION, "--extra-driver-version", ""], cwd=ROOT)
    if rc != 0:
        raise SystemExit("[lab] the fixture NVIDIA repository could not be built; see the message above")


def start_hosts() -> None:
    if subprocess.call([str(ROOT / "lab/images/build.sh"), "bookworm"]) != 0:
        raise SystemExit("[lab] the host image could not be built; see the message above")
    build_nvidia_mirror()
    # A container cannot have /proc/driver/nvidia/version: the stand-in nvidia-smi reads the
    # simulated loaded kernel module from this file instead, as if the driver's DKMS module had
    # been built and loaded at install time, as it is on a host without nouveau.
    if SIM_MODULES.is_file():
        SIM_MODULES.unlink()
    SIM_MODULES.mkdir(parents=True, exist_ok=True)
    hosts = lab_hosts()
    for i, name in enumerate(hosts, 1):
        (SIM_MODULES / name).write_text(f"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  {LAB_DRIVER_VERSION}  "
                                        "Release Build  (lab simulation)\n")
        if podman("container", "exists", name, check=False).returncode == 0:
            podman("rm", "-f", name)
        say(f"starting GPU host container {name} ({i}/{len(hosts)})")
        podman("run", "-d", "--name", name, "--hostname", name, "--label", LABEL,
               "-v", f"{NVIDIA_REPO}:/srv/nvidia-mirror:ro",
               "-v", f"{SIM_MODULES / name}:/etc/nvidia-sim/loaded-module-version:ro",
               "-e", "NVIDIA_SIM_PROC_DRIVER_VERSION=/etc/nvidia-sim/loaded-module-version",
               "--systemd=always", IMAGE, "/sbin/init")
    deadline = time.monotonic() + 90
    for name in hosts:
        while True:
            state = podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"[lab] {name} did not finish booting (systemd says {state!r}); "
                                 f"inspect it with: podman exec {name} systemctl --failed")
            time.sleep(1)
    say(f"{len(hosts)} GPU host containers booted")


def stop_hosts() -> None:
    ids = podman("ps", "-aq", "--filter", f"label={LABEL}").stdout.split()
    if ids:
        podman("rm", "-f", "-t", "2", *ids)
    say(f"removed {len(ids)} lab container(s)")


def start_cluster() -> None:
    """Start the lab's Kubernetes (built on first use); returns once it serves and its nodes are Ready."""
    stop_cluster(quiet=True)
    say("starting the lab cluster (upstream Kubernetes, KWOK nodes from lab/control_plane/nodes.yaml)")
    subprocess.run([sys.executable, "-m", "lab.control_plane", "gateway-api", "--out",
                    str(STATE / "gateway-api" / "standard-install.yaml")], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    rc = subprocess.call([sys.executable, "-m", "lab.control_plane", "start", "--state-dir", str(CLUSTER_STATE),
                          "--kubeconfig", str(KUBECONFIG), "--pod-ready-seconds", "2"], cwd=ROOT)
    if rc != 0:
        raise SystemExit(f"[lab] the lab cluster did not start; its logs are in {CLUSTER_STATE / 'logs'}")


def stop_cluster(quiet: bool = False) -> None:
    result = subprocess.run([sys.executable, "-m", "lab.control_plane", "stop", "--state-dir", str(CLUSTER_STATE)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    KUBECONFIG.unlink(missing_ok=True)
    if not quiet:
        print(result.stdout.strip() or result.stderr.strip(), flush=True)


def start_model_server() -> None:
    """The tiny HY-MT-architecture model behind `transformers serve`: the smoke translation's target."""
    stop_model_server()
    say("starting the lab model server (tiny HunYuanDenseV1 model, transformers serve; the first build takes a minute)")
    rc = subprocess.call([sys.executable, "-m", "lab.model_server", "start", str(STATE / "model"),
                          "--state-dir", str(MODEL_SERVER_STATE)], cwd=ROOT)
    if rc != 0:
        raise SystemExit(f"[lab] the model server did not start; its log is {MODEL_SERVER_STATE / 'model_server.log'}")


def stop_model_server() -> None:
    subprocess.run([sys.executable, "-m", "lab.model_server", "stop", "--state-dir", str(MODEL_SERVER_STATE)],
                   cwd=ROOT, check=False)


def run_site() -> int:
    """Run site.yml, stream its output, and report each phase from the plays that ran."""
    cmd = ["ansible-playbook", "-i", str(INVENTORY), str(ROOT / "site.yml")]
    say("running: " + " ".join(cmd))
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    plays: dict[str, list[str]] = {}
    for line in proc.stdout:
        sys.stdout.write(line)
        match = re.match(r"PLAY \[Phase (\w+)(.*)\]", line)
        if match:
            plays.setdefault(match.group(1), []).append(match.group(2))
    rc = proc.wait()
    print()
    say("phase summary:")
    last = list(plays)[-1] if plays else None
    for phase in PHASES:
        titles = plays.get(phase)
        if titles is None:
            status = "did not run" if rc else "no play"
        elif any("not implemented" in title for title in titles):
            status = "NOT IMPLEMENTED (nothing was done)"
        elif rc != 0 and phase == last:
            status = "FAILED (see the task output above)"
        else:
            status = "ran"
        say(f"  {phase:<12} {status}")
    report_verdict()
    say(f"site.yml exit status {rc}")
    return rc


def report_verdict() -> None:
    """Where phase verify wrote the fleet report, and its verdict line."""
    latest = REPORTS / "fleet-report-latest.json"
    if not latest.is_file():
        say(f"no fleet report in {REPORTS} (phase verify did not get to write one)")
        return
    report = json.loads(latest.read_text(encoding="utf-8"))
    counts = report["summary"]
    say(f"fleet report: {REPORTS / 'fleet-report-latest.html'} (also .json, .md)")
    say(f"verdict: {report['verdict'].upper()} - {counts['fail']} failed, {counts['warn']} warnings, "
        f"{counts['not_checked']} not checked, {counts['pass']} passed over {len(report['nodes'])} nodes")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--run-site", action="store_true", help="run site.yml against the lab")
    parser.add_argument("--down", action="store_true", help="tear the lab down afterwards")
    args = parser.parse_args()
    os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab/containers.conf"))
    STATE.mkdir(parents=True, exist_ok=True)
    if args.action == "down":
        stop_hosts()
        stop_cluster()
        stop_model_server()
        return 0
    rc = 0
    try:
        start_hosts()
        start_cluster()
        start_model_server()
        if args.run_site:
            rc = run_site()
    finally:
        if args.down:
            stop_hosts()
            stop_cluster()
            stop_model_server()
    return rc


if __name__ == "__main__":
    sys.exit(main())
