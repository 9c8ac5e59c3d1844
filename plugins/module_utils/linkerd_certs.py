# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linkerd identity certificates: parse, chain, expiry, and what a run must do about them.

Linkerd trusts a bundle of trust anchors (ConfigMap linkerd-identity-trust-roots, key
ca-bundle.crt) and signs every proxy certificate with one issuer (Secret linkerd-identity-issuer)
that must chain to an anchor of that bundle. ``plan()`` turns the certificates found on disk and
the requested rotation step into the actions the linkerd_identity role performs with
community.crypto; ``linkerd_check`` reuses the parsing and chain checks on what the cluster holds.
Only certificates are read here, never private keys.
"""

from __future__ import annotations

import datetime
import hashlib
import re

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa, padding
    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

ROTATION_STEPS = ("none", "bundle", "reissue", "finish", "replace")
PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class CertError(Exception):
    """Certificates that cannot be used as they are; the message says what to do."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def load_certs(pem_text, what):
    """Every certificate of a PEM text, in order; CertError when there is none or one is broken."""
    blocks = PEM_CERT_RE.findall(pem_text or "")
    if not blocks:
        raise CertError("%s contains no PEM certificate" % what)
    certs = []
    for i, block in enumerate(blocks, 1):
        try:
            certs.append(x509.load_pem_x509_certificate(block.encode("ascii")))
        except ValueError as exc:
            raise CertError("certificate %d of %s does not parse: %s" % (i, what, exc))
    return certs


def not_after(cert):
    return cert.not_valid_after_utc


def days_left(cert, now=None):
    """Whole days until notAfter (negative once expired)."""
    return int((not_after(cert) - (now or utcnow())).total_seconds() // 86400)


def is_expired(cert, now=None):
    return not_after(cert) <= (now or utcnow())


def is_ca(cert):
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex()


def signed_by(cert, signer):
    """True when ``signer`` issued ``cert``: names match and the signature verifies."""
    if cert.issuer != signer.subject:
        return False
    key = signer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        else:
            key.verify(cert.signature, cert.tbs_certificate_bytes)
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True


def chain_index(cert, anchors):
    """Index of the first anchor that signed ``cert``, or None."""
    for i, anchor in enumerate(anchors):
        if signed_by(cert, anchor):
            return i
    return None


def bundle_sha256(pem_text):
    """Digest of a trust bundle as the role stamps it on restarted workloads."""
    return hashlib.sha256((pem_text or "").strip().encode("ascii")).hexdigest()


def describe(cert, now=None):
    """Public facts of a certificate, safe to log."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": days_left(cert, now),
        "expired": is_expired(cert, now),
        "is_ca": is_ca(cert),
        "sha256": fingerprint(cert),
    }


def _issuer_reason(issuer, signer, renew_before_days, now):
    """Why the issuer must be (re)issued by ``signer``, or None when it stays."""
    if issuer is None:
        return "missing"
    if not signed_by(issuer, signer):
        return "wrong_signer"
    if is_expired(issuer, now):
        return "expired"
    if days_left(issuer, now) < renew_before_days:
        return "renewal_due"
    return None


def plan(anchor=None, next_anchor=None, issuer=None, step="none", renew_before_days=60, now=None):
    """Decide one run of the certificate lifecycle.

    ``anchor``, ``next_anchor`` and ``issuer`` are parsed certificates or None (not on disk yet).
    Trust-anchor rotation follows Linkerd's documented order, one step per run, each safe to
    rerun: ``bundle`` creates the next anchor and trusts both; ``reissue`` signs the issuer with
    the next anchor; ``finish`` promotes the next anchor and drops the old one. ``replace``
    re-roots at once, only when the current anchor has already expired (nothing to bundle with).
    ``none`` keeps whatever state a rotation left and renews the issuer when due.

    Returns a dict: create_anchor, replace_anchor, create_next_anchor, promote_next_anchor,
    issue_issuer, issuer_signer ("anchor" or "next_anchor", naming the files the role signs
    with), issuer_reason, bundle (anchor names trusted after the run), warnings. Raises CertError
    for a state no step can fix without the user's decision.
    """
    if step not in ROTATION_STEPS:
        raise CertError("unknown rotation step %r; expected one of %s" % (step, ", ".join(ROTATION_STEPS)))
    now = now or utcnow()
    result = {
        "create_anchor": False,
        "replace_anchor": False,
        "create_next_anchor": False,
        "promote_next_anchor": False,
        "issue_issuer": False,
        "issuer_signer": "anchor",
        "issuer_reason": None,
        "bundle": ["anchor"],
        "warnings": [],
    }
    if anchor is None:
        if next_anchor is not None:
            raise CertError(
                "a next trust anchor exists without a current one; restore the current anchor "
                "(ca.crt, ca.key) or remove the next one (ca-next.crt, ca-next.key) to start over"
            )
        # First run: a new anchor and an issuer signed by it.
        result.update(create_anchor=True, issue_issuer=True, issuer_reason="missing")
        return result

    anchor_expired = is_expired(anchor, now)
    if step == "replace":
        if not anchor_expired:
            result["warnings"].append(
                "rotation step 'replace' re-roots only an expired trust anchor; this one is valid for "
                "%d more days, so nothing was replaced (use the steps bundle, reissue, finish)" % days_left(anchor, now)
            )
        else:
            result.update(replace_anchor=True, create_anchor=True, issue_issuer=True, issuer_reason="anchor_replaced")
            return result
    if anchor_expired:
        raise CertError(
            "the trust anchor expired on %s: meshed traffic fails until it is replaced; run once "
            "with the rotation step 'replace' (new anchor and issuer), which restarts meshed workloads"
            % not_after(anchor).strftime("%Y-%m-%d")
        )

    if step == "bundle" and next_anchor is None:
        result["create_next_anchor"] = True
    has_next = next_anchor is not None or result["create_next_anchor"]
    if has_next:
        result["bundle"] = ["anchor", "next_anchor"]

    if step == "reissue":
        if not has_next:
            raise CertError("rotation step 'reissue' needs the next trust anchor; run the step 'bundle' first")
        signer_name, signer = "next_anchor", next_anchor
    elif step == "finish" and next_anchor is not None:
        if issuer is None or not signed_by(issuer, next_anchor):
            raise CertError(
                "rotation step 'finish' drops the old trust anchor, but the issuer is not signed by "
                "the new one yet; run the step 'reissue' first"
            )
        result.update(promote_next_anchor=True, bundle=["anchor"])
        # The role promotes before it signs, so the next anchor's key is then the anchor's files.
        signer_name, signer = "anchor", next_anchor
    elif next_anchor is not None and issuer is not None and signed_by(issuer, next_anchor):
        signer_name, signer = "next_anchor", next_anchor
    else:
        # Also when 'bundle' creates the next anchor in this run: the issuer stays with the old one.
        signer_name, signer = "anchor", anchor

    result["issuer_signer"] = signer_name
    reason = _issuer_reason(issuer, signer, renew_before_days, now)
    result["issuer_reason"] = reason
    result["issue_issuer"] = reason is not None

    if days_left(signer, now) < renew_before_days:
        result["warnings"].append(
            "the trust anchor %s expires in %d days; rotate it (rotation steps bundle, reissue, finish) "
            "before it does" % (signer.subject.rfc4514_string(), days_left(signer, now))
        )
    return result


def review_provided(anchors, issuer, renew_before_days=60, now=None):
    """Check certificates handed in (Ansible Vault, a Secret) that this collection cannot reissue.

    Returns warnings; raises CertError when Linkerd cannot work with them.
    """
    now = now or utcnow()
    warnings = []
    for anchor in anchors:
        if not is_ca(anchor):
            raise CertError("trust anchor %s is not a CA certificate" % anchor.subject.rfc4514_string())
    valid = [a for a in anchors if not is_expired(a, now)]
    if not valid:
        raise CertError("every trust anchor of the bundle has expired; provide a new anchor and issuer")
    if issuer is None:
        return warnings
    if not is_ca(issuer):
        raise CertError("the issuer certificate is not a CA certificate (Linkerd signs proxy certificates with it)")
    index = chain_index(issuer, anchors)
    if index is None:
        raise CertError("the issuer certificate is not signed by any trust anchor of the bundle")
    if is_expired(issuer, now):
        raise CertError(
            "the provided issuer certificate expired on %s; issue a new one from the trust anchor and "
            "update the provided PEM variables" % not_after(issuer).strftime("%Y-%m-%d")
        )
    if is_expired(anchors[index], now):
        raise CertError("the issuer chains only to an expired trust anchor")
    if days_left(issuer, now) < renew_before_days:
        warnings.append("the provided issuer certificate expires in %d days; renew it" % days_left(issuer, now))
    for anchor in valid:
        if days_left(anchor, now) < renew_before_days:
            warnings.append("trust anchor %s expires in %d days; rotate it"
                            % (anchor.subject.rfc4514_string(), days_left(anchor, now)))
    return warnings
