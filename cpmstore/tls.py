"""TLS for the listeners: the certificate in use, its reload, and a
self-signed one for a first run (DESIGN §6, §7).

This module owns turning the PEM files of ``[tls]`` into OpenSSL options
(TLS 1.2 or later; for TLS 1.2 only forward-secret AEAD cipher suites, so no
NULL, EXPORT, RC4, 3DES, CBC or anonymous suite is ever negotiated),
``ServerTLS``, the one object every TLS listener asks for each new handshake
(implicit TLS and STARTTLS alike) and whose certificate ``reload`` replaces
without touching connections already encrypted, and making a self-signed
certificate and key, written crash-safely (key 0600), when the operator
allowed it. It never speaks IMAP and never touches the store; the SIGHUP
handler that calls ``reload`` belongs to the service (service.py).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from zope.interface import implementer

from .config import ConfigError, TLSConfig
from .store.maildir import fsync_dir

__all__ = [
    "CIPHERS",
    "CertificateInfo",
    "SELF_SIGNED_DAYS",
    "ServerTLS",
    "ensure_certificate",
    "load_tls_options",
    "make_self_signed",
    "write_self_signed",
]

log = Logger()

# TLS 1.2 suites offered: ephemeral ECDH with AES-GCM or ChaCha20-Poly1305
# (Mozilla's "intermediate" list without DHE, which would need DH
# parameters). Every client that speaks TLS 1.2 has one of them; TLS 1.3
# suites are all AEAD and are not affected by this string.
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
# A year: long enough for a trial, short enough that clients which cap the
# lifetime of certificates (825 days and less) accept it.
SELF_SIGNED_DAYS = 365


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What the log says about a certificate: enough to recognise it in a client."""

    path: str
    subject: str
    names: tuple[str, ...]  # subjectAltName entries, DNS names and addresses
    sha256: str  # colon-separated hex, as browsers and `openssl x509 -fingerprint` show it
    not_before: datetime.datetime
    not_after: datetime.datetime

    @classmethod
    def of(cls, cert: x509.Certificate, path: str) -> CertificateInfo:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = tuple(str(n.value) for n in san)
        except x509.ExtensionNotFound:
            names = ()
        digest = cert.fingerprint(hashes.SHA256()).hex().upper()
        return cls(path, cert.subject.rfc4514_string(), names,
                   ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)),
                   cert.not_valid_before_utc, cert.not_valid_after_utc)


def _read(path: str, key: str, hint: str = "") -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ConfigError(f"{key}: cannot read {path}: no such file{hint}") from None
    except OSError as e:
        raise ConfigError(f"{key}: cannot read {path}: {e.strerror or e}") from None


def _load(tls: TLSConfig) -> tuple[Any, CertificateInfo]:
    from OpenSSL import SSL
    from twisted.internet.ssl import AcceptableCiphers, CertificateOptions, TLSVersion

    hint = ("" if tls.generate_self_signed else
            " (or set [tls] generate_self_signed = true to make a self-signed one on the first start)")
    cert_pem = _read(tls.certificate, "tls.certificate", hint)
    key_pem = _read(tls.private_key, "tls.private_key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as e:
        raise ConfigError(f"tls.certificate: no PEM certificate in {tls.certificate}: {e}") from None
    try:
        key = load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ConfigError(f"tls.private_key: no usable unencrypted PEM key in {tls.private_key}: {e}") from None
    # cryptography objects, not pyOpenSSL's X509/PKey (deprecated there);
    # Twisted hands them to pyOpenSSL as they are.
    options = CertificateOptions(
        privateKey=key,
        certificate=chain[0],
        extraCertChain=chain[1:],
        raiseMinimumTo=TLSVersion.TLSv1_2,
        acceptableCiphers=AcceptableCiphers.fromOpenSSLCipherString(CIPHERS),
    )
    try:
        # Builds the OpenSSL context now, so a key that does not match the
        # certificate stops the start (or the reload) instead of failing
        # every handshake.
        options.getContext()
    except SSL.Error as e:
        raise ConfigError(f"tls.private_key: does not match tls.certificate "
                          f"({tls.private_key}, {tls.certificate}): {e}") from None
    return options, CertificateInfo.of(chain[0], tls.certificate)


def load_tls_options(tls: TLSConfig):
    """CertificateOptions for the PEM files of ``[tls]``: TLS 1.2 minimum,
    the suites of ``CIPHERS``.

    The certificate file may hold a chain (leaf first, then intermediates),
    which is sent to clients whole, and may hold the key too. ConfigError
    when a file cannot be read or parsed, or the key does not belong to the
    certificate.
    """
    return _load(tls)[0]


# -- self-signed certificate ---------------------------------------------------

def _san_entry(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_self_signed(hostnames: Sequence[str], key: Any = None,
                     days: int = SELF_SIGNED_DAYS) -> tuple[x509.Certificate, Any]:
    """A self-signed server certificate for ``hostnames`` (the first is the
    subject's common name; each is a subjectAltName, an IP address as such)
    and its key: ``key`` if given, else a new P-256 key.

    The certificate is an end-entity one (CA:FALSE, serverAuth), as clients
    such as Thunderbird expect of a certificate a user trusts by exception.
    """
    key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    names = list(dict.fromkeys(hostnames))  # no duplicate SAN entries
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        # An hour back: a client whose clock is a little behind still accepts it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san_entry(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=not isinstance(key, ec.EllipticCurvePrivateKey),
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Write a whole file crash-safely: a temporary file with its final mode
    from the start (a key is never readable by others, not even for a
    moment), fsynced, renamed into place, the directory fsynced."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode passes through the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def write_self_signed(tls: TLSConfig, hostnames: Sequence[str]) -> CertificateInfo:
    """Make a self-signed certificate for ``hostnames`` and write it to
    ``tls.certificate``, its key to ``tls.private_key`` (0600; one file, 0600,
    when both name the same file).

    An existing key file is kept and certified, never replaced: it may be the
    operator's, or the key of an earlier run that stopped before writing the
    certificate (the key is written first, the certificate last, so a
    certificate on disk always has its key).
    """
    for path in {tls.certificate, tls.private_key}:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    key = None
    if tls.private_key != tls.certificate and os.path.exists(tls.private_key):
        key_pem = _read(tls.private_key, "tls.private_key")
        try:
            key = load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise ConfigError(f"tls.private_key: no usable unencrypted PEM key in {tls.private_key}: {e}") from None
    cert, new_key = make_self_signed(hostnames, key)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = new_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    if tls.private_key == tls.certificate:
        _write_new(tls.certificate, key_pem + cert_pem, 0o600)
    else:
        if key is None:
            _write_new(tls.private_key, key_pem, 0o600)
        _write_new(tls.certificate, cert_pem, 0o644)
    return CertificateInfo.of(cert, tls.certificate)


def ensure_certificate(tls: TLSConfig, hostname: str) -> CertificateInfo | None:
    """On a first run, make the self-signed certificate ``[tls]`` allows.

    Only when ``tls.generate_self_signed`` is set and ``tls.certificate``
    does not exist; then the certificate names ``hostname`` and
    ``localhost`` (and 127.0.0.1, ::1), and the log says where it is, its
    SHA-256 fingerprint and how long it is valid. Returns what was made, or
    None when nothing was (the certificate is then loaded as it is, and a
    missing one stops the start).
    """
    if not tls.generate_self_signed or os.path.exists(tls.certificate):
        return None
    try:
        info = write_self_signed(tls, [hostname, "localhost", "127.0.0.1", "::1"])
    except OSError as e:
        raise ConfigError(f"tls.certificate: cannot write a self-signed certificate to {tls.certificate}: "
                          f"{e.strerror or e}") from None
    log.warn(
        "TLS: no certificate at {path}; generated a self-signed one for {names}, "
        "key {key} (mode 0600), SHA-256 fingerprint {sha256}, valid {not_before} to {not_after}. "
        "Clients will warn until they trust it; replace both files with a certificate from a CA "
        "and send SIGHUP (systemctl reload cpmstore).",
        path=info.path, names=", ".join(info.names), key=tls.private_key, sha256=info.sha256,
        not_before=info.not_before.isoformat(), not_after=info.not_after.isoformat())
    return info


# -- the certificate in use ----------------------------------------------------

@implementer(IOpenSSLServerConnectionCreator)
class ServerTLS:
    """The TLS settings every listener shares; ``reload`` swaps them.

    Both implicit TLS (``TLSMemoryBIOFactory``) and STARTTLS
    (``transport.startTLS``) call ``serverConnectionForTLS`` once per new
    handshake, so after a reload new handshakes present the new certificate
    while connections already encrypted keep the OpenSSL connection (and
    certificate) they started with.
    """

    def __init__(self, config: TLSConfig, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.config = config
        self._reactor = reactor
        self._options, self.certificate = _load(config)

    def serverConnectionForTLS(self, tlsProtocol: Any) -> Any:
        return self._options.serverConnectionForTLS(tlsProtocol)

    def getContext(self) -> Any:
        """The OpenSSL context of the current certificate (for inspection)."""
        return self._options.getContext()

    async def reload(self) -> bool:
        """Read the files of ``[tls]`` again; True when the new certificate is
        in use. A file that cannot be used keeps the current certificate and
        logs an error: a bad renewal never takes TLS down."""
        current = self.certificate
        try:
            # Off the reactor thread: it reads files.
            options, info = await deferToThreadPool(self._reactor, self._reactor.getThreadPool(),
                                                    _load, self.config)
        except ConfigError as e:
            log.error("TLS reload failed, still using {path} (SHA-256 {sha256}): {error}",
                      path=current.path, sha256=current.sha256, error=str(e))
            return False
        self._options, self.certificate = options, info
        log.info("TLS certificate reloaded: {path}, {subject}, SHA-256 {sha256}, valid until {not_after}; "
                 "new connections use it, open ones keep theirs",
                 path=info.path, subject=info.subject, sha256=info.sha256, not_after=info.not_after.isoformat())
        return True
