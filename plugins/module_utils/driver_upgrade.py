# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan a rolling NVIDIA driver upgrade: which GPU nodes need it, in which batches, and whether each
batch keeps the cluster within the GPU capacity it may lose.

Pure logic over the hosts' nvidia_gpu_info facts and Node objects as the Kubernetes API returns
them; the driver_upgrade_plan module reads the nodes and this file decides, so every rule is
unit-tested with tables. Batches are formed the way Ansible forms them from a play's ``serial``,
so the plan describes the batches the rolling play will really run.
"""

from __future__ import annotations

import re

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import node_drain

GPU_RESOURCES = ("nvidia.com/gpu", "nvidia.com/gpu.shared")
# Where each node's upgrade stands, on the Node (as NVIDIA's GPU Operator labels its nodes), so that an
# operator sees it with `kubectl get nodes -L` and a rerun knows which cordons are the rollout's own.
STATE_LABEL = "gpu-mesh.hymt.io/driver-upgrade-state"
STATES = ("cordoned", "drained", "upgraded", "rebooted", "verified", "done", "failed")
# States in which the node is cordoned by the rollout, not by its operator.
OWN_CORDON_STATES = ("cordoned", "drained", "upgraded", "rebooted", "verified", "failed")
# A node labelled so is left out of every rollout.
EXCLUDE_LABEL = "gpu-mesh.hymt.io/driver-upgrade-exclude"
_VERSION_RE = re.compile(r"^\d{3}\.\d{1,3}(\.\d{1,3})?$")
_PERCENT_RE = re.compile(r"^(\d{1,3})%$")


class DriverUpgradePlanError(Exception):
    """Input the plan cannot be made from; raised before anything is changed."""


def check_version(version):
    """The target must be an exact driver version such as 580.105.08: a rollout has one end state."""
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise DriverUpgradePlanError(
            "version must be an exact NVIDIA driver version such as 580.105.08, got %r" % (version,))
    return version


def _serial_entry(entry, host_count):
    """One serial value as Ansible reads it: a count, or a percentage of the play's hosts (at least 1)."""
    text = str(entry).strip()
    match = _PERCENT_RE.match(text)
    if match:
        return max(1, int(host_count * int(match.group(1)) / 100))
    if text.isdigit():
        # serial 0 means "all hosts at once" to Ansible.
        return int(text) or host_count
    raise DriverUpgradePlanError("serial entries must be counts or percentages such as 1, 2 or '25%%', got %r" % (entry,))


def batches(hosts, serial):
    """Split ``hosts`` (in play order) as Ansible's serial does: sizes from the list, the last repeated."""
    entries = serial if isinstance(serial, list) else [serial]
    if not entries:
        entries = [0]
    sizes = [_serial_entry(entry, len(hosts)) for entry in entries]
    result, start, index = [], 0, 0
    while start < len(hosts):
        size = sizes[min(index, len(sizes) - 1)]
        result.append(hosts[start:start + size])
        start += size
        index += 1
    return result


def max_unavailable_gpus(value, total_gpus):
    """A GPU count, or a percentage of the cluster's GPUs rounded down, like Kubernetes' maxUnavailable."""
    text = str(value).strip()
    match = _PERCENT_RE.match(text)
    if match and int(match.group(1)) <= 100:
        return total_gpus * int(match.group(1)) // 100
    if text.isdigit():
        return int(text)
    raise DriverUpgradePlanError(
        "max_unavailable must be a GPU count (0 or more) or a percentage from 0%% to 100%%, got %r" % (value,))


def node_gpus(node):
    """Physical GPUs a node reports to the cluster (its capacity; time-sliced replicas are not GPUs)."""
    status = node.get("status") or {}
    capacity = status.get("capacity") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    count = labels.get("nvidia.com/gpu.count")
    if count is not None and str(count).isdigit():
        return int(count)
    for resource in GPU_RESOURCES:
        if str(capacity.get(resource, "")).isdigit():
            return int(capacity[resource])
    return 0


def node_unavailable(node):
    """Why a node's GPUs already serve no new pods: cordoned or not Ready; '' when available."""
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned"
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") != "True":
            return "not Ready"
    return ""


def upgrade_state(node):
    return ((node.get("metadata") or {}).get("labels") or {}).get(STATE_LABEL, "")


def excluded(node):
    return ((node.get("metadata") or {}).get("labels") or {}).get(EXCLUDE_LABEL, "").lower() == "true"


def cordoned_by_operator(node):
    """Cordoned, and not by an earlier run of this rollout (which a rerun then resumes and uncordons)."""
    return bool((node.get("spec") or {}).get("unschedulable")) and upgrade_state(node) not in OWN_CORDON_STATES


def needs_upgrade(facts, version):
    """Whether a host's loaded, working driver differs from ``version`` (a mismatch always needs the change)."""
    if not facts or not facts.get("driver_version") or facts.get("driver_mismatch"):
        return True
    return facts["driver_version"] != version


def needs_change(facts, version, branch="", state="present"):
    """Whether converging the host to the asked driver changes it: removal, an exact version, or the branch's newest.

    ``state`` latest may always change it (a newer package may have been published).
    """
    facts = facts or {}
    if state == "latest":
        return True
    if state == "absent":
        return bool(facts.get("present") or facts.get("driver_version"))
    if version:
        return needs_upgrade(facts, version)
    if not facts.get("driver_version") or facts.get("driver_mismatch"):
        return True
    return facts["driver_version"].split(".")[0] != str(branch)


def route(hosts, nodes, pods, version, branch="", state="present"):
    """Split a host phase's hosts into those whose driver change must roll and those converged in place.

    A host rolls (cordon, drain, upgrade, verify, uncordon, in budgeted batches) when its driver would
    change - or another change that needs the node drained, its ``other_change`` (a new MIG layout) -
    and its node runs workloads, or an earlier rollout left the node cordoned; a host that is not a
    node yet, or whose node runs nothing a drain would move, converges in place. A node labelled
    EXCLUDE_LABEL is left out. ``pods``: the cluster's pods as the API returns them.
    """
    by_name = {(n.get("metadata") or {}).get("name"): n for n in nodes}
    pods_by_node = {}
    for pod in pods:
        pods_by_node.setdefault((pod.get("spec") or {}).get("nodeName"), []).append(pod)
    result = {"rolling": [], "in_place": [], "excluded": [], "serving": [], "refusal": ""}
    for host in hosts:
        node = by_name.get(host["node"])
        serving = node is not None and node_drain.runs_workloads(pods_by_node.get(host["node"], []))
        if serving:
            result["serving"].append(host["host"])
        if node is not None and excluded(node):
            result["excluded"].append(host["host"])
        elif (needs_change(host.get("facts"), version, branch, state) or host.get("other_change")) and node is not None and (
                serving or upgrade_state(node) in OWN_CORDON_STATES):
            result["rolling"].append(host["host"])
        else:
            result["in_place"].append(host["host"])
    if result["rolling"] and state == "absent":
        result["refusal"] = (
            "refusing to remove the driver from %s, whose nodes run workloads: drain them first (or label them %s=true "
            "to leave them out). Nothing was changed." % (", ".join(result["rolling"]), EXCLUDE_LABEL))
    elif result["rolling"] and not version:
        result["refusal"] = (
            "%s run workloads and need a driver of branch %s or a change that drains them, but no exact driver version "
            "was given: the rolling path verifies each node against one version. Nothing was changed." % (
                ", ".join(result["rolling"]), branch))
    return result


def plan(hosts, nodes, version, serial, max_unavailable):
    """The rollout plan, or a DriverUpgradePlanError naming what to change.

    ``hosts``: the play's hosts in order, dicts with host, node (Kubernetes node name) and facts
    (the host's nvidia_gpu_info result). ``nodes``: Node objects from the API.
    """
    check_version(version)
    by_name = {(n.get("metadata") or {}).get("name"): n for n in nodes}
    missing = [h for h in hosts if h["node"] not in by_name]
    if missing:
        raise DriverUpgradePlanError(
            "no Kubernetes node is registered for %s; set driver_upgrade_node_names for hosts whose node name is not "
            "their inventory name" % ", ".join("%s (node %s)" % (h["host"], h["node"]) for h in missing))

    gpus = {}
    for name, node in by_name.items():
        gpus[name] = node_gpus(node)
    for host in hosts:
        gpus[host["node"]] = max(gpus[host["node"]], int((host.get("facts") or {}).get("gpu_count") or 0))
    total = sum(gpus.values())
    limit = max_unavailable_gpus(max_unavailable, total)
    unavailable = {name: node_unavailable(node) for name, node in by_name.items()
                   if gpus.get(name) and node_unavailable(node)}

    left_out = [h["host"] for h in hosts if excluded(by_name[h["node"]])]
    upgrade = [h["host"] for h in hosts if h["host"] not in left_out
               and (needs_upgrade(h.get("facts"), version) or h.get("other_change"))]
    host_by_name = {h["host"]: h for h in hosts}
    planned, refusals = [], []
    for batch in batches([h["host"] for h in hosts], serial):
        changing = [name for name in batch if name in upgrade]
        batch_nodes = {host_by_name[name]["node"] for name in changing}
        taken = sum(gpus[n] for n in batch_nodes)
        already = sum(gpus[n] for n in unavailable if n not in batch_nodes)
        planned.append({"hosts": batch, "upgrade": changing, "gpus_taken": taken, "gpus_already_unavailable": already})
        if changing and taken + already > limit:
            refusals.append("%s would take %d GPU(s) out of service%s" % (
                ", ".join("%s (%d)" % (name, gpus[host_by_name[name]["node"]]) for name in changing), taken,
                " on top of %d already unavailable" % already if already else ""))
    result = {
        "version": version, "total_gpus": total, "max_unavailable_gpus": limit,
        "unavailable_nodes": unavailable, "upgrade": upgrade,
        "up_to_date": [h["host"] for h in hosts if h["host"] not in upgrade + left_out], "excluded": left_out,
        "batches": planned, "state_label": STATE_LABEL, "exclude_label": EXCLUDE_LABEL,
        "nodes": {h["host"]: {"name": h["node"], "gpus": gpus[h["node"]],
                              "unschedulable": cordoned_by_operator(by_name[h["node"]]),
                              "state": upgrade_state(by_name[h["node"]])}
                  for h in hosts},
        "refusal": "",
    }
    if refusals:
        result["refusal"] = (
            "refusing the rollout: max_unavailable=%s allows %d of the cluster's %d GPUs to be unavailable at once, "
            "but %s. Lower serial (nodes per batch), raise max_unavailable, or bring the unavailable nodes (%s) back "
            "first. Nothing was changed." % (
                max_unavailable, limit, total, "; ".join(refusals),
                ", ".join("%s: %s" % item for item in sorted(unavailable.items())) or "none"))
    return result
