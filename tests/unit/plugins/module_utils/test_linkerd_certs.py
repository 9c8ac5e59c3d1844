# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate decisions of linkerd_certs on real certificates (linkerd_certgen); chains the code
accepts or refuses are also checked with `openssl verify`."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from linkerd_certgen import DAY, NOW, issuer_of, make, pem

from ansible_collections.hymt.gpu_mesh.plugins.module_utils import linkerd_certs as lc


@pytest.fixture(scope="module")
def anchor():
    return make("root.linkerd.cluster.local", days=3650, pathlen=1)


@pytest.fixture(scope="module")
def next_anchor():
    return make("root.linkerd.cluster.local", days=3650, pathlen=1)


def openssl_verifies(tmp_path, anchors, issuer):
    (tmp_path / "bundle.pem").write_text(pem(*anchors))
    (tmp_path / "issuer.pem").write_text(pem(issuer))
    proc = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "bundle.pem"), str(tmp_path / "issuer.pem")],
        capture_output=True, text=True, check=False,
    )
    return proc.returncode == 0


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")


# Parsing ------------------------------------------------------------------------------------

def test_load_certs_reads_every_certificate_of_a_bundle(anchor, next_anchor):
    loaded = lc.load_certs("junk before\n" + pem(anchor[0], next_anchor[0]), "bundle")
    assert [c.serial_number for c in loaded] == [anchor[0].serial_number, next_anchor[0].serial_number]


@pytest.mark.parametrize("text", ["", "not a certificate", None])
def test_load_certs_refuses_text_without_certificate(text):
    with pytest.raises(lc.CertError, match="contains no PEM certificate"):
        lc.load_certs(text, "ca-bundle.crt")


def test_load_certs_names_the_broken_certificate(anchor):
    broken = pem(anchor[0]).replace("MII", "XYZ", 1)
    with pytest.raises(lc.CertError, match="certificate 1 of ca-bundle.crt does not parse"):
        lc.load_certs(broken, "ca-bundle.crt")


def test_describe_counts_days_and_expiry(anchor):
    short = issuer_of(anchor, start=-10, days=40)[0]
    facts = lc.describe(short, NOW)
    assert facts["days_left"] == 30
    assert facts["expired"] is False
    assert facts["is_ca"] is True
    assert facts["subject"] == "CN=identity.linkerd.cluster.local"
    assert lc.describe(issuer_of(anchor, start=-400, days=365)[0], NOW)["expired"] is True


# Chains -------------------------------------------------------------------------------------

@needs_openssl
def test_chain_agrees_with_openssl(tmp_path, anchor, next_anchor):
    issuer = issuer_of(anchor)[0]
    assert lc.signed_by(issuer, anchor[0])
    assert openssl_verifies(tmp_path, [anchor[0]], issuer)
    # Same subject name, different key: the signature decides, as for openssl.
    assert not lc.signed_by(issuer, next_anchor[0])
    assert not openssl_verifies(tmp_path, [next_anchor[0]], issuer)
    assert lc.chain_index(issuer, [next_anchor[0], anchor[0]]) == 1
    assert openssl_verifies(tmp_path, [next_anchor[0], anchor[0]], issuer)


def test_chain_refuses_an_issuer_from_another_name(anchor):
    other_root = make("root.other.example")
    issuer = issuer_of(other_root)[0]
    assert lc.chain_index(issuer, [anchor[0]]) is None


# Plans --------------------------------------------------------------------------------------

def test_first_run_creates_anchor_and_issuer():
    plan = lc.plan(now=NOW)
    assert plan["create_anchor"] and plan["issue_issuer"]
    assert plan["issuer_reason"] == "missing"
    assert plan["bundle"] == ["anchor"]


def test_rerun_with_valid_certificates_does_nothing(anchor):
    plan = lc.plan(anchor=anchor[0], issuer=issuer_of(anchor)[0], now=NOW)
    assert not any(plan[k] for k in ("create_anchor", "create_next_anchor", "promote_next_anchor", "issue_issuer"))
    assert plan["warnings"] == []


@pytest.mark.parametrize(
    "start, days, renew_before, reason",
    [
        (-300, 365, 60, None),            # 65 days left: keep
        (-310, 365, 60, "renewal_due"),   # 55 days left
        (-310, 365, 30, None),            # same issuer, shorter renewal window
        (-400, 365, 60, "expired"),       # expired 35 days ago: recovered by reissuing
    ],
)
def test_issuer_renewal_window(anchor, start, days, renew_before, reason):
    issuer = issuer_of(anchor, start=start, days=days)[0]
    plan = lc.plan(anchor=anchor[0], issuer=issuer, renew_before_days=renew_before, now=NOW)
    assert plan["issuer_reason"] == reason
    assert plan["issue_issuer"] is (reason is not None)
    assert plan["issuer_signer"] == "anchor"


def test_issuer_signed_by_a_foreign_anchor_is_reissued(anchor):
    foreign = issuer_of(make("root.linkerd.cluster.local"))[0]
    plan = lc.plan(anchor=anchor[0], issuer=foreign, now=NOW)
    assert plan["issuer_reason"] == "wrong_signer"


def test_rotation_three_steps(anchor, next_anchor):
    issuer = issuer_of(anchor)[0]
    # Step 1: a new anchor is made, both are trusted, the issuer stays.
    step1 = lc.plan(anchor=anchor[0], issuer=issuer, step="bundle", now=NOW)
    assert step1["create_next_anchor"] and not step1["issue_issuer"]
    assert step1["bundle"] == ["anchor", "next_anchor"]
    # Rerunning step 1 once the next anchor exists changes nothing.
    again = lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=issuer, step="bundle", now=NOW)
    assert not again["create_next_anchor"] and not again["issue_issuer"]
    # Step 2: the issuer is signed by the next anchor.
    step2 = lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=issuer, step="reissue", now=NOW)
    assert step2["issue_issuer"] and step2["issuer_signer"] == "next_anchor"
    assert step2["issuer_reason"] == "wrong_signer"
    assert step2["bundle"] == ["anchor", "next_anchor"]
    new_issuer = issuer_of(next_anchor)[0]
    assert not lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=new_issuer,
                       step="reissue", now=NOW)["issue_issuer"]
    # Between steps, 'none' keeps the rotation state and does not sign back with the old anchor.
    between = lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=new_issuer, now=NOW)
    assert not between["issue_issuer"] and between["issuer_signer"] == "next_anchor"
    assert between["bundle"] == ["anchor", "next_anchor"]
    # Step 3: the next anchor replaces the old one, alone in the bundle.
    step3 = lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=new_issuer, step="finish", now=NOW)
    assert step3["promote_next_anchor"] and not step3["issue_issuer"]
    assert step3["bundle"] == ["anchor"]
    # Rerunning step 3 after the promotion (next anchor files gone) changes nothing.
    done = lc.plan(anchor=next_anchor[0], issuer=new_issuer, step="finish", now=NOW)
    assert not done["promote_next_anchor"] and not done["issue_issuer"]


def test_steps_out_of_order_are_refused(anchor, next_anchor):
    issuer = issuer_of(anchor)[0]
    with pytest.raises(lc.CertError, match="run the step 'bundle' first"):
        lc.plan(anchor=anchor[0], issuer=issuer, step="reissue", now=NOW)
    with pytest.raises(lc.CertError, match="run the step 'reissue' first"):
        lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=issuer, step="finish", now=NOW)


def test_renewal_during_rotation_signs_with_the_anchor_that_signed(anchor, next_anchor):
    old_due = issuer_of(anchor, start=-350, days=365)[0]
    plan = lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=old_due, now=NOW)
    assert plan["issuer_reason"] == "renewal_due" and plan["issuer_signer"] == "anchor"
    new_due = issuer_of(next_anchor, start=-350, days=365)[0]
    plan = lc.plan(anchor=anchor[0], next_anchor=next_anchor[0], issuer=new_due, now=NOW)
    assert plan["issuer_reason"] == "renewal_due" and plan["issuer_signer"] == "next_anchor"


def test_expired_anchor_requires_replace_then_replaces_once():
    old = make("root.linkerd.cluster.local", start=-400, days=365)
    issuer = issuer_of(old, start=-400, days=365)[0]
    with pytest.raises(lc.CertError, match="rotation step 'replace'"):
        lc.plan(anchor=old[0], issuer=issuer, now=NOW)
    plan = lc.plan(anchor=old[0], issuer=issuer, step="replace", now=NOW)
    assert plan["replace_anchor"] and plan["create_anchor"] and plan["issue_issuer"]
    assert plan["bundle"] == ["anchor"]


def test_replace_leaves_a_valid_anchor_alone(anchor):
    plan = lc.plan(anchor=anchor[0], issuer=issuer_of(anchor)[0], step="replace", now=NOW)
    assert not plan["replace_anchor"] and not plan["issue_issuer"]
    assert "nothing was replaced" in plan["warnings"][0]


def test_anchor_near_expiry_warns():
    short = make("root.linkerd.cluster.local", start=-1, days=30)
    plan = lc.plan(anchor=short[0], issuer=issuer_of(short, days=20)[0], renew_before_days=40, now=NOW)
    assert any("rotate it" in w for w in plan["warnings"])


def test_orphan_next_anchor_is_refused(next_anchor):
    with pytest.raises(lc.CertError, match="next trust anchor exists without a current one"):
        lc.plan(next_anchor=next_anchor[0], now=NOW)


def test_unknown_step_is_refused():
    with pytest.raises(lc.CertError, match="unknown rotation step"):
        lc.plan(step="rotate", now=NOW)


# Provided certificates ----------------------------------------------------------------------

def test_provided_valid_chain_passes(anchor, next_anchor):
    assert lc.review_provided([next_anchor[0], anchor[0]], issuer_of(anchor)[0], 60, NOW) == []


def test_provided_expired_issuer_is_refused_with_a_hint(anchor):
    with pytest.raises(lc.CertError, match="expired on 2026-10-21; issue a new one"):
        lc.review_provided([anchor[0]], issuer_of(anchor, start=-400, days=365)[0], 60, NOW)


def test_provided_issuer_outside_bundle_is_refused(anchor, next_anchor):
    with pytest.raises(lc.CertError, match="not signed by any trust anchor"):
        lc.review_provided([anchor[0]], issuer_of(next_anchor)[0], 60, NOW)


def test_provided_non_ca_issuer_is_refused(anchor):
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(anchor[0].subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .sign(anchor[1], hashes.SHA256())
    )
    with pytest.raises(lc.CertError, match="not a CA certificate"):
        lc.review_provided([anchor[0]], leaf, 60, NOW)


def test_provided_issuer_due_for_renewal_warns(anchor):
    warnings = lc.review_provided([anchor[0]], issuer_of(anchor, start=-330, days=365)[0], 60, NOW)
    assert warnings == ["the provided issuer certificate expires in 35 days; renew it"]


def test_bundle_digest_ignores_surrounding_whitespace(anchor):
    text = pem(anchor[0])
    assert lc.bundle_sha256("\n" + text + "\n\n") == lc.bundle_sha256(text)
    assert len(lc.bundle_sha256(text)) == 64
