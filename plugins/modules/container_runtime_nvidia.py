#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: container_runtime_nvidia
short_description: Register the NVIDIA container runtime with containerd, CRI-O and Docker
version_added: 0.1.0
description:
  - Adds the NVIDIA runtime to each selected container runtime's configuration, touching only the
    NVIDIA runtime entries and keeping every other setting.
  - B(containerd) gets a drop-in file (O(containerd_drop_in)) and one entry in the C(imports)
    array of O(containerd_config), spliced into the file's text so that its comments, layout and
    settings stay as they are; a missing O(containerd_config) is created with only C(version) and
    C(imports).
  - The containerd config version is the file's own C(version), else 3 for containerd 2.x and 2
    otherwise. A file with settings but no C(version) is a version 1 file, which cannot import
    drop-ins, and is refused.
  - containerd 1.x replaces a whole plugin table with an imported one instead of merging it key by
    key; for it (and when containerd is not installed) the drop-in also carries a copy of the CRI
    plugin table of O(containerd_config), so no setting is lost.
  - The NVIDIA runtime entry for containerd starts as a copy of the default low-level runtime
    (C(runc) unless another default is set), so options such as C(SystemdCgroup) match.
  - B(CRI-O) gets a drop-in file (O(crio_drop_in)); B(Docker)'s O(docker_config) is edited key by
    key (C(runtimes.<name>.path) and C(default-runtime)).
  - After writing, where containerd is installed, C(containerd config dump) must succeed and show
    the runtime; otherwise the previous files are put back and the module fails.
  - Probes the host, decides and writes in one call, so a fleet run costs one round trip.
options:
  runtimes:
    description: Container runtimes to configure.
    type: list
    elements: str
    choices: [containerd, crio, docker]
    required: true
  runtime_name:
    description: Name of the NVIDIA runtime (the RuntimeClass handler in Kubernetes).
    type: str
    default: nvidia
  runtime_path:
    description:
      - Path of C(nvidia-container-runtime). It must exist unless in check mode.
    type: path
    default: /usr/bin/nvidia-container-runtime
  set_as_default:
    description:
      - Make the NVIDIA runtime the default runtime.
      - When V(false), a Docker C(default-runtime) naming the NVIDIA runtime is removed and the
        drop-ins set no default.
    type: bool
    default: false
  containerd_config:
    description: containerd's main configuration file.
    type: path
    default: /etc/containerd/config.toml
  containerd_drop_in:
    description: The drop-in file this module owns for containerd.
    type: path
    default: /etc/containerd/conf.d/99-nvidia.toml
  containerd_config_version:
    description:
      - Config version to write when O(containerd_config) has none yet. Detected when omitted.
    type: int
    choices: [2, 3]
  crio_drop_in:
    description: The drop-in file this module owns for CRI-O.
    type: path
    default: /etc/crio/crio.conf.d/99-nvidia.toml
  docker_config:
    description: Docker's daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  validate:
    description: Check the result with C(containerd config dump) where containerd is installed.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change and writes nothing (and validates nothing).
  diff_mode:
    support: full
    details: One diff per file written.
  platform:
    platforms: posix
notes:
  - Runs with the managed host's python3 and its standard library only. Reading TOML needs
    Python 3.11+ (tomllib) or the tomli package; without either, only a missing or CRI-less
    O(containerd_config) can be handled.
  - The module does not restart anything; use RV(changed_runtimes) to notify handlers.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Register the NVIDIA runtime with containerd
  hymt.gpu_mesh.container_runtime_nvidia:
    runtimes: [containerd]
  register: nvidia_runtime

- name: Make NVIDIA the default runtime of containerd and Docker
  hymt.gpu_mesh.container_runtime_nvidia:
    runtimes: [containerd, docker]
    set_as_default: true
"""

RETURN = r"""
changed_runtimes:
  description: Runtimes whose configuration changed (and so need a restart).
  returned: always
  type: list
  elements: str
  sample: [containerd]
installed_runtimes:
  description: Runtimes whose daemon binary (containerd, crio, dockerd) was found on the host.
  returned: always
  type: list
  elements: str
  sample: [containerd]
containerd_version:
  description: Output of C(containerd --version); null when containerd is not installed.
  returned: always
  type: str
  sample: containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3
containerd_config_version:
  description: containerd config version used; null when containerd was not selected.
  returned: always
  type: int
  sample: 2
files:
  description: Files written (or that would be written in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/containerd/conf.d/99-nvidia.toml, /etc/containerd/config.toml]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hymt.gpu_mesh.plugins.module_utils.container_runtime import (
    RuntimeConfigError,
    configure,
    runtime_arg_spec,
)


def argspec():
    return dict(runtime_arg_spec(), validate=dict(type="bool", default=True))


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        result = configure(module)
    except RuntimeConfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
