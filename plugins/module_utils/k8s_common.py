# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes connection options shared by this collection's Kubernetes-facing modules.

The option names (and K8S_AUTH_* environment variables) are kubernetes.core's, so that one
``module_defaults`` entry for ``group/hymt.gpu_mesh.k8s`` or an AWX Kubernetes credential serves
both collections. Documented by the doc fragment ``hymt.gpu_mesh.k8s_auth``.
"""

from __future__ import annotations

import json
import os

from ansible.module_utils.basic import env_fallback

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
except ImportError:
    k8s_client = k8s_config = None
    ApiException = ConfigException = Exception
    HAS_KUBERNETES = False


# ApiException is re-exported for the modules, which catch it.
__all__ = ["AUTH_ARG_SPEC", "ApiException", "HAS_KUBERNETES", "K8sConnectionError", "api_client", "build_configuration",
           "read_json"]


def _env(name):
    return {"fallback": (env_fallback, ["K8S_AUTH_" + name])}


AUTH_ARG_SPEC = {
    "kubeconfig": dict(type="raw", no_log=True, **_env("KUBECONFIG")),
    "context": dict(type="str", **_env("CONTEXT")),
    "host": dict(type="str", **_env("HOST")),
    "api_key": dict(type="str", no_log=True, **_env("API_KEY")),
    "username": dict(type="str", **_env("USERNAME")),
    "password": dict(type="str", no_log=True, **_env("PASSWORD")),
    "validate_certs": dict(type="bool", aliases=["verify_ssl"], **_env("VERIFY_SSL")),
    "ca_cert": dict(type="path", aliases=["ssl_ca_cert"], **_env("SSL_CA_CERT")),
    "client_cert": dict(type="path", aliases=["cert_file"], **_env("CERT_FILE")),
    "client_key": dict(type="path", aliases=["key_file"], **_env("KEY_FILE")),
    "proxy": dict(type="str", **_env("PROXY")),
    "impersonate_user": dict(type="str", **_env("IMPERSONATE_USER")),
}


class K8sConnectionError(Exception):
    """The cluster could not be reached or the connection options are unusable."""


def _default_kubeconfig():
    return os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])


def build_configuration(params):
    """A kubernetes.client.Configuration from the AUTH_ARG_SPEC options in ``params``."""
    conf = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    try:
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context, client_configuration=conf)
        elif kubeconfig:
            k8s_config.load_kube_config(config_file=os.path.expanduser(kubeconfig), context=context,
                                        client_configuration=conf)
        elif not params.get("host"):
            if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.path.exists(_default_kubeconfig()):
                k8s_config.load_incluster_config(client_configuration=conf)
            else:
                k8s_config.load_kube_config(config_file=_default_kubeconfig(), context=context,
                                            client_configuration=conf)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise K8sConnectionError("Failed to load the Kubernetes configuration: %s" % exc)
    if params.get("host"):
        conf.host = params["host"]
    if params.get("api_key"):
        # "authorization" is the key every kubernetes client release reads (older ones ignore "BearerToken").
        conf.api_key = {"authorization": "Bearer " + params["api_key"]}
        # The kubeconfig loader's hook would put the kubeconfig's token back before each request.
        conf.refresh_api_key_hook = None
    if params.get("username"):
        conf.username = params["username"]
        conf.password = params.get("password")
    if params.get("ca_cert"):
        conf.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        conf.cert_file = params["client_cert"]
    if params.get("client_key"):
        conf.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        conf.verify_ssl = params["validate_certs"]
    if params.get("proxy"):
        conf.proxy = params["proxy"]
    return conf


def api_client(params):
    """An ApiClient for the options in ``params``, with the impersonation header when asked."""
    if not HAS_KUBERNETES:
        raise K8sConnectionError("the kubernetes Python library is required on the control node")
    client = k8s_client.ApiClient(configuration=build_configuration(params))
    if params.get("impersonate_user"):
        client.set_default_header("Impersonate-User", params["impersonate_user"])
    return client


def read_json(call, *args, **kwargs):
    """The API's own JSON (camelCase dictionaries) of a kubernetes client call, or None for 404 (absent)."""
    try:
        return json.loads(call(*args, _preload_content=False, **kwargs).data)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
