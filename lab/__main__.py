"""Bring the local lab up or down, and run site.yml against it.

    python -m lab up [--run-site] [--down]   start the lab (and optionally run site.yml, then stop)
    python -m lab down                       stop everything the lab started

The lab's GPU hosts are podman containers (systemd as PID 1) listed in inventories/lab/hosts.yml; its
Kubernetes cluster is the simulated API server lab/kube_sim, whose kubeconfig lab/.state/kubeconfig is
what inventories/lab uses. Everything started is recorded under lab/.state/ so that `down` removes exactly that.
"""

from __future__ import annotations

import argparse
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
SIM_STATE = STATE / "kube_sim"
KUBECONFIG = STATE / "kubeconfig"
K8S_VERSION = "1.33"


def say(msg: str) -> None:
    print(f"[lab] {msg}", flush=True)


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def lab_hosts() -> list[str]:
    inventory = yaml.safe_load(INVENTORY.read_text())
    return list(inventory["all"]["children"]["gpu_nodes"]["hosts"])


def start_hosts() -> None:
    if subprocess.call([str(ROOT / "lab/images/build.sh"), "bookworm"]) != 0:
        raise SystemExit("[lab] the host image could not be built; see the message above")
    hosts = lab_hosts()
    for i, name in enumerate(hosts, 1):
        if podman("container", "exists", name, check=False).returncode == 0:
            podman("rm", "-f", name)
        say(f"starting GPU host container {name} ({i}/{len(hosts)})")
        podman("run", "-d", "--name", name, "--hostname", name, "--label", LABEL,
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
    """Start the simulated Kubernetes API server in the background; returns once it answers /readyz."""
    stop_cluster(quiet=True)
    say(f"starting the simulated Kubernetes cluster (API {K8S_VERSION}, nodes from lab/kube_sim/nodes.yaml)")
    rc = subprocess.call([sys.executable, "-m", "lab.kube_sim", "start", "--state-dir", str(SIM_STATE),
                          "--kubeconfig", str(KUBECONFIG), "--k8s-version", K8S_VERSION,
                          "--pod-ready-seconds", "2"], cwd=ROOT)
    if rc != 0:
        raise SystemExit(f"[lab] the simulated cluster did not start; its log is {SIM_STATE / 'kube_sim.log'}")
    say(f"simulated cluster ready; kubeconfig {KUBECONFIG}")


def stop_cluster(quiet: bool = False) -> None:
    result = subprocess.run([sys.executable, "-m", "lab.kube_sim", "stop", "--state-dir", str(SIM_STATE)],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    KUBECONFIG.unlink(missing_ok=True)
    if not quiet:
        say(result.stdout.strip() or result.stderr.strip())


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
    for phase in PHASES:
        titles = plays.get(phase)
        if titles is None:
            status = "did not run" if rc else "no play"
        elif any("not implemented" in title for title in titles):
            status = "NOT IMPLEMENTED (nothing was done)"
        else:
            status = "ran" if rc == 0 else "ran, the playbook failed"
        say(f"  {phase:<12} {status}")
    say(f"site.yml exit status {rc}")
    return rc


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
        return 0
    rc = 0
    try:
        start_hosts()
        start_cluster()
        if args.run_site:
            rc = run_site()
    finally:
        if args.down:
            stop_hosts()
            stop_cluster()
    return rc


if __name__ == "__main__":
    sys.exit(main())
