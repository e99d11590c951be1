"""Fixtures shared by every test folder.

- ``tls_files``: a self-signed certificate and key for ``localhost`` /
  127.0.0.1, made once per session (an EC key: quick to make and to use),
  as a ``TLSConfig`` ready for ``make_config(..., tls=tls_files)``; clients
  trust ``tls_files.certificate``.
- ``make_users_file`` / ``users_file``: a passwd-file with ``{PLAIN}``
  passwords, by default user1..user5 / ``pass`` like the reference Dovecot.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path
from typing import Callable, Mapping

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cpmstore.config import TLSConfig

DEFAULT_USERS = {f"user{i}": "pass" for i in range(1, 6)}


def _self_signed(directory: Path) -> TLSConfig:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return TLSConfig(certificate=str(cert_path), private_key=str(key_path))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSConfig:
    return _self_signed(tmp_path_factory.mktemp("tls"))


def write_users_file(path: Path, users: Mapping[str, str] = DEFAULT_USERS) -> str:
    path.write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in users.items()))
    return str(path)


@pytest.fixture
def make_users_file(tmp_path: Path) -> Callable[..., str]:
    """``make_users_file({"alice": "secret"})`` -> path of a new passwd-file."""
    count = 0

    def make(users: Mapping[str, str] = DEFAULT_USERS) -> str:
        nonlocal count
        count += 1
        return write_users_file(tmp_path / f"passwd{count}", users)

    return make


@pytest.fixture
def users_file(make_users_file: Callable[..., str]) -> str:
    """user1..user5, password ``pass``, all ``{PLAIN}``."""
    return make_users_file()
