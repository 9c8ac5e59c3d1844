# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The translation_service role's rendered objects, per runtime and weight source.

Rendered by Ansible's Templar with the role's defaults and vars. Core objects are checked by
kubernetes-validate against the strict official schema; the Linkerd policy objects against the
openAPIV3Schema of the Linkerd CRDs the lab installs. Expected values come from the issue, the seed
article, Tencent's HY-MT1.5 README and the runtimes' documented flags, not from the role.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from ansible.template import Templar, trust_as_template

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import hymt_prompts, linkerd_annotations
from ansible_collections.hymt.gpu_mesh.tests.unit.role_variables import role_variables as shared_role_variables

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles/translation_service"
KUBERNETES_VERSION = "1.35"
SMOKE_FILES = {
    "smoke_translate.py": (ROLE / "files/smoke_translate.py").read_text(),
    "hymt_prompts.py": (ROOT / "plugins/module_utils/hymt_prompts.py").read_text(),
}


def role_variables(**overrides):
    # The role reads the smoke files with lookup('file'), which needs a play; the test reads the same files.
    return shared_role_variables(ROLE, __translation_service_smoke_files=SMOKE_FILES, **overrides)


_RENDERED = {}


def render(template, **overrides):
    """The objects ``template`` renders with ``overrides``; each combination is rendered once (Templar is slow)."""
    key = (template, json.dumps(overrides, sort_keys=True))
    if key not in _RENDERED:
        loader, variables = role_variables(**overrides)
        text = (ROLE / "templates" / template).read_text()
        _RENDERED[key] = yaml.safe_load(Templar(loader=loader, variables=variables).template(trust_as_template(text)))
    return copy.deepcopy(_RENDERED[key])


def value(expression, untrusted=None, **overrides):
    """``expression`` templated with the role's variables; ``untrusted`` values are data, as file contents are."""
    loader, variables = role_variables(**overrides)
    variables.update(untrusted or {})
    return Templar(loader=loader, variables=variables).template(trust_as_template("{{ %s }}" % expression))


def kind(objs, name):
    return [o for o in objs if o["kind"] == name]


def server(objs):
    (deploy,) = kind(objs, "Deployment")
    spec = deploy["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return deploy, spec, container


def env(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def flags(args):
    """Flag -> value of an argument list; a flag without a value maps to True."""
    found = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            nxt = args[i + 1] if i + 1 < len(args) else None
            found[arg] = nxt if nxt is not None and not nxt.startswith("--") else True
    return found


SEED_GRADIO = {
    "translation_service_runtime": "custom", "translation_service_image": "registry.example.internal/hy-mt-1.8b:2026.1",
    "translation_service_port": 7860, "translation_service_health_path": "/healthz",
    "translation_service_extra_args": ["--server-port", "7860"],
    "translation_service_env": [{"name": "GRADIO_SERVER_NAME", "value": "0.0.0.0"}],
    "translation_service_model_source": "host_path", "translation_service_model_host_path": "/srv/models",
}
VARIANTS = {
    "defaults: vllm, weights from the hub": {},
    "vllm fp8 from a mirror hub with token, api key, autoscaler": {
        "translation_service_fp8": True, "translation_service_hub_endpoint": "https://hf-mirror.example.internal",
        "translation_service_hub_token": "hf_s3cret", "translation_service_api_key": "api-s3cret",
        "translation_service_hpa_enabled": True, "translation_service_image_registry": "mirror.example.internal:5000",
        "translation_service_image_pull_secrets": [{"name": "mirror-pull"}]},
    "hub offline from a host path cache": {
        "translation_service_hub_offline": True,
        "translation_service_hub_cache": {"hostPath": {"path": "/var/cache/hy-mt", "type": "DirectoryOrCreate"}}},
    "sglang, weights from a claim, two GPUs": {
        "translation_service_runtime": "sglang", "translation_service_model_source": "pvc",
        "translation_service_gpus_per_replica": 2, "translation_service_replicas": 1, "translation_service_runtime_class": ""},
    "transformers serve, weights from a host path": {
        "translation_service_runtime": "transformers", "translation_service_model_source": "host_path",
        "translation_service_model_host_path": "/srv/models", "translation_service_max_model_len": 0},
    "custom: the seed article's Gradio image": SEED_GRADIO,
    "no replicas": {"translation_service_replicas": 0},
}


def crd_schemas():
    docs = yaml.safe_load_all((ROOT / "lab/fixtures/linkerd/manifests/00-crds.yaml").read_text())
    schemas = {}
    for doc in docs:
        if doc and doc["kind"] == "CustomResourceDefinition":
            for version in doc["spec"]["versions"]:
                key = ("%s/%s" % (doc["spec"]["group"], version["name"]), doc["spec"]["names"]["kind"])
                schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_core_objects_are_valid_for_the_pinned_kubernetes(variant):
    objs = render("workload.yml.j2", **VARIANTS[variant]) + render("smoke.yml.j2", **VARIANTS[variant])
    assert {"ServiceAccount", "Deployment", "Service", "Job", "ConfigMap"} <= {o["kind"] for o in objs}
    for obj in objs:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_policy_objects_are_valid_for_the_linkerd_crds(variant):
    schemas = crd_schemas()
    objs = render("policy.yml.j2", **VARIANTS[variant])
    assert objs
    for obj in objs:
        jsonschema.validate(obj, schemas[(obj["apiVersion"], obj["kind"])])


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_every_linkerd_annotation_is_one_the_pinned_linkerd_reads(variant):
    objs = render("workload.yml.j2", **VARIANTS[variant]) + render("smoke.yml.j2", **VARIANTS[variant])
    for obj in objs:
        template = obj["spec"].get("template", {}) if obj["kind"] in ("Deployment", "Job") else None
        if template is not None:
            assert linkerd_annotations.problems(template["metadata"]["annotations"], "workload") == [], obj["kind"]
        if obj["kind"] == "Service":
            assert linkerd_annotations.problems(obj["metadata"]["annotations"], "service") == []
    namespace = value("__translation_service_namespace_annotations", **VARIANTS[variant])
    assert linkerd_annotations.problems(namespace, "namespace") == []


def test_defaults_are_the_seed_articles_names_and_proxy_settings():
    objs = render("workload.yml.j2")
    deploy, spec, container = server(objs)
    (service,) = kind(objs, "Service")
    assert (deploy["metadata"]["namespace"], deploy["metadata"]["name"]) == ("translation-serving", "hy-mt-18b-inference")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["selector"]["matchLabels"] == {"app": "hy-mt-translator"}
    assert deploy["spec"]["template"]["metadata"]["labels"]["app"] == "hy-mt-translator"
    assert service["metadata"]["name"] == "hy-mt-service" and service["spec"]["selector"] == {"app": "hy-mt-translator"}
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    assert {k: annotations[k] for k in annotations if "linkerd.io" in k} == {
        "linkerd.io/inject": "enabled",
        "config.linkerd.io/proxy-cpu-request": "10m",
        "config.linkerd.io/proxy-memory-request": "20Mi",
        "config.linkerd.io/proxy-memory-limit": "50Mi",
        "config.linkerd.io/proxy-await": "enabled",
    }
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "memory": "24Gi", "cpu": "8"}
    assert spec["runtimeClassName"] == "nvidia"
    assert value("__translation_service_namespace_annotations") == {
        "linkerd.io/inject": "enabled", "config.linkerd.io/default-inbound-policy": "all-authenticated"}


def test_native_sidecar_option_uses_the_pinned_linkerds_key():
    deploy = server(render("workload.yml.j2", translation_service_proxy_native_sidecar=True))[0]
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    # pkg/k8s/labels.go (edge-26.8.3): ProxyEnableNativeSidecarAnnotation; the alpha key is deprecated.
    assert annotations["config.linkerd.io/proxy-enable-native-sidecar"] == "true"
    assert not any(k.startswith("config.alpha.linkerd.io/") for k in annotations)


def test_vllm_gets_tencents_serving_arguments_from_the_hub():
    spec, container = server(render("workload.yml.j2"))[1:]
    assert container["image"] == "docker.io/vllm/vllm-openai:v0.33.0"
    tag = container["image"].rsplit(":v", 1)[1]
    assert tuple(int(p) for p in tag.split(".")) >= (0, 10, 0)
    assert flags(container["args"]) == {
        "--model": "tencent/HY-MT1.5-1.8B", "--served-model-name": "hy-mt1.5-1.8b", "--host": "0.0.0.0",
        "--port": "8000", "--tensor-parallel-size": "1", "--dtype": "bfloat16", "--gpu-memory-utilization": "0.92",
        "--max-model-len": "8192"}
    variables = env(container)
    assert variables["HF_ENDPOINT"] == "https://huggingface.co" and variables["HF_HOME"] == "/hf-cache"
    assert "HF_HUB_OFFLINE" not in variables and "HF_TOKEN" not in variables
    cache = next(v for v in spec["volumes"] if v["name"] == "hf-cache")
    assert "emptyDir" in cache


def test_fp8_serves_the_fp8_model_with_an_fp8_kv_cache_and_secrets_stay_out():
    variant = VARIANTS["vllm fp8 from a mirror hub with token, api key, autoscaler"]
    objs = render("workload.yml.j2", **variant)
    deploy, spec, container = server(objs)
    args = flags(container["args"])
    assert args["--model"] == "tencent/HY-MT1.5-1.8B-FP8" and args["--kv-cache-dtype"] == "fp8"
    assert args["--api-key"] == "$(HYMT_API_KEY)"
    variables = env(container)
    assert variables["HF_ENDPOINT"] == "https://hf-mirror.example.internal"
    assert variables["HF_TOKEN"] == {"secretKeyRef": {"name": "hy-mt-18b-inference-hub-token", "key": "token"}}
    assert variables["HYMT_API_KEY"] == {"secretKeyRef": {"name": "hy-mt-18b-inference-api-key", "key": "api-key"}}
    text = yaml.safe_dump(objs + render("smoke.yml.j2", **variant) + render("policy.yml.j2", **variant))
    assert "hf_s3cret" not in text and "api-s3cret" not in text
    assert container["image"].startswith("mirror.example.internal:5000/vllm/vllm-openai:")
    assert spec["imagePullSecrets"] == [{"name": "mirror-pull"}]


def test_secrets_hold_the_values_the_pods_reference():
    secrets = value("__translation_service_secrets", translation_service_hub_token="hf_s3cret", translation_service_api_key="k")
    by_name = {s["object"]["metadata"]["name"]: s for s in secrets}
    assert by_name["hy-mt-18b-inference-hub-token"]["object"]["data"] == {"token": base64.b64encode(b"hf_s3cret").decode()}
    assert by_name["hy-mt-18b-inference-api-key"]["object"]["data"] == {"api-key": "aw=="}
    # A token is only stored while the weights come from the hub.
    pvc = value("__translation_service_secrets", translation_service_hub_token="hf_s3cret", translation_service_model_source="pvc")
    assert [s["value"] for s in pvc] == ["", ""]


def test_autoscaler_owns_the_replica_count():
    objs = render("workload.yml.j2", **VARIANTS["vllm fp8 from a mirror hub with token, api key, autoscaler"])
    deploy = server(objs)[0]
    (hpa,) = kind(objs, "HorizontalPodAutoscaler")
    # No Deployment yet: the autoscaler's floor.
    assert deploy["spec"]["replicas"] == 2
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "hy-mt-18b-inference"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert len(kind(objs, "PodDisruptionBudget")) == 1
    assert kind(render("workload.yml.j2"), "HorizontalPodAutoscaler") == []


@pytest.mark.parametrize("live, applied", [(5, 5), (9, 6), (1, 2)])
def test_autoscaled_deployment_keeps_the_autoscalers_count_within_its_bounds(live, applied):
    # Applying a manifest without replicas would reset a running Deployment to one pod.
    deployed = {"resources": [{"spec": {"replicas": live}}]}
    assert value("__translation_service_deployment_replicas", translation_service_hpa_enabled=True,
                 __translation_service_live_deployment=deployed) == applied
    assert value("__translation_service_deployment_replicas", __translation_service_live_deployment=deployed) == 3


def test_offline_hub_reads_the_host_path_cache_only():
    spec, container = server(render("workload.yml.j2", **VARIANTS["hub offline from a host path cache"]))[1:]
    variables = env(container)
    assert variables["HF_HUB_OFFLINE"] == "1" and variables["TRANSFORMERS_OFFLINE"] == "1"
    cache = next(v for v in spec["volumes"] if v["name"] == "hf-cache")
    assert cache["hostPath"] == {"path": "/var/cache/hy-mt", "type": "DirectoryOrCreate"}
    assert flags(container["args"])["--model"] == "tencent/HY-MT1.5-1.8B"


def test_sglang_serves_from_the_claim_with_its_own_flags():
    objs = render("workload.yml.j2", **VARIANTS["sglang, weights from a claim, two GPUs"])
    deploy, spec, container = server(objs)
    assert container["command"] == ["python3", "-m", "sglang.launch_server"]
    args = flags(container["args"])
    assert args["--model-path"] == "/models/HY-MT1.5-1.8B" and args["--tp-size"] == "2"
    assert args["--port"] == "30000" and args["--enable-metrics"] is True and args["--context-length"] == "8192"
    assert container["ports"][0]["containerPort"] == 30000
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    model = next(v for v in spec["volumes"] if v["name"] == "model")
    assert model["persistentVolumeClaim"] == {"claimName": "hy-mt-weights", "readOnly": True}
    assert env(container)["HF_HUB_OFFLINE"] == "1"
    assert "runtimeClassName" not in spec and kind(objs, "PodDisruptionBudget") == []


def test_transformers_serve_batches_and_has_no_metrics_path():
    objs = render("workload.yml.j2", **VARIANTS["transformers serve, weights from a host path"])
    deploy, spec, container = server(objs)
    assert container["command"] == ["transformers", "serve"]
    # `transformers serve [FORCE_MODEL]`: the model is the positional argument.
    assert container["args"][0] == "/models/HY-MT1.5-1.8B" and "--continuous-batching" in container["args"]
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert not any(k.startswith("prometheus.io/") for k in deploy["spec"]["template"]["metadata"]["annotations"])
    model = next(v for v in spec["volumes"] if v["name"] == "model")
    assert model["hostPath"] == {"path": "/srv/models", "type": "Directory"}


def test_custom_runtime_runs_the_seed_articles_gradio_image():
    objs = render("workload.yml.j2", **SEED_GRADIO)
    deploy, spec, container = server(objs)
    (service,) = kind(objs, "Service")
    assert container["image"] == "registry.example.internal/hy-mt-1.8b:2026.1"
    assert "command" not in container and container["args"] == ["--server-port", "7860"]
    assert container["ports"] == [{"name": "http", "containerPort": 7860, "protocol": "TCP"}]
    assert service["spec"]["ports"][0]["port"] == 7860
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert env(container)["GRADIO_SERVER_NAME"] == "0.0.0.0"
    policy = render("policy.yml.j2", **SEED_GRADIO)
    probes = next(r for r in kind(policy, "HTTPRoute") if r["metadata"]["name"].endswith("-probes"))
    assert probes["spec"]["rules"][0]["matches"] == [{"path": {"type": "Exact", "value": "/healthz"}, "method": "GET"}]
    # No metrics path: no scrape annotations and no metrics route.
    assert not [r for r in kind(policy, "HTTPRoute") if r["metadata"]["name"].endswith("-metrics")]


def test_pod_is_locked_down_and_every_cache_is_on_a_writable_volume():
    for variant in VARIANTS.values():
        spec, container = server(render("workload.yml.j2", **variant))[1:]
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
        sec = container["securityContext"]
        assert sec["readOnlyRootFilesystem"] is True and sec["allowPrivilegeEscalation"] is False
        assert sec["capabilities"] == {"drop": ["ALL"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        writable = [m["mountPath"] for m in container["volumeMounts"]
                    if not m.get("readOnly") and ("emptyDir" in volumes[m["name"]] or m["name"] == "hf-cache")]
        assert "/tmp" in writable and "/dev/shm" in writable
        for name, path in env(container).items():
            if name in ("HOME", "XDG_CACHE_HOME", "HF_HOME", "TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "VLLM_CACHE_ROOT"):
                assert any(path == w or path.startswith(w + "/") for w in writable), (name, path)


def test_probes_scrape_annotations_and_spread():
    deploy, spec, container = server(render("workload.yml.j2"))
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # 900 s of model download and load at one probe every 10 s.
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 900
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (
        "true", "8000", "/metrics")
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert spread["labelSelector"] == {"matchLabels": deploy["spec"]["selector"]["matchLabels"]}


def test_service_carries_retries_timeout_and_circuit_breaking():
    (service,) = kind(render("workload.yml.j2"), "Service")
    assert service["metadata"]["annotations"] == {
        "retry.linkerd.io/http": "5xx",
        "retry.linkerd.io/limit": "2",
        "timeout.linkerd.io/request": "120s",
        "balancer.linkerd.io/failure-accrual": "consecutive",
        "balancer.linkerd.io/failure-accrual-consecutive-max-failures": "7",
        "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": "1s",
        "balancer.linkerd.io/failure-accrual-consecutive-max-penalty": "60s",
    }
    (plain,) = kind(render("workload.yml.j2", translation_service_failure_accrual=""), "Service")
    assert not any(k.startswith("balancer.") for k in plain["metadata"]["annotations"])


def test_policy_admits_the_namespace_and_the_smoke_job_only():
    objs = render("policy.yml.j2")
    (srv,) = kind(objs, "Server")
    assert srv["spec"]["podSelector"] == {"matchLabels": {"app": "hy-mt-translator"}} and srv["spec"]["port"] == "http"
    clients = next(m for m in kind(objs, "MeshTLSAuthentication") if m["metadata"]["name"].endswith("-clients"))
    assert clients["spec"] == {"identityRefs": [
        {"kind": "Namespace", "name": "translation-serving"},
        {"kind": "ServiceAccount", "name": "hy-mt-18b-inference-smoke", "namespace": "translation-serving"}]}
    job = kind(render("smoke.yml.j2"), "Job")[0]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "hy-mt-18b-inference-smoke"
    routes = {r["metadata"]["name"]: r["spec"]["rules"][0]["matches"][0] for r in kind(objs, "HTTPRoute")}
    assert routes == {
        "hy-mt-18b-inference-api": {"path": {"type": "PathPrefix", "value": "/"}},
        "hy-mt-18b-inference-probes": {"path": {"type": "Exact", "value": "/health"}, "method": "GET"},
        "hy-mt-18b-inference-metrics": {"path": {"type": "Exact", "value": "/metrics"}, "method": "GET"},
    }
    authz = {a["spec"]["targetRef"]["name"]: [r["kind"] for r in a["spec"]["requiredAuthenticationRefs"]]
             for a in kind(objs, "AuthorizationPolicy")}
    assert authz == {"hy-mt-18b-inference-api": ["MeshTLSAuthentication"],
                     "hy-mt-18b-inference-probes": ["NetworkAuthentication"],
                     "hy-mt-18b-inference-metrics": ["MeshTLSAuthentication"]}


def test_policy_with_listed_clients_and_an_unmeshed_scraper():
    objs = render("policy.yml.j2", translation_service_allowed_namespaces=[], translation_service_smoke_mode="control_node",
                  translation_service_allowed_service_accounts=[{"name": "gateway", "namespace": "ingress"}],
                  translation_service_metrics_networks=["10.0.0.0/8"])
    clients = next(m for m in kind(objs, "MeshTLSAuthentication") if m["metadata"]["name"].endswith("-clients"))
    assert clients["spec"]["identityRefs"] == [{"kind": "ServiceAccount", "name": "gateway", "namespace": "ingress"}]
    metrics = [a for a in kind(objs, "AuthorizationPolicy") if a["spec"]["targetRef"]["name"].endswith("-metrics")]
    # Linkerd requires every authentication a policy names, so mesh and network scrapers get one policy each.
    assert sorted(a["spec"]["requiredAuthenticationRefs"][0]["kind"] for a in metrics) == ["MeshTLSAuthentication", "NetworkAuthentication"]


def test_smoke_job_is_meshed_finishes_and_sends_the_service_a_translation():
    objs = render("smoke.yml.j2")
    (config,) = kind(objs, "ConfigMap")
    (job,) = kind(objs, "Job")
    assert config["data"] == SMOKE_FILES
    spec = job["spec"]
    annotations = spec["template"]["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"
    assert annotations["config.linkerd.io/proxy-enable-native-sidecar"] == "true"
    assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] > 0 and spec["activeDeadlineSeconds"] == 300
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    assert container["image"] == server(render("workload.yml.j2"))[2]["image"]
    assert container["command"] == ["python3", "/smoke/smoke_translate.py"]
    variables = env(container)
    assert variables["HYMT_SMOKE_URL"] == "http://hy-mt-service.translation-serving.svc:8000"
    assert (variables["HYMT_SMOKE_TARGET"], variables["HYMT_SMOKE_MODEL"], variables["HYMT_SMOKE_SERVER_API"]) == (
        "zh", "hy-mt1.5-1.8b", "vllm")
    transformers = env(kind(render("smoke.yml.j2", translation_service_runtime="transformers"), "Job")[0]
                       ["spec"]["template"]["spec"]["containers"][0])
    assert (transformers["HYMT_SMOKE_MODEL"], transformers["HYMT_SMOKE_SERVER_API"]) == ("", "transformers")


@pytest.mark.parametrize("lines, ok, translation", [
    ([], None, None),
    (["Traceback (most recent call last):", "OSError: boom"], None, None),
    (['HYMT_SMOKE_RESULT {"ok": false, "translation": "", "error": "HTTP 403"}'], False, ""),
    (["warning: slow", 'HYMT_SMOKE_RESULT {"ok": true, "translation": "翻译服务正在运行。"}', ""], True, "翻译服务正在运行。"),
])
def test_smoke_result_is_read_only_from_the_marker_line(lines, ok, translation):
    result = value("__translation_service_smoke_result", __translation_service_smoke_log={"log_lines": lines})
    assert result.get("ok") == ok and result.get("translation") == translation


def test_language_and_runtime_choices_agree_everywhere():
    specs = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    languages = yaml.safe_load((ROLE / "vars/main.yml").read_text())["__translation_service_languages"]
    assert sorted(specs["translation_service_smoke_target_language"]["choices"]) == sorted(languages) == sorted(hymt_prompts.LANGUAGES)
    assert len(languages) == 38
    runtimes = yaml.safe_load((ROLE / "vars/main.yml").read_text())["__translation_service_runtimes"]
    assert sorted(specs["translation_service_runtime"]["choices"]) == sorted(runtimes) == ["custom", "sglang", "transformers", "vllm"]


def test_dashboard_variables_default_to_the_deployed_namespace_and_deployment():
    source = json.loads((ROLE / "files/grafana-dashboard.json").read_text())
    # Its legends ({{status_code}}) are Grafana's templates: the role reads the file as data, and so does this test.
    dashboard = value("__translation_service_dashboard", untrusted={"__translation_service_dashboard_source": source},
                      translation_service_namespace="mt", translation_service_deployment_name="hy-mt-7b")
    current = {v["name"]: v.get("current", {}).get("value") for v in dashboard["templating"]["list"]}
    assert current == {"datasource": None, "namespace": "mt", "deployment": "hy-mt-7b"}
    assert dashboard["panels"] == source["panels"]
