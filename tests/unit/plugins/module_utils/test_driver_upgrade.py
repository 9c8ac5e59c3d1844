"""Rollout planning of hymt.gpu_mesh's rolling driver upgrade, with tables of nodes and host facts."""

from __future__ import annotations

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import driver_upgrade as du
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import node_drain

TARGET = "580.105.08"


def node(name, gpus=8, unschedulable=False, ready=True, count_label=None, labels=None):
    obj = {"metadata": {"name": name, "labels": dict(labels or {})}, "spec": {},
           "status": {"capacity": {"nvidia.com/gpu": str(gpus)} if gpus else {},
                      "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if unschedulable:
        obj["spec"]["unschedulable"] = True
    if count_label is not None:
        obj["metadata"]["labels"]["nvidia.com/gpu.count"] = str(count_label)
    return obj


def host(name, version=None, mismatch=False, gpus=8, node_name=None):
    facts = {"driver_version": version, "driver_mismatch": mismatch, "gpu_count": gpus} if version or gpus else {}
    return {"host": name, "node": node_name or name, "facts": facts}


@pytest.mark.parametrize("serial, count, expected", [
    (1, 5, [1, 1, 1, 1, 1]),
    ("2", 5, [2, 2, 1]),
    ("40%", 5, [2, 2, 1]),
    ("10%", 5, [1, 1, 1, 1, 1]),  # a percentage below one host still moves one host
    ([1, "50%"], 5, [1, 2, 2]),  # the last entry repeats
    (0, 3, [3]),  # serial 0: all at once
    ([], 2, [2]),
])
def test_batches_follow_ansible_serial(serial, count, expected):
    hosts = ["h%d" % i for i in range(count)]
    result = du.batches(hosts, serial)
    assert [len(b) for b in result] == expected
    assert sum(result, []) == hosts


@pytest.mark.parametrize("serial", ["two", "-1", "5.5", [1, "x"]])
def test_bad_serial_is_refused(serial):
    with pytest.raises(du.DriverUpgradePlanError, match="serial"):
        du.batches(["a", "b"], serial)


@pytest.mark.parametrize("value, total, expected", [
    (4, 24, 4), ("4", 24, 4), ("25%", 24, 6), ("25%", 6, 1), ("100%", 7, 7), ("0%", 8, 0), (0, 8, 0)])
def test_max_unavailable_counts_and_percentages_round_down(value, total, expected):
    assert du.max_unavailable_gpus(value, total) == expected


@pytest.mark.parametrize("value", ["101%", "-1", "a few", "2.5", "25 %"])
def test_bad_max_unavailable_is_refused(value):
    with pytest.raises(du.DriverUpgradePlanError, match="max_unavailable"):
        du.max_unavailable_gpus(value, 8)


@pytest.mark.parametrize("version", ["580", "580.105.08-1", "latest", "", None, "58.1.2"])
def test_target_must_be_an_exact_version(version):
    with pytest.raises(du.DriverUpgradePlanError, match="exact NVIDIA driver version"):
        du.check_version(version)


@pytest.mark.parametrize("facts, expected", [
    ({"driver_version": TARGET, "driver_mismatch": False}, False),
    ({"driver_version": "580.95.05", "driver_mismatch": False}, True),
    ({"driver_version": TARGET, "driver_mismatch": True}, True),  # userspace new, module old: not done
    ({"driver_version": None, "driver_mismatch": False}, True),
    ({}, True),
])
def test_needs_upgrade(facts, expected):
    assert du.needs_upgrade(facts, TARGET) is expected


def test_gpu_count_comes_from_label_then_capacity():
    assert du.node_gpus(node("a", gpus=8, count_label=4)) == 4
    assert du.node_gpus(node("a", gpus=8)) == 8
    assert du.node_gpus(node("a", gpus=0)) == 0
    shared = node("a", gpus=0)
    shared["status"]["capacity"] = {"nvidia.com/gpu.shared": "16"}
    assert du.node_gpus(shared) == 16


def test_up_to_date_hosts_are_left_out_and_their_gpus_not_counted():
    hosts = [host("a", TARGET), host("b", "580.95.05"), host("c", "580.95.05")]
    nodes = [node("a"), node("b"), node("c")]
    result = du.plan(hosts, nodes, TARGET, [1], 8)
    assert result["upgrade"] == ["b", "c"]
    assert result["up_to_date"] == ["a"]
    assert [b["gpus_taken"] for b in result["batches"]] == [0, 8, 8]
    assert result["refusal"] == ""
    assert result["total_gpus"] == 24


def test_a_batch_over_the_limit_is_refused_naming_hosts_and_counts():
    hosts = [host(n, "580.95.05") for n in "abcd"]
    nodes = [node(n) for n in "abcd"]
    result = du.plan(hosts, nodes, TARGET, [2], "25%")  # 8 of 32 GPUs: one node
    assert result["max_unavailable_gpus"] == 8
    assert "a (8), b (8) would take 16 GPU(s)" in result["refusal"]
    assert "Nothing was changed" in result["refusal"]


def test_nodes_already_unavailable_count_against_every_batch_but_their_own():
    hosts = [host(n, "580.95.05") for n in "abc"]
    nodes = [node("a"), node("b", unschedulable=True), node("c"), node("cpu", gpus=0, unschedulable=True),
             node("x", ready=False)]  # x: a GPU node outside the inventory
    result = du.plan(hosts, nodes, TARGET, [1], 24)
    assert result["unavailable_nodes"] == {"b": "cordoned", "x": "not Ready"}  # cpu has no GPUs
    assert [b["gpus_already_unavailable"] for b in result["batches"]] == [16, 8, 16]
    assert result["refusal"] == ""
    tight = du.plan(hosts, nodes, TARGET, [1], 16)
    assert "a (8) would take 8 GPU(s) out of service on top of 16 already unavailable" in tight["refusal"]
    assert "c (8)" in tight["refusal"] and "b (8)" not in tight["refusal"]
    assert "b: cordoned, x: not Ready" in tight["refusal"]


def test_a_cordoned_node_is_reported_so_the_rollout_leaves_it_cordoned():
    result = du.plan([host("a", "580.95.05")], [node("a", unschedulable=True)], TARGET, [1], 8)
    assert result["nodes"]["a"] == {"name": "a", "gpus": 8, "unschedulable": True, "state": ""}


@pytest.mark.parametrize("state, operators", [("failed", False), ("verified", False), ("done", True), ("", True)])
def test_a_cordon_the_rollout_left_is_resumed_not_kept(state, operators):
    labels = {du.STATE_LABEL: state} if state else {}
    result = du.plan([host("a", "580.95.05")], [node("a", unschedulable=True, labels=labels)], TARGET, [1], 8)
    # Only an operator's cordon survives the rollout; one an earlier failed run left is lifted once the node works.
    assert result["nodes"]["a"]["unschedulable"] is operators
    assert result["nodes"]["a"]["state"] == state
    assert result["upgrade"] == ["a"] and result["state_label"] == du.STATE_LABEL


def test_an_excluded_node_is_left_out_and_reported():
    result = du.plan([host("a", "580.95.05"), host("b", "580.95.05")],
                     [node("a", labels={du.EXCLUDE_LABEL: "true"}), node("b")], TARGET, [1], 8)
    assert result["excluded"] == ["a"] and result["upgrade"] == ["b"] and result["up_to_date"] == []
    assert [b["upgrade"] for b in result["batches"]] == [[], ["b"]]


def test_host_gpus_count_when_the_node_advertises_fewer():
    # The device plugin of b is down: the node shows no GPUs, the host still has 8 to lose.
    result = du.plan([host("b", "580.95.05", gpus=8)], [node("b", gpus=0)], TARGET, [1], 4)
    assert result["batches"][0]["gpus_taken"] == 8
    assert "b (8)" in result["refusal"]


def test_hosts_map_to_their_node_names_and_unregistered_ones_are_refused():
    hosts = [host("gpu01", "580.95.05", node_name="gpu01.cluster.internal"), host("gpu02", "580.95.05")]
    with pytest.raises(du.DriverUpgradePlanError, match=r"gpu02 \(node gpu02\).*driver_upgrade_node_names"):
        du.plan(hosts, [node("gpu01.cluster.internal")], TARGET, [1], 8)
    result = du.plan(hosts[:1], [node("gpu01.cluster.internal")], TARGET, [1], 8)
    assert result["nodes"]["gpu01"]["name"] == "gpu01.cluster.internal"


def pod(node_name, kind="ReplicaSet", phase="Running", mirror=False):
    meta = {"name": "p-%s-%s" % (node_name, kind), "namespace": "default",
            "ownerReferences": [{"kind": kind, "name": "owner", "controller": True}] if kind else []}
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "x"}
    return {"metadata": meta, "spec": {"nodeName": node_name}, "status": {"phase": phase}}


@pytest.mark.parametrize("facts, version, branch, state, expected", [
    ({"driver_version": TARGET}, TARGET, "580", "present", False),
    ({"driver_version": "580.95.05"}, TARGET, "580", "present", True),
    ({"driver_version": "580.95.05"}, "", "580", "present", False),  # the branch's newest: any 580 is right
    ({"driver_version": "570.195.03"}, "", "580", "present", True),
    ({"driver_version": "580.95.05", "driver_mismatch": True}, "", "580", "present", True),
    ({}, "", "580", "present", True),
    ({"present": True, "driver_version": TARGET}, "", "580", "absent", True),
    ({"present": False}, "", "580", "absent", False),
    ({"driver_version": TARGET}, "", "580", "latest", True),  # a newer package may exist
])
def test_needs_change(facts, version, branch, state, expected):
    assert du.needs_change(facts, version, branch, state) is expected


@pytest.mark.parametrize("pods, expected", [
    ([pod("n")], True),
    ([pod("n", kind="DaemonSet")], False),
    ([pod("n", kind=None, mirror=True)], False),
    ([pod("n", phase="Succeeded")], False),
    ([pod("n", kind=None)], True),  # a bare pod is a workload a drain must deal with
    ([], False),
])
def test_runs_workloads(pods, expected):
    assert node_drain.runs_workloads(pods) is expected


def test_route_rolls_only_serving_nodes_whose_driver_changes():
    nodes = [node("serving-old"), node("serving-new"), node("idle-old"), node("resumed", unschedulable=True,
             labels={du.STATE_LABEL: "failed"}), node("excluded", labels={du.EXCLUDE_LABEL: "true"})]
    pods = [pod("serving-old"), pod("serving-new"), pod("idle-old", kind="DaemonSet"), pod("excluded")]
    hosts = [host("serving-old", "580.95.05"), host("serving-new", TARGET), host("idle-old", "580.95.05"),
             host("resumed", "580.95.05"), host("excluded", "580.95.05"), host("fresh", None, gpus=0)]
    result = du.route(hosts, nodes, pods, TARGET, "580")
    assert result["rolling"] == ["serving-old", "resumed"]
    assert result["in_place"] == ["serving-new", "idle-old", "fresh"]
    assert result["excluded"] == ["excluded"]
    assert result["serving"] == ["serving-old", "serving-new", "excluded"]
    assert result["refusal"] == ""


def test_a_new_mig_layout_rolls_a_serving_node_whose_driver_is_right():
    hosts = [dict(host("serving", TARGET), other_change=True), dict(host("idle", TARGET), other_change=True)]
    result = du.route(hosts, [node("serving"), node("idle")], [pod("serving")], TARGET, "580")
    assert result["rolling"] == ["serving"] and result["in_place"] == ["idle"]
    planned = du.plan([hosts[0]], [node("serving"), node("idle")], TARGET, 1, 8)
    assert planned["upgrade"] == ["serving"] and planned["up_to_date"] == []


@pytest.mark.parametrize("version, state, message", [
    ("", "present", "no exact driver version was given"),
    (TARGET, "absent", "refusing to remove the driver from serving-old"),
])
def test_route_refuses_what_cannot_roll(version, state, message):
    hosts = [host("serving-old", "570.195.03"), host("fresh", None, gpus=0)]
    result = du.route(hosts, [node("serving-old")], [pod("serving-old")], version, "580", state)
    assert result["rolling"] == ["serving-old"]
    assert message in result["refusal"]
