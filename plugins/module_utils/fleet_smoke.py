# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The smoke translations of the verify phase, summarised for the fleet report.

The role runs the translate module once per language pair, each sending the pair's sentence N times;
``summarize()`` turns those module results (a registered loop) into the report's smoke section
(requests, successes, p50/p95 latency per pair and overall) and one ``service.smoke`` check.
Percentiles are translate_client's, the same the translate module's benchmark reports.
"""

from __future__ import annotations

from ansible_collections.hymt.gpu_mesh.plugins.module_utils.fleet_checks import check
from ansible_collections.hymt.gpu_mesh.plugins.module_utils.translate_client import percentile


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 1)


def summarize(mode, url, results, requests_per_pair, reason=None):
    """(smoke section, [service.smoke check]) from the translate module's loop results.

    ``mode`` job: the results came from the meshed smoke Job (fleet_verify_cluster), which gives the
    ``reason`` when it sent none; control_node: from the translate module, which needs ``url``.
    """
    subject = "smoke translations %s %s" % ("from a meshed Job through" if mode == "job" else "from the control node to",
                                            url or "no URL")
    if reason is None and not url:
        reason = ("fleet_verify_smoke_url is empty: set it to the URL of a meshed gateway or ingress in front of the "
                  "Service, or use fleet_verify_smoke_mode job")
    if reason is not None:
        return ({"mode": mode, "url": url, "requests": 0, "succeeded": 0, "p50_ms": None, "p95_ms": None,
                 "language_pairs": [], "error": None},
                [check("service.smoke", "not_checked", "not checked, because " + reason, subject=subject)])
    pairs, all_latencies, errors = [], [], []
    for result in results:
        item = result.get("item") or {}
        latencies = [t["latency_s"] for t in result.get("translations") or [] if t.get("translation")]
        error = result.get("msg") if result.get("failed") else None
        if error is None and len(latencies) < requests_per_pair:
            error = "%d of %d requests returned an empty translation" % (requests_per_pair - len(latencies), requests_per_pair)
        samples = [t.get("translation") for t in result.get("translations") or [] if t.get("translation")]
        pairs.append({"source": item.get("source"), "target": item.get("target"), "text": item.get("text"),
                      "requests": requests_per_pair, "succeeded": len(latencies),
                      "p50_ms": _ms(percentile(latencies, 0.50)), "p95_ms": _ms(percentile(latencies, 0.95)),
                      "sample": samples[0] if samples else None, "error": error})
        all_latencies += latencies
        if error:
            errors.append("%s->%s: %s" % (item.get("source"), item.get("target"), error))
    total = requests_per_pair * len(pairs)
    smoke = {"mode": mode, "url": url, "requests": total, "succeeded": len(all_latencies),
             "p50_ms": _ms(percentile(all_latencies, 0.50)), "p95_ms": _ms(percentile(all_latencies, 0.95)),
             "language_pairs": pairs, "error": "; ".join(errors) or None}
    tried = ", ".join("%s->%s" % (p["source"], p["target"]) for p in pairs)
    if not pairs:
        found = check("service.smoke", "fail", "no smoke translation was sent", subject=subject,
                      remedy="check fleet_verify_smoke_language_pairs")
    elif errors:
        found = check("service.smoke", "fail", "%d of %d smoke translations returned (%s)" % (len(all_latencies), total, tried),
                      subject=subject, evidence="; ".join(errors),
                      remedy="curl -s %s/health, then the model server pods' logs (kubectl logs)" % url)
    else:
        found = check("service.smoke", "pass", "%d of %d smoke translations returned (%s), p50 %s ms, p95 %s ms" % (
            len(all_latencies), total, tried, smoke["p50_ms"], smoke["p95_ms"]), subject=subject)
    return smoke, [found]
