"""API semantics through the kubernetes DynamicClient: discovery, auth and TLS, validation, optimistic
concurrency, patches, dry runs, selectors, deletion, CRDs, watch, fault injection and the request log."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request

import pytest
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

BUILTIN_KINDS = {
    ("v1", "Namespace"), ("v1", "Node"), ("v1", "Pod"), ("v1", "Service"), ("v1", "ConfigMap"), ("v1", "Secret"),
    ("v1", "ServiceAccount"), ("v1", "Event"), ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"),
    ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("node.k8s.io/v1", "RuntimeClass"),
    ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
}


def configmap(ns: str, name: str = "cfg", labels: dict | None = None, data: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "data": data or {"a": "1"}}


def deployment(ns: str, name: str = "web", **container) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": "registry.lab.invalid/web:1", **container}],
                                           "tolerations": [{"key": "a", "operator": "Exists"}]}}}}


@pytest.fixture(scope="module")
def client(kube_sim):
    return kube_sim.dynamic_client()


def res(client, api_version, kind):
    return client.resources.get(api_version=api_version, kind=kind)


def raw(sim, path: str, token: str | None = "default", method: str = "GET", context=None):
    headers = {} if token is None else {"Authorization": f"Bearer {sim.token if token == 'default' else token}"}
    request = urllib.request.Request(sim.url + path, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, context=context or ssl.create_default_context(cafile=sim.ca), timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_discovery_serves_every_builtin_kind(client):
    for api_version, kind in sorted(BUILTIN_KINDS):
        assert res(client, api_version, kind).kind == kind
    pods = res(client, "v1", "Pod")
    assert "eviction" in pods.subresources and "status" in pods.subresources


def test_tls_is_verified_and_a_token_is_required(kube_sim):
    assert raw(kube_sim, "/api/v1/namespaces")[0] == 200
    status, body = raw(kube_sim, "/api/v1/namespaces", token=None)
    assert status == 401 and body["reason"] == "Unauthorized"
    assert raw(kube_sim, "/api/v1/namespaces", token="wrong")[0] == 401
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        raw(kube_sim, "/version", context=ssl.create_default_context())
    version = raw(kube_sim, "/version", token=None)[1]
    assert (version["major"], version["minor"]) == ("1", "33")


def test_schema_validation_names_the_refused_field(client, namespace):
    deployments = res(client, "apps/v1", "Deployment")
    with pytest.raises(ApiException) as refused:
        deployments.create(body=deployment(namespace, ports=[{"containerPort": "7860"}]), namespace=namespace)
    assert refused.value.status == 422
    status = json.loads(refused.value.body)
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.template.spec.containers[0].ports[0].containerPort"
    with pytest.raises(ApiException) as unknown:
        deployments.create(body=deployment(namespace, imagePullPolicie="Always"), namespace=namespace)
    assert unknown.value.status == 422 and "imagePullPolicie" in json.loads(unknown.value.body)["message"]
    bad_selector = deployment(namespace)
    bad_selector["spec"]["selector"]["matchLabels"]["app"] = "other"
    with pytest.raises(ApiException) as mismatch:
        deployments.create(body=bad_selector, namespace=namespace)
    assert mismatch.value.status == 422 and "selector" in json.loads(mismatch.value.body)["message"]
    gpu_request_only = deployment(namespace, resources={"requests": {"nvidia.com/gpu": 1}})
    with pytest.raises(ApiException) as overcommit:
        deployments.create(body=gpu_request_only, namespace=namespace)
    assert overcommit.value.status == 422
    assert deployments.get(namespace=namespace).items == []


def test_namespaced_objects_need_their_namespace(client):
    with pytest.raises(ApiException) as missing:
        res(client, "v1", "ConfigMap").create(body=configmap("no-such-namespace"), namespace="no-such-namespace")
    assert missing.value.status == 404 and "no-such-namespace" in json.loads(missing.value.body)["message"]


def test_resource_version_generation_and_conflicts(client, namespace):
    deployments = res(client, "apps/v1", "Deployment")
    created = deployments.create(body=deployment(namespace), namespace=namespace)
    meta = created.metadata
    assert meta.uid and meta.creationTimestamp and meta.generation == 1
    stale = created.to_dict()
    fresh = deployments.get(name="web", namespace=namespace).to_dict()
    fresh["spec"]["replicas"] = 2
    updated = deployments.replace(body=fresh, namespace=namespace)
    assert updated.metadata.generation == 2
    assert int(updated.metadata.resourceVersion) > int(meta.resourceVersion)
    stale["spec"]["replicas"] = 3
    with pytest.raises(ApiException) as conflict:
        deployments.replace(body=stale, namespace=namespace)
    assert conflict.value.status == 409 and json.loads(conflict.value.body)["reason"] == "Conflict"
    labelled = deployments.patch(name="web", namespace=namespace, body={"metadata": {"labels": {"tier": "x"}}},
                                 content_type="application/merge-patch+json")
    assert labelled.metadata.generation == 2  # metadata changes do not bump generation
    # A write that changes nothing changes nothing, not even the resourceVersion (no controller touches ConfigMaps).
    configmaps = res(client, "v1", "ConfigMap")
    first = configmaps.create(body=configmap(namespace), namespace=namespace)
    for content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
        same = configmaps.patch(name="cfg", namespace=namespace, body={"data": {"a": "1"}}, content_type=content_type)
        assert same.metadata.resourceVersion == first.metadata.resourceVersion
    assert configmaps.replace(body=first.to_dict(), namespace=namespace).metadata.resourceVersion == first.metadata.resourceVersion
    status = client.request("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/web")
    assert status.metadata.name == "web"


def test_strategic_merge_uses_the_api_merge_keys(client, namespace):
    deployments = res(client, "apps/v1", "Deployment")
    deployments.create(body=deployment(namespace, env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                                       ports=[{"containerPort": 80}]), namespace=namespace)
    patch = {"spec": {"template": {"spec": {
        "containers": [{"name": "main", "env": [{"name": "B", "value": "changed"}], "ports": [{"containerPort": 9090}]},
                       {"name": "sidecar", "image": "registry.lab.invalid/proxy:1"}],
        "tolerations": [{"key": "b", "operator": "Exists"}]}}}}
    patched = deployments.patch(name="web", namespace=namespace, body=patch,
                                content_type="application/strategic-merge-patch+json").to_dict()
    spec = patched["spec"]["template"]["spec"]
    main = spec["containers"][0]
    assert [c["name"] for c in spec["containers"]] == ["main", "sidecar"]
    assert main["image"] == "registry.lab.invalid/web:1"
    assert main["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "changed"}]
    assert [p["containerPort"] for p in main["ports"]] == [80, 9090]
    # Tolerations are an atomic list in the Kubernetes API: a patch replaces them.
    assert spec["tolerations"] == [{"key": "b", "operator": "Exists"}]
    merged = deployments.patch(name="web", namespace=namespace, content_type="application/merge-patch+json",
                               body={"spec": {"template": {"spec": {"containers": [
                                   {"name": "only", "image": "registry.lab.invalid/only:1"}]}}}}).to_dict()
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == ["only"]
    jsonp = deployments.patch(name="web", namespace=namespace, content_type="application/json-patch+json",
                              body=[{"op": "replace", "path": "/spec/replicas", "value": 0}])
    assert jsonp.spec.replicas == 0


def test_dry_run_persists_nothing(client, namespace):
    configmaps = res(client, "v1", "ConfigMap")
    answer = configmaps.create(body=configmap(namespace), namespace=namespace, dry_run="All")
    assert answer.metadata.name == "cfg"
    with pytest.raises(ApiException) as gone:
        configmaps.get(name="cfg", namespace=namespace)
    assert gone.value.status == 404


def test_selectors_and_deletion(client, namespace):
    configmaps = res(client, "v1", "ConfigMap")
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        configmaps.create(body=configmap(namespace, name, {"tier": tier}), namespace=namespace)
    assert [c.metadata.name for c in configmaps.get(namespace=namespace, label_selector="tier=web").items] == ["a", "c"]
    assert [c.metadata.name for c in configmaps.get(namespace=namespace, label_selector="tier in (db)").items] == ["b"]
    assert [c.metadata.name for c in configmaps.get(namespace=namespace, label_selector="tier!=web").items] == ["b"]
    assert [c.metadata.name for c in configmaps.get(namespace=namespace, field_selector="metadata.name=c").items] == ["c"]
    configmaps.delete(namespace=namespace, label_selector="tier=web")
    assert [c.metadata.name for c in configmaps.get(namespace=namespace).items] == ["b"]


def test_namespace_deletion_and_garbage_collection(kube_sim, client):
    namespaces = res(client, "v1", "Namespace")
    namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gc-test"}})
    deployments, pods = res(client, "apps/v1", "Deployment"), res(client, "v1", "Pod")
    deployments.create(body=deployment("gc-test"), namespace="gc-test")
    kube_sim.wait_for(lambda: pods.get(namespace="gc-test").items, what="the Deployment's pod")
    replicasets = res(client, "apps/v1", "ReplicaSet").get(namespace="gc-test").items
    assert len(replicasets) == 1 and replicasets[0].metadata.ownerReferences[0].kind == "Deployment"
    deployments.delete(name="web", namespace="gc-test")
    assert res(client, "apps/v1", "ReplicaSet").get(namespace="gc-test").items == []
    assert pods.get(namespace="gc-test").items == []
    res(client, "v1", "ConfigMap").create(body=configmap("gc-test"), namespace="gc-test")
    namespaces.delete(name="gc-test")
    assert res(client, "v1", "ConfigMap").get(namespace="gc-test").items == []
    with pytest.raises(ApiException):
        namespaces.get(name="gc-test")


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "translators.lab.hymt.invalid"},
    "spec": {"group": "lab.hymt.invalid", "scope": "Namespaced",
             "names": {"plural": "translators", "singular": "translator", "kind": "Translator", "listKind": "TranslatorList"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "required": ["model"], "properties": {
                                   "model": {"type": "string"},
                                   "replicas": {"type": "integer", "minimum": 1, "default": 1},
                                   "languages": {"type": "array", "items": {"type": "string"}}}},
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def test_crd_created_at_run_time_becomes_served_and_validates(kube_sim, namespace):
    client = kube_sim.dynamic_client()
    with pytest.raises(ResourceNotFoundError):
        res(client, "lab.hymt.invalid/v1alpha1", "Translator")
    crds = res(client, "apiextensions.k8s.io/v1", "CustomResourceDefinition")
    created = crds.create(body=CRD)
    assert {c.type for c in created.status.conditions} >= {"Established", "NamesAccepted"}
    client = kube_sim.dynamic_client()
    translators = res(client, "lab.hymt.invalid/v1alpha1", "Translator")
    body = {"apiVersion": "lab.hymt.invalid/v1alpha1", "kind": "Translator", "metadata": {"name": "t", "namespace": namespace},
            "spec": {"model": "hy-mt"}}
    made = translators.create(body=body, namespace=namespace)
    assert made.spec.replicas == 1  # the schema's default
    for spec, field in (({"model": 3}, "spec.model"), ({"replicas": 2}, "spec.model"), ({"model": "x", "replicas": 0}, "spec.replicas"),
                        ({"model": "x", "extra": True}, "spec.extra")):
        bad = {**body, "metadata": {"name": "bad", "namespace": namespace}, "spec": spec}
        with pytest.raises(ApiException) as refused:
            translators.create(body=bad, namespace=namespace)
        assert refused.value.status == 422, spec
        assert field in json.loads(refused.value.body)["message"], spec
    with pytest.raises(ApiException) as smp:
        translators.patch(name="t", namespace=namespace, body={"spec": {"model": "y"}},
                          content_type="application/strategic-merge-patch+json")
    assert smp.value.status == 415
    crds.delete(name=CRD["metadata"]["name"])
    status = raw(kube_sim, f"/apis/lab.hymt.invalid/v1alpha1/namespaces/{namespace}/translators")[0]
    assert status == 404


def test_server_side_apply_conflicts_between_managers(client, namespace):
    deployments = res(client, "apps/v1", "Deployment")
    body = deployment(namespace)
    first = deployments.server_side_apply(body=body, name="web", namespace=namespace, field_manager="roles")
    assert [m.manager for m in first.metadata.managedFields] == ["roles"]
    again = deployments.server_side_apply(body=body, name="web", namespace=namespace, field_manager="roles")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace},
             "spec": {"replicas": 5}}
    with pytest.raises(ApiException) as conflict:
        deployments.server_side_apply(body=other, name="web", namespace=namespace, field_manager="hpa")
    assert conflict.value.status == 409
    assert ".spec.replicas" in json.loads(conflict.value.body)["message"]
    forced = deployments.server_side_apply(body=other, name="web", namespace=namespace, field_manager="hpa", force_conflicts=True)
    assert forced.spec.replicas == 5
    # roles lost .spec.replicas to hpa and no longer claims it; dropping a field it alone owned removes it.
    slim = deployment(namespace)
    del slim["spec"]["replicas"]
    del slim["spec"]["template"]["spec"]["tolerations"]
    trimmed = deployments.server_side_apply(body=slim, name="web", namespace=namespace, field_manager="roles")
    assert trimmed.spec.replicas == 5 and not trimmed.spec.template.spec.tolerations


def test_watch_streams_changes(kube_sim, client, namespace):
    configmaps = res(client, "v1", "ConfigMap")
    seen = []

    def watch():
        for event in configmaps.watch(namespace=namespace, timeout=3):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 2:
                return

    thread = threading.Thread(target=watch)
    thread.start()
    kube_sim.wait_for(lambda: kube_sim.requests()["counts"].get(f"GET /api/v1/namespaces/{namespace}/configmaps"),
                      what="the watch to open")
    configmaps.create(body=configmap(namespace, "w"), namespace=namespace)
    configmaps.delete(name="w", namespace=namespace)
    thread.join(10)
    assert seen == [("ADDED", "w"), ("DELETED", "w")]


def test_faults_are_visible_to_clients_and_requests_are_counted(kube_sim, client, namespace):
    configmaps = res(client, "v1", "ConfigMap")
    configmaps.create(body=configmap(namespace), namespace=namespace)
    path = f"/api/v1/namespaces/{namespace}/configmaps/cfg"
    kube_sim.requests(reset=True)
    kube_sim.set_faults({"verb": "GET", "path": path, "sequence": [503, 429, 0, 409]})
    codes = []
    for _attempt in range(5):
        try:
            configmaps.get(name="cfg", namespace=namespace)
            codes.append(200)
        except ApiException as exc:
            codes.append(exc.status)
    # urllib3 honours the Retry-After header of the 429 and retries once by itself, as with a real server.
    assert codes == [503, 200, 409, 200, 200]
    counts = kube_sim.requests()
    assert counts["counts"][f"GET {path}"] == 6
    assert counts["by_status"]["503"] == 1 and counts["by_status"]["429"] == 1
    # Dropped connections: urllib3 retries three times, so a fourth drop reaches the caller.
    kube_sim.set_faults({"verb": "*", "path": path, "drop": True, "times": 4})
    with pytest.raises(Exception) as dropped:
        configmaps.get(name="cfg", namespace=namespace)
    assert not isinstance(dropped.value, ApiException)  # a connection error, not an HTTP answer
    assert kube_sim.requests()["by_status"]["0"] == 4
    kube_sim.set_faults({"path": path, "status": 500, "rate": 0.0})
    assert configmaps.get(name="cfg", namespace=namespace).metadata.name == "cfg"
    kube_sim.clear_faults()


def test_latency_is_added_to_matching_requests(kube_sim, client, namespace):
    configmaps = res(client, "v1", "ConfigMap")
    kube_sim.set_faults({"verb": "GET", "path": f"/api/v1/namespaces/{namespace}/configmaps$", "latency_ms": 400})
    try:
        configmaps.get(namespace=namespace)
        slow = [e for e in kube_sim.requests()["recent"] if e["path"] == f"/api/v1/namespaces/{namespace}/configmaps"]
        assert slow and slow[-1]["ms"] >= 400
    finally:
        kube_sim.clear_faults()


def test_every_builtin_kind_the_collection_writes_round_trips(client, namespace):
    objects = [
        ("v1", "ServiceAccount", {"metadata": {"name": "sa"}}),
        ("v1", "Secret", {"metadata": {"name": "s"}, "stringData": {"token": "abc"}}),
        ("v1", "Service", {"metadata": {"name": "svc"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}),
        ("node.k8s.io/v1", "RuntimeClass", {"metadata": {"name": f"nvidia-{namespace}"}, "handler": "nvidia"}),
        ("scheduling.k8s.io/v1", "PriorityClass", {"metadata": {"name": f"mt-{namespace}"}, "value": 1000}),
        ("rbac.authorization.k8s.io/v1", "Role", {"metadata": {"name": "r"}, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        ("rbac.authorization.k8s.io/v1", "RoleBinding", {"metadata": {"name": "rb"}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": namespace}]}),
        ("policy/v1", "PodDisruptionBudget", {"metadata": {"name": "pdb"}, "spec": {
            "maxUnavailable": 1, "selector": {"matchLabels": {"app": "x"}}}}),
        ("autoscaling/v2", "HorizontalPodAutoscaler", {"metadata": {"name": "hpa"}, "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 3}}),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", {"metadata": {"name": f"inject-{namespace}"}, "webhooks": [
            {"name": "inject.lab.hymt.invalid", "admissionReviewVersions": ["v1"], "sideEffects": "None",
             "clientConfig": {"service": {"name": "svc", "namespace": namespace}}}]}),
    ]
    for api_version, kind, body in objects:
        resource = res(client, api_version, kind)
        made = resource.create(body={"apiVersion": api_version, "kind": kind, **body},
                               namespace=namespace if resource.namespaced else None)
        assert made.kind == kind and made.metadata.uid
        if kind == "Secret":
            assert made.data.token == "YWJj" and not made.get("stringData")
        if kind == "Service":
            assert made.spec.clusterIP and made.spec.ports[0].targetPort == 80
        if not resource.namespaced:
            resource.delete(name=made.metadata.name)


def test_resource_quantities_come_back_as_strings_like_a_real_api_server(kube_sim, client, namespace):
    # kubernetes' typed client (kubectl drain, kubernetes.core.k8s_drain) refuses a number where the API
    # promises a quantity string; a manifest may still say `nvidia.com/gpu: 1`.
    pods = client.resources.get(api_version="v1", kind="Pod")
    pods.create(namespace=namespace, body={
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.37",
                                 "resources": {"limits": {"nvidia.com/gpu": 1, "cpu": 0.5}, "requests": {"memory": "1Gi"}}}]}})
    resources = pods.get(namespace=namespace, name="q").to_dict()["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"nvidia.com/gpu": "1", "cpu": "500m"}
    assert resources["requests"]["memory"] == "1Gi"
    typed = CoreV1Api(client.client).read_namespaced_pod("q", namespace)
    assert typed.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
