# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_cluster's judgements over hand-written API objects (shaped as the API returns them)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import driver_upgrade, fleet_cluster

DEVICE_PLUGIN = {"namespace": "kube-system", "daemonset": "nvidia-device-plugin", "runtime_class": "nvidia",
                 "node_labels": {"nvidia.com/gpu.present": "true"}, "replicas": 1, "rename_by_default": False,
                 "mig_strategy": "none"}
SERVICE = {"namespace": "translation-serving", "deployment": "hy-mt", "service": "hy-mt-service"}
SELECTOR = {"app": "hy-mt"}


def node(name, gpus=2, unschedulable=False, labels=None, ready=True):
    return {"metadata": {"name": name, "labels": {"nvidia.com/gpu.present": "true", **(labels or {})}},
            "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}, "capacity": {"nvidia.com/gpu": str(gpus)},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady"}]}}


def plugin_pod(node_name):
    return {"metadata": {"name": "plugin-" + node_name, "namespace": "kube-system", "ownerReferences": [{"uid": "ds"}]},
            "spec": {"nodeName": node_name},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "plugin", "ready": True, "restartCount": 0}]}}


def gpu_pod(name, node_name, gpus):
    return {"metadata": {"name": name, "namespace": "work"},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]}}


def snapshot(nodes, pods=()):
    return {"nodes": nodes, "plugin_pods": [plugin_pod(n["metadata"]["name"]) for n in nodes],
            "daemonset": {"metadata": {"uid": "ds"}, "status": {"desiredNumberScheduled": len(nodes), "numberReady": len(nodes)}},
            "runtime_class": {"metadata": {"name": "nvidia"}}, "pods": list(pods)}


def by_id(checks, check_id, node=None):
    found = [c for c in checks if c["id"] == check_id and (node is None or c["node"] == node)]
    assert len(found) == 1, found
    return found[0]


def test_every_node_advertising_its_gpus_passes():
    checks, nodes = fleet_cluster.cluster_checks(snapshot([node("a"), node("b")]),
                                                 [{"name": "a", "host": "a", "gpus": 2}, {"name": "b", "host": "b", "gpus": 2}],
                                                 DEVICE_PLUGIN)
    assert {c["status"] for c in checks} == {"pass"}
    assert [n["allocatable_gpus"] for n in nodes] == [2, 2]


def test_a_node_advertising_fewer_gpus_than_its_facts_fails_with_both_numbers():
    checks = fleet_cluster.cluster_checks(snapshot([node("a", gpus=1)]), [{"name": "a", "host": "h", "gpus": 2}], DEVICE_PLUGIN)[0]
    found = by_id(checks, "cluster.gpu_advertised", "a")
    assert found["status"] == "fail"
    assert "advertises 1" in found["summary"] and "expected 2" in found["summary"]
    assert "kubectl describe node a" in found["remedy"]


@pytest.mark.parametrize("labels, status, words", [
    ({driver_upgrade.STATE_LABEL: "drained"}, "fail", "unfinished driver upgrade"),
    ({}, "warn", "not by this collection"),
])
def test_a_cordoned_node_is_named_with_who_cordoned_it(labels, status, words):
    checks, nodes = fleet_cluster.cluster_checks(snapshot([node("a", unschedulable=True, labels=labels)]),
                                                 [{"name": "a", "host": "h", "gpus": 2}], DEVICE_PLUGIN)
    found = by_id(checks, "cluster.node_schedulable", "a")
    assert (found["status"], words in found["summary"]) == (status, True)
    assert nodes[0]["schedulable"] is False


def test_an_inventory_host_that_is_not_a_node_fails_and_is_not_validated():
    checks, nodes = fleet_cluster.cluster_checks(snapshot([]), [{"name": "x", "host": "x", "gpus": 2}], DEVICE_PLUGIN)
    assert by_id(checks, "cluster.node_registered", "x")["status"] == "fail"
    runnable, skipped = fleet_cluster.plan_validation(snapshot([]), nodes, DEVICE_PLUGIN)
    assert runnable == [] and skipped[0][0] == "x"


def test_validation_runs_only_where_a_gpu_is_free_and_names_who_holds_the_others():
    snap = snapshot([node("a"), node("b")], pods=[gpu_pod("p1", "a", 2), gpu_pod("p2", "b", 1)])
    nodes = fleet_cluster.cluster_checks(snap, [{"name": "a", "gpus": 2}, {"name": "b", "gpus": 2}], DEVICE_PLUGIN)[1]
    runnable, skipped = fleet_cluster.plan_validation(snap, nodes, DEVICE_PLUGIN)
    assert runnable == ["b"]
    assert skipped[0][0] == "a" and "work/p1" in skipped[0][1]


def test_the_validation_job_asks_one_gpu_on_its_node_with_the_nvidia_runtime_as_non_root():
    validation = {"namespace": "kube-system", "image": "mirror/cuda-sample:1", "command": ["sh", "-c", "true"],
                  "runtime_class": "nvidia", "run_as_user": 1000, "timeout": 60}
    job = fleet_cluster.validation_job("gpu-1", "run1", validation, "nvidia.com/gpu")
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/hostname": "gpu-1"}
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert job["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "disabled"
    assert fleet_cluster.validation_job_name("gpu-1", "run1") != fleet_cluster.validation_job_name("gpu-2", "run1")


@pytest.mark.parametrize("conditions, status", [
    ([{"type": "Complete", "status": "True"}], "pass"),
    ([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}], "fail"),
    ([], None),
])
def test_job_outcome(conditions, status):
    outcome = fleet_cluster.job_outcome({"metadata": {"name": "j"}, "status": {"conditions": conditions}}, [])
    assert outcome[0] == status


def deployment(replicas=2, ready=2, template_containers=None):
    return {"metadata": {"name": "hy-mt"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": SELECTOR},
                     "template": {"metadata": {"labels": SELECTOR},
                                  "spec": {"containers": template_containers or [{"name": "server"}]}}},
            "status": {"readyReplicas": ready}}


def served_pod(name, proxy=True, identity="default", version="edge-1"):
    containers = [{"name": "server"}] + ([{"name": "linkerd-proxy"}] if proxy else [])
    annotations = {"linkerd.io/identity-mode": identity, "linkerd.io/proxy-version": version} if proxy else {}
    return {"metadata": {"name": name, "namespace": SERVICE["namespace"], "labels": SELECTOR, "annotations": annotations},
            "spec": {"nodeName": "a", "containers": containers},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def policy_objects(drop_api_policy=False):
    server = {"metadata": {"name": "hy-mt"}, "spec": {"podSelector": {"matchLabels": SELECTOR}}}
    routes = [{"metadata": {"name": "hy-mt-" + r}, "spec": {"parentRefs": [{"kind": "Server", "name": "hy-mt"}]}}
              for r in ("api", "probes")]
    policies = [{"metadata": {"name": "hy-mt-" + r}, "spec": {"targetRef": {"kind": "HTTPRoute", "name": "hy-mt-" + r}}}
                for r in ("api", "probes") if not (drop_api_policy and r == "api")]
    return {"servers": [server], "routes": routes, "authorizations": policies}


def service_snapshot(dep, pods, **policy):
    return {"deployment": dep, "pods": pods, "service": {"spec": {"ports": [{"port": 8000}]}},
            "endpoint_slices": [{"endpoints": [{"conditions": {"ready": True}}]}], **policy_objects(**policy)}


def test_a_serving_meshed_service_passes():
    checks, summary = fleet_cluster.service_checks(service_snapshot(deployment(), [served_pod("p1"), served_pod("p2")]),
                                                   SERVICE, "edge-1")
    assert {c["id"]: c["status"] for c in checks} == {"service.deployment": "pass", "service.proxy_injected": "pass",
                                                      "service.endpoints": "pass", "service.policy": "pass"}
    assert [p["proxy"] for p in summary["pods"]] == [True, True]


def test_a_deployment_scaled_to_zero_fails_saying_so():
    checks = fleet_cluster.service_checks(service_snapshot(deployment(replicas=0, ready=0), []), SERVICE)[0]
    found = by_id(checks, "service.deployment")
    assert found["status"] == "fail" and "scaled to 0" in found["summary"]
    assert by_id(checks, "service.proxy_injected")["status"] == "not_checked"


def test_a_deleted_authorization_policy_names_the_route_left_without_one():
    checks = fleet_cluster.service_checks(service_snapshot(deployment(), [served_pod("p1")], drop_api_policy=True), SERVICE)[0]
    found = by_id(checks, "service.policy")
    assert found["status"] == "fail"
    assert "hy-mt-api" in found["summary"] and "hy-mt-probes" not in found["summary"]


@pytest.mark.parametrize("pods, template, words", [
    ([served_pod("p1", proxy=False)], None, "p1 has no linkerd-proxy"),
    ([served_pod("p1", identity="disabled")], None, "without mesh identity"),
    ([served_pod("p1", version="edge-0")], None, "proxy edge-0, control plane edge-1"),
    ([served_pod("p1")], [{"name": "server"}, {"name": "linkerd-proxy"}], "templated"),
])
def test_proxy_problems_fail_the_injection_check(pods, template, words):
    checks = fleet_cluster.service_checks(service_snapshot(deployment(template_containers=template), pods), SERVICE, "edge-1")[0]
    found = by_id(checks, "service.proxy_injected")
    assert found["status"] == "fail" and words in found["summary"]


@pytest.mark.parametrize("answer, status", [
    ({"data": {"result": [{"metric": {"pod": "p1"}, "value": [0, "1"]}]}}, "pass"),
    ({"data": {"result": [{"metric": {"pod": "p1"}, "value": [0, "0"]}]}}, "fail"),
    ({"data": {"result": []}}, "fail"),
    (None, "fail"),
])
def test_scrape_check_wants_up_for_every_ready_pod(answer, status):
    found = fleet_cluster.scrape_check(answer, "connection refused", [{"name": "p1", "ready": True}], SERVICE, "Prometheus x")
    assert found["status"] == status


def test_the_unmeshed_caller_has_no_proxy_and_passes_only_on_refusal():
    job = fleet_cluster.unmeshed_job("http://hy-mt-service.translation-serving.svc:8000", "run1", SERVICE,
                                     {"image": "curl:1", "run_as_user": 100, "timeout": 60})
    assert job["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "disabled"
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "403" in script and "/v1/models" in script
    assert fleet_cluster.unmeshed_check(("pass", "HTTP 403"), "u", SERVICE)["status"] == "pass"
    assert fleet_cluster.unmeshed_check(("fail", "exit 1"), "u", SERVICE)["status"] == "fail"
    assert fleet_cluster.unmeshed_check((None, "pending"), "u", SERVICE)["status"] == "fail"


SMOKE = {"pairs": [{"source": "en", "target": "zh", "text": "one"}, {"source": "en", "target": "de", "text": "two"}],
         "requests": 3, "server_api": "vllm", "model": "", "timeout": 120, "config_map": "hy-mt-smoke",
         "service_account": "hy-mt-smoke", "image": "", "api_key_secret": "hy-mt-api-key"}


def test_the_smoke_job_is_meshed_and_runs_where_and_as_the_deployments_pods_do():
    dep = deployment()
    dep["metadata"]["namespace"] = "translation-serving"
    dep["spec"]["template"]["spec"].update(
        nodeSelector={"nvidia.com/gpu.present": "true"}, tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}],
        imagePullSecrets=[{"name": "mirror"}], securityContext={"runAsNonRoot": True, "runAsUser": 2000})
    dep["spec"]["template"]["spec"]["containers"] = [{"name": "server", "image": "mirror/vllm:0.11", "imagePullPolicy": "Never"}]
    job = fleet_cluster.smoke_job(dep, "http://svc:8000", "run1", SMOKE)
    meta, pod = job["spec"]["template"]["metadata"], job["spec"]["template"]["spec"]
    assert meta["annotations"]["linkerd.io/inject"] == "enabled"
    assert meta["annotations"]["config.linkerd.io/proxy-enable-native-sidecar"] == "true"
    assert (pod["serviceAccountName"], pod["volumes"][0]["configMap"]["name"]) == ("hy-mt-smoke", "hy-mt-smoke")
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"} and pod["imagePullSecrets"] == [{"name": "mirror"}]
    assert pod["securityContext"]["runAsUser"] == 2000
    container = pod["containers"][0]
    assert (container["image"], container["imagePullPolicy"]) == ("mirror/vllm:0.11", "Never")
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["HYMT_SMOKE_URL"] == "http://svc:8000" and env["HYMT_SMOKE_REQUESTS"] == "3"
    assert [p["target"] for p in json.loads(env["HYMT_SMOKE_PAIRS"])] == ["zh", "de"]
    assert env["HYMT_API_KEY"] == {"secretKeyRef": {"name": "hy-mt-api-key", "key": "api-key"}}
    assert job["metadata"]["namespace"] == "translation-serving"


def test_smoke_results_come_from_the_jobs_result_line_only():
    line = "HYMT_SMOKE_RESULT " + json.dumps({"ok": False, "pairs": [
        {"source": "en", "target": "zh", "translations": [{"translation": "一", "latency_s": 0.2}], "error": None},
        {"source": "en", "target": "de", "translations": [], "error": "HTTP 500"}]})
    results = fleet_cluster.smoke_results("proxy starting\n" + line + "\n", SMOKE["pairs"], "fail: exit 1")
    assert [(r["failed"], len(r["translations"])) for r in results] == [(False, 1), (True, 0)]
    assert results[1]["msg"] == "HTTP 500" and results[0]["item"]["target"] == "zh"
    missing = fleet_cluster.smoke_results("(its log could not be read: 404 Not Found)", SMOKE["pairs"], "fail: DeadlineExceeded")
    assert all(r["failed"] and "logged no HYMT_SMOKE_RESULT line" in r["msg"] and "DeadlineExceeded" in r["msg"] for r in missing)
    assert all(r["translations"] == [] for r in missing)
