#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_mig_layout
short_description: Partition NVIDIA GPUs into MIG instances from a declarative per-host layout
version_added: 0.1.0
description:
  - Reads the GPUs, their MIG mode and their GPU and compute instances with C(nvidia-smi), compares
    them with O(layout), and makes them match with C(nvidia-smi -mig) and C(nvidia-smi mig).
  - Refuses, before any change, a layout that a GPU cannot hold, checked against the GPU model's
    profile table (profile names, instances available, 7 compute and 8 memory slices, allowed
    placements) from NVIDIA's MIG user guide; and any change to a GPU that runs processes.
  - A GPU whose instances differ from its layout loses all of its compute and GPU instances, then
    gets the layout's, each at a placement computed here, each with one compute instance spanning
    it (C(nvidia-smi mig -cgi <profile>:<start>,... -C)).
  - Never resets a GPU. Where a MIG mode change waits for a reset, the module reports it in
    RV(reset_required) and creates the instances on a later run, after the reset.
  - Returns the device plugin MIG strategy that the resulting layout calls for.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  layout:
    description:
      - Keys are V(all) or a GPU index; values are lists of GPU instance profile names such as
        V(1g.10gb) or V(3g.40gb), repeated for several instances. A GPU index overrides V(all).
      - An empty list disables MIG mode on that GPU; a GPU that no key names is left as it is.
      - Known models are A100 40GB and 80GB (SXM4 and PCIe), H100 80GB (SXM5 and PCIe), H100 NVL
        and H200 (SXM and NVL); another model named by the layout is refused.
    type: dict
    required: true
  nvidia_smi_path:
    description:
      - Path of the C(nvidia-smi) binary; default is to search E(PATH) and the system binary directories.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the GPUs and their processes, and reports the commands it would run without running them.
  diff_mode:
    support: full
    details: One line per GPU of the layout, before and after.
  platform:
    platforms: posix
notes:
  - "Reads with at most three commands (C(nvidia-smi --query-gpu=index,name,uuid,mig.mode.current,mig.mode.pending
    --format=csv,noheader), and C(nvidia-smi mig -lgi) and C(nvidia-smi mig -lci) only where a GPU has MIG mode
    enabled), plus C(nvidia-smi --query-compute-apps=gpu_uuid,pid,process_name --format=csv,noheader) when a
    change is planned."
  - A MIG mode change needs the GPU idle, and on some GPUs (A100 always) a GPU reset or reboot before it
    takes effect. Drain the node first; the hymt.gpu_mesh.nvidia_mig role does when told the host is a
    Kubernetes node.
seealso:
  - name: NVIDIA Multi-Instance GPU user guide, supported MIG profiles
    description: The profile tables this module checks layouts against.
    link: https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html
  - name: NVIDIA k8s-device-plugin MIG strategies
    description: What none, single and mixed mean for the device plugin.
    link: https://github.com/NVIDIA/k8s-device-plugin
"""

EXAMPLES = r"""
- name: Split every GPU into one 3g.40gb and two 2g.20gb instances
  hymt.gpu_mesh.nvidia_mig_layout:
    layout:
      all: [3g.40gb, 2g.20gb, 2g.20gb]
  register: mig

- name: Seven 1g.10gb on GPU 0, MIG off on GPU 1
  hymt.gpu_mesh.nvidia_mig_layout:
    layout:
      "0": [1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb, 1g.10gb]
      "1": []

- name: Tell the operator that a GPU reset is still needed
  ansible.builtin.debug:
    msg: "GPUs {{ mig.reset_required_gpus }} take their MIG mode after a reset; run again afterwards."
  when: mig.reset_required
"""

RETURN = r"""
changed:
  description: Whether a MIG mode or instance was (or in check mode would be) changed.
  returned: always
  type: bool
  sample: true
reset_required:
  description: Whether a GPU's pending MIG mode differs from its current one, so that it waits for a GPU reset or reboot.
  returned: always
  type: bool
  sample: false
reset_required_gpus:
  description: Indexes of the GPUs that wait for a reset.
  returned: always
  type: list
  elements: int
  sample: []
mode_change_gpus:
  description: Indexes of the GPUs whose MIG mode is (or would be) switched; in check mode, whether they will need a reset is not known yet.
  returned: always
  type: list
  elements: int
  sample: [0]
device_plugin_mig_strategy:
  description:
    - The MIG strategy of NVIDIA's device plugin that the host's layout calls for, GPUs outside O(layout) included.
    - V(none) without MIG instances, V(single) when every GPU is in MIG mode with one profile throughout, else V(mixed).
  returned: always
  type: str
  sample: mixed
commands:
  description: The nvidia-smi commands run, or in check mode those that would run.
  returned: always
  type: list
  elements: str
  sample: ["/usr/bin/nvidia-smi mig -i 0 -cgi 3g.40gb:0,2g.20gb:4,2g.20gb:6 -C"]
gpus:
  description: One entry per GPU, in index order.
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: GPU index.
      type: int
    name:
      description: Product name.
      type: str
    uuid:
      description: GPU UUID.
      type: str
    managed:
      description: Whether O(layout) names this GPU.
      type: bool
    mig_mode_current:
      description: MIG mode now (after the change outside check mode).
      type: bool
    mig_mode_pending:
      description: MIG mode after the next reset.
      type: bool
    reset_required:
      description: Whether this GPU waits for a reset.
      type: bool
    before:
      description: Profiles of its GPU instances before, in placement order; V(null) when MIG mode was off.
      type: list
      elements: str
    after:
      description: Profiles it holds (or will hold once a reset is done), in placement order; V(null) for MIG off.
      type: list
      elements: str
    placements:
      description: "[profile, start memory slice] of each instance to create."
      type: list
      elements: list
    actions:
      description: >-
        Steps for this GPU: enable_mig, disable_mig, destroy_compute_instances, destroy_gpu_instances,
        create_instances, create_instances_after_mode_change (after a reset, on a later run).
      type: list
      elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_mig


def argspec():
    return dict(
        layout=dict(type="dict", required=True),
        nvidia_smi_path=dict(type="path"),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    nvidia_smi = module.params["nvidia_smi_path"] or module.get_bin_path("nvidia-smi", required=True)

    def run(args):
        # LC_ALL=C: the tables and messages are read in English.
        return module.run_command(args, environ_update={"LC_ALL": "C"})

    try:
        result = nvidia_mig.apply_layout(run, nvidia_smi, module.params["layout"], module.check_mode)
    except nvidia_mig.MigLayoutError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
