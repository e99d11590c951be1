"""Connection and login limits under load and attack (issue 10 "Load and limits";
RFC 5530 §3 UNAVAILABLE; DESIGN §6): max_connections, max_connections_per_user,
the failed-login delay and the per-address limit on failed logins."""

from __future__ import annotations

import base64
import socket
import time

import pytest_twisted
from conftest import in_thread
from transcript import Connection, run

from cpmstore.config import LimitsConfig


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def _wait_closed(conn: Connection) -> None:
    """Read until the server closes: it has then forgotten the connection."""
    while conn.sock.recv(65536):
        pass
    conn.close()


def _from(port: int, source: str) -> Connection:
    return Connection(port, sock=socket.create_connection(("127.0.0.1", port), timeout=10,
                                                          source_address=(source, 0)))


@pytest_twisted.ensureDeferred
async def test_rfc5530_3_max_connections_is_answered_with_bye_unavailable(start):
    server = await start(limits=LimitsConfig(max_connections=2, login_failure_delay=0.0))

    def scenario():
        first = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
        """)
        second = run(server.port, "S: * OK ...")
        third = run(server.port, """
            S: * BYE [UNAVAILABLE] Too many connections to this server (max_connections), try again later.
        """)
        _wait_closed(third)  # and closed by the server
        run(server.port, """
            C: a2 LOGOUT
            S: * BYE ...
            S: a2 OK ...
        """, conn=first)
        _wait_closed(first)
        # A connection that left frees its place.
        run(server.port, """
            S: * OK ...
            C: b1 LOGIN user2 pass
            S: b1 OK ...
        """).close()
        second.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5530_3_max_connections_per_user_refuses_the_login_naming_the_limit(start):
    # One failure per address would block everything after it: the refusals
    # below had the right password and must not count as failures.
    server = await start(limits=LimitsConfig(max_connections_per_user=2, login_failure_delay=0.0,
                                             max_login_failures_per_ip=1))

    def scenario():
        first = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
        """)
        second = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
        """)
        third = run(server.port, f"""
            S: * OK ...
            C: c1 LOGIN user1 pass
            S: c1 NO [UNAVAILABLE] Maximum number of connections for this user exceeded (max_connections_per_user=2).
            C: c2 AUTHENTICATE PLAIN {_plain("user1", "pass")}
            S: c2 NO [UNAVAILABLE] Maximum number of connections for this user exceeded (max_connections_per_user=2).
            C: c3 NOOP
            S: c3 OK ...
            C: c4 LOGIN user2 pass
            S: c4 OK ...
        """)
        run(server.port, """
            C: a2 LOGOUT
            S: * BYE ...
            S: a2 OK ...
        """, conn=first)
        _wait_closed(first)
        run(server.port, """
            S: * OK ...
            C: d1 LOGIN user1 pass
            S: d1 OK ...
        """).close()
        second.close()
        third.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_failed_login_delay_holds_back_only_that_client(start):
    """The delay is a timer, not a pause of the server: while one client
    waits for the answer to a wrong password, another logs in and works."""
    server = await start(limits=LimitsConfig(login_failure_delay=30.0))

    def scenario():
        guesser = run(server.port, """
            S: * OK ...
            C: g1 LOGIN user1 wrong
        """)
        worker = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user2 pass
            S: a1 OK ...
        """)
        assert worker.command(b"a2", b"SELECT INBOX")[-1].startswith(b"a2 OK [READ-WRITE] ")
        run(server.port, """
            C: a3 LOGOUT
            S: * BYE ...
            S: a3 OK ...
        """, conn=worker)
        guesser.sock.setblocking(False)
        try:
            early = guesser.sock.recv(65536)
        except BlockingIOError:
            early = None  # nothing yet: the answer is still held back
        guesser.close()
        return early

    assert await in_thread(scenario) is None


@pytest_twisted.ensureDeferred
async def test_issue10_failed_logins_per_address_are_limited_without_checking_the_password(start):
    server = await start(limits=LimitsConfig(login_failure_delay=0.0, max_login_failures_per_ip=3,
                                             login_failure_window="2s"))
    refused = "NO [UNAVAILABLE] Too many failed logins from this address, try again later."

    def scenario():
        for n in range(5):  # successful logins do not count
            run(server.port, f"""
                S: * OK ...
                C: s{n} LOGIN user1 pass
                S: s{n} OK ...
            """).close()
        guesser = run(server.port, """
            S: * OK ...
            C: g1 LOGIN user1 wrong1
            S: g1 NO [AUTHENTICATIONFAILED] Authentication failed.
            C: g2 LOGIN user1 wrong2
            S: g2 NO [AUTHENTICATIONFAILED] Authentication failed.
            C: g3 LOGIN nosuchuser wrong3
            S: g3 NO [AUTHENTICATIONFAILED] Authentication failed.
        """)
        # Right or wrong, the answer is the same: the password is not checked.
        run(server.port, f"""
            C: g4 LOGIN user1 pass
            S: g4 {refused}
            C: g5 LOGIN user1 wrong4
            S: g5 {refused}
        """, conn=guesser)
        run(server.port, f"""
            S: * OK ...
            C: p1 AUTHENTICATE PLAIN {_plain("user2", "pass")}
            S: p1 {refused}
        """).close()
        # Another address is not affected.
        run(server.port, """
            S: * OK ...
            C: o1 LOGIN user2 pass
            S: o1 OK ...
        """, conn=_from(server.port, "127.0.0.2")).close()
        time.sleep(2.5)  # the window ("2s") passes: the failures age out
        run(server.port, """
            C: g6 LOGIN user1 pass
            S: g6 OK ...
        """, conn=guesser)
        guesser.close()

    await in_thread(scenario)
