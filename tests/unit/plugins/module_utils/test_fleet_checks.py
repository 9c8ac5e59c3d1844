# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared check shape, the verdict rules and the smoke summary of the verify phase."""

from __future__ import annotations

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_checks, fleet_smoke


@pytest.mark.parametrize("statuses, verdict", [
    (["pass", "pass"], "pass"),
    (["pass", "not_checked"], "pass"),
    (["pass", "warn", "not_checked"], "pass_with_warnings"),
    (["warn", "fail"], "fail"),
    ([], "pass"),
])
def test_verdict_fails_only_on_a_failure_and_never_on_not_checked(statuses, verdict):
    checks = [fleet_checks.check("host.x", s, "s") for s in statuses]
    assert fleet_checks.verdict(checks) == verdict


@pytest.mark.parametrize("check_id, status", [("gpu.x", "pass"), ("host.x", "ok"), ("hostx", "pass")])
def test_a_check_with_an_unknown_scope_or_status_is_a_programming_error(check_id, status):
    with pytest.raises(ValueError):
        fleet_checks.check(check_id, status, "s")


def test_a_pass_carries_no_remedy_and_the_scope_comes_from_the_id():
    found = fleet_checks.check("mesh.issuer_expiry", "pass", "ok", remedy="rotate")
    assert (found["scope"], found["remedy"]) == ("mesh", "")


def test_skipped_keeps_what_was_seen_and_gives_the_reason_even_for_a_pass():
    checks = [fleet_checks.check("service.unmeshed_refused", "pass", "refused"), fleet_checks.check("host.ecc", "fail", "bad")]
    out = fleet_checks.skipped(checks, {"service.unmeshed_refused": "no proxy runs here"})
    assert out[0]["status"] == "not_checked"
    assert out[0]["summary"].startswith("not checked, because no proxy runs here") and "refused" in out[0]["summary"]
    assert out[1] == checks[1]
    assert fleet_checks.counts(out) == {"fail": 1, "warn": 0, "not_checked": 1, "pass": 0}


def translate_result(source, target, latencies, failed=False):
    return {"item": {"source": source, "target": target, "text": "t"}, "failed": failed, "msg": "HTTP 500" if failed else "",
            "translations": [{"translation": "x", "latency_s": s} for s in latencies]}


def test_smoke_summary_gives_nearest_rank_percentiles_per_pair_and_overall():
    smoke, checks = fleet_smoke.summarize("control_node", "http://svc", [
        translate_result("en", "zh", [0.1, 0.2, 0.3, 0.4]), translate_result("en", "de", [0.5, 0.6, 0.7, 0.8])], 4)
    assert [p["p50_ms"] for p in smoke["language_pairs"]] == [200.0, 600.0]
    assert [p["p95_ms"] for p in smoke["language_pairs"]] == [400.0, 800.0]
    # Eight latencies overall: the 4th is the median, the 8th the 95th percentile (nearest rank).
    assert (smoke["requests"], smoke["succeeded"], smoke["p50_ms"], smoke["p95_ms"]) == (8, 8, 400.0, 800.0)
    assert checks[0]["status"] == "pass" and "en->zh, en->de" in checks[0]["summary"]


def test_smoke_fails_on_a_failed_pair_and_on_missing_answers():
    smoke, checks = fleet_smoke.summarize("control_node", "http://svc", [
        translate_result("en", "zh", [], failed=True), translate_result("en", "de", [0.1])], 2)
    assert checks[0]["status"] == "fail"
    assert "HTTP 500" in checks[0]["evidence"] and "1 of 2 requests" in checks[0]["evidence"]
    assert smoke["succeeded"] == 1


def test_smoke_without_url_is_not_checked_with_the_reason():
    checks = fleet_smoke.summarize("control_node", "", [], 4)[1]
    assert checks[0]["status"] == "not_checked" and "fleet_verify_smoke_url is empty" in checks[0]["summary"]
    checks = fleet_smoke.summarize("job", "http://svc", [], 4, reason="check mode creates no Job")[1]
    assert checks[0]["status"] == "not_checked" and checks[0]["summary"] == "not checked, because check mode creates no Job"


def test_a_partial_run_says_which_concerns_it_left_out():
    from ansible_collections.hymt.gpu_mesh.plugins.module_utils import fleet_report
    report = fleet_report.build_report(checks=[fleet_checks.check("host.ecc", "pass", "ok")], scopes=["hosts"])[0]
    left_out = {c["id"]: c["summary"] for c in report["checks"] if c["status"] == "not_checked"}
    assert sorted(left_out) == ["cluster.scope", "mesh.scope", "service.scope"]
    assert all("leaves out" in summary for summary in left_out.values())
    assert report["verdict"] == "pass"
