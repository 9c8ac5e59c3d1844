"""One way to reach the cluster: no role task carries connection options of its own, and every play of
the collection's playbooks that runs a Kubernetes-facing task sets the module defaults of the action group
hymt.gpu_mesh.k8s from playbooks/vars/cluster_access.yml (the README's "Reaching the cluster").

Which tasks are Kubernetes-facing is read from meta/runtime.yml's action group, not listed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
RUNTIME = yaml.safe_load((ROOT / "meta/runtime.yml").read_text())
GROUP = RUNTIME["action_groups"]["k8s"]
OURS = {"hymt.gpu_mesh." + name for name in GROUP if isinstance(name, str)}
EXTENDED = [group for entry in GROUP if isinstance(entry, dict) for group in entry["metadata"]["extend_group"]]
CONNECTION_OPTIONS = {"kubeconfig", "context", "host", "api_key", "ca_cert", "validate_certs", "username", "password"}
MODULE_DEFAULTS = {"group/hymt.gpu_mesh.k8s": "{{ hymt_cluster_access }}"}


def k8s_module(task: dict) -> str | None:
    for key in task:
        # kubernetes.core's k8s group holds k8s, k8s_info, k8s_exec...; its helm group helm, helm_info...
        if key in OURS or any(key == group or key.startswith(group + "_") for group in EXTENDED):
            return key
    return None


def tasks_in(node) -> list[dict]:
    found = []
    for task in node or []:
        if not isinstance(task, dict):
            continue
        found.append(task)
        for section in ("block", "rescue", "always"):
            found += tasks_in(task.get(section))
    return found


def file_reaches_cluster(path: Path, seen: set | None = None) -> bool:
    """Whether a tasks file, or a tasks file of its role it includes, runs a Kubernetes-facing module."""
    seen = seen or set()
    if path in seen or not path.exists():
        return False
    seen.add(path)
    for task in tasks_in(yaml.safe_load(path.read_text())):
        if k8s_module(task):
            return True
        for include in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
            target = task.get(include)
            target = target.get("file") if isinstance(target, dict) else target
            if isinstance(target, str) and "{{" not in target and file_reaches_cluster(path.parent / target, seen):
                return True
    return False


def role_entry_reaches_cluster(name: str, tasks_from: str = "main.yml") -> bool:
    role = ROOT / "roles" / name.split(".")[-1]
    return file_reaches_cluster(role / "tasks" / (tasks_from if tasks_from.endswith(".yml") else tasks_from + ".yml"))


ROLE_TASK_FILES = sorted(ROOT.glob("roles/*/tasks/*.yml"))


@pytest.mark.parametrize("path", ROLE_TASK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_role_task_sets_its_own_connection(path: Path):
    for task in tasks_in(yaml.safe_load(path.read_text())):
        module = k8s_module(task)
        if module and isinstance(task[module], dict):
            assert not CONNECTION_OPTIONS & set(task[module]), "%s: %s" % (task.get("name"), module)
        assert "module_defaults" not in task, "%s sets module_defaults; the playbooks own them" % task.get("name")


def plays():
    for path in sorted(ROOT.glob("playbooks/*.yml")):
        for play in yaml.safe_load(path.read_text()) or []:
            if "hosts" in play:
                yield path, play


def play_reaches_cluster(play: dict) -> bool:
    for role in play.get("roles") or []:
        if role_entry_reaches_cluster(role["role"] if isinstance(role, dict) else role):
            return True
    for task in tasks_in(play.get("tasks")):
        if k8s_module(task):
            return True
        include = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
        if include and role_entry_reaches_cluster(include["name"], include.get("tasks_from", "main.yml")):
            return True
    return False


CLUSTER_PLAYS = [(path, play) for path, play in plays() if play_reaches_cluster(play)]


def test_the_phases_that_reach_the_cluster_are_found():
    # The phases whose roles talk to the API: a change of this list is a change of the contract.
    assert sorted({path.name for path, play in CLUSTER_PLAYS}) == [
        "cluster_gpu.yml", "driver_upgrade.yml", "gpu_hosts.yml", "mesh.yml", "translation.yml", "verify.yml"]


@pytest.mark.parametrize("path, play", CLUSTER_PLAYS, ids=[play["name"] for path, play in CLUSTER_PLAYS])
def test_every_play_that_reaches_the_cluster_sets_the_collection_module_defaults(path: Path, play: dict):
    assert play.get("module_defaults") == MODULE_DEFAULTS
    assert "vars/cluster_access.yml" in play.get("vars_files", [])


def test_cluster_access_maps_every_hymt_kube_variable_to_the_option_of_the_same_meaning():
    mapping = yaml.safe_load((ROOT / "playbooks/vars/cluster_access.yml").read_text())["hymt_cluster_access"]
    assert mapping["kubeconfig"] == "{{ hymt_kubeconfig | default(omit) }}"
    assert mapping["context"] == "{{ hymt_kube_context | default(omit) }}"
    for option in set(mapping) - {"kubeconfig", "context"}:
        assert option in CONNECTION_OPTIONS
        assert mapping[option] == "{{ hymt_kube_%s | default(omit) }}" % option
