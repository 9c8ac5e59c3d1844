#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nvidia_gpu_info
short_description: Report a host's NVIDIA GPUs, driver and kernel module in one query
version_added: 0.1.0
description:
  - Gathers, per GPU, the index, name, UUID, PCI bus id, total memory, compute capability,
    MIG mode (current and pending), ECC mode and persistence mode, and for the host the driver
    and CUDA versions, the loaded kernel module's version and flavour, whether the loaded module
    and the userspace driver differ, and whether a reboot is needed to load the installed driver.
  - Reports whether NVIDIA Fabric Manager is needed, from the NVSwitches on the host's PCI tree
    (read from sysfs, so it works before any driver is installed).
  - Runs C(nvidia-smi) exactly once, or asks NVML in-process through nvidia-ml-py where
    C(nvidia-smi) is missing (see O(backend) and the notes).
  - A host without GPU, driver or nvidia-smi is not a failure; it reports RV(present=false) with
    a RV(reason).
  - Returns the same dictionary as module return values and as the host fact C(nvidia_gpu_info).
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  backend:
    description:
      - How to ask the driver.
      - V(auto) runs C(nvidia-smi) when it is found, else uses NVML through the C(pynvml) module
        of nvidia-ml-py when that can be imported (driver containers often ship no nvidia-smi).
        C(nvidia-smi) comes first because importing nvidia-ml-py alone costs more than one query.
      - V(nvml) always uses nvidia-ml-py, which must be installed on the target.
      - V(nvidia-smi) never loads nvidia-ml-py.
    type: str
    choices: [auto, nvml, nvidia-smi]
    default: auto
  nvidia_smi_path:
    description:
      - Path of the C(nvidia-smi) binary.
      - Default is to search E(PATH) and the system binary directories. Set it for drivers
        installed outside them, for example by a runfile into C(/usr/local/nvidia/bin) or by a
        driver container under C(/run/nvidia/driver).
    type: path
  pci_devices_dir:
    description:
      - Directory of the host's PCI devices in sysfs, one subdirectory per device with its
        C(vendor), C(device) and C(class) files.
      - Set it where the host's sysfs is mounted elsewhere, for example C(/host/sys/bus/pci/devices)
        in a container that mounts the host's root at C(/host).
    type: path
    default: /sys/bus/pci/devices
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
notes:
  - "The C(nvidia-smi) backend runs exactly this command once, whatever the number of GPUs:
    C(nvidia-smi
    --query-gpu=index,name,uuid,pci.bus_id,memory.total,compute_cap,mig.mode.current,mig.mode.pending,ecc.mode.current,persistence_mode,driver_version
    --format=csv,noheader,nounits). A failing run is classified by its exit status (the NVML
    return code: 6 no devices, 9 kernel module not loaded, 12 NVML library missing, 18
    driver/library version mismatch) and its message."
  - With the C(nvidia-smi) backend, RV(cuda_version) comes from C(cuDriverGetVersion) in
    C(libcuda.so.1), which touches no GPU; it is V(null) when that library cannot be loaded.
  - The loaded kernel module is always read from C(/proc/driver/nvidia/version).
  - RV(reboot_required) is V(true) when the loaded kernel module differs from the userspace
    driver, or when the userspace driver is installed but no kernel module is loaded.
  - "RV(fabric_manager_required) is V(true) exactly when an NVSwitch (an NVIDIA PCI device of class
    C(0x0680), as the 8-GPU HGX and DGX baseboards show them) is on the host's PCI tree. An SXM
    GPU alone does not need Fabric Manager: 4-GPU HGX boards link their GPUs without NVSwitch,
    and a GPU passed through to a VM without its baseboard's switches has no fabric to manage."
seealso:
  - name: nvidia-smi documentation
    description: The query fields this module reads.
    link: https://docs.nvidia.com/deploy/nvidia-smi/index.html
  - name: NVIDIA Fabric Manager user guide
    description: Which systems need Fabric Manager, and their PCIe topology.
    link: https://docs.nvidia.com/datacenter/tesla/fabric-manager-user-guide/index.html
"""

EXAMPLES = r"""
- name: Read the GPUs and driver state
  hymt.gpu_mesh.nvidia_gpu_info:
  register: gpu

- name: Show the GPU count of every GPU host
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ ansible_facts.nvidia_gpu_info.gpu_count }} GPUs, driver {{ gpu.driver_version }}"
  when: gpu.present

- name: Reboot where an installed driver waits for its kernel module
  ansible.builtin.reboot:
    msg: Load the NVIDIA kernel module of the installed driver
  when: ansible_facts.nvidia_gpu_info.reboot_required

- name: Say whether this host needs NVIDIA Fabric Manager, and why
  ansible.builtin.debug:
    msg: "{{ gpu.fabric_manager_required }}: {{ gpu.fabric_manager_reason }}"

- name: Never load nvidia-ml-py, for a driver container's nvidia-smi
  hymt.gpu_mesh.nvidia_gpu_info:
    backend: nvidia-smi
    nvidia_smi_path: /run/nvidia/driver/usr/bin/nvidia-smi
"""

RETURN = r"""
present:
  description: Whether a working driver answered and reported at least one GPU.
  returned: always
  type: bool
  sample: true
reason:
  description: Why RV(present) is false; V(null) when it is true.
  returned: always
  type: str
  sample: "the NVIDIA driver is installed but its kernel module is not loaded: NVIDIA-SMI has failed ..."
backend:
  description: Which backend answered, V(nvml) or V(nvidia-smi).
  returned: always
  type: str
  sample: nvidia-smi
driver_version:
  description:
    - Userspace driver version as NVML reports it.
    - On a version mismatch, the NVML library version when nvidia-smi prints it, else V(null).
  returned: always
  type: str
  sample: "580.159.04"
driver_branch:
  description: Major part of RV(driver_version), or of RV(kernel_module_version) when the former is unknown.
  returned: always
  type: str
  sample: "580"
cuda_version:
  description: Highest CUDA version the driver supports, V(null) when unknown.
  returned: always
  type: str
  sample: "13.0"
kernel_module_loaded:
  description: Whether an NVIDIA kernel module is loaded.
  returned: always
  type: bool
  sample: true
kernel_module_version:
  description: Version of the loaded kernel module from C(/proc/driver/nvidia/version), V(null) when not readable.
  returned: always
  type: str
  sample: "580.159.04"
kernel_module_flavour:
  description: V(open) for NVIDIA's open kernel module, V(proprietary) for the closed one, V(null) when unknown.
  returned: always
  type: str
  sample: open
driver_mismatch:
  description: Whether the loaded kernel module and the userspace driver differ.
  returned: always
  type: bool
  sample: false
reboot_required:
  description:
    - Whether a reboot is needed before the installed driver works, because the loaded kernel module
      is not the installed userspace driver's, or because no kernel module is loaded while the
      userspace driver is installed.
  returned: always
  type: bool
  sample: false
gpu_count:
  description: Number of GPUs in RV(gpus).
  returned: always
  type: int
  sample: 1
gpus:
  description: One entry per GPU, in index order. Mode fields are V(null) where the GPU does not support them.
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: GPU index as nvidia-smi numbers it.
      type: int
      sample: 0
    name:
      description: Product name.
      type: str
      sample: NVIDIA H100 80GB HBM3
    uuid:
      description: GPU UUID.
      type: str
      sample: GPU-bdc22158-60a0-1d75-6410-7198b8500fe6
    pci_bus_id:
      description: PCI bus id, domain included.
      type: str
      sample: "00000000:00:06.0"
    memory_total_mib:
      description: Total framebuffer memory in MiB.
      type: int
      sample: 81559
    compute_capability:
      description: CUDA compute capability.
      type: str
      sample: "9.0"
    mig_mode_current:
      description: Whether MIG mode is enabled now.
      type: bool
      sample: false
    mig_mode_pending:
      description: MIG mode after the next GPU reset.
      type: bool
      sample: false
    ecc_mode:
      description: Whether ECC is enabled now.
      type: bool
      sample: true
    persistence_mode:
      description: Whether persistence mode is enabled.
      type: bool
      sample: true
pci_gpu_count:
  description: Number of NVIDIA GPUs on the PCI tree (display controllers of vendor C(0x10de)), with or without a driver.
  returned: always
  type: int
  sample: 1
nvswitch_count:
  description: Number of NVSwitches on the PCI tree.
  returned: always
  type: int
  sample: 0
fabric_manager_required:
  description: Whether NVIDIA Fabric Manager must run on this host, that is whether RV(nvswitch_count) is above zero.
  returned: always
  type: bool
  sample: false
fabric_manager_reason:
  description: Why RV(fabric_manager_required) is what it is, with the counts it was decided from.
  returned: always
  type: str
  sample: "no NVSwitch on the PCI bus (1 NVIDIA GPU(s), 0 NVSwitches): the GPUs are not on an NVSwitch fabric ..."
ansible_facts:
  description: The same keys as above, under one fact.
  returned: always
  type: dict
  contains:
    nvidia_gpu_info:
      description: Every return value of this module except C(ansible_facts).
      type: dict
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import nvidia_gpu


def argspec():
    return dict(
        backend=dict(type="str", choices=["auto", "nvml", "nvidia-smi"], default="auto"),
        nvidia_smi_path=dict(type="path"),
        pci_devices_dir=dict(type="path", default=nvidia_gpu.PCI_DEVICES_DIR),
    )


def read_proc_version():
    try:
        with open(nvidia_gpu.PROC_VERSION_PATH) as handle:
            return handle.read()
    except OSError:
        return None


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    backend = module.params["backend"]
    nvidia_smi = module.params["nvidia_smi_path"]
    if nvidia_smi:
        if not os.access(nvidia_smi, os.X_OK):
            module.fail_json(msg="nvidia_smi_path %s is not an executable file" % nvidia_smi)
    elif backend != "nvml":
        nvidia_smi = module.get_bin_path("nvidia-smi")

    nvml = nvidia_gpu.load_pynvml() if nvidia_gpu.uses_nvml(backend, nvidia_smi) else None
    if backend == "nvml" and nvml is None:
        module.fail_json(msg=missing_required_lib("nvidia-ml-py") + " (backend=nvml)")

    def run(args):
        # LC_ALL=C: the failure texts are matched in English.
        return module.run_command(args, environ_update={"LC_ALL": "C"})

    try:
        facts = nvidia_gpu.gather(run, nvidia_smi, read_proc_version, backend=backend, nvml=nvml,
                                  pci_devices=nvidia_gpu.read_pci_devices(module.params["pci_devices_dir"]))
    except nvidia_gpu.NvidiaGpuError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    module.exit_json(changed=False, ansible_facts={"nvidia_gpu_info": facts}, **facts)


if __name__ == "__main__":
    main()
