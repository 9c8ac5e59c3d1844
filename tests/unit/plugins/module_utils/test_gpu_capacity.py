"""The GPU capacity gate's judgement: expected counts, per-node reasons, the wait loop."""

from __future__ import annotations

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import gpu_capacity as gc

LABEL = {"nvidia.com/gpu.present": "true"}
SETTINGS = {
    "resource": "nvidia.com/gpu", "replicas": 1, "mig_strategy": "none", "node_labels": LABEL,
    "runtime_class": "nvidia", "daemonset": "kube-system/nvidia-device-plugin",
}
DAEMONSET = {"metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"}}
RUNTIME_CLASS = {"metadata": {"name": "nvidia"}, "handler": "nvidia"}


def node(name, allocatable=None, labels=None):
    labels = LABEL if labels is None else labels
    status = {"allocatable": {"cpu": "8", "pods": "110", **(allocatable or {})}}
    return {"metadata": {"name": name, "labels": dict(labels)}, "status": status}


def pod(node_name, phase="Running", ready=True, restarts=0, waiting=None, name=None, created="2026-11-25T10:00:00Z",
        deleting=False):
    state = {"waiting": {"reason": waiting, "message": "back-off restarting"}} if waiting else {"running": {}}
    meta = {"name": name or "nvidia-device-plugin-" + node_name[-1], "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-25T11:00:00Z"
    return {
        "metadata": meta,
        "spec": {"nodeName": node_name},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "nvidia-device-plugin-ctr", "restartCount": restarts, "state": state,
                                   "ready": ready}],
        },
    }


def judge(targets, nodes, pods, daemonset="present", runtime_class="present", **overrides):
    daemonset = DAEMONSET if daemonset == "present" else daemonset
    runtime_class = RUNTIME_CLASS if runtime_class == "present" else runtime_class
    return gc.assess(targets, nodes, pods, daemonset, runtime_class, {**SETTINGS, **overrides})


@pytest.mark.parametrize("gpus, mig_gpus, replicas, strategy, expected", [
    (1, 0, 1, "none", (1, True)),
    (4, 0, 1, "none", (4, True)),
    (2, 0, 4, "none", (8, True)),
    (8, 0, 10, "none", (80, True)),
    # With strategy none a MIG-enabled GPU is still exposed whole.
    (2, 2, 3, "none", (6, True)),
    (2, 0, 2, "single", (4, True)),
    # Single with MIG: the layout decides how many devices, at least one per GPU.
    (2, 2, 1, "single", (2, False)),
    (2, 2, 3, "single", (6, False)),
    # Mixed: only GPUs without MIG count as nvidia.com/gpu.
    (4, 1, 1, "mixed", (3, True)),
    (2, 2, 1, "mixed", (0, True)),
])
def test_expected_count(gpus, mig_gpus, replicas, strategy, expected):
    assert gc.expected_count(gpus, mig_gpus, replicas, strategy) == expected


@pytest.mark.parametrize("replicas, rename, resource", [
    (1, False, "nvidia.com/gpu"),
    (1, True, "nvidia.com/gpu"),  # no sharing section is written, so nothing is renamed
    (4, False, "nvidia.com/gpu"),
    (4, True, "nvidia.com/gpu.shared"),
])
def test_resource_name(replicas, rename, resource):
    assert gc.resource_name(replicas, rename) == resource


@pytest.mark.parametrize("replicas, strategy, message", [
    (0, "none", "replicas must be an integer of at least 1"),
    (-3, "single", "replicas must be an integer of at least 1"),
    (True, "none", "replicas must be an integer of at least 1"),
    ("2", "none", "replicas must be an integer of at least 1"),
    (1, "all", "mig_strategy must be one of none, single, mixed"),
    (2, "mixed", "cannot be combined with mig_strategy=mixed"),
])
def test_check_settings_refuses(replicas, strategy, message):
    with pytest.raises(gc.GpuCapacityError, match=message):
        gc.check_settings(replicas, strategy)


@pytest.mark.parametrize("replicas, strategy", [(1, "none"), (1, "mixed"), (16, "single"), (2, "none")])
def test_check_settings_accepts(replicas, strategy):
    gc.check_settings(replicas, strategy)


@pytest.mark.parametrize("targets, message", [
    ([{"name": "a", "gpus": 0}], "node a: gpus must be at least 1"),
    ([{"name": "a", "gpus": 1}, {"name": "a", "gpus": 2}], "node a is listed twice"),
    ([{"name": "", "gpus": 1}], "needs a name"),
    ([{"name": "a", "gpus": 2, "mig_gpus": 3}], "mig_gpus must be between 0 and gpus"),
])
def test_check_targets_refuses(targets, message):
    with pytest.raises(gc.GpuCapacityError, match=message):
        gc.check_targets(targets)


def test_ready_fleet_passes():
    targets = [{"name": "gpu-1", "gpus": 1}, {"name": "gpu-2", "gpus": 2}]
    nodes = [node("gpu-1", {"nvidia.com/gpu": "1"}), node("gpu-2", {"nvidia.com/gpu": "2"}), node("cpu-1", labels={})]
    reports = judge(targets, nodes, [pod("gpu-1"), pod("gpu-2")])
    assert [(r["name"], r["ok"], r["allocatable"], r["expected"], r["reasons"]) for r in reports] == [
        ("gpu-1", True, 1, 1, []), ("gpu-2", True, 2, 2, []),
    ]
    assert reports[0]["pod"] == "nvidia-device-plugin-1"


@pytest.mark.parametrize("case, nodes, pods, daemonset, runtime_class, reason", [
    ("unregistered", [], [], DAEMONSET, RUNTIME_CLASS, "node gpu-1 is not registered in the cluster"),
    ("no label", [node("gpu-1", labels={})], [], DAEMONSET, RUNTIME_CLASS,
     "node is missing its label nvidia.com/gpu.present=true"),
    ("label with another value", [node("gpu-1", labels={"nvidia.com/gpu.present": "false"})], [], DAEMONSET,
     RUNTIME_CLASS, "node is missing its label nvidia.com/gpu.present=true"),
    ("no pod", [node("gpu-1")], [], DAEMONSET, RUNTIME_CLASS, "no device-plugin pod is scheduled on the node"),
    ("pod of another node", [node("gpu-1")], [pod("gpu-2")], DAEMONSET, RUNTIME_CLASS,
     "no device-plugin pod is scheduled on the node"),
    ("no daemonset", [node("gpu-1")], [], None, RUNTIME_CLASS,
     "device-plugin DaemonSet kube-system/nvidia-device-plugin does not exist"),
    ("no runtime class", [node("gpu-1")], [pod("gpu-1", phase="Pending", ready=False)], DAEMONSET, None,
     "RuntimeClass nvidia is absent"),
    ("pending", [node("gpu-1")], [pod("gpu-1", phase="Pending", ready=False)], DAEMONSET, RUNTIME_CLASS,
     "device-plugin pod nvidia-device-plugin-1 is not ready (phase Pending)"),
    ("crash loop", [node("gpu-1")], [pod("gpu-1", ready=False, restarts=7, waiting="CrashLoopBackOff")], DAEMONSET,
     RUNTIME_CLASS, "is restarting (container nvidia-device-plugin-ctr CrashLoopBackOff: back-off restarting, 7 restarts)"),
    ("running, not ready, restarted", [node("gpu-1")], [pod("gpu-1", ready=False, restarts=2)], DAEMONSET,
     RUNTIME_CLASS, "is not ready (phase Running) and restarting (2 restarts)"),
    ("ready, nothing advertised", [node("gpu-1")], [pod("gpu-1")], DAEMONSET, RUNTIME_CLASS,
     "node advertises 0 nvidia.com/gpu, expected 1 (physical GPUs x 1 time-slicing replicas)"),
    ("ready, too few", [node("gpu-1", {"nvidia.com/gpu": "1"})], [pod("gpu-1")], DAEMONSET, RUNTIME_CLASS, None),
])
def test_reasons(case, nodes, pods, daemonset, runtime_class, reason):
    reports = judge([{"name": "gpu-1", "gpus": 1}], nodes, pods, daemonset, runtime_class)
    assert len(reports) == 1
    if reason is None:
        assert reports[0]["ok"], case
        return
    assert not reports[0]["ok"], case
    assert any(reason in r for r in reports[0]["reasons"]), reports[0]["reasons"]


def test_crash_reason_carries_the_last_exit_message():
    crashing = pod("gpu-1", ready=False, restarts=2, waiting="CrashLoopBackOff")
    crashing["status"]["containerStatuses"][0]["lastState"] = {
        "terminated": {"exitCode": 1, "message": "failed to initialize NVML: ERROR_LIBRARY_NOT_FOUND\n"}}
    reports = judge([{"name": "gpu-1", "gpus": 1}], [node("gpu-1")], [crashing])
    assert reports[0]["reasons"] == [
        "device-plugin pod nvidia-device-plugin-1 is restarting (container nvidia-device-plugin-ctr CrashLoopBackOff: "
        "back-off restarting; last exit: failed to initialize NVML: ERROR_LIBRARY_NOT_FOUND, 2 restarts)"]


def test_advertised_capacity_alone_is_not_enough_when_the_pod_crashes():
    # A stale allocatable from an earlier plugin run must not hide a crash-looping plugin.
    nodes = [node("gpu-1", {"nvidia.com/gpu": "1"})]
    reports = judge([{"name": "gpu-1", "gpus": 1}], nodes, [pod("gpu-1", ready=False, restarts=3, waiting="CrashLoopBackOff")])
    assert not reports[0]["ok"]
    assert reports[0]["allocatable"] == 1


def test_missing_label_and_no_pod_are_both_named():
    reports = judge([{"name": "gpu-1", "gpus": 1}], [node("gpu-1", labels={})], [])
    assert len(reports[0]["reasons"]) == 2
    assert reports[0]["reasons"][0].startswith("node is missing its label")
    assert reports[0]["reasons"][1] == "no device-plugin pod is scheduled on the node"


@pytest.mark.parametrize("allocatable, replicas, ok", [
    ({"nvidia.com/gpu": "4"}, 4, True),
    ({"nvidia.com/gpu": "1"}, 4, False),  # sharing config ignored
    ({"nvidia.com/gpu": "8"}, 4, False),  # more than expected is wrong as well
])
def test_time_slicing_counts(allocatable, replicas, ok):
    reports = judge([{"name": "gpu-1", "gpus": 1}], [node("gpu-1", allocatable)], [pod("gpu-1")], replicas=replicas)
    assert reports[0]["ok"] is ok
    if not ok:
        assert "expected 4 (physical GPUs x 4 time-slicing replicas)" in reports[0]["reasons"][0]


def test_renamed_resource_is_pointed_out():
    reports = judge([{"name": "gpu-1", "gpus": 1}], [node("gpu-1", {"nvidia.com/gpu.shared": "4"})], [pod("gpu-1")],
                    replicas=4)
    assert "advertises nvidia.com/gpu.shared instead of nvidia.com/gpu" in reports[0]["reasons"][0]


def test_shared_resource_counts_when_renamed():
    reports = judge([{"name": "gpu-1", "gpus": 2}], [node("gpu-1", {"nvidia.com/gpu.shared": "6"})], [pod("gpu-1")],
                    replicas=3, resource="nvidia.com/gpu.shared")
    assert reports[0]["ok"] and reports[0]["allocatable"] == 6


@pytest.mark.parametrize("advertised, ok", [("1", False), ("2", True), ("14", True)])
def test_single_mig_is_a_lower_bound(advertised, ok):
    reports = judge([{"name": "gpu-1", "gpus": 2, "mig_gpus": 2}], [node("gpu-1", {"nvidia.com/gpu": advertised})],
                    [pod("gpu-1")], mig_strategy="single")
    assert reports[0]["ok"] is ok


def test_no_runtime_class_check_when_not_used():
    settings = {**SETTINGS, "runtime_class": ""}
    reports = gc.assess([{"name": "gpu-1", "gpus": 1}], [node("gpu-1", {"nvidia.com/gpu": "1"})], [pod("gpu-1")],
                        DAEMONSET, None, settings)
    assert reports[0]["ok"]


def test_a_ready_pod_wins_over_a_terminating_or_failed_one():
    pods = [
        pod("gpu-1", ready=False, waiting="CrashLoopBackOff", name="old", created="2026-11-25T09:00:00Z", deleting=True),
        pod("gpu-1", name="new", created="2026-11-25T10:00:00Z"),
    ]
    reports = judge([{"name": "gpu-1", "gpus": 1}], [node("gpu-1", {"nvidia.com/gpu": "1"})], pods)
    assert reports[0]["ok"] and reports[0]["pod"] == "new"


def test_newest_pod_is_judged_when_none_is_ready():
    pods = [pod("gpu-1", phase="Pending", ready=False, name="newer", created="2026-11-25T10:05:00Z"),
            pod("gpu-1", ready=False, restarts=4, waiting="CrashLoopBackOff", name="older", created="2026-11-25T10:00:00Z")]
    reports = judge([{"name": "gpu-1", "gpus": 1}], [node("gpu-1")], pods)
    assert reports[0]["pod"] == "newer"


def test_failure_message_lists_each_bad_node():
    targets = [{"name": "gpu-1", "gpus": 1}, {"name": "gpu-2", "gpus": 1}, {"name": "gpu-3", "gpus": 1}]
    nodes = [node("gpu-1", {"nvidia.com/gpu": "1"}), node("gpu-2", labels={})]
    message = gc.failure_message(judge(targets, nodes, [pod("gpu-1")]), 30)
    lines = message.splitlines()
    assert lines[0] == "2 of 3 GPU nodes do not advertise their GPUs after 30s:"
    assert lines[1].startswith("gpu-2: node is missing its label nvidia.com/gpu.present=true")
    assert lines[2] == "gpu-3: node gpu-3 is not registered in the cluster"


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_returns_once_every_node_is_ready():
    clock = FakeClock()
    states = iter([
        ([node("gpu-1")], [pod("gpu-1", phase="Pending", ready=False)], DAEMONSET, RUNTIME_CLASS),
        ([node("gpu-1")], [pod("gpu-1")], DAEMONSET, RUNTIME_CLASS),
        ([node("gpu-1", {"nvidia.com/gpu": "1"})], [pod("gpu-1")], DAEMONSET, RUNTIME_CLASS),
    ])
    reports, ok, waited, polls = gc.wait_for_capacity(
        lambda: next(states), [{"name": "gpu-1", "gpus": 1}], SETTINGS, timeout=60, interval=5,
        clock=clock, sleep=clock.sleep)
    assert (ok, waited, polls, clock.sleeps) == (True, 10, 3, [5, 5])
    assert reports[0]["ok"]


def test_wait_gives_up_at_the_timeout_with_the_last_reasons():
    clock = FakeClock()

    def fetch():
        return [node("gpu-1", labels={})], [], DAEMONSET, RUNTIME_CLASS

    reports, ok, waited, polls = gc.wait_for_capacity(
        fetch, [{"name": "gpu-1", "gpus": 1}], SETTINGS, timeout=12, interval=5, clock=clock, sleep=clock.sleep)
    assert (ok, waited, polls) == (False, 12, 4)
    assert clock.sleeps == [5, 5, 2]
    assert reports[0]["reasons"][0].startswith("node is missing its label")


def test_timeout_zero_judges_once():
    clock = FakeClock()
    calls = []

    def fetch():
        calls.append(1)
        return [node("gpu-1")], [], DAEMONSET, RUNTIME_CLASS

    ok, polls = gc.wait_for_capacity(fetch, [{"name": "gpu-1", "gpus": 1}], SETTINGS, timeout=0, interval=5,
                                     clock=clock, sleep=clock.sleep)[1::2]
    assert (ok, polls, len(calls), clock.sleeps) == (False, 1, 1, [])
