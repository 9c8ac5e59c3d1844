"""hymt.gpu_mesh.driver_upgrade_plan against the lab's upstream API server: one node read, the refusal as a failure.

The planning rules are tested with tables in test_driver_upgrade.py; this checks the module's reading of
real Node objects (a cordon made through the API) and its result.
"""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.hymt.gpu_mesh.plugins.modules import driver_upgrade_plan

SEED = {"nodes": [{"name": "gpu-a", "gpus": 2}, {"name": "gpu-b", "gpus": 2}, {"name": "cpu-a"}]}
OLD = {"driver_version": "580.95.05", "driver_mismatch": False, "gpu_count": 2}
NEW = {"driver_version": "580.105.08", "driver_mismatch": False, "gpu_count": 2}


@pytest.fixture(scope="module")
def sim(lab_cluster_factory, tmp_path_factory):
    seed = tmp_path_factory.mktemp("seed") / "nodes.yaml"
    seed.write_text(yaml.safe_dump(SEED))
    return lab_cluster_factory(nodes=seed)


def args(sim, **extra):
    base = {"kubeconfig": sim.kubeconfig, "version": "580.105.08", "max_unavailable": 2,
            "hosts": [{"host": "a", "node": "gpu-a", "facts": OLD}, {"host": "b", "node": "gpu-b", "facts": NEW}]}
    base.update(extra)
    return base


def test_plans_from_the_nodes_the_api_returns(sim, run_module):
    out = run_module(driver_upgrade_plan.main, args(sim))
    assert out.kind == "exit", out.result
    assert out.result["changed"] is False
    assert out.result["upgrade"] == ["a"] and out.result["up_to_date"] == ["b"]
    assert out.result["total_gpus"] == 4
    assert out.result["batches"][0] == {"hosts": ["a"], "upgrade": ["a"], "gpus_taken": 2, "gpus_already_unavailable": 0}


def test_a_node_cordoned_through_the_api_counts_as_unavailable(sim, run_module):
    nodes = sim.dynamic_client().resources.get(api_version="v1", kind="Node")
    nodes.patch(name="gpu-b", body={"spec": {"unschedulable": True}}, content_type="application/merge-patch+json")
    try:
        out = run_module(driver_upgrade_plan.main, args(sim))
        assert out.kind == "fail"
        assert out.result["unavailable_nodes"] == {"gpu-b": "cordoned"}
        assert "a (2) would take 2 GPU(s) out of service on top of 2 already unavailable" in out.result["msg"]
        assert run_module(driver_upgrade_plan.main, args(sim, max_unavailable="100%")).kind == "exit"
    finally:
        nodes.patch(name="gpu-b", body={"spec": {"unschedulable": None}}, content_type="application/merge-patch+json")


@pytest.mark.parametrize("extra, message", [
    ({"version": "580"}, "exact NVIDIA driver version"),
    ({"max_unavailable": "half"}, "max_unavailable must be"),
    ({"serial": ["one"]}, "serial entries must be"),
    ({"hosts": [{"host": "c", "node": "gpu-c", "facts": OLD}]}, "no Kubernetes node is registered for c"),
])
def test_bad_input_fails_with_the_reason(sim, run_module, extra, message):
    out = run_module(driver_upgrade_plan.main, args(sim, **extra))
    assert out.kind == "fail" and message in out.result["msg"]


def test_route_reads_nothing_when_no_driver_would_change(run_module):
    # No kubeconfig reaches any cluster here: a read would fail.
    out = run_module(driver_upgrade_plan.main, {
        "kubeconfig": "/nonexistent/kubeconfig", "version": "", "branch": "580", "route": True, "max_unavailable": 1,
        "hosts": [{"host": "a", "node": "gpu-a", "facts": NEW}, {"host": "b", "node": "gpu-b", "facts": OLD}]})
    assert out.kind == "exit", out.result
    assert out.result["in_place"] == ["a", "b"] and out.result["upgrade"] == []


def test_route_rolls_a_node_running_a_pod_and_not_a_fresh_host(sim, run_module):
    pods = sim.dynamic_client().resources.get(api_version="v1", kind="Pod")
    pods.create(namespace="default", body={
        "metadata": {"name": "bare-workload"},
        "spec": {"nodeName": "gpu-a", "containers": [{"name": "c", "image": "registry.example.internal/c:1"}]}})
    try:
        out = run_module(driver_upgrade_plan.main, args(sim, route=True, hosts=[
            {"host": "a", "node": "gpu-a", "facts": OLD}, {"host": "b", "node": "gpu-b", "facts": OLD},
            {"host": "c", "node": "gpu-c", "facts": {}}]))
        assert out.kind == "exit", out.result
        assert out.result["upgrade"] == ["a"] and out.result["serving"] == ["a"]
        assert out.result["in_place"] == ["b", "c"]
        assert out.result["batches"] == [{"hosts": ["a"], "upgrade": ["a"], "gpus_taken": 2, "gpus_already_unavailable": 0}]
    finally:
        pods.delete(namespace="default", name="bare-workload", body={"gracePeriodSeconds": 0})
