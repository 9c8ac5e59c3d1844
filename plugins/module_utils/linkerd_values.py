# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm values of the linkerd-control-plane chart (Linkerd 2.20 / edge-26.x) from role variables.

Value names are the chart's (charts/linkerd-control-plane/values.yaml of linkerd/linkerd2 at
edge-26.8.3). HA follows the chart's values-ha.yaml, restated here because kubernetes.core.helm
cannot read a values file from inside a chart archive it has not unpacked yet.
"""

from __future__ import annotations

import copy

DEFAULT_INBOUND_POLICIES = (
    "all-unauthenticated", "all-authenticated", "cluster-unauthenticated", "cluster-authenticated", "deny", "audit",
)

# values-ha.yaml of the chart, minus proxy.resources (the role's linkerd_proxy_resources decide).
HA_VALUES = {
    "enablePodDisruptionBudget": True,
    "controller": {"podDisruptionBudget": {"maxUnavailable": 1}},
    "deploymentStrategy": {"rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
    "enablePodAntiAffinity": True,
    "controllerReplicas": 3,
    "controllerResources": {"cpu": {"limit": "", "request": "100m"}, "memory": {"limit": "250Mi", "request": "50Mi"}},
    "destinationResources": {"cpu": {"limit": "", "request": "100m"}, "memory": {"limit": "250Mi", "request": "50Mi"}},
    "identityResources": {"cpu": {"limit": "", "request": "100m"}, "memory": {"limit": "250Mi", "request": "10Mi"}},
    "heartbeatResources": {"cpu": {"limit": "", "request": "100m"}, "memory": {"limit": "250Mi", "request": "50Mi"}},
    "proxyInjectorResources": {"cpu": {"limit": "", "request": "100m"}, "memory": {"limit": "250Mi", "request": "50Mi"}},
    "spValidatorResources": {"cpu": {"limit": "", "request": "100m"}, "memory": {"limit": "250Mi", "request": "50Mi"}},
    "webhookFailurePolicy": "Fail",
    "highAvailability": True,
}

# Image values of the chart, and the image name each one gets under a registry mirror.
IMAGE_VALUES = (
    (("controllerImage",), "controller"),
    (("proxy", "image", "name"), "proxy"),
    (("debugContainer", "image", "name"), "debug"),
)


def merge(base, extra):
    """Deep merge of dictionaries; ``extra`` wins, lists are replaced."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set(tree, path, value):
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def control_plane_values(material, ha=False, image_registry="", proxy_resources=None,
                         default_inbound_policy="all-unauthenticated", license_key="", extra=None):
    """Values for linkerd-control-plane; ``material`` is the linkerd_identity role's fact."""
    if default_inbound_policy not in DEFAULT_INBOUND_POLICIES:
        raise ValueError("unknown default inbound policy %r; expected one of %s"
                         % (default_inbound_policy, ", ".join(DEFAULT_INBOUND_POLICIES)))
    scheme = material.get("issuer_scheme", "linkerd.io/tls")
    values = merge(HA_VALUES, {}) if ha else {}
    values = merge(values, {
        "identityTrustAnchorsPEM": material["trust_anchors_pem"].strip() + "\n",
        "identityTrustDomain": material.get("trust_domain") or "cluster.local",
        "identity": {"issuer": {"scheme": scheme}},
        "proxy": {"defaultInboundPolicy": default_inbound_policy},
    })
    if proxy_resources:
        values["proxy"]["resources"] = copy.deepcopy(proxy_resources)
    if scheme == "linkerd.io/tls":
        values["identity"]["issuer"]["tls"] = {
            "crtPEM": material["issuer_crt_pem"].strip() + "\n",
            "keyPEM": material["issuer_key_pem"].strip() + "\n",
        }
    if image_registry:
        prefix = image_registry.rstrip("/")
        for path, name in IMAGE_VALUES:
            _set(values, path, "%s/%s" % (prefix, name))
    if license_key:
        # Buoyant Enterprise for Linkerd reads its license from this value.
        values["license"] = license_key
    return merge(values, extra)
