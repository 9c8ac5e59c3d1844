# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drain a node the way `kubectl drain` does, one pass at a time, and wait for what it moved.

A pass cordons the node, evicts every pod it may (DaemonSet and mirror pods stay), and reports what
is left: pods a PodDisruptionBudget protects right now (the API server answers their eviction with
429) are *blocked*, not failed, so the caller retries the pass - as `kubectl drain` does - until its
own timeout, with a line per retry. What the node ran is recorded on the Node (annotation
ANNOTATION_WORKLOADS), so that after the node is back, ``availability`` can tell whether those
workloads are Available again before the next node is drained, even in a later run.

The cluster is reached through an adapter (``Cluster`` in the k8s_node_drain module) with a handful
of calls; everything here is pure logic over the API's JSON, unit-tested with tables.
"""

from __future__ import annotations

import json

ANNOTATION_WORKLOADS = "gpu-mesh.hymt.io/drained-workloads"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TERMINAL = ("Succeeded", "Failed")


class DrainError(Exception):
    """A drain that cannot go on without the operator (not a temporary PDB block)."""


def _meta(obj):
    return obj.get("metadata") or {}


def pod_key(pod):
    return "%s/%s" % (_meta(pod).get("namespace"), _meta(pod).get("name"))


def controller(obj):
    """The ownerReference marked controller, or None."""
    return next((ref for ref in _meta(obj).get("ownerReferences") or [] if ref.get("controller")), None)


def stays(pod):
    """Whether a drain leaves the pod on its node: DaemonSet pods and mirror (static) pods."""
    owner = controller(pod)
    return MIRROR_ANNOTATION in (_meta(pod).get("annotations") or {}) or bool(owner and owner.get("kind") == "DaemonSet")


def runs_workloads(pods):
    """Whether any of a node's pods is one a drain would move: running, and not a DaemonSet or mirror pod."""
    return any(not stays(pod) and (pod.get("status") or {}).get("phase") not in TERMINAL for pod in pods)


def classify(pods, force=False, delete_emptydir_data=False):
    """(to_evict, ignored, problems) for the pods bound to a node.

    DaemonSet pods and mirror (static) pods stay, as with `kubectl drain --ignore-daemonsets`. A pod
    no controller would recreate is a problem unless ``force``; a pod with emptyDir data is one
    unless ``delete_emptydir_data`` - each problem names the pod and the option that allows it.
    """
    to_evict, ignored, problems = [], [], []
    for pod in pods:
        owner = controller(pod)
        if stays(pod):
            ignored.append(pod_key(pod))
        elif owner is None and not force and (pod.get("status") or {}).get("phase") not in TERMINAL:
            problems.append("%s has no controller, so nothing would recreate it (force allows deleting it)" % pod_key(pod))
        elif not delete_emptydir_data and any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []) \
                and (pod.get("status") or {}).get("phase") not in TERMINAL:
            problems.append("%s has emptyDir data that eviction deletes (delete_emptydir_data allows it)" % pod_key(pod))
        else:
            to_evict.append(pod)
    return to_evict, ignored, problems


def workload_ref(pod, replicaset_owner):
    """``Kind/namespace/name`` of what recreates the pod: a ReplicaSet's Deployment when it has one.

    ``replicaset_owner(namespace, name)`` returns the ReplicaSet's controller reference or None.
    """
    owner = controller(pod)
    if owner is None:
        return None
    namespace = _meta(pod).get("namespace")
    if owner.get("kind") == "ReplicaSet":
        parent = replicaset_owner(namespace, owner.get("name"))
        if parent and parent.get("kind") == "Deployment":
            return "Deployment/%s/%s" % (namespace, parent.get("name"))
    return "%s/%s/%s" % (owner.get("kind"), namespace, owner.get("name"))


def selector_matches(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions) against a label map."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def budgets_for(pod, pdbs):
    """The PodDisruptionBudgets of the pod's namespace that select it."""
    return [pdb for pdb in pdbs if _meta(pdb).get("namespace") == _meta(pod).get("namespace")
            and selector_matches((pdb.get("spec") or {}).get("selector"), _meta(pod).get("labels"))]


def describe_budget(pdb):
    status = pdb.get("status") or {}
    return "PodDisruptionBudget %s/%s (%d of %d pods healthy, %d needed, %d disruptions allowed)" % (
        _meta(pdb).get("namespace"), _meta(pdb).get("name"), status.get("currentHealthy", 0),
        status.get("expectedPods", 0), status.get("desiredHealthy", 0), status.get("disruptionsAllowed", 0))


def recorded_workloads(node):
    """The workloads an earlier pass recorded on the Node."""
    try:
        value = json.loads((_meta(node).get("annotations") or {}).get(ANNOTATION_WORKLOADS) or "[]")
    except ValueError:
        return []
    return sorted({str(item) for item in value}) if isinstance(value, list) else []


def drain_pass(cluster, node_name, force=False, delete_emptydir_data=False, check_mode=False):
    """One pass; returns the result dict of the k8s_node_drain module (state drain).

    ``cluster`` is the adapter: node(name), cordon(name, workloads), pods_on(name), evict(pod),
    pdbs(namespaces), replicaset_owner(namespace, name).
    """
    node = cluster.node(node_name)
    if node is None:
        raise DrainError("node %s is not registered with the cluster" % node_name)
    pods = [p for p in cluster.pods_on(node_name) if not _meta(p).get("deletionTimestamp")
            or (p.get("status") or {}).get("phase") not in TERMINAL]
    to_evict, ignored, problems = classify(pods, force, delete_emptydir_data)
    if problems:
        raise DrainError("cannot drain node %s: %s. Nothing was evicted." % (node_name, "; ".join(problems)))
    workloads = sorted(set(recorded_workloads(node)) | {
        ref for ref in (workload_ref(p, cluster.replicaset_owner) for p in to_evict) if ref})
    was_cordoned = bool((node.get("spec") or {}).get("unschedulable"))
    changed = False
    if not was_cordoned or workloads != recorded_workloads(node):
        changed = True
        if not check_mode:
            cluster.cordon(node_name, workloads)
    evicted, blocked, terminating = [], [], []
    for pod in to_evict:
        if _meta(pod).get("deletionTimestamp"):
            terminating.append(pod_key(pod))
            continue
        if check_mode:
            evicted.append(pod_key(pod))
            continue
        outcome = cluster.evict(pod)
        if outcome == "evicted":
            evicted.append(pod_key(pod))
            changed = True
        elif outcome == "blocked":
            blocked.append(pod)
        # "gone": deleted since it was listed.
    reasons = []
    if blocked:
        budgets = cluster.pdbs(sorted({_meta(p).get("namespace") for p in blocked}))
        for pod in blocked:
            named = budgets_for(pod, budgets)
            reasons.append("%s: its eviction would break %s" % (
                pod_key(pod), "; ".join(describe_budget(b) for b in named) if named else "a PodDisruptionBudget"))
    left = [pod_key(p) for p in blocked] + terminating + ([] if check_mode else evicted)
    done = check_mode or not (blocked or terminating or evicted)
    return {
        "changed": changed, "done": done, "node": node_name, "cordoned": True, "was_cordoned": was_cordoned,
        "evicted": evicted, "blocked": [pod_key(p) for p in blocked], "terminating": terminating + (
            [] if check_mode else evicted), "ignored": ignored, "workloads": workloads, "reasons": reasons,
        "msg": ("node %s is drained" % node_name) if done else (
            "node %s is not drained yet: %d pod(s) left%s" % (
                node_name, len(left), (": " + "; ".join(reasons)) if reasons else " (terminating)")),
    }


def _available(kind, obj):
    """(ok, why) for one workload object as the API returns it."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = spec.get("replicas", 1)
    if kind == "Deployment":
        ready = status.get("availableReplicas", 0)
        updated = status.get("updatedReplicas", 0)
        ok = ready >= wanted and updated >= wanted and status.get("observedGeneration", 0) >= _meta(obj).get("generation", 0)
        return ok, "%d of %d replicas available" % (ready, wanted)
    ready = status.get("readyReplicas", 0)
    return ready >= wanted, "%d of %d replicas ready" % (ready, wanted)


def availability(cluster, node_name, check_mode=False):
    """Whether the workloads recorded on the node are Available again and their budgets healthy.

    Returns the result dict of the k8s_node_drain module (state available); when everything is back,
    the record is removed from the Node.
    """
    node = cluster.node(node_name)
    if node is None:
        raise DrainError("node %s is not registered with the cluster" % node_name)
    workloads = recorded_workloads(node)
    waiting, reasons = [], []
    for ref in workloads:
        kind, namespace, name = ref.split("/", 2)
        obj = cluster.workload(kind, namespace, name)
        if obj is None:
            continue  # deleted meanwhile: nothing to wait for
        ok, why = _available(kind, obj)
        if not ok:
            waiting.append(ref)
            pending = cluster.unschedulable_pods(namespace, (obj.get("spec") or {}).get("selector"))
            reasons.append("%s: %s%s" % (ref, why, ("; pending: " + "; ".join(pending)) if pending else ""))
    namespaces = sorted({ref.split("/", 2)[1] for ref in workloads})
    for pdb in cluster.pdbs(namespaces) if namespaces else []:
        status = pdb.get("status") or {}
        if status.get("currentHealthy", 0) < status.get("desiredHealthy", 0):
            waiting.append("PodDisruptionBudget/%s/%s" % (_meta(pdb).get("namespace"), _meta(pdb).get("name")))
            reasons.append(describe_budget(pdb))
    done = not waiting
    changed = bool(done and workloads)
    if changed and not check_mode:
        cluster.forget_workloads(node_name)
    return {
        "changed": changed, "done": done, "node": node_name, "workloads": workloads, "waiting": waiting,
        "reasons": reasons,
        "msg": ("the workloads drained from node %s are available" % node_name) if done else (
            "waiting for the workloads drained from node %s: %s" % (node_name, "; ".join(reasons))),
    }
