# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/linkerd_annotations.py on the seed article's annotations and on Linkerd's own examples.

The valid values are the ones Linkerd's injector tests use (pkg/inject); the invalid ones are the
seed article's advice and typos an engineer would plausibly make.
"""

from __future__ import annotations

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_annotations as la

# Values Linkerd's own injector tests feed to the proxy: all must pass untouched.
LINKERD_TEST_VALUES = {
    "linkerd.io/inject": "enabled",
    "config.linkerd.io/proxy-outbound-connect-timeout": "6000ms",
    "config.linkerd.io/proxy-inbound-connect-timeout": "600ms",
    "config.linkerd.io/opaque-ports": "4320-4325,3306",
    "config.linkerd.io/proxy-await": "enabled",
    "config.linkerd.io/skip-subnets": "172.17.0.0/16",
    "config.linkerd.io/access-log": "apache",
    "config.linkerd.io/shutdown-grace-period": "30s",
    "config.linkerd.io/proxy-outbound-discovery-cache-unused-timeout": "50000ms",
    "config.linkerd.io/proxy-inbound-discovery-cache-unused-timeout": "900s",
    "config.linkerd.io/proxy-disable-outbound-protocol-detect-timeout": "true",
    "config.linkerd.io/proxy-cpu-request": "10m",
    "config.linkerd.io/proxy-cpu-limit": "100m",
    "config.linkerd.io/proxy-memory-request": "10Mi",
    "config.linkerd.io/proxy-memory-limit": "50Mi",
    "config.alpha.linkerd.io/proxy-wait-before-exit-seconds": "10",
    "config.linkerd.io/proxy-require-identity-inbound-ports": "8888,9999",
    "config.linkerd.io/default-inbound-policy": "all-authenticated",
}

# Section 5 of the seed article, as it tells users to annotate the model Deployment.
SEED_ARTICLE = {
    "config.linkerd.io/enable-h2-upgrade": "false",
    "config.linkerd.io/proxy-await": "false",
    "config.linkerd.io/skip-outbound-ports": "7860",
    "config.linkerd.io/proxy-cpu-request": "5m",
    "config.linkerd.io/proxy-memory-request": "10Mi",
    "config.linkerd.io/identity-mode": "default",
}


def by_name(found):
    return {p["annotation"]: p for p in found}


def test_linkerd_own_values_have_no_problem():
    assert la.problems(LINKERD_TEST_VALUES, "workload", serving_ports=[8000]) == []


def test_seed_article_annotations():
    found = by_name(la.problems(SEED_ARTICLE, "workload", serving_ports=[7860]))
    assert set(found) == {
        "config.linkerd.io/enable-h2-upgrade",
        "config.linkerd.io/proxy-await",
        "config.linkerd.io/skip-outbound-ports",
        "config.linkerd.io/identity-mode",
    }
    assert all(p["severity"] == "error" for p in found.values())
    assert "enableH2Upgrade" in found["config.linkerd.io/enable-h2-upgrade"]["message"]
    # proxy-await takes enabled/disabled, not a boolean.
    assert "'false'" in found["config.linkerd.io/proxy-await"]["message"]
    assert "7860" in found["config.linkerd.io/skip-outbound-ports"]["message"]


def test_namespace_label_instead_of_annotation_is_an_error():
    # The article runs `kubectl label namespace translation-serving linkerd.io/inject=enabled`.
    found = la.problems({}, "namespace", labels={"linkerd.io/inject": "enabled", "team": "mt"})
    assert [p["annotation"] for p in found] == ["linkerd.io/inject"]
    assert "label" in found[0]["message"]


@pytest.mark.parametrize("name, value", [
    ("linkerd.io/inject", "true"),
    ("config.linkerd.io/proxy-cpu-request", "5 cores"),
    ("config.linkerd.io/proxy-memory-limit", "1GB"),
    ("config.linkerd.io/skip-inbound-ports", "8000-7000"),
    ("config.linkerd.io/skip-outbound-ports", "70000"),
    ("config.linkerd.io/opaque-ports", "mysql"),
    ("config.linkerd.io/skip-subnets", "10.0.0.0/33"),
    ("config.linkerd.io/shutdown-grace-period", "30"),
    ("config.linkerd.io/default-inbound-policy", "allow"),
    ("config.linkerd.io/proxy-uid", "-1"),
    ("config.linkerd.io/proxy-cpu-ratio-limit", "0"),
    ("config.linkerd.io/proxy-log-format", "text"),
])
def test_bad_values_are_errors(name, value):
    found = la.problems({name: value})
    assert len(found) == 1 and found[0]["severity"] == "error"
    assert found[0]["message"].startswith(name) and repr(value) in found[0]["message"]


def test_typo_gets_a_suggestion():
    found = la.problems({"config.linkerd.io/proxy-cpu-requests": "10m"})
    assert found[0]["severity"] == "error"
    assert found[0]["message"].endswith("did you mean config.linkerd.io/proxy-cpu-request?")


def test_unrelated_and_extension_annotations_are_ignored():
    assert la.problems({"prometheus.io/scrape": "true", "viz.linkerd.io/tap-enabled": "true",
                        "kubectl.kubernetes.io/restartedAt": "now"}) == []


def test_retries_belong_on_the_service():
    retries = {"retry.linkerd.io/http": "5xx,429", "retry.linkerd.io/limit": "2",
               "retry.linkerd.io/timeout": "300ms", "timeout.linkerd.io/request": "30s"}
    assert la.problems(retries, "service") == []
    assert la.problems(retries, "route") == []
    on_pod = la.problems(retries, "workload")
    assert len(on_pod) == 4 and all("Service" in p["message"] for p in on_pod)


@pytest.mark.parametrize("name, value", [
    ("retry.linkerd.io/http", "5xx,timeout"),
    ("retry.linkerd.io/http", "600"),
    ("retry.linkerd.io/grpc", "unavailable,not-found"),
    ("timeout.linkerd.io/idle", "forever"),
])
def test_bad_retry_values(name, value):
    found = la.problems({name: value}, "service")
    assert [p["severity"] for p in found] == ["error"]


def test_proxy_settings_on_a_service_are_errors():
    found = la.problems({"config.linkerd.io/opaque-ports": "8000"}, "service")
    assert found[0]["severity"] == "error" and "Service" in found[0]["message"]


def test_serving_port_checks():
    assert la.problems({"config.linkerd.io/skip-inbound-ports": "4190,9000-9010"}, serving_ports=[8000]) == []
    inbound = la.problems({"config.linkerd.io/skip-inbound-ports": "7000-8100"}, serving_ports=[8000])
    assert inbound[0]["severity"] == "error" and "8000" in inbound[0]["message"]
    opaque = la.problems({"config.linkerd.io/opaque-ports": "8000"}, serving_ports=[8000])
    assert opaque[0]["severity"] == "warning"


def test_weakening_values_are_warnings():
    found = la.problems({"config.linkerd.io/proxy-await": "disabled",
                         "config.linkerd.io/default-inbound-policy": "all-unauthenticated",
                         "linkerd.io/proxy-version": "edge-26.6.3"}, "namespace")
    assert sorted(p["annotation"] for p in found) == [
        "config.linkerd.io/default-inbound-policy", "config.linkerd.io/proxy-await", "linkerd.io/proxy-version"]
    assert {p["severity"] for p in found} == {"warning"}


def test_errors_come_first_and_errors_helper():
    found = la.problems({"config.linkerd.io/proxy-await": "disabled", "linkerd.io/identity-mode": "default"})
    assert [p["severity"] for p in found] == ["error", "warning"]
    assert la.errors({"config.linkerd.io/proxy-await": "disabled"}) == []
    assert len(la.errors({"linkerd.io/identity-mode": "default"})) == 1


@pytest.mark.parametrize("value, ports", [("80", {80}), ("8000-8002,22", {22, 8000, 8001, 8002}), (" 1 , 2 ", {1, 2})])
def test_parse_ports(value, ports):
    assert la.parse_ports(value) == ports


def test_unknown_target_is_refused():
    with pytest.raises(ValueError, match="target must be one of"):
        la.problems({}, "pod")


# Circuit breaking as the policy controller's own tests configure it (outbound/index.rs).
FAILURE_ACCRUAL = {
    "balancer.linkerd.io/failure-accrual": "consecutive",
    "balancer.linkerd.io/failure-accrual-consecutive-max-failures": "5",
    "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": "1s",
    "balancer.linkerd.io/failure-accrual-consecutive-max-penalty": "1m",
    "balancer.linkerd.io/failure-accrual-consecutive-jitter-ratio": "0.5",
}


def test_failure_accrual_belongs_on_the_service_only():
    assert la.problems(FAILURE_ACCRUAL, "service") == []
    for target in ("workload", "namespace", "route"):
        found = la.problems(FAILURE_ACCRUAL, target)
        assert len(found) == 5 and all("Services only" in p["message"] for p in found), target


@pytest.mark.parametrize("name, value", [
    ("balancer.linkerd.io/failure-accrual", "consecutive-failures"),
    ("balancer.linkerd.io/failure-accrual-consecutive-max-failures", "-1"),
    # The policy controller parses one whole number and one unit: no fractions, no 1m30s.
    ("balancer.linkerd.io/failure-accrual-consecutive-max-penalty", "1.5s"),
    ("balancer.linkerd.io/failure-accrual-consecutive-max-penalty", "1m30s"),
    ("balancer.linkerd.io/failure-accrual-consecutive-min-penalty", "10"),
    ("balancer.linkerd.io/failure-accrual-consecutive-jitter-ratio", "101"),
])
def test_bad_failure_accrual_values(name, value):
    found = la.problems({name: value}, "service")
    assert [p["severity"] for p in found] == ["error"] and repr(value) in found[0]["message"]


def test_failure_accrual_typo_gets_a_suggestion():
    found = la.problems({"balancer.linkerd.io/failure-accrual-consecutive-max-failure": "7"}, "service")
    assert found[0]["message"].endswith("did you mean balancer.linkerd.io/failure-accrual-consecutive-max-failures?")


def test_native_sidecar_annotation_of_the_pinned_linkerd_is_known():
    # pkg/k8s/labels.go: config.linkerd.io/proxy-enable-native-sidecar, the alpha name deprecated.
    assert la.problems({"config.linkerd.io/proxy-enable-native-sidecar": "true"}) == []
    assert la.problems({"config.linkerd.io/proxy-enable-native-sidecar": "yes"})[0]["severity"] == "error"
