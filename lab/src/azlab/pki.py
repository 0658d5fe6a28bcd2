"""The lab's private certificate authority.

Clients reach the lab through an HTTPS CONNECT proxy and trust it through
REQUESTS_CA_BUNDLE; the server certificate must therefore name the real Azure hosts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from azlab.settings import BLOB_HOST_SUFFIX, SERVED_HOSTS, _write_private

SERVER_NAMES = (*SERVED_HOSTS, f"*{BLOB_HOST_SUFFIX}", "localhost")
SERVER_IPS = ("127.0.0.1",)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _create_ca(pki_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azlab local CA")])
    cert = (
        _builder(name, name, key.public_key(), 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(pki_dir / "ca-key.pem", _key_pem(key))
    (pki_dir / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _create_server_cert(pki_dir: Path) -> None:
    ca_key = _load_key(pki_dir / "ca-key.pem")
    ca_cert = x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVED_HOSTS[0])])
    alt_names = [x509.DNSName(n) for n in SERVER_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), 825)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(pki_dir / "server-key.pem", _key_pem(key))
    (pki_dir / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _names_covered(cert_path: Path) -> bool:
    """A certificate made by an older lab may lack host names served since (the blob endpoints)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    return set(SERVER_NAMES) <= set(names)


def ensure_pki(pki_dir: Path) -> tuple[Path, Path]:
    """Return (server cert, server key), creating the CA and certificate if needed."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(pki_dir, 0o700)
    if not (pki_dir / "ca-key.pem").exists():
        _create_ca(pki_dir)
    if not (pki_dir / "server-key.pem").exists() or not _names_covered(pki_dir / "server.pem"):
        _create_server_cert(pki_dir)
    return pki_dir / "server.pem", pki_dir / "server-key.pem"
