"""Helpers for the simulator's own suite: run real kubernetes.core tasks against a simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def namespace(kube_sim):
    """A fresh namespace on the session simulator, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    client = kube_sim.dynamic_client()
    namespaces = client.resources.get(api_version="v1", kind="Namespace")
    namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    namespaces.delete(name=name)


@pytest.fixture
def run_tasks(tmp_path):
    """Run a list of Ansible tasks on localhost against a simulator; returns each task's result by name."""

    def run(sim, tasks: list[dict], check: bool = True, extra_args: tuple = ()) -> dict[str, dict]:
        playbook = tmp_path / f"play-{uuid.uuid4().hex[:6]}.yml"
        playbook.write_text(yaml.safe_dump([{
            "name": "Drive the simulated cluster", "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": sim.kubeconfig}},
            "tasks": tasks,
        }], sort_keys=False))
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
               "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
               "K8S_AUTH_KUBECONFIG": sim.kubeconfig, "ANSIBLE_NOCOLOR": "1"}
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", f"ansible_python_interpreter={sys.executable}", *extra_args, str(playbook)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        try:
            report = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError as exc:
            raise AssertionError(f"ansible-playbook printed no JSON report:\n{proc.stdout}\n{proc.stderr}") from exc
        results = {t["task"]["name"]: t["hosts"].get("localhost", {}) for t in report["plays"][0]["tasks"]}
        if check and proc.returncode != 0:
            raise AssertionError(f"ansible-playbook failed ({proc.returncode}):\n{json.dumps(results, indent=1)[-4000:]}")
        return results

    return run
