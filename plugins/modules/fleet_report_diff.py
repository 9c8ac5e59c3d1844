#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report_diff
short_description: Compare two fleet reports of the verify phase
version_added: 0.1.0
description:
  - Reads two JSON fleet reports written by M(hymt.gpu_mesh.fleet_report) and returns what changed -
    the verdict, the checks whose status changed, new and resolved problems, nodes added and removed.
  - Checks are matched by id, node and subject. A problem is a check that did not pass; a new problem
    was absent or passed in O(old); a resolved problem passes or is absent in O(new).
  - Refuses reports of different schema versions.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  old:
    description: Path of the earlier report's JSON file on the control node.
    type: path
    required: true
  new:
    description: Path of the later report's JSON file, for example C(fleet-report-latest.json).
    type: path
    required: true
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
  - "Run it on the control node (C(delegate_to: localhost))."
  - The collection's docs/fleet-report.md shows the same comparison as a C(jq) one-liner.
seealso:
  - module: hymt.gpu_mesh.fleet_report
"""

EXAMPLES = r"""
- name: Compare the last report with the one before
  hymt.gpu_mesh.fleet_report_diff:
    old: /srv/reports/fleet-report-20260805T101500Z.json
    new: /srv/reports/fleet-report-latest.json
  delegate_to: localhost
  register: fleet_diff

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ fleet_diff.summary_lines }}"
"""

RETURN = r"""
verdict_changed:
  description: The old and the new verdict when they differ; V(null) when the verdict is the same.
  returned: success
  type: dict
  sample: {old: fail, new: pass}
changed_checks:
  description: Checks in both reports whose status differs, with C(id), C(node), C(subject), C(old), C(new), C(summary).
  returned: success
  type: list
  elements: dict
  sample:
    - {id: host.driver_loaded, node: gpu-1, subject: node gpu-1, old: fail, new: pass, summary: driver 580.95.05 is loaded}
new_problems:
  description: Checks of the new report that did not pass and were absent or passed before (key C(was) says which).
  returned: success
  type: list
  elements: dict
resolved_problems:
  description: Checks of the old report that did not pass and now pass or are absent (key C(now) says which).
  returned: success
  type: list
  elements: dict
nodes_added:
  description: Nodes in the new report only.
  returned: success
  type: list
  elements: str
nodes_removed:
  description: Nodes in the old report only.
  returned: success
  type: list
  elements: str
summary_lines:
  description: The comparison in lines for a person.
  returned: success
  type: list
  elements: str
  sample:
    - old report 2026-08-05T10:15:00Z (fail), new report 2026-08-06T10:15:00Z (pass)
    - "verdict: fail → pass"
    - "checks: fail 1 → 0, warn 0 → 0, not_checked 0 → 0, pass 40 → 41"
    - "resolved: host.driver_loaded on gpu-1 (fail → pass)"
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_report


def argspec():
    return dict(
        old=dict(type="path", required=True),
        new=dict(type="path", required=True),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        old = fleet_report.load_report(module.params["old"], "old")
        new = fleet_report.load_report(module.params["new"], "new")
        result = fleet_report.diff_reports(old, new)
    except fleet_report.FleetReportError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
