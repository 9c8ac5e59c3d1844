# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether every GPU node advertises the GPUs it has, and if not, why not.

Logic over Node, Pod, DaemonSet and RuntimeClass dictionaries as the Kubernetes API returns them
(``assess`` and its helpers, unit-tested with tables), and ``ClusterReader``, the one place that
reads them, shared by the k8s_gpu_capacity gate and the verify phase's fleet_verify_cluster.
"""

from __future__ import annotations

import time

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import k8s_common

GPU_RESOURCE = "nvidia.com/gpu"
SHARED_GPU_RESOURCE = "nvidia.com/gpu.shared"
MIG_STRATEGIES = ("none", "single", "mixed")


def plugin_arg_spec():
    """How the device plugin was deployed, as the modules that judge its nodes take it (k8s_gpu_capacity,
    fleet_verify_cluster); a fresh dict per call."""
    return dict(
        namespace=dict(type="str", default="kube-system"),
        daemonset=dict(type="str", default="nvidia-device-plugin"),
        runtime_class=dict(type="str", default="nvidia"),
        node_labels=dict(type="dict", default={"nvidia.com/gpu.present": "true"}),
        replicas=dict(type="int", default=1),
        rename_by_default=dict(type="bool", default=False),
        mig_strategy=dict(type="str", choices=list(MIG_STRATEGIES), default="none"),
    )


class GpuCapacityError(Exception):
    """Input the gate cannot judge with (raised before any API call)."""


def resource_name(replicas, rename_by_default):
    """The extended resource the device plugin advertises for full GPUs."""
    return SHARED_GPU_RESOURCE if replicas > 1 and rename_by_default else GPU_RESOURCE


def check_settings(replicas, mig_strategy):
    """Refuse combinations the device plugin or this gate cannot honour."""
    if mig_strategy not in MIG_STRATEGIES:
        raise GpuCapacityError(
            "mig_strategy must be one of %s, got %r" % (", ".join(MIG_STRATEGIES), mig_strategy))
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 1:
        raise GpuCapacityError("replicas must be an integer of at least 1, got %r" % (replicas,))
    if replicas > 1 and mig_strategy == "mixed":
        raise GpuCapacityError(
            "replicas > 1 (time-slicing of %s) cannot be combined with mig_strategy=mixed: MIG-enabled GPUs "
            "then advertise nvidia.com/mig-<profile> resources whose count no GPU fact carries" % GPU_RESOURCE)


def check_targets(targets):
    """Every target names a node once and has at least one GPU, MIG-enabled ones included in it."""
    seen = set()
    for target in targets:
        name = target.get("name")
        if not name:
            raise GpuCapacityError("every entry of nodes needs a name")
        if name in seen:
            raise GpuCapacityError("node %s is listed twice in nodes" % name)
        seen.add(name)
        gpus, mig_gpus = target.get("gpus"), target.get("mig_gpus") or 0
        if not isinstance(gpus, int) or gpus < 1:
            raise GpuCapacityError("node %s: gpus must be at least 1 (leave nodes without GPUs out), got %r" % (name, gpus))
        if not 0 <= mig_gpus <= gpus:
            raise GpuCapacityError("node %s: mig_gpus must be between 0 and gpus (%d), got %r" % (name, gpus, mig_gpus))


def expected_count(gpus, mig_gpus, replicas, mig_strategy):
    """(count, exact): what the node must advertise; exact=False means "at least count".

    MIG strategy none exposes every GPU whole. Single exposes each MIG device as the GPU
    resource; how many devices a MIG-enabled GPU holds depends on its layout, which no fact
    carries, so only a lower bound of one device per GPU is known. Mixed exposes only the GPUs
    without MIG under the GPU resource.
    """
    if mig_strategy == "mixed":
        return (gpus - mig_gpus) * replicas, True
    if mig_strategy == "single" and mig_gpus:
        return gpus * replicas, False
    return gpus * replicas, True


def _int_quantity(value):
    """Extended resources are whole numbers; None when absent or unreadable."""
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _matches(labels, wanted):
    return all(labels.get(key) == value for key, value in wanted.items())


def pod_problem(pod):
    """None when the plugin pod is running and ready, else a short reason."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in ("CrashLoopBackOff", "RunContainerError", "CreateContainerError",
                                     "ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            detail = waiting["reason"]
            if waiting.get("message"):
                detail += ": " + waiting["message"]
            last_exit = ((container.get("lastState") or {}).get("terminated") or {}).get("message")
            if last_exit:
                detail += "; last exit: " + last_exit.strip()
            return "device-plugin pod %s is restarting (container %s %s, %d restarts)" % (
                name, container.get("name"), detail, restarts)
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    if status.get("phase") == "Running" and ready:
        return None
    reason = "phase %s" % (status.get("phase") or "unknown")
    if status.get("reason"):
        reason += ", " + status["reason"]
    if restarts:
        return "device-plugin pod %s is not ready (%s) and restarting (%d restarts)" % (name, reason, restarts)
    return "device-plugin pod %s is not ready (%s)" % (name, reason)


def _plugin_pod(pods, node_name):
    """The node's plugin pod to judge: a ready one if any, else the newest live one."""
    candidates = [p for p in pods if (p.get("spec") or {}).get("nodeName") == node_name
                  and not p["metadata"].get("deletionTimestamp")]
    if not candidates:
        return None
    ready = [p for p in candidates if pod_problem(p) is None]
    if ready:
        return ready[0]
    return max(candidates, key=lambda p: p["metadata"].get("creationTimestamp") or "")


def assess(targets, nodes, pods, daemonset, runtime_class, settings):
    """One report per target node: what it advertises against what it must, and why it differs.

    settings: resource, replicas, mig_strategy, node_labels (the labels the plugin is scheduled
    by), runtime_class (name the plugin runs with, or empty), daemonset (namespace/name, for messages).
    """
    by_name = {n["metadata"]["name"]: n for n in nodes}
    resource = settings["resource"]
    uses_runtime_class = bool(settings.get("runtime_class"))
    reports = []
    for target in targets:
        name = target["name"]
        expected, exact = expected_count(target["gpus"], target.get("mig_gpus") or 0,
                                         settings["replicas"], settings["mig_strategy"])
        report = {"name": name, "expected": expected, "exact": exact, "resource": resource,
                  "allocatable": None, "pod": None, "ok": False, "reasons": []}
        reports.append(report)
        reasons = report["reasons"]
        node = by_name.get(name)
        if node is None:
            reasons.append("node %s is not registered in the cluster" % name)
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        report["allocatable"] = _int_quantity(allocatable.get(resource))
        if uses_runtime_class and runtime_class is None:
            reasons.append("RuntimeClass %s is absent, so the device-plugin pod cannot run with the NVIDIA runtime"
                           % settings["runtime_class"])
        if not _matches(node["metadata"].get("labels") or {}, settings["node_labels"]):
            reasons.append("node is missing its label %s, so the device-plugin DaemonSet does not target it" % ", ".join(
                "%s=%s" % item for item in sorted(settings["node_labels"].items())))
        pod = None
        if daemonset is None:
            reasons.append("device-plugin DaemonSet %s does not exist" % settings["daemonset"])
        else:
            pod = _plugin_pod(pods, name)
            if pod is None:
                reasons.append("no device-plugin pod is scheduled on the node")
            else:
                report["pod"] = pod["metadata"]["name"]
                problem = pod_problem(pod)
                if problem:
                    reasons.append(problem)
        have = report["allocatable"]
        enough = have is not None and (have == expected if exact else have >= expected)
        if pod is not None and not reasons and not enough:
            reasons.append(_count_reason(have, expected, exact, resource, allocatable, settings))
        report["ok"] = enough and not reasons
    return reports


def _count_reason(have, expected, exact, resource, allocatable, settings):
    wanted = ("%d" if exact else "at least %d") % expected
    other = GPU_RESOURCE if resource == SHARED_GPU_RESOURCE else SHARED_GPU_RESOURCE
    if have is None and _int_quantity(allocatable.get(other)):
        return "node advertises %s instead of %s: the plugin's renameByDefault differs from the gate's" % (other, resource)
    return ("node advertises %s %s, expected %s (physical GPUs x %d time-slicing replicas): the plugin has not "
            "registered yet or ignores its sharing config" % (0 if have is None else have, resource, wanted,
                                                              settings["replicas"]))


def failure_message(reports, waited):
    """One line per node that is not ready, naming each reason."""
    bad = [r for r in reports if not r["ok"]]
    lines = ["%d of %d GPU nodes do not advertise their GPUs after %ds:" % (len(bad), len(reports), waited)]
    lines.extend("%s: %s" % (r["name"], "; ".join(r["reasons"])) for r in bad)
    return "\n".join(lines)


def wait_for_capacity(fetch, targets, settings, timeout, interval, clock=time.monotonic, sleep=time.sleep):
    """Poll fetch() (returning nodes, pods, daemonset, runtime_class) until every node is ok or timeout.

    Returns (reports, all_ok, seconds waited, polls); timeout 0 judges exactly once.
    """
    start = clock()
    polls = 0
    while True:
        reports = assess(targets, *fetch(), settings=settings)
        polls += 1
        waited = clock() - start
        if all(r["ok"] for r in reports) or waited >= timeout:
            return reports, all(r["ok"] for r in reports), int(waited), polls
        sleep(min(interval, timeout - waited))


class ClusterReader:
    """Reads what the gate judges, as the API's own JSON (camelCase dictionaries)."""

    def __init__(self, api, namespace, daemonset, runtime_class):
        self.core = k8s_common.k8s_client.CoreV1Api(api)
        self.apps = k8s_common.k8s_client.AppsV1Api(api)
        self.node_api = k8s_common.k8s_client.NodeV1Api(api)
        self.namespace, self.daemonset, self.runtime_class = namespace, daemonset, runtime_class

    _json = staticmethod(k8s_common.read_json)

    def __call__(self):
        nodes = self._json(self.core.list_node)["items"]
        daemonset = self._json(self.apps.read_namespaced_daemon_set, self.daemonset, self.namespace)
        pods = []
        if daemonset is not None:
            match = ((daemonset.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            selector = ",".join("%s=%s" % item for item in sorted(match.items()))
            listed = self._json(self.core.list_namespaced_pod, self.namespace, label_selector=selector)["items"]
            uid = daemonset["metadata"]["uid"]
            pods = [p for p in listed if any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences") or [])]
        runtime_class = None
        if self.runtime_class:
            runtime_class = self._json(self.node_api.read_runtime_class, self.runtime_class)
        return nodes, pods, daemonset, runtime_class
