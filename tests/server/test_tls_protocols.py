"""TLS 1.2 or later only, and no weak cipher suite (issue 11, DESIGN §6;
RFC 8996 deprecates TLS 1.0 and 1.1, RFC 7525 / RFC 9325 §4.2 name the
suites to offer).

Clients that are willing to go lower (Python's ssl module with
``@SECLEVEL=0``, ``openssl s_client``) offer only what the server must
refuse, and must hear the server's refusal (a protocol_version or
handshake_failure alert): a client that could not even build its hello
would prove nothing. The weak suites are tried against an EC and an RSA
certificate, because which suites a server can negotiate depends on its key."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import pytest_twisted
from conftest import in_thread
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from OpenSSL import SSL

from cpmstore.config import ListenerConfig, TLSConfig
from cpmstore.tls import write_self_signed

IMPLICIT = ListenerConfig("tcp:0:interface=127.0.0.1", "implicit")
STARTTLS = ListenerConfig("tcp:0:interface=127.0.0.1", "starttls")
# What a TLS 1.2 handshake may end with: ephemeral ECDH, AEAD.
STRONG_TLS12 = re.compile(r"^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")


def certificate(directory: Path, kind: str) -> TLSConfig:
    directory.mkdir()
    tls = TLSConfig(str(directory / "cert.pem"), str(directory / "key.pem"))
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    Path(tls.private_key).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    write_self_signed(tls, ["localhost", "127.0.0.1"])  # certifies the key written above
    return tls


def willing_client(cafile: str, *, lowest: ssl.TLSVersion, highest: ssl.TLSVersion,
                   ciphers: str = "ALL:@SECLEVEL=0") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    ctx.minimum_version, ctx.maximum_version = lowest, highest
    ctx.set_ciphers(ciphers)
    return ctx


def handshake(port: int, ctx: ssl.SSLContext) -> tuple[str, str]:
    """(protocol version, cipher) of a completed handshake, or ssl.SSLError."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.version(), tls.cipher()[0]


def refused(port: int, ctx: ssl.SSLContext) -> str:
    with pytest.raises(ssl.SSLError) as failure:
        handshake(port, ctx)
    return failure.value.reason


@pytest.fixture(params=["ec", "rsa"])
def tls_of_kind(request, tmp_path) -> TLSConfig:
    return certificate(tmp_path / request.param, request.param)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
@pytest_twisted.ensureDeferred
async def test_tls_1_0_and_1_1_are_refused(start, tls_files, version):
    server = await start(listeners=(IMPLICIT,), tls=tls_files)
    old = getattr(ssl.TLSVersion, version)
    ctx = willing_client(tls_files.certificate, lowest=old, highest=old)
    assert await in_thread(refused, server.port, ctx) == "TLSV1_ALERT_PROTOCOL_VERSION"


@pytest_twisted.ensureDeferred
async def test_tls_1_2_and_1_3_are_accepted_with_strong_suites(start, tls_of_kind):
    server = await start(listeners=(IMPLICIT,), tls=tls_of_kind)

    def scenario():
        v12, cipher12 = handshake(server.port, willing_client(
            tls_of_kind.certificate, lowest=ssl.TLSVersion.TLSv1_2, highest=ssl.TLSVersion.TLSv1_2))
        v13, cipher13 = handshake(server.port, ssl.create_default_context(cafile=tls_of_kind.certificate))
        return v12, cipher12, v13, cipher13

    v12, cipher12, v13, cipher13 = await in_thread(scenario)
    assert v12 == "TLSv1.2" and STRONG_TLS12.match(cipher12), cipher12
    assert v13 == "TLSv1.3" and cipher13.startswith("TLS_")


# Each a family the server must never agree to; the client offers nothing
# else and no TLS 1.3 (whose suites are all AEAD).
WEAK = {
    "NULL encryption": "eNULL:@SECLEVEL=0",
    "anonymous": "aNULL:@SECLEVEL=0",
    "RSA key exchange (no forward secrecy)": "kRSA:@SECLEVEL=0",
    "CBC with SHA-1": "ECDHE+SHA1:@SECLEVEL=0",
    "CBC with SHA-2": "ECDHE+AES+SHA256:ECDHE+AES+SHA384:@SECLEVEL=0",
    "CCM, Camellia, ARIA": "ECDHE+AESCCM:ECDHE+CAMELLIA:ECDHE+ARIA:@SECLEVEL=0",
}


@pytest.mark.parametrize("family", WEAK)
@pytest_twisted.ensureDeferred
async def test_weak_suites_are_refused(start, tls_of_kind, family):
    server = await start(listeners=(IMPLICIT,), tls=tls_of_kind)
    ctx = willing_client(tls_of_kind.certificate, lowest=ssl.TLSVersion.TLSv1_2,
                         highest=ssl.TLSVersion.TLSv1_2, ciphers=WEAK[family])
    assert ctx.get_ciphers(), "the client offers something of this family"
    assert await in_thread(refused, server.port, ctx) == "SSLV3_ALERT_HANDSHAKE_FAILURE"


@pytest_twisted.ensureDeferred
async def test_the_server_offers_no_weak_suite_at_all(start, tls_of_kind):
    """RC4, EXPORT and 3DES are gone from this machine's OpenSSL client, so
    no handshake can show them refused; the server's own list shows they are
    not offered, nor anything else outside the strong set."""
    server = await start(listeners=(IMPLICIT,), tls=tls_of_kind)
    suites = SSL.Connection(server.running.context.tls_options.getContext(), None).get_cipher_list()
    tls12 = [s for s in suites if not s.startswith("TLS_")]
    assert tls12 and [s for s in tls12 if not STRONG_TLS12.match(s)] == []
    assert not [s for s in suites if re.search(r"NULL|EXP|RC4|DES|ADH|AECDH|PSK|SRP|MD5|CBC", s)]


def s_client(port: int, cafile: str, *args: str) -> str:
    """What ``openssl s_client`` says about a handshake (stdout and stderr)."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
         "-CAfile", cafile, "-verify_return_error", "-brief", *args],
        input=b"", capture_output=True, timeout=30)
    return (result.stdout + result.stderr).decode(errors="replace")


@pytest.mark.parametrize("listener", [IMPLICIT, STARTTLS], ids=["implicit", "starttls"])
@pytest_twisted.ensureDeferred
async def test_openssl_s_client(start, tls_files, listener):
    server = await start(listeners=(listener,), tls=tls_files)
    starttls = ("-starttls", "imap") if listener.tls == "starttls" else ()

    def scenario():
        return (s_client(server.port, tls_files.certificate, *starttls, "-tls1_2"),
                s_client(server.port, tls_files.certificate, *starttls, "-tls1_3"),
                s_client(server.port, tls_files.certificate, *starttls, "-tls1_1", "-cipher", "ALL:@SECLEVEL=0"),
                s_client(server.port, tls_files.certificate, *starttls, "-tls1_2", "-cipher", "ECDHE+SHA1:@SECLEVEL=0"))

    tls12, tls13, tls11, cbc = await in_thread(scenario)
    assert "Protocol version: TLSv1.2" in tls12 and "Verification: OK" in tls12
    assert STRONG_TLS12.match(re.search(r"Ciphersuite: (\S+)", tls12).group(1))
    assert "Protocol version: TLSv1.3" in tls13
    assert "alert protocol version" in tls11 and "Protocol version:" not in tls11
    assert "alert handshake failure" in cbc and "Protocol version:" not in cbc


def read_line(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\r\n"):
        line += sock.recv(1)
    return line


def logout_then_read_to_end(port: int, cafile: str, starttls: bool) -> list[bytes]:
    """Everything the server sends after LOGOUT until it closes; a server that
    keeps the connection open makes the read time out (an error, not a hang)."""
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    if starttls:
        # Byte by byte: nothing of the TLS handshake may be read as IMAP.
        assert read_line(raw).startswith(b"* OK")
        raw.sendall(b"s STARTTLS\r\n")
        assert read_line(raw).startswith(b"s OK")
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        if not starttls:
            assert read_line(tls).startswith(b"* OK")
        tls.sendall(b"a LOGIN user1 pass\r\n")
        while not read_line(tls).startswith(b"a OK"):
            pass
        tls.sendall(b"b LOGOUT\r\n")
        after = []
        while chunk := tls.recv(4096):  # b"" once the server's close_notify arrives
            after.append(chunk)
        return after


@pytest.mark.parametrize("listener", [IMPLICIT, STARTTLS], ids=["implicit", "starttls"])
@pytest_twisted.ensureDeferred
async def test_rfc3501_6_1_3_logout_closes_the_tls_connection(start, tls_files, listener):
    """RFC 3501 §6.1.3: BYE, the tagged OK, "and then close the network
    connection". Clients such as mbsync wait for that close."""
    server = await start(listeners=(listener,), tls=tls_files)
    after = await in_thread(logout_then_read_to_end, server.port, tls_files.certificate,
                            listener.tls == "starttls")
    assert b"".join(after) == b"* BYE Logging out\r\nb OK Logout completed.\r\n"
