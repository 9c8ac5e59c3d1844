# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The translation_service role's Grafana dashboard: every query asks for series that exist.

The metric and label names below are the upstream ones, written down from their sources, not from
the dashboard: Linkerd's proxy metrics as Linkerd Viz's Prometheus scrapes them (linkerd2
viz/charts/linkerd-viz/templates/prometheus.yaml: namespace, pod, and the pod's linkerd.io/proxy-*
labels such as deployment; viz/metrics-api/stat_summary.go queries response_total and
response_latency_ms_bucket by direction and classification), vLLM's (vllm/v1/metrics/loggers.py)
and SGLang's (production metrics) with the namespace and pod labels a kubernetes-pods scrape job adds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles/translation_service"
DASHBOARD = json.loads((ROLE / "files/grafana-dashboard.json").read_text())
DEFAULTS = yaml.safe_load((ROLE / "defaults/main.yml").read_text())

PROXY_LABELS = {"direction", "authority", "target_addr", "tls", "status_code", "classification", "error", "namespace", "pod",
                "deployment", "serviceaccount", "pod_template_hash", "control_plane_ns", "workload_ns",
                "dst_namespace", "dst_deployment", "dst_pod", "dst_serviceaccount"}
SCRAPE_LABELS = {"namespace", "pod", "instance", "job"}
VLLM_LABELS = {"model_name", "engine"} | SCRAPE_LABELS
SGLANG_LABELS = {"model_name", "tp_rank", "pp_rank"} | SCRAPE_LABELS
METRICS = {
    "response_total": PROXY_LABELS,
    "response_latency_ms_bucket": PROXY_LABELS | {"le"},
    "vllm:num_requests_running": VLLM_LABELS,
    "vllm:num_requests_waiting": VLLM_LABELS,
    "vllm:kv_cache_usage_perc": VLLM_LABELS,
    "vllm:generation_tokens_total": VLLM_LABELS,
    "vllm:prompt_tokens_total": VLLM_LABELS,
    "vllm:time_to_first_token_seconds_bucket": VLLM_LABELS | {"le"},
    "vllm:e2e_request_latency_seconds_bucket": VLLM_LABELS | {"le"},
    "sglang:num_running_reqs": SGLANG_LABELS,
    "sglang:num_queue_reqs": SGLANG_LABELS,
    "sglang:token_usage": SGLANG_LABELS,
    "sglang:generation_tokens_total": SGLANG_LABELS,
    "sglang:time_to_first_token_seconds_bucket": SGLANG_LABELS | {"le"},
    "sglang:e2e_request_latency_seconds_bucket": SGLANG_LABELS | {"le"},
}
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without",
                "or", "and", "unless", "label_values"}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*(,|$)')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def selectors(expr):
    """(metric, {label: (operator, value)}) of every series selector in a PromQL expression."""
    found = []
    for metric, body in SELECTOR.findall(expr):
        matchers = {}
        rest = body.strip()
        while rest:
            match = MATCHER.match(rest)
            assert match, "cannot read the matchers %r of %s" % (body, metric)
            matchers[match.group(1)] = (match.group(2), match.group(3))
            rest = rest[match.end():].strip()
        found.append((metric, matchers))
    return found


def bare_names(expr):
    """Identifiers of an expression outside selectors, groupings, ranges and strings: functions and metrics."""
    stripped = re.sub(r'"[^"]*"', "", expr)
    stripped = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", stripped)
    stripped = GROUPING.sub("", stripped)
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped)) - PROMQL_WORDS


def panels():
    return [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def expressions():
    for panel in panels():
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def variables():
    return {v["name"]: v for v in DASHBOARD["templating"]["list"]}


def test_every_query_asks_for_known_metrics_and_labels():
    checked = 0
    for title, expr in expressions():
        found = selectors(expr)
        assert found, "%s: %s selects nothing" % (title, expr)
        assert bare_names(expr) <= {metric for metric, matchers in found}, "%s: unknown name in %s" % (title, expr)
        for metric, matchers in found:
            assert metric in METRICS, "%s: %s is not a metric Linkerd, vLLM or SGLang exports" % (title, metric)
            assert set(matchers) <= METRICS[metric], "%s: %s has no label %s" % (title, metric, set(matchers) - METRICS[metric])
            checked += 1
        for grouping in GROUPING.findall(expr):
            labels = {label.strip() for label in grouping.split(",") if label.strip()}
            assert all(labels <= METRICS[metric] for metric, matchers in found), "%s: grouping by %s" % (title, labels)
    assert checked >= 20


def test_queries_select_this_deployment_and_its_inbound_traffic():
    for title, expr in expressions():
        for metric, matchers in selectors(expr):
            assert matchers["namespace"] == ("=", "$namespace"), title
            if metric.startswith("response_"):
                # Inbound: what the model servers' own proxies saw, from every client.
                assert matchers["direction"] == ("=", "inbound") and matchers["deployment"] == ("=", "$deployment"), title
            else:
                # Deployment pods are named <deployment>-<replicaset hash>-<pod hash>.
                assert matchers["pod"] == ("=~", "$deployment-.*"), title


def test_request_rate_success_rate_and_latency_percentiles_are_shown():
    exprs = [expr for title, expr in expressions()]
    assert any(re.search(r"rate\(response_total\{", e) and "classification" not in e for e in exprs)
    assert any('classification="success"' in e and e.count("response_total{") == 2 and "/" in e for e in exprs)
    quantiles = {float(q) for e in exprs for q in re.findall(r"histogram_quantile\(([0-9.]+),\s*sum by \(le\) \(rate\(response_latency_ms_bucket", e)}
    assert quantiles == {0.5, 0.95, 0.99}
    runtime = {metric for e in exprs for metric, matchers in selectors(e) if not metric.startswith("response_")}
    assert {"vllm:num_requests_running", "vllm:generation_tokens_total", "vllm:time_to_first_token_seconds_bucket"} <= runtime


def test_variables_exist_and_default_to_the_roles_names():
    defined = set(variables())
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            used = set(re.findall(r"\$\{?([a-zA-Z_]+)", target["expr"]))
            assert used <= defined | GRAFANA_BUILTINS, panel["title"]
    assert variables()["datasource"]["type"] == "datasource"
    assert variables()["namespace"]["current"]["value"] == DEFAULTS["translation_service_namespace"]
    assert variables()["deployment"]["current"]["value"] == DEFAULTS["translation_service_deployment_name"]
    for name in ("namespace", "deployment"):
        query = variables()[name]["query"]["query"]
        (metric, matchers), = selectors(query)
        assert metric == "response_total" and set(matchers) <= PROXY_LABELS
        assert query.endswith(", %s)" % name) and name in PROXY_LABELS
