# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of fleet_report and fleet_report_diff: options, result shape, files on disk, failures.

The document, its renderings and the comparison are tested in module_utils/test_fleet_report.py.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from ansible.module_utils import basic

from ansible_collections.hymt.gpu_mesh.plugins.module_utils.fleet_checks import check
from ansible_collections.hymt.gpu_mesh.plugins.modules import fleet_report, fleet_report_diff

HOSTS = {
    "gpu-1": {"node": "gpu-1", "host": {"gpu_count": 8, "driver_version": "580.95.05"},
              "checks": [check("host.driver_loaded", "pass", "loaded", "node gpu-1", "gpu-1")]},
    "gpu-2": {"node": "gpu-2", "unreachable": True, "error": "UNREACHABLE! ssh timed out"},
}
CLUSTER = {"checks": [check("cluster.node_ready", "warn", "cordoned", "node gpu-1", "gpu-1", remedy="kubectl uncordon gpu-1")],
           "nodes": [{"name": "gpu-1", "ready": True, "schedulable": False, "allocatable_gpus": 8, "expected_gpus": 8}]}


@pytest.fixture(name="run_report")
def fixture_run_report(run_module, tmp_path):
    def run(args):
        return run_module(fleet_report.main, dict({"dest_dir": str(tmp_path / "reports")}, **args))
    return run


def test_a_failing_fleet_is_reported_not_failed(run_report, tmp_path):
    kind, result = run_report({"hosts": HOSTS, "cluster": CLUSTER, "run": {"playbook": "site.yml"}})
    assert kind == "exit" and result["changed"] is False
    assert result["verdict"] == "fail"
    # host.driver_loaded pass, host.reachable fail (gpu-2), cluster.node_ready warn.
    assert result["summary"] == {"fail": 1, "warn": 1, "not_checked": 0, "pass": 1, "nodes": 2}
    assert result["verdict_line"].startswith("FLEET VERIFY: FAIL — 1 failed, 1 warning, 0 not checked, 1 passed; 2 nodes; report: ")
    for key in ("json", "markdown", "html", "latest_json", "latest_markdown", "latest_html"):
        path = Path(result["paths"][key])
        assert path.parent == tmp_path / "reports" and path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert json.loads(Path(result["paths"]["latest_json"]).read_text()) == result["report"]
    assert result["report"]["run"] == {"playbook": "site.yml"}
    assert [p["id"] for p in result["report"]["problems"]] == ["host.reachable", "cluster.node_ready"]


def test_check_mode_writes_the_report_too(run_report, tmp_path):
    kind, result = run_report({"hosts": HOSTS, "_ansible_check_mode": True, "run": {"check_mode": True}})
    assert kind == "exit" and result["changed"] is False
    assert Path(result["paths"]["html"]).is_file() and result["report"]["run"]["check_mode"] is True


def test_formats_and_title(run_report, tmp_path):
    kind, result = run_report({"hosts": HOSTS, "formats": ["html"], "title": "Lab <fleet>"})
    assert kind == "exit"
    assert sorted(os.listdir(tmp_path / "reports")) == sorted(
        [Path(result["paths"]["html"]).name, "fleet-report-latest.html"])
    assert result["paths"]["json"] is None and result["paths"]["latest_markdown"] is None
    assert "<h1>Lab &lt;fleet&gt;</h1>" in Path(result["paths"]["html"]).read_text()


def test_skip_and_unknown_skip_warns(run_report, monkeypatch):
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warned.append(text))
    kind, result = run_report({"cluster": CLUSTER, "skip": {"cluster.node_ready": "cordoned on purpose", "host.typo": "x"}})
    assert kind == "exit" and result["verdict"] == "pass"
    assert result["summary"]["not_checked"] == 1
    assert [w for w in warned if "host.typo" in w] and "warnings" not in result


@pytest.mark.parametrize("args, message", [
    ({"checks": [{"id": "host.a", "status": "ok"}]}, "unknown check status 'ok'"),
    ({"keep": 0}, "keep must be at least 1"),
    ({"formats": ["pdf"]}, "value of formats must be one or more of"),
])
def test_bad_input_fails(run_report, args, message):
    kind, result = run_report(args)
    assert kind == "fail" and message in result["msg"]


def test_an_unwritable_destination_fails(run_module, tmp_path):
    (tmp_path / "file").write_text("x")
    kind, result = run_module(fleet_report.main, {"dest_dir": str(tmp_path / "file"), "hosts": HOSTS})
    assert kind == "fail" and "is not a directory" in result["msg"]


def test_diff_module(run_module, run_report, tmp_path):
    dummy, before = run_report({"hosts": HOSTS, "cluster": CLUSTER, "formats": ["json"]})
    old = tmp_path / "old.json"
    Path(before["paths"]["json"]).rename(old)
    healed = dict(HOSTS, **{"gpu-2": {"node": "gpu-2", "checks": [check("host.driver_loaded", "pass", "loaded", "node gpu-2", "gpu-2")]}})
    dummy, after = run_report({"hosts": healed, "cluster": CLUSTER, "formats": ["json"]})
    kind, result = run_module(fleet_report_diff.main, {"old": str(old), "new": after["paths"]["latest_json"]})
    assert kind == "exit" and result["changed"] is False
    assert result["verdict_changed"] == {"old": "fail", "new": "pass_with_warnings"}
    assert [(c["id"], c["node"], c["now"]) for c in result["resolved_problems"]] == [("host.reachable", "gpu-2", "absent")]
    assert result["new_problems"] == [] and result["changed_checks"] == []
    assert result["nodes_added"] == [] and result["nodes_removed"] == []
    assert "verdict: fail → pass_with_warnings" in result["summary_lines"]


def test_diff_module_refuses_different_schema_versions(run_module, run_report, tmp_path):
    dummy, report = run_report({"hosts": HOSTS, "formats": ["json"]})
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(dict(report["report"], schema_version=2)))
    kind, result = run_module(fleet_report_diff.main, {"old": report["paths"]["json"], "new": str(newer)})
    assert kind == "fail" and "schema_version 1 and the new one 2" in result["msg"]


def test_diff_module_fails_on_a_missing_file(run_module, tmp_path):
    kind, result = run_module(fleet_report_diff.main, {"old": str(tmp_path / "a.json"), "new": str(tmp_path / "b.json")})
    assert kind == "fail" and result["msg"].startswith("Failed to read the old fleet report")
