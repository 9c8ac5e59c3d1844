#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_gpu_capacity
short_description: Wait until every GPU node advertises its GPUs, or say per node why not
version_added: 0.1.0
description:
  - Waits until each node of O(nodes) advertises, as allocatable C(nvidia.com/gpu) (or
    C(nvidia.com/gpu.shared) with O(rename_by_default)), its physical GPU count times the
    time-slicing O(replicas), while the NVIDIA device-plugin pod on it is running and ready.
  - When O(timeout) runs out, fails with one line per node that is not ready, naming every reason
    found - node not registered, node missing its label, RuntimeClass absent, device-plugin
    DaemonSet absent, no plugin pod scheduled on the node, plugin pod not ready or restarting
    (with the container's last exit message), or a ready pod whose node advertises another count.
  - Each check reads the cluster with a fixed number of API calls whatever the fleet size - the
    node list, the DaemonSet, its pods and the RuntimeClass.
  - Only reads; never changes the cluster.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  nodes:
    description:
      - The GPU nodes to wait for, with the GPU count their hosts' facts report
        (C(ansible_facts.nvidia_gpu_info.gpu_count) from M(hymt.gpu_mesh.nvidia_gpu_info)).
      - Leave nodes without GPUs out.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Kubernetes node name.
        type: str
        required: true
      gpus:
        description: Physical GPUs of the node, at least 1.
        type: int
        required: true
      mig_gpus:
        description:
          - How many of those GPUs have MIG enabled. With O(mig_strategy=mixed) they are not counted as
            C(nvidia.com/gpu); with O(mig_strategy=single) the node must advertise at least one
            device per GPU, since the MIG layout decides the exact number.
        type: int
        default: 0
  namespace:
    description: Namespace of the device-plugin DaemonSet.
    type: str
    default: kube-system
  daemonset:
    description: Name of the device-plugin DaemonSet; its pods are found through its selector.
    type: str
    default: nvidia-device-plugin
  runtime_class:
    description:
      - RuntimeClass the plugin pods run with; its absence is named as a reason.
      - Set to an empty string when the plugin runs with the node's default runtime.
    type: str
    default: nvidia
  node_labels:
    description: Labels the plugin DaemonSet selects nodes by; a node without them is reported as missing its label.
    type: dict
    default:
      nvidia.com/gpu.present: "true"
  replicas:
    description: Time-slicing replicas per GPU in the plugin's config (1 when GPUs are not shared).
    type: int
    default: 1
  rename_by_default:
    description:
      - Whether the plugin's time-slicing config sets C(renameByDefault), so shared GPUs are
        advertised as C(nvidia.com/gpu.shared). Has no effect with O(replicas=1).
    type: bool
    default: false
  mig_strategy:
    description: The plugin's MIG strategy.
    type: str
    choices: [none, single, mixed]
    default: none
  timeout:
    description:
      - Seconds to wait for every node. V(0) checks once, for callers that retry themselves.
    type: int
    default: 300
  interval:
    description: Seconds between two checks.
    type: int
    default: 5
extends_documentation_fragment:
  - hymt.gpu_mesh.k8s_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; waits the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - O(replicas) greater than 1 together with O(mig_strategy=mixed) is refused, since MIG-enabled GPUs
    then advertise C(nvidia.com/mig-<profile>) resources whose count no GPU fact carries.
  - A node is only ready while its plugin pod is ready, so capacity left over from an earlier plugin
    run does not hide a crash-looping plugin.
seealso:
  - module: hymt.gpu_mesh.nvidia_gpu_info
  - name: NVIDIA device plugin
    description: Configuration file, time-slicing and MIG strategies.
    link: https://github.com/NVIDIA/k8s-device-plugin
"""

EXAMPLES = r"""
- name: Wait up to ten minutes for the GPU nodes to advertise their GPUs
  hymt.gpu_mesh.k8s_gpu_capacity:
    kubeconfig: "{{ hymt_kubeconfig }}"
    nodes:
      - name: gpu-node-01
        gpus: 8
      - name: gpu-node-02
        gpus: 4
    timeout: 600

- name: Check once, without waiting, that four pods may share each GPU as nvidia.com/gpu.shared
  hymt.gpu_mesh.k8s_gpu_capacity:
    nodes: "{{ gpu_node_counts }}"  # e.g. [{name: gpu-node-01, gpus: 8}]
    replicas: 4
    rename_by_default: true
    timeout: 0
  register: capacity
"""

RETURN = r"""
ready:
  description: Whether every node advertises its GPUs with a ready plugin pod.
  returned: always
  type: bool
  sample: true
resource:
  description: The extended resource that was counted.
  returned: always
  type: str
  sample: nvidia.com/gpu
waited:
  description: Seconds spent waiting.
  returned: always
  type: int
  sample: 12
polls:
  description: How many times the cluster was read.
  returned: always
  type: int
  sample: 3
nodes:
  description: One entry per node of O(nodes), in the same order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
      sample: gpu-node-01
    ok:
      description: Whether the node advertises what it must with a ready plugin pod.
      type: bool
      sample: false
    expected:
      description: GPUs times replicas the node must advertise (a minimum when RV(nodes[].exact) is false).
      type: int
      sample: 32
    exact:
      description: Whether RV(nodes[].expected) is exact or a lower bound (MIG strategy single with MIG-enabled GPUs).
      type: bool
      sample: true
    allocatable:
      description: What the node advertises as allocatable RV(resource), V(null) when nothing.
      type: int
      sample: 8
    resource:
      description: The resource counted.
      type: str
      sample: nvidia.com/gpu
    pod:
      description: Name of the device-plugin pod judged on the node, V(null) when none.
      type: str
      sample: nvidia-device-plugin-7xk2p
    reasons:
      description: Why the node is not ready; empty when it is.
      type: list
      elements: str
      sample: ["node is missing its label nvidia.com/gpu.present=true, so the device-plugin DaemonSet does not target it"]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import gpu_capacity, k8s_common

if k8s_common.HAS_KUBERNETES:
    from urllib3.exceptions import HTTPError
else:
    HTTPError = Exception


def argspec():
    spec = dict(k8s_common.AUTH_ARG_SPEC)
    spec.update(
        nodes=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            gpus=dict(type="int", required=True),
            mig_gpus=dict(type="int", default=0),
        )),
        timeout=dict(type="int", default=300),
        interval=dict(type="int", default=5),
    )
    spec.update(gpu_capacity.plugin_arg_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not k8s_common.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    params = module.params
    targets = params["nodes"]
    try:
        gpu_capacity.check_settings(params["replicas"], params["mig_strategy"])
        gpu_capacity.check_targets(targets)
    except gpu_capacity.GpuCapacityError as exc:
        module.fail_json(msg=str(exc))
    if params["timeout"] < 0 or params["interval"] < 1:
        module.fail_json(msg="timeout must be at least 0 and interval at least 1")

    resource = gpu_capacity.resource_name(params["replicas"], params["rename_by_default"])
    settings = {
        "resource": resource, "replicas": params["replicas"], "mig_strategy": params["mig_strategy"],
        "node_labels": {k: str(v) for k, v in params["node_labels"].items()},
        "runtime_class": params["runtime_class"], "daemonset": "%s/%s" % (params["namespace"], params["daemonset"]),
    }
    try:
        reader = gpu_capacity.ClusterReader(k8s_common.api_client(params), params["namespace"], params["daemonset"],
                                            params["runtime_class"])
        reports, ready, waited, polls = gpu_capacity.wait_for_capacity(
            reader, targets, settings, params["timeout"], params["interval"])
    except (k8s_common.K8sConnectionError, k8s_common.ApiException, HTTPError) as exc:
        module.fail_json(msg="Failed to read the cluster: %s" % exc, exception=traceback.format_exc())
    result = dict(changed=False, ready=ready, resource=resource, waited=waited, polls=polls, nodes=reports)
    if not ready:
        module.fail_json(msg=gpu_capacity.failure_message(reports, waited), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
