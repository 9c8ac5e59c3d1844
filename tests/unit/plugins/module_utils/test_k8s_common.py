# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options of the collection's Kubernetes modules (k8s_common)."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import k8s_common

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "lab",
    "clusters": [
        {"name": "lab", "cluster": {"server": "https://lab.example.internal:6443"}},
        {"name": "prod", "cluster": {"server": "https://prod.example.internal:6443", "insecure-skip-tls-verify": True}},
    ],
    "users": [{"name": "ops", "user": {"token": "token-from-kubeconfig"}}],
    "contexts": [
        {"name": "lab", "context": {"cluster": "lab", "user": "ops"}},
        {"name": "prod", "context": {"cluster": "prod", "user": "ops"}},
    ],
}


def params(**kw):
    base = {name: None for name in k8s_common.AUTH_ARG_SPEC}
    base.update(kw)
    return base


@pytest.fixture
def kubeconfig_file(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    return str(path)


def test_kubeconfig_file_and_current_context(kubeconfig_file):
    conf = k8s_common.build_configuration(params(kubeconfig=kubeconfig_file))
    assert conf.host == "https://lab.example.internal:6443"
    assert conf.auth_settings()["BearerToken"]["value"] == "Bearer token-from-kubeconfig"
    assert conf.verify_ssl is True  # TLS verified unless the kubeconfig or the task says otherwise


def test_context_selects_the_cluster(kubeconfig_file):
    conf = k8s_common.build_configuration(params(kubeconfig=kubeconfig_file, context="prod"))
    assert conf.host == "https://prod.example.internal:6443"
    assert conf.verify_ssl is False


def test_kubeconfig_as_dictionary_and_explicit_overrides(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("unused")
    conf = k8s_common.build_configuration(params(
        kubeconfig=KUBECONFIG, host="https://other.example.internal", api_key="task-token",
        validate_certs=True, ca_cert=str(ca), proxy="http://proxy.example.internal:3128"))
    assert conf.host == "https://other.example.internal"
    assert conf.auth_settings()["BearerToken"]["value"] == "Bearer task-token"
    assert conf.ssl_ca_cert == str(ca)
    assert conf.proxy == "http://proxy.example.internal:3128"


def test_unusable_kubeconfig_is_reported(tmp_path):
    with pytest.raises(k8s_common.K8sConnectionError, match="Failed to load the Kubernetes configuration"):
        k8s_common.build_configuration(params(kubeconfig=str(tmp_path / "absent")))


def test_impersonation_header(kubeconfig_file):
    client = k8s_common.api_client(params(kubeconfig=kubeconfig_file, impersonate_user="system:serviceaccount:ops:deployer"))
    assert client.default_headers["Impersonate-User"] == "system:serviceaccount:ops:deployer"


def test_secrets_are_no_log_and_env_fallbacks_follow_kubernetes_core():
    spec = k8s_common.AUTH_ARG_SPEC
    assert {name for name, opts in spec.items() if opts.get("no_log")} == {"kubeconfig", "api_key", "password"}
    assert spec["kubeconfig"]["fallback"][1] == ["K8S_AUTH_KUBECONFIG"]
    assert spec["validate_certs"]["aliases"] == ["verify_ssl"]


def test_a_task_token_authenticates_against_the_real_api_server(lab_cluster):
    """host + api_key + ca_cert, as AWX's credential injects them (K8S_AUTH_*), with no kubeconfig:
    the upstream API server must see the token (a wrong one gets 401, not an anonymous 403)."""
    from kubernetes import client as k8s  # pylint: disable=import-outside-toplevel

    token = yaml.safe_load(open(lab_cluster.kubeconfig, encoding="utf-8"))["users"][0]["user"]["token"]
    base = {"host": lab_cluster.url, "ca_cert": lab_cluster.ca, "validate_certs": True}
    core = k8s.CoreV1Api(k8s_common.api_client(params(api_key=token, **base)))
    assert "default" in [n.metadata.name for n in core.list_namespace().items]
    with pytest.raises(k8s.ApiException) as refused:
        k8s.CoreV1Api(k8s_common.api_client(params(api_key="not-" + token, **base))).list_namespace()
    assert refused.value.status == 401
