# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the Linkerd install: certificates into pre-rendered manifests, Helm values, restart
patches after a trust-bundle change; documented in linkerd_identity_inject.yml,
linkerd_helm_values.yml and linkerd_restart_patches.yml."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_manifests, linkerd_values


def linkerd_identity_inject(docs, material, namespace="linkerd"):
    if not isinstance(material, dict):
        raise AnsibleFilterError("linkerd_identity_inject expects the linkerd_identity_material dictionary")
    try:
        return linkerd_manifests.inject_identity(
            list(docs or []),
            material.get("trust_anchors_pem"),
            material.get("issuer_crt_pem"),
            material.get("issuer_key_pem"),
            material.get("issuer_scheme", "linkerd.io/tls"),
            namespace,
        )
    except linkerd_manifests.ManifestError as exc:
        # The message names the problem only; it never echoes certificate or key text.
        raise AnsibleFilterError("linkerd_identity_inject: %s" % exc)


def linkerd_helm_values(material, ha=False, image_registry="", proxy_resources=None,
                        default_inbound_policy="all-unauthenticated", license_key="", extra=None):
    if not isinstance(material, dict) or "trust_anchors_pem" not in material:
        raise AnsibleFilterError("linkerd_helm_values expects the linkerd_identity_material dictionary")
    try:
        return linkerd_values.control_plane_values(
            material, ha, image_registry, proxy_resources, default_inbound_policy, license_key, extra)
    except (KeyError, ValueError) as exc:
        raise AnsibleFilterError("linkerd_helm_values: %s" % exc)


def linkerd_restart_patches(workloads, namespaces, annotation, digest):
    if not isinstance(workloads, list):
        raise AnsibleFilterError("linkerd_restart_patches expects a list of workload objects")
    return linkerd_manifests.restart_patches(workloads, list(namespaces or []), annotation, digest)


class FilterModule:
    def filters(self):
        return {
            "linkerd_identity_inject": linkerd_identity_inject,
            "linkerd_helm_values": linkerd_helm_values,
            "linkerd_restart_patches": linkerd_restart_patches,
        }
