# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ECDSA CA certificates for the Linkerd tests, with chosen validity windows.

Built the way Linkerd's docs make them (P-256 root CA, issuer CA with pathlen 0) and with the key
identifiers community.crypto writes, so that expired and nearly expired cases are real certificates.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def make(cn, signer=None, start=-1, days=365, pathlen=None):
    """A CA certificate and its key; ``signer`` is (cert, key) or None for self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, signing_key = (signer[0].subject, signer[1]) if signer else (name, key)
    # Key identifiers as community.crypto writes them: with two anchors of one name (a rotation),
    # they are how verifiers find the right one.
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + start * DAY)
        .not_valid_after(NOW + (start + days) * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(aki, critical=False)
        .sign(signing_key, hashes.SHA256())
    )
    return cert, key


def pem(*certs):
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def issuer_of(signer, **kw):
    return make("identity.linkerd.cluster.local", signer=signer, pathlen=0, **kw)
