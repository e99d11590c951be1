"""A LOGOUT over TLS closes the connection even when the client never
answers the server's close_notify (RFC 3501 §6.1.3: the server closes after
the tagged OK; RFC 8446 §6.1 lets either side close without waiting)."""

from __future__ import annotations

import os
import socket
import ssl

import pytest_twisted
from conftest import in_thread
from test_tls_protocols import IMPLICIT, certificate


def _read_until(tls: ssl.SSLSocket, end: bytes) -> bytes:
    data = b""
    while end not in data:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest_twisted.ensureDeferred
async def test_logout_over_tls_closes_a_client_that_never_answers_close_notify(start, tmp_path):
    tls_config = certificate(tmp_path / "tls", "ec")
    server = await start(listeners=(IMPLICIT,), tls=tls_config)

    def scenario():
        ctx = ssl.create_default_context(cafile=tls_config.certificate)
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        assert _read_until(tls, b"\r\n").startswith(b"* OK")
        tls.sendall(b"a1 LOGIN user1 pass\r\n")
        assert b"a1 OK" in _read_until(tls, b"a1 ")
        tls.sendall(b"a2 LOGOUT\r\n")
        assert b"a2 OK" in _read_until(tls, b"a2 OK")
        # The client reads on at the TCP level and sends nothing, not even its
        # close_notify: the server must still close, by FIN or reset, rather
        # than leave recv to time out.
        plain = socket.socket(fileno=os.dup(tls.fileno()))
        plain.settimeout(30)
        try:
            while plain.recv(4096):
                pass
        except ConnectionResetError:
            pass
        finally:
            plain.close()
            tls.close()

    await in_thread(scenario)
