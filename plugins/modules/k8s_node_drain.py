#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_node_drain
short_description: Drain a node as kubectl does, waiting out PodDisruptionBudgets, and wait for what it moved
version_added: 0.1.0
description:
  - O(state=drain) cordons the node and evicts its pods (DaemonSet and mirror pods stay). A pod
    whose eviction a PodDisruptionBudget forbids right now (the API server answers 429) is not a
    failure - RV(done) stays false and RV(msg) names the budget and its counts - so that a task's
    C(until) loop retries, as C(kubectl drain) does, with one line per retry. Within one call the
    module keeps evicting for up to O(settle_timeout) seconds while pods are leaving.
  - The workloads whose pods it evicts (Deployments, StatefulSets, ReplicaSets, Jobs) are recorded
    on the Node (annotation C(gpu-mesh.hymt.io/drained-workloads)), across passes and runs.
  - O(state=available) reports whether those workloads are Available again and the
    PodDisruptionBudgets of their namespaces healthy, naming what is still missing (with the
    scheduler's reason for pending pods); once they are, it removes the record. Use it before
    draining the next node, so that a rollout never takes a second replica away while the first
    is still coming back.
  - O(state=uncordon) makes the node schedulable again.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  name:
    description: Node name.
    type: str
    required: true
  state:
    description: What to do.
    type: str
    choices: [drain, available, uncordon]
    default: drain
  force:
    description: Also delete pods that no controller would recreate (lost for good).
    type: bool
    default: false
  delete_emptydir_data:
    description: Also evict pods with emptyDir volumes, whose data is deleted with them.
    type: bool
    default: false
  grace_period:
    description: Seconds evicted pods get to stop; V(-1) keeps each pod's own C(terminationGracePeriodSeconds).
    type: int
    default: -1
  settle_timeout:
    description: Seconds one call keeps evicting and waiting for evicted pods to go before it returns.
    type: int
    default: 20
extends_documentation_fragment:
  - hymt.gpu_mesh.k8s_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be cordoned and evicted, and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - A pod without a controller, or with emptyDir data, stops the drain before anything is evicted
    unless O(force) or O(delete_emptydir_data) allows it.
seealso:
  - module: kubernetes.core.k8s_drain
  - name: Safely drain a node
    description: Kubernetes documentation of eviction and PodDisruptionBudgets.
    link: https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/
"""

EXAMPLES = r"""
- name: Drain gpu-node-01, retrying every 10 s for up to 10 minutes while a budget forbids an eviction
  hymt.gpu_mesh.k8s_node_drain:
    name: gpu-node-01
  register: drain
  until: drain.done
  retries: 60
  delay: 10

- name: Wait until what ran on gpu-node-01 is available again
  hymt.gpu_mesh.k8s_node_drain:
    name: gpu-node-01
    state: available
  register: moved
  until: moved.done
  retries: 60
  delay: 10
"""

RETURN = r"""
done:
  description: Drain - no pod to evict is left on the node; available - the recorded workloads are back.
  returned: always
  type: bool
  sample: false
msg:
  description: What is done, or what is still waited for (pods, budgets with their counts, pending reasons).
  returned: always
  type: str
  sample: >-
    node gpu-node-01 is not drained yet: 1 pod(s) left: default/server-7d9-abcde: its eviction would break
    PodDisruptionBudget default/server (2 of 3 pods healthy, 2 needed, 0 disruptions allowed)
node:
  description: The node.
  returned: always
  type: str
evicted:
  description: Pods evicted by this call (state drain).
  returned: when state is drain
  type: list
  elements: str
blocked:
  description: Pods whose eviction a PodDisruptionBudget refused (state drain).
  returned: when state is drain
  type: list
  elements: str
was_cordoned:
  description: Whether the node was already unschedulable before this call (state drain).
  returned: when state is drain
  type: bool
workloads:
  description: The workloads recorded on the node, as Kind/namespace/name.
  returned: when state is drain or available
  type: list
  elements: str
  sample: [Deployment/translation-serving/hy-mt-18b-inference]
waiting:
  description: Workloads and budgets not available yet (state available).
  returned: when state is available
  type: list
  elements: str
reasons:
  description: One line per blocked pod or per workload waited for.
  returned: when state is drain or available
  type: list
  elements: str
"""

import json
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import k8s_common, node_drain

if k8s_common.HAS_KUBERNETES:
    from kubernetes import client as k8s_client
    from urllib3.exceptions import HTTPError
else:
    HTTPError = Exception

WORKLOAD_READERS = {"Deployment": "read_namespaced_deployment", "StatefulSet": "read_namespaced_stateful_set",
                    "ReplicaSet": "read_namespaced_replica_set", "DaemonSet": "read_namespaced_daemon_set"}


class Cluster:
    """The calls node_drain makes, through the kubernetes client, returning the API's JSON."""

    def __init__(self, api, grace_period=-1):
        self.grace_period = grace_period
        self.core = k8s_client.CoreV1Api(api)
        self.apps = k8s_client.AppsV1Api(api)
        self.policy = k8s_client.PolicyV1Api(api)
        self._replicaset_owners = {}

    _json = staticmethod(k8s_common.read_json)

    def node(self, name):
        return self._json(self.core.read_node, name)

    def _patch_node(self, name, body):
        self.core.patch_node(name, body, _preload_content=False)

    def cordon(self, name, workloads):
        self._patch_node(name, {"spec": {"unschedulable": True}, "metadata": {"annotations": {
            node_drain.ANNOTATION_WORKLOADS: json.dumps(workloads)}}})

    def uncordon(self, name):
        self._patch_node(name, {"spec": {"unschedulable": None}})

    def forget_workloads(self, name):
        self._patch_node(name, {"metadata": {"annotations": {node_drain.ANNOTATION_WORKLOADS: None}}})

    def pods_on(self, name):
        return self._json(self.core.list_pod_for_all_namespaces, field_selector="spec.nodeName=%s" % name)["items"]

    def evict(self, pod):
        meta = pod["metadata"]
        options = k8s_client.V1DeleteOptions(grace_period_seconds=self.grace_period) if self.grace_period >= 0 else None
        body = k8s_client.V1Eviction(metadata=k8s_client.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"]),
                                     delete_options=options)
        try:
            self.core.create_namespaced_pod_eviction(meta["name"], meta["namespace"], body, _preload_content=False)
        except k8s_common.ApiException as exc:
            if exc.status == 429:
                return "blocked"
            if exc.status == 404:
                return "gone"
            raise
        return "evicted"

    def pdbs(self, namespaces):
        found = []
        for namespace in namespaces:
            found += self._json(self.policy.list_namespaced_pod_disruption_budget, namespace)["items"]
        return found

    def replicaset_owner(self, namespace, name):
        if (namespace, name) not in self._replicaset_owners:
            replicaset = self._json(self.apps.read_namespaced_replica_set, name, namespace)
            self._replicaset_owners[(namespace, name)] = node_drain.controller(replicaset) if replicaset else None
        return self._replicaset_owners[(namespace, name)]

    def workload(self, kind, namespace, name):
        if kind == "Job":
            return None  # a Job's pods are not replaced by eviction; nothing to wait for
        reader = WORKLOAD_READERS.get(kind)
        return self._json(getattr(self.apps, reader), name, namespace) if reader else None

    def unschedulable_pods(self, namespace, selector):
        match = (selector or {}).get("matchLabels") or {}
        pods = self._json(self.core.list_namespaced_pod, namespace,
                          label_selector=",".join("%s=%s" % item for item in sorted(match.items())))["items"]
        lines = []
        for pod in pods:
            if not node_drain.selector_matches(selector, pod["metadata"].get("labels")):
                continue
            for condition in (pod.get("status") or {}).get("conditions") or []:
                if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                    lines.append("%s: %s" % (pod["metadata"]["name"], condition.get("message", condition.get("reason"))))
        return lines


def argspec():
    spec = dict(k8s_common.AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["drain", "available", "uncordon"], default="drain"),
        force=dict(type="bool", default=False),
        delete_emptydir_data=dict(type="bool", default=False),
        grace_period=dict(type="int", default=-1),
        settle_timeout=dict(type="int", default=20),
    )
    return spec


def drain(cluster, params, check_mode):
    """Passes until the node is drained, a budget blocks, or settle_timeout runs out."""
    deadline = time.monotonic() + max(0, params["settle_timeout"])
    changed, evicted = False, []
    while True:
        result = node_drain.drain_pass(cluster, params["name"], params["force"], params["delete_emptydir_data"],
                                       check_mode)
        changed = changed or result["changed"]
        evicted += result["evicted"]
        if result["done"] or result["blocked"] and not result["evicted"] or time.monotonic() >= deadline:
            break
        time.sleep(1)
    result.update(changed=changed, evicted=evicted)
    return result


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not k8s_common.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    params = module.params
    try:
        cluster = Cluster(k8s_common.api_client(params), params["grace_period"])
        if params["state"] == "drain":
            result = drain(cluster, params, module.check_mode)
        elif params["state"] == "available":
            result = node_drain.availability(cluster, params["name"], module.check_mode)
        else:
            node = cluster.node(params["name"])
            if node is None:
                raise node_drain.DrainError("node %s is not registered with the cluster" % params["name"])
            unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
            if unschedulable and not module.check_mode:
                cluster.uncordon(params["name"])
            result = {"changed": unschedulable, "done": True, "node": params["name"],
                      "msg": "node %s is schedulable" % params["name"]}
    except node_drain.DrainError as exc:
        module.fail_json(msg=str(exc), node=params["name"], done=False)
    except (k8s_common.K8sConnectionError, k8s_common.ApiException, HTTPError) as exc:
        module.fail_json(msg="Failed to %s node %s: %s" % (params["state"], params["name"], exc),
                         node=params["name"], done=False, exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
