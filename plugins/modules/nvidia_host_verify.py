#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_host_verify
short_description: Check a GPU host's driver, GPUs, memory health, container runtime and package holds in one call
version_added: 0.1.0
description:
  - Makes every host-side check of the verify phase in one module call, read-only, and returns each result
    as a check (C(id), C(status), C(summary), C(subject), C(node), C(evidence), C(remedy)), the shape
    the fleet report reads.
  - A check's status is V(fail) (the host is not what was asked), V(warn) (it is, but needs attention),
    V(not_checked) (the check could not be made, or was not asked for; the summary says why) or V(pass).
  - A failing check never fails the task; the task fails only on bad arguments or an unexpected error.
  - "Driver and GPU facts come from the same single query as M(hymt.gpu_mesh.nvidia_gpu_info) (returned as
    RV(nvidia_gpu_info), so nothing is queried twice); ECC counters and memory repair from one more
    C(nvidia-smi) query; the driver packages and their holds from one C(dpkg-query) or C(rpm) query."
  - The container runtime is judged by the code that writes it, that of
    M(hymt.gpu_mesh.container_runtime_nvidia); it is configured when that module would change nothing.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  node:
    description:
      - Kubernetes node name of this host, written into each check's C(node) and C(subject) (C(node <name>)).
      - Default is the host's short hostname.
    type: str
  inventory_host:
    description:
      - This host's name in the Ansible inventory, for the C(--limit) of the commands the remedies name.
      - Default is O(node).
    type: str
  driver_version:
    description:
      - The pinned driver version, for example V(580.159.04).
      - When set, C(host.driver_pinned) fails unless the userspace driver is exactly this version.
      - When empty, C(host.driver_pinned) is V(not_checked) and only the loaded kernel module is compared with
        the installed driver (C(host.driver_loaded)).
    type: str
    default: ""
  gpu_count:
    description:
      - Number of GPUs the host must show. Fewer GPUs visible to the driver fail C(host.gpu_count); more warn.
      - When unset, the expected number is that of NVIDIA GPUs on the PCI bus (vendor C(0x10de), class
        C(0x03xxxx), read from O(pci_devices_dir)); when there are none either, the check is V(not_checked).
      - At least V(1) when given.
    type: int
  gpu_models:
    description:
      - Accepted GPU model names, as case-insensitive substrings of the name C(nvidia-smi) reports (V(H100)
        accepts V(NVIDIA H100 80GB HBM3)).
      - A GPU whose name contains none of them fails C(host.gpu_models). Empty accepts every model and reports them.
    type: list
    elements: str
    default: []
  mig_mode:
    description:
      - The MIG mode every GPU must be in now. V(enabled) and V(disabled) fail C(host.mig_mode) for a GPU in the
        other mode (a GPU without MIG support counts as disabled); V(any) accepts both.
      - Whatever the value, a GPU whose pending MIG mode differs from its current one warns (a GPU reset is pending).
    type: str
    choices: [any, enabled, disabled]
    default: any
  persistence_mode:
    description:
      - Whether every GPU must have persistence mode on; a GPU with it off warns C(host.persistence_mode).
      - V(false) makes that check V(not_checked).
    type: bool
    default: true
  container_runtime:
    description:
      - The NVIDIA runtime registration to check, with the options the nvidia_container_toolkit role passes to
        M(hymt.gpu_mesh.container_runtime_nvidia) (the role's C(nvidia_container_toolkit_*) variables).
      - C(host.container_runtime) fails when that module would change any of the files; C(host.toolkit_binaries)
        fails when C(nvidia-ctk) or O(container_runtime.runtime_path) is missing.
      - Omitted, or with an empty O(container_runtime.runtimes), both checks are V(not_checked).
    type: dict
    suboptions:
      runtimes:
        description: Container runtimes that must have the NVIDIA runtime registered.
        type: list
        elements: str
        choices: [containerd, crio, docker]
        default: []
      runtime_name:
        description: Name of the NVIDIA runtime (the RuntimeClass handler).
        type: str
        default: nvidia
      runtime_path:
        description: Path of C(nvidia-container-runtime); it must exist and be executable.
        type: path
        default: /usr/bin/nvidia-container-runtime
      set_as_default:
        description: Whether the NVIDIA runtime must be the default runtime.
        type: bool
        default: false
      containerd_config:
        description: containerd's main configuration file.
        type: path
        default: /etc/containerd/config.toml
      containerd_drop_in:
        description: The containerd drop-in the toolkit role owns.
        type: path
        default: /etc/containerd/conf.d/99-nvidia.toml
      containerd_config_version:
        description: Config version the role was told to write where the file has none; detected when omitted.
        type: int
        choices: [2, 3]
      crio_drop_in:
        description: The CRI-O drop-in the toolkit role owns.
        type: path
        default: /etc/crio/crio.conf.d/99-nvidia.toml
      docker_config:
        description: Docker's daemon configuration file.
        type: path
        default: /etc/docker/daemon.json
  nvidia_ctk_path:
    description:
      - Path of C(nvidia-ctk). Default is to search E(PATH) and the system binary directories.
    type: path
  check_holds:
    description:
      - Whether the driver packages must be held (C(host.package_holds)).
      - "Debian family: every package at the driver's version that was installed by name (not marked
        automatically installed in C(/var/lib/apt/extended_states)) must have the dpkg selection C(hold):
        that is the set the nvidia_driver role installs, pins and holds; their dependencies are
        automatically installed."
      - "RedHat family: every package at the driver's version that no other such package requires must be
        locked in C(/etc/dnf/plugins/versionlock.list)."
      - No package at the driver's version (a runfile install) makes the check V(not_checked); so does V(false).
    type: bool
    default: true
  nvidia_smi_path:
    description:
      - Path of the C(nvidia-smi) binary. Default is to search E(PATH) and the system binary directories.
    type: path
  pci_devices_dir:
    description:
      - Directory of the host's PCI devices in sysfs, as for M(hymt.gpu_mesh.nvidia_gpu_info).
    type: path
    default: /sys/bus/pci/devices
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "Checks, by id: C(host.driver_loaded), C(host.driver_pinned), C(host.gpu_count), C(host.gpu_models),
    C(host.mig_mode), C(host.persistence_mode), C(host.ecc), C(host.memory_remap), C(host.container_runtime),
    C(host.toolkit_binaries), C(host.package_holds), always in this order."
  - "Commands run, in the C locale, at most three: C(nvidia-smi
    --query-gpu=index,name,uuid,pci.bus_id,memory.total,compute_cap,mig.mode.current,mig.mode.pending,ecc.mode.current,persistence_mode,driver_version
    --format=csv,noheader,nounits) once (as M(hymt.gpu_mesh.nvidia_gpu_info) runs it)."
  - "Where the driver answered, C(nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits) once, with the
    fields, in this order: index, uuid, ecc.errors.uncorrected.volatile.total, ecc.errors.uncorrected.aggregate.total,
    ecc.errors.corrected.volatile.total, retired_pages.pending, retired_pages.double_bit.count, remapped_rows.pending,
    remapped_rows.failure, remapped_rows.uncorrectable, remapped_rows.correctable. ECC mode comes from the first query."
  - "Where O(check_holds) is true or containerd is checked, one package query:
    C(dpkg-query --show --showformat '${db:Status-Want} ${db:Status-Status} ${Package} ${Architecture} ${Version}\\n')
    or C(rpm --query --all --queryformat '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} requires:[%{REQUIRENAME},]
    provides:[%{PROVIDENAME},]\\n')."
  - "Fields that read [N/A] mean the GPU does not support them (an H100 repairs memory by row remapping, so its
    retired pages read [N/A]); they are shown in the evidence and never fail a check."
  - "Without a working driver (C(present=false) in RV(nvidia_gpu_info)), C(host.driver_loaded) fails with the reason
    and the GPU checks are V(not_checked)."
  - "containerd's version, which decides the drop-in's layout, is read from the containerd or containerd.io
    package; where containerd was installed otherwise, the layouts for containerd 1.x and 2.x are both accepted."
  - The RedHat family package-hold path is unit-tested only; the lab and the tested hosts are Debian.
seealso:
  - module: hymt.gpu_mesh.nvidia_gpu_info
  - module: hymt.gpu_mesh.container_runtime_nvidia
  - name: nvidia-smi documentation
    description: The query fields this module reads.
    link: https://docs.nvidia.com/deploy/nvidia-smi/index.html
  - name: NVIDIA GPU memory error management
    description: ECC errors, page retirement and row remapping.
    link: https://docs.nvidia.com/deploy/a100-gpu-mem-error-mgmt/index.html
"""

EXAMPLES = r"""
- name: Check this GPU host as the fleet pins it
  hymt.gpu_mesh.nvidia_host_verify:
    node: gpu-node-01
    inventory_host: "{{ inventory_hostname }}"
    driver_version: "580.159.04"
    gpu_count: 8
    gpu_models: [H100]
    mig_mode: disabled
    container_runtime:
      runtimes: [containerd]
  register: host_verify

- name: Show what failed
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.summary }} -> {{ item.remedy }}"
  loop: "{{ host_verify.checks | selectattr('status', 'eq', 'fail') | list }}"
  loop_control:
    label: "{{ item.id }}"

- name: Check a host whose driver came from the runfile, with Docker
  hymt.gpu_mesh.nvidia_host_verify:
    check_holds: false
    persistence_mode: false
    nvidia_smi_path: /usr/local/nvidia/bin/nvidia-smi
    container_runtime:
      runtimes: [docker]
      set_as_default: true
"""

RETURN = r"""
checks:
  description:
    - One result per check, always the eleven in the order of the notes.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The check, C(host.<name>).
      type: str
      sample: host.driver_loaded
    scope:
      description: Always V(host).
      type: str
      sample: host
    subject:
      description: What was checked, C(node <name>).
      type: str
      sample: node gpu-node-01
    node:
      description: The node name (O(node)).
      type: str
      sample: gpu-node-01
    status:
      description: V(fail), V(warn), V(not_checked) or V(pass).
      type: str
      sample: fail
    summary:
      description: One sentence; for V(not_checked) it says why.
      type: str
      sample: loaded kernel module 580.95.05 differs from installed driver 580.159.04
    evidence:
      description: What was seen, per GPU or per file.
      type: str
      sample: "userspace driver 580.159.04, loaded kernel module 580.95.05 (open), ..."
    remedy:
      description: The next command or action for an operator; empty on a pass.
      type: str
      sample: "ansible-playbook hymt.gpu_mesh.driver_upgrade --limit gpu-node-01 -e driver_upgrade_version=580.159.04: ..."
  sample:
    - id: host.ecc
      scope: host
      subject: node gpu-node-01
      node: gpu-node-01
      status: pass
      summary: no uncorrectable ECC error on any GPU
      evidence: "GPU 0 (00000000:00:06.0) ECC enabled, uncorrected volatile 0, uncorrected aggregate 0, corrected volatile 0"
      remedy: ""
host:
  description: This host's row of the fleet report's node table.
  returned: always
  type: dict
  contains:
    node:
      description: The node name.
      type: str
      sample: gpu-node-01
    hostname:
      description: The host's own hostname.
      type: str
      sample: gpu-node-01.example.internal
    os:
      description: Distribution and version from C(/etc/os-release) (C(PRETTY_NAME)), V(null) when unreadable.
      type: str
      sample: Ubuntu 24.04.3 LTS
    kernel:
      description: Running kernel release.
      type: str
      sample: 6.8.0-85-generic
    driver_version:
      description: Userspace driver version, V(null) when the driver does not answer.
      type: str
      sample: "580.159.04"
    loaded_module_version:
      description: Version of the loaded kernel module, V(null) when none is loaded.
      type: str
      sample: "580.159.04"
    cuda_version:
      description: Highest CUDA version the driver supports.
      type: str
      sample: "13.0"
    gpu_count:
      description: GPUs visible to the driver.
      type: int
      sample: 8
    gpu_models:
      description: GPU models with their counts, in order of first appearance.
      type: list
      elements: dict
      sample: [{name: NVIDIA H100 80GB HBM3, count: 8}]
    mig_enabled_gpus:
      description: GPUs with MIG mode enabled now.
      type: int
      sample: 0
    ecc_uncorrected_volatile:
      description: Uncorrectable ECC errors since the driver loaded, summed over the GPUs; V(null) when unknown.
      type: int
      sample: 0
    persistence_mode_off:
      description: GPUs with persistence mode off.
      type: int
      sample: 0
    verdict:
      description: V(fail), V(pass_with_warnings) or V(pass), from RV(checks).
      type: str
      sample: pass
    counts:
      description: Number of checks per status.
      type: dict
      sample: {fail: 0, warn: 0, not_checked: 1, pass: 10}
nvidia_gpu_info:
  description: The driver and GPU facts the checks were made from, as M(hymt.gpu_mesh.nvidia_gpu_info) returns them.
  returned: always
  type: dict
  sample:
    present: true
    reason: null
    driver_version: "580.159.04"
    gpu_count: 1
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_gpu
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_host_verify as verify


def argspec():
    return dict(
        node=dict(type="str"),
        inventory_host=dict(type="str"),
        driver_version=dict(type="str", default=""),
        gpu_count=dict(type="int"),
        gpu_models=dict(type="list", elements="str", default=[]),
        mig_mode=dict(type="str", choices=list(verify.MIG_MODES), default="any"),
        persistence_mode=dict(type="bool", default=True),
        container_runtime=dict(type="dict", options=verify.container_runtime_options()),
        nvidia_ctk_path=dict(type="path"),
        check_holds=dict(type="bool", default=True),
        nvidia_smi_path=dict(type="path"),
        pci_devices_dir=dict(type="path", default=nvidia_gpu.PCI_DEVICES_DIR),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)

    def run(args):
        # LC_ALL=C: nvidia-smi's failure texts are matched in English.
        return module.run_command(args, environ_update={"LC_ALL": "C", "LANG": "C"})

    try:
        result = verify.verify(module.params, run, module.get_bin_path, read_file=verify.read_text)
    except verify.HostVerifyError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
