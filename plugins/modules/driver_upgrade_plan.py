#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: driver_upgrade_plan
short_description: Plan a rolling NVIDIA driver upgrade within the GPU capacity the cluster may lose
version_added: 0.1.0
description:
  - Decides which GPU hosts need the driver O(version) (from their M(hymt.gpu_mesh.nvidia_gpu_info)
    facts), splits the hosts into the batches a play with O(serial) runs, and refuses the rollout when a
    batch would take more GPUs out of service than O(max_unavailable) allows, counting the GPUs of nodes
    that are already cordoned or not Ready.
  - Reads the node list with one API call; only reads, never changes the cluster.
  - With O(route=true) (site.yml's host phase) it first splits the hosts - those whose driver would change
    and whose node runs workloads (or was left cordoned by an earlier rollout) roll, in budgeted batches;
    those that are not nodes yet or run nothing a drain would move converge in place. It then reads the
    pods too (one more call), and reads nothing when no host's driver would change.
  - The refusal names the batch, its GPUs and the nodes already unavailable, and what to change.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  version:
    description:
      - Exact NVIDIA driver version the hosts must end up with, for example C(580.105.08).
      - With O(route=true) it may be empty (the newest of O(branch)); hosts that would roll are then refused.
    type: str
    required: true
  route:
    description: Split the hosts into rolling and in-place ones first (see the description).
    type: bool
    default: false
  branch:
    description: With O(route=true) and an empty O(version), the driver branch a host must run, for example C(580).
    type: str
    default: ""
  state:
    description:
      - With O(route=true), the driver's state as the nvidia_driver role takes it. A removal is refused on serving
        nodes; V(latest) may change any driver, so it needs an exact O(version) where nodes serve.
    type: str
    choices: [present, latest, absent]
    default: present
  hosts:
    description:
      - The play's GPU hosts in play order (the order serial batches follow).
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: Inventory name of the host.
        type: str
        required: true
      node:
        description: Kubernetes node name of the host.
        type: str
        required: true
      facts:
        description:
          - The host's C(nvidia_gpu_info) facts; C(driver_version), C(driver_mismatch) and C(gpu_count) are read.
          - Empty when the host reported none; such a host counts as needing the driver.
        type: dict
        default: {}
      other_change:
        description:
          - Whether the host has another change that needs its node drained, such as a new MIG layout; it then
            goes through the rollout even when its driver is already O(version).
        type: bool
        default: false
  serial:
    description:
      - Batch sizes as a play's C(serial) keyword takes them - counts, percentages of the hosts such as
        C(25%), the last entry repeated.
    type: list
    elements: raw
    default: [1]
  max_unavailable:
    description:
      - GPUs that may be out of service at once, counting the batch and nodes already cordoned or not
        Ready - a count or a percentage of the cluster's GPUs (rounded down).
    type: raw
    required: true
extends_documentation_fragment:
  - hymt.gpu_mesh.k8s_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; plans the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - GPUs per node are the node's C(nvidia.com/gpu.count) label or its C(nvidia.com/gpu) capacity, or the
    host's own GPU count where that is larger (a node whose device plugin is down still has its GPUs).
"""

EXAMPLES = r"""
- name: Plan driver 580.105.08 two nodes at a time, with at most 16 GPUs out of service
  hymt.gpu_mesh.driver_upgrade_plan:
    kubeconfig: "{{ hymt_kubeconfig }}"
    version: "580.105.08"
    serial: [2]
    max_unavailable: 16
    hosts:
      - host: gpu-node-01
        node: gpu-node-01
        facts: "{{ hostvars['gpu-node-01'].ansible_facts.nvidia_gpu_info }}"
      - host: gpu-node-02
        node: gpu-node-02.cluster.internal
        facts: "{{ hostvars['gpu-node-02'].ansible_facts.nvidia_gpu_info }}"
  register: plan

- name: Check one batch against a quarter of the cluster's GPUs
  hymt.gpu_mesh.driver_upgrade_plan:
    version: "580.105.08"
    max_unavailable: 25%
    serial: ["{{ ansible_play_batch | length }}"]
    hosts: "{{ batch_hosts }}"  # [{host: ..., node: ..., facts: ...}] for ansible_play_batch
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
in_place:
  description: With O(route=true), hosts converged in place (not a node, or a node running no workload, or no driver change).
  returned: always
  type: list
  elements: str
  sample: [gpu-node-09]
serving:
  description: With O(route=true), hosts whose node runs workloads a drain would move (read only when some driver would change).
  returned: always
  type: list
  elements: str
  sample: [gpu-node-01, gpu-node-02]
version:
  description: The driver version planned for.
  returned: always
  type: str
  sample: 580.105.08
upgrade:
  description: Hosts whose loaded driver is not O(version), in play order; with O(route=true) only those that roll.
  returned: always
  type: list
  elements: str
  sample: [gpu-node-01, gpu-node-03]
up_to_date:
  description: Hosts already running O(version); the rollout leaves them alone.
  returned: always
  type: list
  elements: str
  sample: [gpu-node-02]
total_gpus:
  description: GPUs of the cluster's GPU nodes.
  returned: always
  type: int
  sample: 24
max_unavailable_gpus:
  description: O(max_unavailable) as a GPU count.
  returned: always
  type: int
  sample: 6
unavailable_nodes:
  description: GPU nodes already cordoned or not Ready, with the reason.
  returned: always
  type: dict
  sample: {gpu-node-07: cordoned}
batches:
  description: The batches in order, with the hosts to upgrade in each and the GPUs they take away.
  returned: always
  type: list
  elements: dict
  sample: [{hosts: [gpu-node-01], upgrade: [gpu-node-01], gpus_taken: 8, gpus_already_unavailable: 0}]
excluded:
  description: Hosts whose node carries the label C(gpu-mesh.hymt.io/driver-upgrade-exclude=true); never upgraded.
  returned: always
  type: list
  elements: str
  sample: [gpu-node-04]
nodes:
  description:
    - Per host, its node name, GPUs, whether its operator cordoned it, and its recorded upgrade state.
    - A cordon that an earlier run of the rollout left (recorded in RV(state_label)) does not count as the
      operator's, so a rerun resumes that node and uncordons it once it works.
  returned: always
  type: dict
  sample: {gpu-node-01: {name: gpu-node-01, gpus: 8, unschedulable: false, state: failed}}
state_label:
  description: The Node label that records each node's upgrade state (cordoned, drained, upgraded, rebooted, verified, done, failed).
  returned: always
  type: str
  sample: gpu-mesh.hymt.io/driver-upgrade-state
exclude_label:
  description: The Node label that, set to C(true), leaves a node out of every rollout and of the host phase's driver changes.
  returned: always
  type: str
  sample: gpu-mesh.hymt.io/driver-upgrade-exclude
refusal:
  description: Why the rollout is refused; empty when it may proceed (the module then fails with it).
  returned: always
  type: str
  sample: ""
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import driver_upgrade, k8s_common

if k8s_common.HAS_KUBERNETES:
    from kubernetes import client as k8s_client
    from urllib3.exceptions import HTTPError
else:
    HTTPError = Exception


def argspec():
    spec = dict(k8s_common.AUTH_ARG_SPEC)
    spec.update(
        version=dict(type="str", required=True),
        hosts=dict(type="list", elements="dict", required=True, options=dict(
            host=dict(type="str", required=True),
            node=dict(type="str", required=True),
            facts=dict(type="dict", default={}),
            other_change=dict(type="bool", default=False),
        )),
        serial=dict(type="list", elements="raw", default=[1]),
        max_unavailable=dict(type="raw", required=True),
        route=dict(type="bool", default=False),
        branch=dict(type="str", default=""),
        state=dict(type="str", default="present", choices=["present", "latest", "absent"]),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not k8s_common.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    params = module.params
    hosts, routed = params["hosts"], {"in_place": [], "serving": []}
    try:
        if params["version"] or not params["route"]:
            driver_upgrade.check_version(params["version"])
        driver_upgrade.max_unavailable_gpus(params["max_unavailable"], 0)
        driver_upgrade.batches([], params["serial"])
    except driver_upgrade.DriverUpgradePlanError as exc:
        module.fail_json(msg=str(exc))
    if params["route"] and not any(driver_upgrade.needs_change(h["facts"], params["version"], params["branch"], params["state"])
                                   or h["other_change"] for h in hosts):
        # Nothing would change: no host needs the cluster's view, which is not read.
        module.exit_json(changed=False, **_empty_plan(params["version"], [h["host"] for h in hosts]))
    try:
        core = k8s_client.CoreV1Api(k8s_common.api_client(params))
        nodes = k8s_common.read_json(core.list_node)["items"]
        if params["route"]:
            pods = k8s_common.read_json(core.list_pod_for_all_namespaces,
                                        field_selector="status.phase!=Succeeded,status.phase!=Failed")["items"]
    except (k8s_common.K8sConnectionError, k8s_common.ApiException, HTTPError) as exc:
        module.fail_json(msg="Failed to read the cluster's %s: %s" % ("nodes and pods" if params["route"] else "nodes", exc),
                         exception=traceback.format_exc())
    if params["route"]:
        routing = driver_upgrade.route(hosts, nodes, pods, params["version"], params["branch"], params["state"])
        if routing["refusal"]:
            module.fail_json(msg=routing["refusal"], changed=False, **routing)
        if not routing["rolling"]:
            result = _empty_plan(params["version"], routing["in_place"])
            result.update(serving=routing["serving"], excluded=routing["excluded"])
            module.exit_json(changed=False, **result)
        hosts = [h for h in hosts if h["host"] in routing["rolling"]]
        routed = {key: routing[key] for key in ("in_place", "serving", "excluded")}
    try:
        result = driver_upgrade.plan(hosts, nodes, params["version"], params["serial"], params["max_unavailable"])
    except driver_upgrade.DriverUpgradePlanError as exc:
        module.fail_json(msg=str(exc))
    result.update(routed)
    if result["refusal"]:
        module.fail_json(msg=result["refusal"], changed=False, **result)
    module.exit_json(changed=False, **result)


def _empty_plan(version, in_place):
    """The plan when nothing rolls: every host converges in place."""
    return {"version": version, "upgrade": [], "up_to_date": [], "excluded": [], "serving": [], "in_place": in_place,
            "total_gpus": 0, "max_unavailable_gpus": 0, "unavailable_nodes": {}, "batches": [], "nodes": {},
            "state_label": driver_upgrade.STATE_LABEL,
            "exclude_label": driver_upgrade.EXCLUDE_LABEL, "refusal": ""}


if __name__ == "__main__":
    main()
