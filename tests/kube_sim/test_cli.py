"""Starting and stopping the simulator in the background, as `python -m lab up` / `down` do."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

import lab.__main__ as lab_main
from lab.kube_sim.__main__ import ROOT


def kube_sim_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab.kube_sim", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A stopped child of ours may linger as a zombie until reaped; it is not running.
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def names_via(kubeconfig: Path, kind: str = "Namespace") -> list[str]:
    from kubernetes import config, dynamic  # pylint: disable=import-outside-toplevel
    client = dynamic.DynamicClient(config.new_client_from_config(config_file=str(kubeconfig)))
    return [n.metadata.name for n in client.resources.get(api_version="v1", kind=kind).get().items]


def test_start_and_stop_in_the_background(tmp_path):
    state = tmp_path / "state"
    started = kube_sim_cli("start", "--state-dir", str(state))
    assert started.returncode == 0, started.stderr
    assert "simulated cluster" in started.stdout
    assert "simulated cluster" in (state / "kube_sim.log").read_text()
    pid = int((state / "kube_sim.pid").read_text())
    kubeconfig = state / "kubeconfig"
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "server.key").stat().st_mode) == 0o600
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://") and cluster["certificate-authority-data"]
    assert "kube-system" in names_via(kubeconfig)
    again = kube_sim_cli("start", "--state-dir", str(state))
    assert again.returncode == 1 and "already running" in again.stderr
    stopped = kube_sim_cli("stop", "--state-dir", str(state))
    assert stopped.returncode == 0 and not alive(pid)
    assert not (state / "kube_sim.pid").exists() and not (state / "server.json").exists()


def test_plain_http_only_when_asked(tmp_path):
    state = tmp_path / "state"
    assert kube_sim_cli("start", "--state-dir", str(state), "--insecure-http").returncode == 0
    try:
        cluster = yaml.safe_load((state / "kubeconfig").read_text())["clusters"][0]["cluster"]
        assert cluster["server"].startswith("http://") and "certificate-authority-data" not in cluster
        assert "default" in names_via(state / "kubeconfig")
    finally:
        kube_sim_cli("stop", "--state-dir", str(state))


def test_lab_up_and_down_manage_the_cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(lab_main, "SIM_STATE", tmp_path / "kube_sim")
    monkeypatch.setattr(lab_main, "KUBECONFIG", tmp_path / "kubeconfig")
    lab_main.start_cluster()
    pid = int((tmp_path / "kube_sim" / "kube_sim.pid").read_text())
    assert {"hymt-lab-gpu-1", "hymt-lab-gpu-2", "hymt-lab-gpu-3"} <= set(names_via(tmp_path / "kubeconfig", "Node"))
    lab_main.stop_cluster()
    assert not alive(pid) and not (tmp_path / "kubeconfig").exists()


def test_lab_inventory_reads_the_kubeconfig_the_lab_writes():
    # Ask Ansible itself what the lab inventory's hymt_kubeconfig resolves to for the control node.
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "inventories/lab/hosts.yml",
         "-m", "ansible.builtin.debug", "-a", "var=hymt_kubeconfig", "-o"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
    )
    resolved = result.stdout.split('"hymt_kubeconfig": "', 1)[1].split('"', 1)[0]
    assert Path(os.path.normpath(resolved)) == Path(lab_main.KUBECONFIG)


def test_seed_gpu_nodes_match_the_lab_inventory():
    hosts = yaml.safe_load((ROOT / "inventories/lab/hosts.yml").read_text())["all"]["children"]["gpu_nodes"]["hosts"]
    seed = yaml.safe_load((ROOT / "lab/kube_sim/nodes.yaml").read_text())["nodes"]
    gpu_nodes = [n for n in seed if n.get("gpus")]
    assert sorted(n["name"] for n in gpu_nodes) == sorted(hosts)
    for node in gpu_nodes:
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in node["taints"]
    assert any(n.get("control_plane") for n in seed) and any(not n.get("gpus") and not n.get("control_plane") for n in seed)
