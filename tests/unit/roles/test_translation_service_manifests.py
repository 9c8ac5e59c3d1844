# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The translation_service role's rendered objects, for variants Molecule does not converge.

Rendered by Ansible's Templar with the role's defaults and vars; the core objects are checked by
kubernetes-validate against the strict official schema (the Linkerd policy objects are CRDs it
does not know, so their shape is asserted directly).
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[3] / "roles/translation_service"
KUBERNETES_VERSION = "1.35"


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def render(template, **overrides):
    loader = DataLoader()
    variables = {}
    for name in ("defaults/main.yml", "vars/main.yml"):
        variables.update(trusted(loader.load_from_file(str(ROLE / name))))
    variables.update(overrides)
    text = (ROLE / "templates" / template).read_text()
    return yaml.safe_load(Templar(loader=loader, variables=variables).template(trust_as_template(text)))


def kind(objs, name):
    return [o for o in objs if o["kind"] == name]


VARIANTS = {
    "defaults (weights from a PVC)": {},
    "api key, one replica, two GPUs": {
        "translation_service_api_key": "s3cret", "translation_service_replicas": 1,
        "translation_service_gpus_per_replica": 2, "translation_service_runtime_class": ""},
    "host path, fp8, mirror": {"translation_service_model_source": "host_path", "translation_service_model_host_path": "/srv/models",
                               "translation_service_extra_args": ["--kv-cache-dtype", "fp8"], "translation_service_max_model_len": 4096,
                               "translation_service_image_registry": "mirror.example.internal:5000",
                               "translation_service_image_pull_secrets": [{"name": "mirror-pull"}]},
}


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_core_objects_are_valid_for_the_pinned_kubernetes(variant):
    for obj in render("workload.yml.j2", **VARIANTS[variant]):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_defaults_mount_the_claim_and_pass_tencents_serving_arguments():
    objs = render("workload.yml.j2")
    (deploy,) = kind(objs, "Deployment")
    spec = deploy["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    model = next(v for v in spec["volumes"] if v["name"] == "model")
    assert model["persistentVolumeClaim"] == {"claimName": "hy-mt-weights", "readOnly": True}
    assert container["image"] == "docker.io/vllm/vllm-openai:v0.33.0"
    args = container["args"]
    assert dict(zip(args[::2], args[1::2])) == {
        "--model": "/models/HY-MT1.5-1.8B", "--served-model-name": "hy-mt1.5-1.8b", "--host": "0.0.0.0",
        "--port": "8000", "--tensor-parallel-size": "1", "--dtype": "bfloat16", "--gpu-memory-utilization": "0.92"}
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert all(e["name"] != "VLLM_API_KEY" for e in container["env"])
    # 900 s of startup at one probe every 10 s.
    assert container["startupProbe"]["failureThreshold"] == 90
    assert len(kind(objs, "PodDisruptionBudget")) == 1


def test_api_key_comes_from_the_secret_and_one_replica_has_no_budget():
    objs = render("workload.yml.j2", **VARIANTS["api key, one replica, two GPUs"])
    (deploy,) = kind(objs, "Deployment")
    spec = deploy["spec"]["template"]["spec"]
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "hy-mt-api-key", "key": "api-key"}
    assert "s3cret" not in yaml.safe_dump(objs)
    assert "runtimeClassName" not in spec
    assert spec["containers"][0]["args"][spec["containers"][0]["args"].index("--tensor-parallel-size") + 1] == "2"
    assert kind(objs, "PodDisruptionBudget") == []


def test_extra_arguments_follow_the_standard_ones():
    (deploy,) = kind(render("workload.yml.j2", **VARIANTS["host path, fp8, mirror"]), "Deployment")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-4:] == ["--max-model-len", "4096", "--kv-cache-dtype", "fp8"]
    assert container["image"].startswith("mirror.example.internal:5000/vllm/vllm-openai:")


def test_policy_without_listed_clients_admits_every_meshed_identity():
    objs = render("policy.yml.j2")
    assert sorted(o["kind"] for o in objs) == sorted(
        ["Server", "HTTPRoute", "HTTPRoute", "MeshTLSAuthentication", "AuthorizationPolicy", "NetworkAuthentication",
         "AuthorizationPolicy"])
    (mtls,) = kind(objs, "MeshTLSAuthentication")
    assert mtls["spec"] == {"identities": ["*"]}
    authz = {a["spec"]["targetRef"]["name"]: a["spec"]["requiredAuthenticationRefs"][0]["kind"]
             for a in kind(objs, "AuthorizationPolicy")}
    assert authz == {"hy-mt-api": "MeshTLSAuthentication", "hy-mt-probes": "NetworkAuthentication"}
