#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the fleet report of the verify phase as JSON, Markdown and one HTML page
version_added: 0.1.0
description:
  - Gathers the checks of every inventory host, the cluster, the mesh, the service and the smoke
    test (the one check shape of the verify phase) into one JSON document of schema_version 1, with
    one entry per node, the mesh's certificates, the service's pods, the smoke test's latencies,
    the problems (checks that failed, warned or could not be made) and every check.
  - Writes it on the control node as C(fleet-report-<UTC YYYYmmddTHHMMSSZ>.json), C(.md) and
    C(.html) in O(dest_dir), each atomically with mode C(0644), and refreshes the copies
    C(fleet-report-latest.json), C(.md) and C(.html). The HTML page is self-contained - inline CSS,
    no script, no external URL.
  - The verdict is V(fail) when any check failed, V(pass_with_warnings) when any warned, else
    V(pass); a check that could not be made (V(not_checked)) never counts as a pass and never fails.
  - An inventory host that was unreachable or whose checks failed becomes one failed check
    C(host.reachable); the report makes no other check of its own.
  - Does not fail on a failing verdict, so that the report always exists; the caller fails after it
    (see RV(verdict)). Fails only on input it cannot read and a directory it cannot write.
  - The fields of the document are described in the collection's C(docs/fleet-report.md) and by the
    JSON Schema C(docs/fleet-report.schema.json).
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  hosts:
    description:
      - Per inventory hostname, a dictionary with C(node) (the Kubernetes node the host is),
        C(host) (the host-check summary - C(driver_version), C(loaded_module_version), C(gpu_count),
        C(gpu_models) are shown; every key is optional) and C(checks) (a list of checks).
      - "A host that was unreachable or failed is given as C({node: ..., unreachable: true, error: msg})."
    type: dict
    default: {}
  cluster:
    description:
      - What the cluster checks returned - C(checks), C(nodes) (each with C(name), C(ready),
        C(schedulable), C(allocatable_gpus), C(capacity_gpus), C(expected_gpus), C(validation),
        C(upgrade_state)), C(mesh) (C(control_plane_version), C(trust_anchors), C(issuer)) and
        C(service) (C(namespace), C(deployment), C(replicas), C(ready_replicas), C(pods)).
      - Empty when the cluster was not checked.
    type: dict
    default: {}
  smoke:
    description:
      - What the smoke test returned - C(mode), C(url), C(requests), C(succeeded), C(p50_ms),
        C(p95_ms), C(language_pairs) and C(error). Empty when it did not run.
      - Or, with a C(results) key, the registered loop of M(hymt.gpu_mesh.translate) over the language pairs
        (each item a dict with C(source), C(target), C(text)), or the same from M(hymt.gpu_mesh.fleet_verify_cluster)'s
        meshed smoke Job, plus C(mode), C(url), C(requests_per_pair) and C(reason) (why none was sent); the module
        then computes the section (p50/p95 per pair and overall) and adds a C(service.smoke) check.
    type: dict
    default: {}
  checks:
    description: Further checks, for example the smoke test's.
    type: list
    elements: dict
    default: []
  skip:
    description:
      - Check id to the reason it is not to be judged (C(fleet_verify_skip)). Every check of that id
        becomes V(not_checked) before the verdict, keeping what was seen.
    type: dict
    default: {}
  scopes:
    description:
      - The concerns this run checked (C(fleet_verify_scope)); each one left out gets one V(not_checked) check
        C(<scope>.scope) saying so, so that a partial run never reads as a whole one.
    type: list
    elements: str
    choices: [hosts, cluster, mesh, service]
    default: [hosts, cluster, mesh, service]
  dest_dir:
    description: Directory on the control node for the reports; created with mode C(0755) when missing.
    type: path
    required: true
  formats:
    description: Which renderings to write.
    type: list
    elements: str
    choices: [json, markdown, html]
    default: [json, markdown, html]
  title:
    description: Title of the report.
    type: str
    default: hymt.gpu_mesh fleet report
  run:
    description:
      - Free-form facts of the run, copied into the report, for example C(check_mode), C(playbook),
        C(inventory), C(scope), C(collection_version).
    type: dict
    default: {}
  keep:
    description:
      - How many timestamped reports of each format to keep in O(dest_dir); older
        C(fleet-report-<stamp>.*) files are deleted. No other file is ever deleted.
    type: int
    default: 30
  cert_warn_days:
    description:
      - A mesh certificate with fewer days left is shown amber, an expired one red. Only colours
        the certificate rows that carry no C(status) of their own; the verdict comes from the checks.
    type: int
    default: 60
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The report is output, like a log, not fleet state - it is written in check mode too, and
        the module never reports a change.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - "Run it on the control node (C(delegate_to: localhost), C(run_once: true))."
  - Two runs within one second write the same file names; the later one replaces the earlier.
seealso:
  - module: hymt.gpu_mesh.fleet_report_diff
"""

EXAMPLES = r"""
- name: Write the fleet report
  hymt.gpu_mesh.fleet_report:
    hosts: "{{ fleet_verify_host_results }}"
    cluster: "{{ fleet_verify_cluster_result }}"
    smoke: {mode: control_node, url: "{{ smoke_url }}", results: "{{ smoke_runs.results }}", requests_per_pair: 10}
    skip: "{{ fleet_verify_skip }}"
    dest_dir: "{{ playbook_dir }}/reports"
    run:
      playbook: site.yml
      check_mode: "{{ ansible_check_mode }}"
  delegate_to: localhost
  run_once: true
  register: fleet_report

- name: Fail when the fleet is not what was asked
  ansible.builtin.fail:
    msg: "{{ fleet_report.verdict_line }}"
  when: fleet_report.verdict == 'fail'
  run_once: true
"""

RETURN = r"""
report:
  description: The JSON document written (schema_version 1; see docs/fleet-report.md).
  returned: success
  type: dict
paths:
  description:
    - Paths of the files written - C(json), C(markdown), C(html) and their C(latest_json),
      C(latest_markdown), C(latest_html) copies; V(null) for a format not written.
  returned: success
  type: dict
  sample:
    json: /srv/reports/fleet-report-20260806T101500Z.json
    markdown: /srv/reports/fleet-report-20260806T101500Z.md
    html: /srv/reports/fleet-report-20260806T101500Z.html
    latest_json: /srv/reports/fleet-report-latest.json
    latest_markdown: /srv/reports/fleet-report-latest.md
    latest_html: /srv/reports/fleet-report-latest.html
verdict:
  description: V(fail), V(pass_with_warnings) or V(pass).
  returned: success
  type: str
  sample: fail
verdict_line:
  description: One line for the log - verdict, counts, number of nodes and the report's path.
  returned: success
  type: str
  sample: "FLEET VERIFY: FAIL — 3 failed, 1 warning, 2 not checked, 41 passed; 3 nodes; report: /srv/reports/fleet-report-20260806T101500Z.html"
summary:
  description: Number of checks per status, and of nodes.
  returned: success
  type: dict
  sample: {fail: 3, warn: 1, not_checked: 2, pass: 41, nodes: 3}
pruned:
  description: Old timestamped reports deleted to keep O(keep) per format.
  returned: success
  type: list
  elements: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_report, fleet_smoke


def argspec():
    return dict(
        hosts=dict(type="dict", default={}),
        cluster=dict(type="dict", default={}),
        smoke=dict(type="dict", default={}),
        checks=dict(type="list", elements="dict", default=[]),
        skip=dict(type="dict", default={}),
        dest_dir=dict(type="path", required=True),
        formats=dict(type="list", elements="str", choices=list(fleet_report.FORMATS), default=list(fleet_report.FORMATS)),
        title=dict(type="str", default=fleet_report.DEFAULT_TITLE),
        run=dict(type="dict", default={}),
        keep=dict(type="int", default=fleet_report.DEFAULT_KEEP),
        cert_warn_days=dict(type="int", default=fleet_report.DEFAULT_CERT_WARN_DAYS),
        scopes=dict(type="list", elements="str", choices=["hosts", "cluster", "mesh", "service"],
                    default=["hosts", "cluster", "mesh", "service"]),
    )


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    params = module.params
    smoke, checks = params["smoke"], list(params["checks"])
    if "results" in smoke:
        # The translate module's registered loop, one result per language pair: summarised here.
        smoke, smoke_checks = fleet_smoke.summarize(smoke.get("mode") or "control_node", smoke.get("url") or "",
                                                    smoke["results"] or [], int(smoke.get("requests_per_pair") or 0),
                                                    smoke.get("reason"))
        checks += smoke_checks
    try:
        result = fleet_report.publish(
            params["dest_dir"], formats=params["formats"], keep=params["keep"],
            hosts=params["hosts"], cluster=params["cluster"], smoke=smoke, checks=checks,
            skip=params["skip"], title=params["title"], run=params["run"], cert_warn_days=params["cert_warn_days"],
            scopes=params["scopes"],
        )
    except fleet_report.FleetReportError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
