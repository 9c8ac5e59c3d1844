# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: its document checked against docs/fleet-report.schema.json, its orderings, its
renderings, its files, its difference; and the HTML page rendered by headless Chromium.

The input fleet is built here check by check, so every expected count below is counted from the
fixture, not read back from the code under test.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_report as fr
from ansible_collections.hymt.gpu_mesh.plugins.module_utils.fleet_checks import check

ROOT = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "docs/fleet-report.schema.json").read_text())
CHECKER = ROOT / "tests/report/chromium_check.py"
NOW = datetime.datetime(2026, 8, 6, 10, 15, 0, tzinfo=datetime.timezone.utc)
NODES = ("gpu-1", "gpu-2", "gpu-3")


def validate(report):
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(report)


def healthy_fleet():
    """Three GPU hosts that are nodes; every check passes.

    Checks: 2 per host (6), 1 cluster check per node (3), 2 mesh, 1 service = 12; and 1 smoke check
    passed as ``checks`` = 13 in all.
    """
    hosts = {}
    for name in NODES:
        hosts[name] = {
            "node": name,
            "host": {"node": name, "hostname": name + ".lab", "driver_version": "580.95.05",
                     "loaded_module_version": "580.95.05", "gpu_count": 8, "gpu_models": ["NVIDIA H100 80GB HBM3"]},
            "checks": [
                check("host.driver_loaded", "pass", "driver 580.95.05 is loaded", "node " + name, name),
                check("host.gpus_visible", "pass", "8 GPUs visible", "node " + name, name),
            ],
        }
    cluster = {
        "checks": [check("cluster.node_ready", "pass", "Ready", "node " + n, n) for n in NODES]
        + [check("mesh.control_plane", "pass", "control plane available", "linkerd"),
           check("mesh.issuer_expiry", "pass", "issuer valid for 300 days", "issuer")]
        + [check("service.deployment", "pass", "2 of 2 replicas ready", "deployment hy-mt")],
        "nodes": [{"name": n, "ready": True, "schedulable": True, "allocatable_gpus": 8, "capacity_gpus": 8,
                   "expected_gpus": 8, "validation": "pass", "upgrade_state": None} for n in NODES],
        "mesh": {
            "control_plane_version": "edge-26.8.3",
            "trust_anchors": [{"subject": "CN=root.linkerd.cluster.local", "not_after": "2036-01-01T00:00:00Z", "days_left": 3435}],
            "issuer": {"subject": "CN=identity.linkerd.cluster.local", "not_after": "2027-06-02T00:00:00Z", "days_left": 300},
        },
        "service": {"namespace": "hymt-translation", "deployment": "hy-mt", "replicas": 2, "ready_replicas": 2,
                    "pods": [{"name": "hy-mt-0", "node": "gpu-1", "proxy": True, "ready": True},
                             {"name": "hy-mt-1", "node": "gpu-2", "proxy": True, "ready": True}]},
    }
    smoke = {"mode": "translate", "url": "http://hy-mt.hymt-translation.svc:8000", "requests": 20, "succeeded": 20,
             "p50_ms": 412.5, "p95_ms": 901.0, "error": None,
             "language_pairs": [{"source": "en", "target": "zh", "requests": 10, "succeeded": 10, "p50_ms": 400.0,
                                 "p95_ms": 880.5, "sample": "这是免费的。"},
                                {"source": "zh", "target": "de", "requests": 10, "succeeded": 10, "p50_ms": 430.0,
                                 "p95_ms": 910.0, "sample": "Das geht aufs Haus."}]}
    checks = [check("service.smoke", "pass", "20 of 20 translations succeeded", "smoke test")]
    return {"hosts": hosts, "cluster": cluster, "smoke": smoke, "checks": checks}


HEALTHY_CHECKS = 13


def set_status(fleet, node, check_id, status, remedy="do something", summary=None):
    """Change one check of the fixture in place; returns the fleet."""
    pools = [fleet["cluster"]["checks"], fleet["checks"]] + [h.get("checks", []) for h in fleet["hosts"].values()]
    hits = [c for pool in pools for c in pool if c["id"] == check_id and c["node"] == node]
    assert len(hits) == 1, (node, check_id)
    hits[0].update(status=status, remedy=remedy, summary=summary or hits[0]["summary"] + " (" + status + ")")
    return fleet


def build(fleet, **kwargs):
    report, warnings = fr.build_report(now=NOW, **dict(fleet, **kwargs))
    validate(report)
    return report, warnings


def failing_fleet():
    fleet = healthy_fleet()
    set_status(fleet, "gpu-2", "host.gpus_visible", "fail", "reseat the GPU; nvidia-smi -q")
    set_status(fleet, "gpu-3", "cluster.node_ready", "warn", "kubectl uncordon gpu-3")
    set_status(fleet, None, "mesh.issuer_expiry", "not_checked", "")
    fleet["hosts"]["gpu-1"] = {"node": "gpu-1", "unreachable": True, "error": "ssh: connect to host gpu-1 port 22: No route to host"}
    return fleet


# --- the document ---------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_all_pass():
    report, warnings = build(healthy_fleet())
    assert report["verdict"] == "pass" and warnings == []
    assert report["summary"] == {"fail": 0, "warn": 0, "not_checked": 0, "pass": HEALTHY_CHECKS}
    assert report["problems"] == [] and len(report["checks"]) == HEALTHY_CHECKS
    assert report["generated_at"] == "2026-08-06T10:15:00Z" and report["schema_version"] == 1
    assert [n["name"] for n in report["nodes"]] == list(NODES)
    node = report["nodes"][0]
    assert node["host"] == "gpu-1" and node["status"] == "pass" and node["problems"] == 0
    assert node["gpus"] == {"expected": 8, "visible": 8, "allocatable": 8, "capacity": 8}
    assert node["driver"] == {"installed": "580.95.05", "loaded": "580.95.05"}
    assert report["mesh"]["status"] == "pass" and report["service"]["status"] == "pass"
    assert [c["status"] for c in report["mesh"]["trust_anchors"]] == ["pass"]


def test_a_warning_only_passes_with_warnings():
    fleet = set_status(healthy_fleet(), "gpu-3", "cluster.node_ready", "warn", "kubectl uncordon gpu-3")
    report, dummy = build(fleet)
    assert report["verdict"] == "pass_with_warnings"
    assert report["summary"] == {"fail": 0, "warn": 1, "not_checked": 0, "pass": HEALTHY_CHECKS - 1}
    assert [(p["id"], p["node"], p["remedy"]) for p in report["problems"]] == [("cluster.node_ready", "gpu-3", "kubectl uncordon gpu-3")]
    assert {n["name"]: n["status"] for n in report["nodes"]} == {"gpu-1": "pass", "gpu-2": "pass", "gpu-3": "warn"}


def test_failures_fail_and_an_unreachable_host_is_a_failed_check():
    report, dummy = build(failing_fleet())
    assert report["verdict"] == "fail"
    # gpu-1's two host checks are gone, host.reachable (fail) stands for them: 13 - 2 + 1 = 12.
    assert report["summary"] == {"fail": 2, "warn": 1, "not_checked": 1, "pass": 8}
    reachable = [c for c in report["checks"] if c["id"] == "host.reachable"]
    assert len(reachable) == 1
    assert reachable[0]["status"] == "fail" and reachable[0]["node"] == "gpu-1"
    assert reachable[0]["remedy"] == "ansible -m ping gpu-1" and "No route to host" in reachable[0]["evidence"]
    gpu1 = report["nodes"][0]
    assert gpu1["name"] == "gpu-1" and gpu1["status"] == "fail" and gpu1["gpus"]["visible"] is None
    assert gpu1["ready"] is True  # the cluster still says so


def test_not_checked_never_counts_as_pass():
    fleet = set_status(healthy_fleet(), None, "mesh.issuer_expiry", "not_checked", "", "could not read the issuer Secret")
    report, dummy = build(fleet)
    assert report["verdict"] == "pass"  # not_checked never fails...
    assert report["summary"]["pass"] == HEALTHY_CHECKS - 1 and report["summary"]["not_checked"] == 1  # ...nor passes
    assert report["mesh"]["status"] == "not_checked" and [p["id"] for p in report["problems"]] == ["mesh.issuer_expiry"]
    assert "1 not checked, 12 passed" in fr.verdict_line(report)


def test_skip_turns_every_check_of_an_id_into_not_checked_before_the_verdict():
    fleet = set_status(healthy_fleet(), "gpu-2", "host.gpus_visible", "fail", "reseat the GPU")
    report, warnings = build(fleet, skip={"host.gpus_visible": "GPU 3 of gpu-2 is out for repair", "host.no_such": "x"})
    assert report["verdict"] == "pass"
    skipped = [c for c in report["checks"] if c["id"] == "host.gpus_visible"]
    assert len(skipped) == 3 and {c["status"] for c in skipped} == {"not_checked"}
    assert all("GPU 3 of gpu-2 is out for repair" in c["summary"] and c["remedy"] == "" for c in skipped)
    assert report["summary"] == {"fail": 0, "warn": 0, "not_checked": 3, "pass": HEALTHY_CHECKS - 3}
    assert any("host.no_such" in w for w in warnings)


def test_problems_are_ordered_fail_warn_not_checked_then_node_then_id():
    checks = [
        check("service.b", "not_checked", "s", node=None),
        check("host.z", "warn", "s", node="gpu-1"),
        check("host.a", "fail", "s", node="gpu-2"),
        check("cluster.a", "fail", "s", node=None),
        check("host.b", "fail", "s", node="gpu-1"),
        check("mesh.a", "warn", "s", node=None),
        check("cluster.a", "pass", "s", node="gpu-1"),
        check("host.a", "fail", "s", node="gpu-1"),
        check("host.a", "not_checked", "s", node="gpu-3"),
    ]
    report, dummy = build({"checks": checks})
    assert [(p["status"], p["node"], p["id"]) for p in report["problems"]] == [
        ("fail", None, "cluster.a"),
        ("fail", "gpu-1", "host.a"),
        ("fail", "gpu-1", "host.b"),
        ("fail", "gpu-2", "host.a"),
        ("warn", None, "mesh.a"),
        ("warn", "gpu-1", "host.z"),
        ("not_checked", None, "service.b"),
        ("not_checked", "gpu-3", "host.a"),
    ]
    assert [(c["scope"], c["node"], c["id"]) for c in report["checks"]] == [
        ("host", "gpu-1", "host.a"), ("host", "gpu-1", "host.b"), ("host", "gpu-1", "host.z"),
        ("host", "gpu-2", "host.a"), ("host", "gpu-3", "host.a"),
        ("cluster", None, "cluster.a"), ("cluster", "gpu-1", "cluster.a"),
        ("mesh", None, "mesh.a"), ("service", None, "service.b"),
    ]


def test_nodes_are_the_union_of_cluster_nodes_and_inventory_hosts():
    fleet = healthy_fleet()
    fleet["hosts"]["gpu-4"] = {"node": "gpu-4", "host": {"gpu_count": 2}, "checks": []}  # a GPU host, not a node
    fleet["cluster"]["nodes"].append({"name": "gpu-9", "ready": False, "schedulable": True})  # a node, not in the inventory
    report, dummy = build(fleet)
    nodes = {n["name"]: n for n in report["nodes"]}
    assert sorted(nodes) == ["gpu-1", "gpu-2", "gpu-3", "gpu-4", "gpu-9"]
    assert nodes["gpu-4"]["host"] == "gpu-4" and nodes["gpu-4"]["in_cluster"] is False and nodes["gpu-4"]["ready"] is None
    assert nodes["gpu-9"]["host"] is None and nodes["gpu-9"]["in_cluster"] is True and nodes["gpu-9"]["gpus"]["visible"] is None
    # Neither is a problem of the report's own making: it judges nothing the input did not.
    assert len(report["checks"]) == HEALTHY_CHECKS and report["verdict"] == "pass"
    assert nodes["gpu-9"]["status"] == "not_checked" and nodes["gpu-9"]["problems"] == 0


def test_an_inventory_name_other_than_the_node_name_maps_to_its_node():
    fleet = healthy_fleet()
    fleet["hosts"]["h100-a"] = fleet["hosts"].pop("gpu-1")
    report, dummy = build(fleet)
    assert [(n["name"], n["host"]) for n in report["nodes"]] == [("gpu-1", "h100-a"), ("gpu-2", "gpu-2"), ("gpu-3", "gpu-3")]


def test_host_checks_without_a_node_take_their_hosts_node():
    fleet = {"hosts": {"a": {"node": "gpu-a", "checks": [{"id": "host.x", "status": "pass", "summary": "ok"}]}}}
    report, dummy = build(fleet)
    assert report["checks"][0]["node"] == "gpu-a" and report["nodes"][0]["status"] == "pass"


@pytest.mark.parametrize("days_left, status", [(-1, "fail"), (0, "warn"), (59, "warn"), (60, "pass"), (None, "not_checked")])
def test_certificate_colour_follows_days_left(days_left, status):
    fleet = healthy_fleet()
    fleet["cluster"]["mesh"]["issuer"]["days_left"] = days_left
    report, dummy = build(fleet)
    assert report["mesh"]["issuer"]["status"] == status


def test_empty_cluster_and_smoke_still_give_a_valid_document():
    report, warnings = build({"hosts": {"gpu-1": {"node": "gpu-1", "checks": [check("host.a", "pass", "ok", node="gpu-1")]}}})
    assert report["mesh"] == {"status": "not_checked"} and report["service"] == {"status": "not_checked"}
    assert report["smoke"] == {} and warnings == []


def test_no_check_at_all_warns():
    report, warnings = build({})
    assert report["verdict"] == "pass" and any("no check" in w for w in warnings)


@pytest.mark.parametrize("fleet, message", [
    ({"checks": [{"id": "host.a", "status": "ok", "summary": ""}]}, "unknown check status 'ok'"),
    ({"checks": [{"id": "gpu.a", "status": "pass", "summary": ""}]}, "does not start with one of"),
    ({"checks": [{"status": "pass"}]}, "checks[0] has no id"),
    ({"checks": [{"id": "host.a", "scope": "mesh", "status": "pass"}]}, "has scope 'mesh'"),
    ({"cluster": {"nodes": [{"ready": True}]}}, "cluster.nodes[0] has no name"),
    ({"cluster": {"nodes": [{"name": "a"}, {"name": "a"}]}}, "names a twice"),
    ({"hosts": {"h": {"host": {"gpu_count": "many"}}}}, "hosts.h.host.gpu_count must be an integer"),
    ({"cluster": {"service": {"pods": "x"}}}, "cluster.service.pods must be a list"),
    ({"hosts": {"h": "up"}}, "hosts.h must be a dictionary"),
])
def test_bad_input_is_refused_with_where_it_is(fleet, message):
    with pytest.raises(fr.FleetReportError, match=re.escape(message)):
        fr.build_report(now=NOW, **fleet)


def test_numbers_given_as_strings_are_read():
    fleet = healthy_fleet()
    fleet["cluster"]["nodes"][0]["allocatable_gpus"] = "8"
    fleet["smoke"]["p50_ms"] = "412.5"
    report, dummy = build(fleet)
    assert report["nodes"][0]["gpus"]["allocatable"] == 8 and report["smoke"]["p50_ms"] == 412.5


def test_verdict_line():
    report, dummy = build(failing_fleet())
    assert fr.verdict_line(report, "/r/x.html") == (
        "FLEET VERIFY: FAIL — 2 failed, 1 warning, 1 not checked, 8 passed; 3 nodes; report: /r/x.html")


# --- renderings -----------------------------------------------------------------------------


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []  # (tag, attrs)
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page):
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def hostile_fleet():
    fleet = failing_fleet()
    set_status(fleet, "gpu-2", "host.gpus_visible", "fail", "echo '<b>|</b>' | tee /x",
               '7 of 8 GPUs <script>alert("x")</script> | seen by nvidia-smi')
    fleet["run"] = {"playbook": "site.yml", "inventory": "https://example.invalid/inventory"}
    return fleet


def test_html_has_no_external_asset_and_escapes_what_it_shows():
    report, dummy = build(hostile_fleet())
    page = fr.render_html(report, fr.verdict_line(report, "/r/x.html"))
    parsed = parse(page)
    names = [tag for tag, dummy in parsed.tags]
    assert "script" not in names and "link" not in names and "iframe" not in names and "img" not in names
    for tag, attrs in parsed.tags:
        for attr in ("src", "href", "action", "srcset", "poster", "data"):
            value = (attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, attr, value)
    assert not re.search(r"url\s*\(|@import", page, re.I)
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' in page
    # The smoke test's URL and the run's inventory are shown as text, never as a link.
    assert "http://hy-mt.hymt-translation.svc:8000" in "".join(parsed.text)


def test_html_sections_nodes_table_and_banner():
    report, dummy = build(failing_fleet())
    page = fr.render_html(report, fr.verdict_line(report, "/r/x.html"))
    parsed = parse(page)
    rows = [attrs["data-node"] for tag, attrs in parsed.tags if tag == "tr" and "data-node" in attrs]
    assert rows == list(NODES)
    assert [attrs.get("data-verdict") for tag, attrs in parsed.tags if attrs.get("id") == "verdict"] == ["fail"]
    positions = [page.index(marker) for marker in (
        'id="problems"', 'id="nodes"', 'id="mesh"', 'id="service"', 'id="smoke"', '<details id="checks"')]
    assert positions == sorted(positions)
    problems = page[page.index('id="problems"'):page.index('id="nodes"')]
    order = [m.group(1) for m in re.finditer(r'<tr class="r-(\w+)">', problems)]
    assert order == ["fail", "fail", "warn", "not_checked"]
    assert "<code>ansible -m ping gpu-1</code>" in problems


MD_SECTIONS = ["## Problems", "## Nodes", "## Mesh", "## Service", "## Smoke", "## All checks"]


def test_markdown_sections_come_in_order_problems_first():
    report, dummy = build(failing_fleet())
    text = fr.render_markdown(report, fr.verdict_line(report))
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == MD_SECTIONS
    problems = text[text.index("## Problems"):text.index("## Nodes")]
    assert problems.index("FAIL") < problems.index("WARN") < problems.index("NOT CHECKED")


def test_markdown_escapes_pipes_so_every_row_keeps_its_columns():
    report, dummy = build(hostile_fleet())
    text = fr.render_markdown(report, fr.verdict_line(report))
    for table in re.findall(r"(?:^\|.*\|$\n?)+", text, re.M):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table.strip().splitlines()}
        assert len(widths) == 1, table
    assert "GPUs &lt;script>" in text and "\\| seen by nvidia-smi" in text
    assert "<script>" not in text


def test_json_rendering_is_the_document():
    report, dummy = build(failing_fleet())
    assert json.loads(fr.render_json(report)) == report


# --- files ----------------------------------------------------------------------------------


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_publish_writes_every_format_and_latest_copies(tmp_path):
    dest = tmp_path / "reports" / "fleet"
    result = fr.publish(str(dest), now=NOW, **failing_fleet())
    stamp = "20260806T101500Z"
    assert mode(dest) == 0o755
    assert sorted(os.listdir(dest)) == sorted(
        ["fleet-report-%s.%s" % (s, e) for s in (stamp, "latest") for e in ("json", "md", "html")])
    for fmt in fr.FORMATS:
        path, latest = Path(result["paths"][fmt]), Path(result["paths"]["latest_" + fmt])
        assert path.parent == dest and stamp in path.name
        assert mode(path) == 0o644 and mode(latest) == 0o644
        assert not latest.is_symlink() and latest.read_bytes() == path.read_bytes()
    document = json.loads(Path(result["paths"]["json"]).read_text())
    validate(document)
    assert document == result["report"] and result["verdict"] == "fail"
    assert result["verdict_line"].endswith("report: %s" % result["paths"]["html"])
    assert result["summary"] == {"fail": 2, "warn": 1, "not_checked": 1, "pass": 8, "nodes": 3}


def test_publish_one_format(tmp_path):
    result = fr.publish(str(tmp_path), formats=["markdown"], now=NOW, **healthy_fleet())
    assert sorted(os.listdir(tmp_path)) == ["fleet-report-20260806T101500Z.md", "fleet-report-latest.md"]
    assert result["paths"]["json"] is None and result["paths"]["html"] is None
    assert result["verdict_line"].endswith("fleet-report-20260806T101500Z.md")


def test_keep_prunes_only_old_timestamped_reports(tmp_path):
    old = ["fleet-report-2026010%dT000000Z.%s" % (day, ext) for day in range(1, 6) for ext in ("json", "md", "html")]
    foreign = ["fleet-report-notes.txt", "fleet-report-20260101T000000Z.json.bak", "other-20260101T000000Z.json",
               "fleet-report-2026.json", "README.md", ".fleet-report-20260101T000000Z.json"]
    for name in old + foreign:
        (tmp_path / name).write_text("x")
    (tmp_path / "fleet-report-20250101T000000Z.html").mkdir()  # not a file: never touched
    result = fr.publish(str(tmp_path), keep=3, now=NOW, **healthy_fleet())
    left = set(os.listdir(tmp_path))
    for ext in ("json", "md", "html"):
        # Newest three of each format: this run's and those of 5 and 4 January.
        stamped = sorted(n for n in left if re.match(r"^fleet-report-\d{8}T\d{6}Z\.%s$" % ext, n) and (tmp_path / n).is_file())
        assert stamped == ["fleet-report-20260104T000000Z." + ext, "fleet-report-20260105T000000Z." + ext,
                           "fleet-report-20260806T101500Z." + ext]
    assert set(foreign) <= left and "fleet-report-20250101T000000Z.html" in left
    assert sorted(Path(p).name for p in result["pruned"]) == sorted(
        "fleet-report-2026010%dT000000Z.%s" % (day, ext) for day in (1, 2, 3) for ext in ("json", "md", "html"))


def test_no_temporary_file_is_left_behind(tmp_path):
    fr.publish(str(tmp_path), now=NOW, **healthy_fleet())
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


@pytest.mark.parametrize("kwargs, message", [
    ({"formats": []}, "formats must name one or more"),
    ({"formats": ["pdf"]}, "formats must name one or more"),
    ({"formats": ["json", "pdf"]}, "formats must name one or more"),
    ({"keep": 0}, "keep must be at least 1"),
])
def test_publish_refuses_bad_options(tmp_path, kwargs, message):
    with pytest.raises(fr.FleetReportError, match=message):
        fr.publish(str(tmp_path), now=NOW, **dict(healthy_fleet(), **kwargs))
    assert os.listdir(tmp_path) == []


def test_publish_refuses_a_destination_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(fr.FleetReportError, match="is not a directory"):
        fr.publish(str(target), now=NOW, **healthy_fleet())
    with pytest.raises(fr.FleetReportError, match="Failed to create the report directory"):
        fr.publish(str(target / "below"), now=NOW, **healthy_fleet())


# --- difference -----------------------------------------------------------------------------


def test_diff_of_a_report_with_itself_is_empty():
    report, dummy = build(failing_fleet())
    diff = fr.diff_reports(report, copy.deepcopy(report))
    assert diff["verdict_changed"] is None and diff["changed_checks"] == []
    assert diff["new_problems"] == diff["resolved_problems"] == diff["nodes_added"] == diff["nodes_removed"] == []
    assert "no check changed status" in diff["summary_lines"]


def test_diff_from_failing_to_healthy():
    old, dummy = build(failing_fleet())
    new_fleet = healthy_fleet()
    del new_fleet["hosts"]["gpu-3"]
    new_fleet["cluster"]["nodes"] = [n for n in new_fleet["cluster"]["nodes"] if n["name"] != "gpu-3"]
    new_fleet["cluster"]["checks"] = [c for c in new_fleet["cluster"]["checks"] if c["node"] != "gpu-3"]
    new_fleet["hosts"]["gpu-4"] = {"node": "gpu-4", "checks": [check("host.driver_loaded", "fail", "no driver", "node gpu-4", "gpu-4")]}
    new, dummy = build(new_fleet)
    diff = fr.diff_reports(old, new)
    assert diff["verdict_changed"] is None  # fail, and fail again because of gpu-4
    assert diff["nodes_added"] == ["gpu-4"] and diff["nodes_removed"] == ["gpu-3"]
    assert [(c["id"], c["node"], c["old"], c["new"]) for c in diff["changed_checks"]] == [
        ("host.gpus_visible", "gpu-2", "fail", "pass"),
        ("mesh.issuer_expiry", None, "not_checked", "pass"),
    ]
    assert [(c["id"], c["node"], c["was"]) for c in diff["new_problems"]] == [("host.driver_loaded", "gpu-4", "absent")]
    # In problem order of the old report: fail, warn, not_checked; then node, id.
    assert [(c["id"], c["node"], c["now"]) for c in diff["resolved_problems"]] == [
        ("host.reachable", "gpu-1", "absent"),
        ("host.gpus_visible", "gpu-2", "pass"),
        ("cluster.node_ready", "gpu-3", "absent"),
        ("mesh.issuer_expiry", None, "pass"),
    ]
    lines = "\n".join(diff["summary_lines"])
    assert "node added: gpu-4" in lines and "node removed: gpu-3" in lines
    assert "new problem: FAIL host.driver_loaded on gpu-4 (was absent)" in lines


def test_diff_reports_a_verdict_change_and_a_status_change():
    old, dummy = build(healthy_fleet())
    new, dummy = build(set_status(healthy_fleet(), "gpu-1", "host.driver_loaded", "fail", "modprobe nvidia"))
    diff = fr.diff_reports(old, new)
    assert diff["verdict_changed"] == {"old": "pass", "new": "fail"}
    assert [(c["id"], c["node"], c["old"], c["new"]) for c in diff["changed_checks"]] == [("host.driver_loaded", "gpu-1", "pass", "fail")]
    assert [(c["id"], c["was"]) for c in diff["new_problems"]] == [("host.driver_loaded", "pass")]
    assert diff["resolved_problems"] == [] and "verdict: pass → fail" in diff["summary_lines"]


def test_diff_keeps_a_problem_that_only_changes_severity_out_of_new_and_resolved():
    old, dummy = build(set_status(healthy_fleet(), "gpu-1", "host.driver_loaded", "fail"))
    new, dummy = build(set_status(healthy_fleet(), "gpu-1", "host.driver_loaded", "warn"))
    diff = fr.diff_reports(old, new)
    assert [(c["old"], c["new"]) for c in diff["changed_checks"]] == [("fail", "warn")]
    assert diff["new_problems"] == [] and diff["resolved_problems"] == []
    assert diff["verdict_changed"] == {"old": "fail", "new": "pass_with_warnings"}


@pytest.mark.parametrize("versions, message", [
    ((1, 2), "the old report has schema_version 1 and the new one 2"),
    ((2, 2), "they have schema_version 2, and this collection reads 1"),
])
def test_diff_refuses_other_schema_versions(versions, message):
    old, dummy = build(healthy_fleet())
    new = dict(old, schema_version=versions[1])
    with pytest.raises(fr.FleetReportError, match=message):
        fr.diff_reports(dict(old, schema_version=versions[0]), new)


def test_load_report_refuses_what_is_no_report(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text('{"verdict": "pass"}')
    with pytest.raises(fr.FleetReportError, match="not JSON"):
        fr.load_report(str(tmp_path / "a.json"), "old")
    with pytest.raises(fr.FleetReportError, match="no schema_version"):
        fr.load_report(str(tmp_path / "b.json"), "old")
    with pytest.raises(fr.FleetReportError, match="Failed to read the new fleet report"):
        fr.load_report(str(tmp_path / "missing.json"), "new")


# --- headless Chromium ----------------------------------------------------------------------


def chromium_check(html_path, screenshot, nodes, verdict=None):
    command = [sys.executable, str(CHECKER), str(html_path), "--screenshot", str(screenshot)]
    command += [arg for node in nodes for arg in ("--expect-node", node)]
    command += ["--expect-verdict", verdict] if verdict else []
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("the fleet report's browser test needs Debian's Chromium at /usr/bin/chromium: "
                    "apt-get install chromium (the suite installs it)")
    dest = tmp_path_factory.mktemp("fleet-report")
    fleet = hostile_fleet()
    fleet["hosts"]["gpu-4"] = {"node": "gpu-4", "host": {"gpu_count": 2}, "checks": []}
    result = fr.publish(str(dest), now=NOW, **fleet)
    return Path(result["paths"]["html"])


def test_chromium_renders_the_report(rendered):
    shot = rendered.parent / "shot.png"
    done = chromium_check(rendered, shot, ["gpu-1", "gpu-2", "gpu-3", "gpu-4"], "fail")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("\nok: ") + done.stdout.startswith("ok: ") == 7, done.stdout
    with shot.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("nodes, verdict, wrong", [
    (["gpu-1", "gpu-2", "gpu-3"], "fail", "not expected: gpu-4"),
    (["gpu-1", "gpu-2", "gpu-3", "gpu-4", "gpu-5"], "fail", "missing: gpu-5"),
    (["gpu-1", "gpu-2", "gpu-3", "gpu-4"], "pass", "expected 'PASS'"),
])
def test_chromium_check_fails_on_what_the_page_does_not_show(rendered, nodes, verdict, wrong):
    done = chromium_check(rendered, rendered.parent / "wrong.png", nodes, verdict)
    assert done.returncode == 1, done.stdout + done.stderr
    assert wrong in done.stdout
