#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: linkerd_check
short_description: Health gate for a Linkerd installation, through the Kubernetes API
version_added: 0.1.0
description:
  - Checks, through the Kubernetes API, that the Linkerd CRDs exist and are established, that the
    control-plane Deployments are available, that the proxy injector and policy validator webhook
    configurations carry a valid caBundle, that the trust bundle parses, that the issuer chains to
    an anchor of the bundle, and how many days anchor and issuer have left.
  - Optionally checks the data plane of namespaces, every running pod having a ready
    C(linkerd-proxy) whose version matches the control plane.
  - Optionally checks the linkerd-viz extension (O(viz_namespace)) - its Deployments available, the
    tap injector webhook configuration with a valid caBundle, and a warning when its version is not
    the control plane's.
  - When the C(linkerd) CLI is found (see O(cli)) its C(linkerd check -o json) results are added.
  - Fails with one message naming every failed check and its hint; warnings do not fail.
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  namespace:
    description: Namespace of the Linkerd control plane.
    type: str
    default: linkerd
  crds:
    description: CRDs that must exist and be established. The default is Linkerd 2.20's set.
    type: list
    elements: str
  deployments:
    description: Control-plane Deployments that must be available.
    type: list
    elements: str
    default: [linkerd-destination, linkerd-identity, linkerd-proxy-injector]
  data_plane_namespaces:
    description: Namespaces whose pods must all carry a ready proxy of the control plane's version.
    type: list
    elements: str
    default: []
  viz_namespace:
    description: Namespace of the linkerd-viz extension to check; not set, linkerd-viz is not checked.
    type: str
  viz_deployments:
    description:
      - linkerd-viz Deployments that must be available in O(viz_namespace). Leave out
        V(prometheus) when linkerd-viz uses an external Prometheus.
    type: list
    elements: str
    default: [metrics-api, prometheus, tap, tap-injector, web]
  warn_days:
    description: Warn when a trust anchor or the issuer has fewer days left; expired certificates fail.
    type: int
    default: 60
  cli:
    description:
      - Whether to add C(linkerd check -o json) results. V(auto) runs it when O(cli_path) or
        C(linkerd) on E(PATH) exists and a kubeconfig file is given; V(never) never does.
    type: str
    choices: [auto, never]
    default: auto
  cli_path:
    description: Path of the C(linkerd) CLI; default is to search E(PATH).
    type: path
extends_documentation_fragment:
  - hymt.gpu_mesh.k8s_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - kubernetes (Python library)
  - cryptography
notes:
  - The issuer Secret is read for its certificate only; its private key is dropped at once and
    never returned.
  - API calls per run - one list each of CRDs, Deployments, mutating and validating webhook
    configurations, one read each of the trust-roots ConfigMap and the issuer Secret, one pod list
    per O(data_plane_namespaces) entry, and one Deployment list of O(viz_namespace) when set.
seealso:
  - module: hymt.gpu_mesh.linkerd_identity_plan
"""

EXAMPLES = r"""
- name: Gate on a healthy Linkerd control plane
  hymt.gpu_mesh.linkerd_check:
    kubeconfig: "{{ hymt_kubeconfig }}"
    data_plane_namespaces: [hymt-translation]
  delegate_to: localhost

- name: Gate on Linkerd and its linkerd-viz extension, which uses an external Prometheus
  hymt.gpu_mesh.linkerd_check:
    kubeconfig: "{{ hymt_kubeconfig }}"
    viz_namespace: linkerd-viz
    viz_deployments: [metrics-api, tap, tap-injector, web]
  delegate_to: localhost
"""

RETURN = r"""
results:
  description: Every check, in order, with its status (V(ok), V(warning) or V(error)) and a hint.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: deployment linkerd-identity, status: ok, hint: "", replicas: 1}
    - {name: issuer expiry, status: warning, hint: the issuer certificate expires in 42 days; renew it}
summary:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {ok: 17, warning: 1, error: 0}
control_plane_version:
  description: Version label of the linkerd-identity Deployment.
  returned: always
  type: str
  sample: edge-26.8.3
trust_anchors:
  description: Public facts of each anchor of the trust bundle.
  returned: always
  type: list
  elements: dict
issuer:
  description: Public facts of the issuer certificate (no key material).
  returned: always
  type: dict
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import k8s_common
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_certs
from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_health as health


def argspec():
    spec = dict(k8s_common.AUTH_ARG_SPEC)
    spec.update(
        namespace=dict(type="str", default="linkerd"),
        crds=dict(type="list", elements="str"),
        deployments=dict(type="list", elements="str", default=list(health.DEFAULT_DEPLOYMENTS)),
        data_plane_namespaces=dict(type="list", elements="str", default=[]),
        viz_namespace=dict(type="str"),
        viz_deployments=dict(type="list", elements="str", default=list(health.DEFAULT_VIZ_DEPLOYMENTS)),
        warn_days=dict(type="int", default=60),
        cli=dict(type="str", default="auto", choices=["auto", "never"]),
        cli_path=dict(type="path"),
    )
    return spec


def cli_results(module):
    params = module.params
    binary = params["cli_path"] or module.get_bin_path("linkerd")
    if params["cli"] == "never" or not binary or not os.path.exists(binary):
        return []
    if isinstance(params["kubeconfig"], dict):
        module.warn("linkerd check was not run: the CLI needs kubeconfig as a file path")
        return []
    rc, out, err = module.run_command(health.cli_command(binary, params["namespace"], params["kubeconfig"], params["context"]))
    try:
        return health.parse_cli_json(out)
    except ValueError:
        return [health.result("cli: linkerd check", health.ERROR, "rc=%d, unreadable output: %s" % (rc, (err or out)[:500]))]


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if not k8s_common.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    if not linkerd_certs.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    try:
        client = k8s_common.api_client(params)
        snapshot = health.gather(client, params["namespace"], params["data_plane_namespaces"], params["viz_namespace"])
    except k8s_common.K8sConnectionError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # API errors, refused connections, TLS failures: many types
        if isinstance(exc, k8s_common.ApiException) and getattr(exc, "status", None):
            msg = "Failed to read Linkerd objects from the Kubernetes API: %s %s" % (exc.status, exc.reason)
        else:
            msg = "Failed to reach the Kubernetes API: %s" % exc
        module.fail_json(msg=msg, exception=traceback.format_exc())
    results, facts = health.evaluate(
        snapshot,
        crds=params["crds"] if params["crds"] is not None else health.DEFAULT_CRDS,
        deployments=params["deployments"],
        warn_days=params["warn_days"],
        viz_deployments=params["viz_deployments"],
    )
    results += cli_results(module)
    summary = {status: sum(1 for r in results if r["status"] == status) for status in (health.OK, health.WARNING, health.ERROR)}
    for entry in results:
        if entry["status"] == health.WARNING:
            module.warn("%s: %s" % (entry["name"], entry["hint"]))
    output = dict(
        changed=False,
        results=results,
        summary=summary,
        control_plane_version=facts["control_plane_version"],
        trust_anchors=facts["trust_anchors"],
        issuer=facts["issuer"],
    )
    failure = health.summarize(results)
    if failure:
        module.fail_json(msg=failure, **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
