"""The scheduler's and selectors' rules, checked against what Kubernetes documents for them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lab.kube_sim.scheduling import fit, pod_requests, quantity
from lab.kube_sim.selectors import match_label_selector, match_requirements, parse_label_selector


@pytest.mark.parametrize("text, value", [("500m", Decimal("0.5")), ("2", Decimal(2)), ("1Gi", Decimal(2**30)),
                                         ("1G", Decimal(10**9)), ("1.5Mi", Decimal(1.5 * 2**20)), (3, Decimal(3))])
def test_quantities(text, value):
    assert quantity(text) == value


@pytest.mark.parametrize("selector, labels, matches", [
    ("app=web", {"app": "web"}, True),
    ("app=web,tier!=db", {"app": "web", "tier": "db"}, False),
    ("tier in (web, api)", {"tier": "api"}, True),
    ("tier notin (web)", {}, True),
    ("gpu", {"gpu": ""}, True),
    ("!gpu", {"gpu": "x"}, False),
])
def test_label_selector_strings(selector, labels, matches):
    assert match_requirements(parse_label_selector(selector), labels) is matches


def test_label_selector_objects():
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["b"]}]}
    assert match_label_selector(selector, {"app": "web", "zone": "a"})
    assert not match_label_selector(selector, {"app": "web", "zone": "b"})
    assert match_label_selector({}, {"anything": "x"})  # the empty selector selects everything


NODE = {"metadata": {"name": "gpu-a", "labels": {"gpu": "h100"}},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                            {"key": "soft", "effect": "PreferNoSchedule"}]},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110", "nvidia.com/gpu": "1"}}}
TOLERATE = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]


def container(**limits):
    return {"name": "c", "image": "x:1", "resources": {"limits": limits}}


@pytest.mark.parametrize("spec, used, reason", [
    ({"containers": [container()]}, {}, "node(s) had untolerated taint {nvidia.com/gpu: present}"),
    ({"containers": [container()], "tolerations": [{"operator": "Exists"}]}, {}, None),
    ({"containers": [container(**{"nvidia.com/gpu": 1})], "tolerations": TOLERATE}, {}, None),
    ({"containers": [container(**{"nvidia.com/gpu": 2})], "tolerations": TOLERATE}, {}, "Insufficient nvidia.com/gpu"),
    ({"containers": [container(**{"nvidia.com/gpu": 1})], "tolerations": TOLERATE}, {"nvidia.com/gpu": Decimal(1)},
     "Insufficient nvidia.com/gpu"),
    ({"containers": [container(cpu="3")], "initContainers": [container(cpu="5")], "tolerations": TOLERATE}, {},
     "Insufficient cpu"),
    ({"containers": [container()], "tolerations": TOLERATE, "nodeSelector": {"gpu": "a100"}}, {},
     "node(s) didn't match Pod's node affinity/selector"),
    ({"containers": [container()], "tolerations": TOLERATE, "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["a100"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-a"]}]}]}}}}, {}, None),
])
def test_fit(spec, used, reason):
    assert fit(spec, NODE, used, 0) == reason


def test_cordoned_nodes_take_only_pods_that_tolerate_it():
    cordoned = {**NODE, "spec": {**NODE["spec"], "unschedulable": True}}
    spec = {"containers": [container()], "tolerations": TOLERATE}
    assert fit(spec, cordoned, {}, 0) == "node(s) were unschedulable"
    spec["tolerations"] = TOLERATE + [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
    assert fit(spec, cordoned, {}, 0) is None


def test_requests_default_to_limits():
    spec = {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2", "nvidia.com/gpu": "1"}, "requests": {"cpu": "500m"}}},
                           {"name": "b", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}
    assert pod_requests(spec) == {"cpu": Decimal("0.5"), "nvidia.com/gpu": Decimal(2)}
