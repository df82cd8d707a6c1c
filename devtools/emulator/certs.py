"""TLS material for the emulator: a local CA and a server certificate it signed.

`ensure_certs(state_dir)` creates them once and reuses them while valid. The bundle
(`ca-bundle.pem`) is certifi's bundle plus our CA, because REQUESTS_CA_BUNDLE replaces
the whole trust store of `requests` (so public hosts must still verify).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_KEY, CA_CERT = "ca.key", "ca.pem"
SERVER_KEY, SERVER_CERT = "server.key", "server.pem"
BUNDLE = "ca-bundle.pem"
_MIN_REMAINING = dt.timedelta(days=7)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    if private:
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _make_ca(d: Path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HERP Outlook emulator local CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(d / CA_KEY, _key_pem(key), private=True)
    _write(d / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _make_server(d: Path, ca_key, ca_cert):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=825))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(d / SERVER_KEY, _key_pem(key), private=True)
    _write(d / SERVER_CERT, cert.public_bytes(serialization.Encoding.PEM))


def _load_ca(d: Path):
    try:
        key = serialization.load_pem_private_key((d / CA_KEY).read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate((d / CA_CERT).read_bytes())
    except (OSError, ValueError):
        return None
    if cert.not_valid_after_utc - _now() < _MIN_REMAINING:
        return None
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        return None
    return key, cert


def _server_ok(d: Path, ca_cert) -> bool:
    try:
        cert = x509.load_pem_x509_certificate((d / SERVER_CERT).read_bytes())
        key = serialization.load_pem_private_key((d / SERVER_KEY).read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (
        OSError,
        ValueError,
        TypeError,
        InvalidSignature,
        x509.ExtensionNotFound,
    ):  # unreadable, mismatched, foreign: regenerate
        return False
    return (
        cert.public_key().public_numbers() == key.public_key().public_numbers()
        and "localhost" in san.get_values_for_type(x509.DNSName)
        and ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
        and cert.not_valid_after_utc - _now() >= _MIN_REMAINING
    )


def ensure_certs(state_dir) -> dict:
    """Create (once) or reuse the CA, server cert and CA bundle; return their paths."""
    d = Path(state_dir)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".certs.lock", "w") as lock:  # several emulators may share a state dir
        fcntl.flock(lock, fcntl.LOCK_EX)
        loaded = _load_ca(d)
        if loaded is None:
            loaded = _make_ca(d)
            (d / SERVER_CERT).unlink(missing_ok=True)
        ca_key, ca_cert = loaded
        if not _server_ok(d, ca_cert):
            _make_server(d, ca_key, ca_cert)
        ca_pem = (d / CA_CERT).read_bytes()
        bundle = d / BUNDLE
        if not bundle.exists() or ca_pem not in bundle.read_bytes():
            base = Path(certifi.where()).read_bytes()
            _write(bundle, base.rstrip(b"\n") + b"\n\n# HERP Outlook emulator local CA\n" + ca_pem)
    return {"ca": str(d / CA_CERT), "bundle": str(bundle), "cert": str(d / SERVER_CERT), "key": str(d / SERVER_KEY)}
