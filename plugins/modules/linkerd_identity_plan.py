#!/usr/bin/python
# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: linkerd_identity_plan
short_description: Decide what a run must do to Linkerd's identity certificates
version_added: 0.1.0
description:
  - Reads the Linkerd trust anchor, the next trust anchor (during a rotation) and the identity
    issuer certificate from a directory, or checks certificates handed in as PEM text, and
    returns what this run has to create, renew, promote or replace.
  - Only certificates are read, never private keys; nothing is written. The
    M(community.crypto.x509_certificate) and M(community.crypto.openssl_privatekey) modules do
    the work in the role C(hymt.gpu_mesh.linkerd_identity).
  - Trust-anchor rotation follows Linkerd's documented order, one step per run, each safe to
    repeat, see O(step).
author:
  - hymt.gpu_mesh contributors (!UNKNOWN)
options:
  directory:
    description:
      - Directory on the host running the module holding C(ca.crt), C(ca-next.crt) and
        C(issuer.crt) (and their keys, which are not read). Missing files are planned for creation.
      - Mutually exclusive with O(trust_anchors_pem).
    type: path
  trust_anchors_pem:
    description:
      - A trust bundle given as PEM text (one or more anchors) instead of O(directory), for
        certificates managed outside this collection. They are only checked.
    type: str
  issuer_crt_pem:
    description:
      - The issuer certificate as PEM text, checked against O(trust_anchors_pem). Leave it unset
        when cert-manager manages the issuer.
    type: str
  step:
    description:
      - The trust-anchor rotation step this run performs (with O(directory) only).
      - V(none) keeps the current state (including a rotation in progress) and renews the issuer
        when due.
      - V(bundle) creates the next anchor; both anchors are trusted.
      - V(reissue) signs the issuer with the next anchor.
      - V(finish) promotes the next anchor and drops the old one from the bundle.
      - V(replace) replaces an already expired anchor and its issuer at once; it does nothing to a
        valid anchor.
    type: str
    choices: [none, bundle, reissue, finish, replace]
    default: none
  renew_before_days:
    description:
      - Renew the issuer when fewer days than this remain; also the threshold for warnings.
    type: int
    default: 60
extends_documentation_fragment:
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
  - cryptography
seealso:
  - module: hymt.gpu_mesh.linkerd_check
  - name: Linkerd, manually rotating the control plane TLS credentials
    description: The documented order of a trust-anchor rotation.
    link: https://linkerd.io/2/tasks/manually-rotating-control-plane-tls-credentials/
"""

EXAMPLES = r"""
- name: Plan the certificates of this run
  hymt.gpu_mesh.linkerd_identity_plan:
    directory: /etc/hymt/linkerd-identity
    step: none
    renew_before_days: 60
  register: plan

- name: Check certificates kept in Ansible Vault
  hymt.gpu_mesh.linkerd_identity_plan:
    trust_anchors_pem: "{{ vault_linkerd_trust_anchors }}"
    issuer_crt_pem: "{{ vault_linkerd_issuer_crt }}"
"""

RETURN = r"""
plan:
  description: What the run must do.
  returned: success
  type: dict
  contains:
    create_anchor:
      description: The trust anchor must be created (first run, or after V(replace)).
      type: bool
    replace_anchor:
      description: The expired trust anchor (and any next anchor) must be moved aside first.
      type: bool
    create_next_anchor:
      description: The next trust anchor must be created (step V(bundle)).
      type: bool
    promote_next_anchor:
      description: The next anchor becomes the anchor before anything is signed (step V(finish)).
      type: bool
    issue_issuer:
      description: A new issuer key and certificate must be made.
      type: bool
    issuer_signer:
      description: Which anchor signs the issuer, V(anchor) or V(next_anchor) (file names after any promotion).
      type: str
    issuer_reason:
      description: Why the issuer is issued (V(missing), V(expired), V(renewal_due), V(wrong_signer), V(anchor_replaced)), or null.
      type: str
    bundle:
      description: The anchors trusted after the run, in bundle order.
      type: list
      elements: str
  sample:
    create_anchor: false
    replace_anchor: false
    create_next_anchor: false
    promote_next_anchor: false
    issue_issuer: true
    issuer_signer: anchor
    issuer_reason: renewal_due
    bundle: [anchor]
certificates:
  description: Public facts (subject, issuer, not_after, days_left, expired, is_ca, sha256) of each certificate found.
  returned: success
  type: dict
  sample:
    issuer:
      subject: CN=identity.linkerd.cluster.local
      issuer: CN=root.linkerd.cluster.local
      not_after: "2027-11-25T16:00:00Z"
      days_left: 364
      expired: false
      is_ca: true
      sha256: 3f1c0e...
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_certs as certs

FILES = {"anchor": "ca.crt", "next_anchor": "ca-next.crt", "issuer": "issuer.crt"}


def argspec():
    return dict(
        directory=dict(type="path"),
        trust_anchors_pem=dict(type="str"),
        issuer_crt_pem=dict(type="str"),
        step=dict(type="str", default="none", choices=list(certs.ROTATION_STEPS)),
        renew_before_days=dict(type="int", default=60),
    )


def read_dir(directory):
    found = {}
    for name, filename in FILES.items():
        path = os.path.join(directory, filename)
        if os.path.exists(path):
            with open(path) as handle:
                found[name] = certs.load_certs(handle.read(), path)[0]
    return found


def main():
    module = AnsibleModule(
        argument_spec=argspec(),
        mutually_exclusive=[("directory", "trust_anchors_pem")],
        required_one_of=[("directory", "trust_anchors_pem")],
        supports_check_mode=True,
    )
    if not certs.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    params = module.params
    try:
        if params["directory"]:
            found = read_dir(params["directory"])
            plan = certs.plan(
                anchor=found.get("anchor"),
                next_anchor=found.get("next_anchor"),
                issuer=found.get("issuer"),
                step=params["step"],
                renew_before_days=params["renew_before_days"],
            )
            warnings = plan.pop("warnings")
        else:
            if params["step"] != "none":
                module.fail_json(msg="step=%s needs directory: provided certificates are only checked" % params["step"])
            anchors = certs.load_certs(params["trust_anchors_pem"], "trust_anchors_pem")
            issuer = certs.load_certs(params["issuer_crt_pem"], "issuer_crt_pem")[0] if params["issuer_crt_pem"] else None
            warnings = certs.review_provided(anchors, issuer, params["renew_before_days"])
            found = {"anchor": anchors[0]}
            if issuer is not None:
                found["issuer"] = issuer
            plan = None
    except certs.CertError as exc:
        module.fail_json(msg="Failed to plan the Linkerd identity certificates: %s" % exc)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(
        changed=False,
        plan=plan,
        certificates={name: certs.describe(cert) for name, cert in found.items()},
    )


if __name__ == "__main__":
    main()
