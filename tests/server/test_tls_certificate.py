"""TLS certificates in practice (issue 11): the self-signed certificate of a
first run ([tls] generate_self_signed) and reloading the certificate without
dropping sessions (SIGHUP under twistd; ``reload_tls`` in process).

Clients check the server with Python's ssl module, trusting only the
certificate file the test expects, and compare the SHA-256 fingerprint of the
certificate the server actually presented."""

from __future__ import annotations

import hashlib
import imaplib
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import time
from pathlib import Path

import pytest
import pytest_twisted
from conftest import in_thread
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twisted.logger import formatEvent, globalLogPublisher
from twistd_proc import free_port, start_twistd

from cpmstore.config import ConfigError, ListenerConfig, TLSConfig, make_config
from cpmstore.service import make_service
from cpmstore.tls import write_self_signed

IMPLICIT = ListenerConfig("tcp:0:interface=127.0.0.1", "implicit")
STARTTLS = ListenerConfig("tcp:0:interface=127.0.0.1", "starttls")


@pytest.fixture
def logged():
    """The text of every log event while the test runs."""
    lines: list[str] = []

    def observe(event):
        lines.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def file_fingerprint(cert_path: str) -> str:
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return fingerprint(cert.public_bytes(serialization.Encoding.DER))


def trusting(cert_path: str) -> ssl.SSLContext:
    """A client that trusts exactly this certificate and checks the host name."""
    return ssl.create_default_context(cafile=cert_path)


def presented(port: int, cert_path: str, hostname: str = "localhost") -> str:
    """Fingerprint of the certificate an implicit-TLS listener presents, which
    must verify against ``cert_path`` for ``hostname``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with trusting(cert_path).wrap_socket(raw, server_hostname=hostname) as tls:
            return fingerprint(tls.getpeercert(binary_form=True))


def presented_after_starttls(port: int, cert_path: str) -> str:
    c = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    c.starttls(trusting(cert_path))
    try:
        return fingerprint(c.sock.getpeercert(binary_form=True))
    finally:
        c.logout()


def new_certificate(directory: Path) -> TLSConfig:
    directory.mkdir()
    tls = TLSConfig(str(directory / "cert.pem"), str(directory / "key.pem"))
    write_self_signed(tls, ["localhost", "127.0.0.1"])
    return tls


def install(source: TLSConfig, target: TLSConfig) -> None:
    """Replace the target files the way a renewal does: a new file renamed over the old."""
    for src, dst in ((source.private_key, target.private_key), (source.certificate, target.certificate)):
        shutil.copyfile(src, dst + ".new")
        os.replace(dst + ".new", dst)


# -- the first run ---------------------------------------------------------------

@pytest.mark.parametrize("listener", [IMPLICIT, STARTTLS], ids=["implicit", "starttls"])
@pytest_twisted.ensureDeferred
async def test_first_run_makes_a_self_signed_certificate(start, tmp_path, logged, listener):
    tls = TLSConfig(str(tmp_path / "tls" / "cert.pem"), str(tmp_path / "tls" / "key.pem"),
                    generate_self_signed=True)
    server = await start(listeners=(listener,), tls=tls, hostname="imap.test.example")

    assert stat.S_IMODE(os.stat(tls.private_key).st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(Path(tls.certificate).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"imap.test.example", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    def scenario():
        if listener.tls == "implicit":
            # Verifies for the configured host name and for localhost.
            assert presented(server.port, tls.certificate, "imap.test.example") == file_fingerprint(tls.certificate)
            return presented(server.port, tls.certificate, "localhost")
        return presented_after_starttls(server.port, tls.certificate)

    sha256 = await in_thread(scenario)
    assert sha256 == file_fingerprint(tls.certificate)
    said = [line for line in logged if "generated a self-signed" in line]
    assert len(said) == 1
    assert tls.certificate in said[0] and tls.private_key in said[0] and sha256 in said[0]
    assert re.search(r"valid \d{4}-\d\d-\d\d\S* to \d{4}-\d\d-\d\d", said[0])


@pytest_twisted.ensureDeferred
async def test_next_start_uses_the_certificate_made_before(start, tmp_path, logged):
    tls = TLSConfig(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"), generate_self_signed=True)
    first = await start(listeners=(IMPLICIT,), tls=tls)
    made = file_fingerprint(tls.certificate)
    await first.running.stop()
    second = await start(listeners=(IMPLICIT,), tls=tls)
    assert await in_thread(presented, second.port, tls.certificate) == made
    assert len([line for line in logged if "generated a self-signed" in line]) == 1


def test_missing_certificate_stops_the_start_unless_allowed(tmp_path):
    tls = TLSConfig(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    config = make_config(tmp_path / "data", listeners=(IMPLICIT,), tls=tls)
    with pytest.raises(ConfigError, match=r"^tls.certificate: cannot read .*generate_self_signed = true"):
        make_service(config)
    assert not os.path.exists(tls.certificate) and not os.path.exists(tls.private_key)


@pytest_twisted.ensureDeferred
async def test_an_existing_key_is_certified_not_replaced(start, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    (tmp_path / "key.pem").write_bytes(key_pem)
    tls = TLSConfig(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"), generate_self_signed=True)
    server = await start(listeners=(IMPLICIT,), tls=tls)
    assert (tmp_path / "key.pem").read_bytes() == key_pem
    cert = x509.load_pem_x509_certificate(Path(tls.certificate).read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert await in_thread(presented, server.port, tls.certificate) == file_fingerprint(tls.certificate)


@pytest_twisted.ensureDeferred
async def test_certificate_and_key_in_one_file(start, tmp_path):
    both = str(tmp_path / "both.pem")
    server = await start(listeners=(IMPLICIT,), tls=TLSConfig(both, both, generate_self_signed=True))
    assert stat.S_IMODE(os.stat(both).st_mode) == 0o600
    text = Path(both).read_text()
    assert "PRIVATE KEY" in text and "BEGIN CERTIFICATE" in text
    assert await in_thread(presented, server.port, both) == file_fingerprint(both)


# -- reload ------------------------------------------------------------------------

@pytest_twisted.ensureDeferred
async def test_reload_new_handshakes_get_the_new_certificate_open_sessions_go_on(start, tmp_path, logged):
    tls = new_certificate(tmp_path / "live")
    server = await start(listeners=(IMPLICIT, STARTTLS), tls=tls)
    implicit_port, starttls_port = server.port_of(0), server.port_of(1)
    old = file_fingerprint(tls.certificate)

    def open_sessions():
        a = imaplib.IMAP4_SSL("127.0.0.1", implicit_port, ssl_context=trusting(tls.certificate), timeout=10)
        a.login("user1", "pass")
        a.select("INBOX")
        b = imaplib.IMAP4("127.0.0.1", starttls_port, timeout=10)
        b.starttls(trusting(tls.certificate))
        b.login("user1", "pass")
        return a, b

    a, b = await in_thread(open_sessions)
    renewed = new_certificate(tmp_path / "renewed")
    install(renewed, tls)
    assert await server.running.service.reload_tls() is True
    new = file_fingerprint(tls.certificate)
    assert new != old

    def after_reload():
        assert presented(implicit_port, renewed.certificate) == new
        assert presented_after_starttls(starttls_port, renewed.certificate) == new
        # The sessions opened before the reload still work, over their old TLS.
        for session in (a, b):
            assert fingerprint(session.sock.getpeercert(binary_form=True)) == old
        assert a.append("INBOX", None, None, b"Subject: after reload\r\n\r\nbody\r\n")[0] == "OK"
        assert a.noop()[0] == "OK"
        assert a.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1] == b"Subject: after reload\r\n\r\n"
        assert b.select("INBOX")[0] == "OK"
        a.logout()
        b.logout()

    await in_thread(after_reload)
    assert any("TLS certificate reloaded" in line and new in line for line in logged)


@pytest.mark.parametrize("damage", ["garbage certificate", "key of another certificate", "missing key"])
@pytest_twisted.ensureDeferred
async def test_reload_with_unusable_files_keeps_the_current_certificate(start, tmp_path, logged, damage):
    tls = new_certificate(tmp_path / "live")
    server = await start(listeners=(IMPLICIT,), tls=tls)
    current = file_fingerprint(tls.certificate)
    kept = tmp_path / "kept.pem"
    shutil.copyfile(tls.certificate, kept)
    if damage == "garbage certificate":
        Path(tls.certificate).write_text("not a certificate\n")
    elif damage == "key of another certificate":
        shutil.copyfile(new_certificate(tmp_path / "other").private_key, tls.private_key)
    else:
        os.unlink(tls.private_key)
    assert await server.running.service.reload_tls() is False
    assert await in_thread(presented, server.port, str(kept)) == current
    failed = [line for line in logged if "TLS reload failed" in line]
    assert len(failed) == 1 and current in failed[0]
    assert (tls.certificate if damage == "garbage certificate" else tls.private_key) in failed[0]


def test_sighup_reloads_a_running_twistd(tmp_path):
    """The whole operator story with a real twistd: a first run makes a
    self-signed certificate and says so in the log; a renewed certificate is
    installed and SIGHUP sent; a new connection gets it, while a session
    opened before goes on."""
    port, tls_port = free_port(), free_port()
    tls = TLSConfig(str(tmp_path / "tls" / "cert.pem"), str(tmp_path / "tls" / "key.pem"))
    proc = start_twistd(tmp_path, port, (
        f'[[listener]]\nendpoint = "tcp:{tls_port}:interface=127.0.0.1"\ntls = "implicit"\n'
        f'[tls]\ncertificate = "{tls.certificate}"\nprivate_key = "{tls.private_key}"\n'
        'generate_self_signed = true\n'), more_ports=(tls_port,))
    log = tmp_path / "twistd.log"
    try:
        first = file_fingerprint(tls.certificate)
        made = [line for line in log.read_text().splitlines() if "generated a self-signed" in line]
        assert len(made) == 1 and tls.certificate in made[0] and first in made[0]
        assert stat.S_IMODE(os.stat(tls.private_key).st_mode) == 0o600

        old = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=trusting(tls.certificate), timeout=10)
        old.login("user1", "pass")
        old.select("INBOX")
        assert fingerprint(old.sock.getpeercert(binary_form=True)) == first

        renewed = new_certificate(tmp_path / "renewed")
        install(renewed, tls)
        second = file_fingerprint(tls.certificate)
        os.kill(proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "TLS certificate reloaded" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert second in log.read_text().split("TLS certificate reloaded", 1)[1]

        assert presented(tls_port, renewed.certificate) == second
        assert old.append("INBOX", None, None, b"Subject: x\r\n\r\ny\r\n")[0] == "OK"
        assert old.noop()[0] == "OK"
        assert old.logout()[0] == "BYE"
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
