"""Framing, pipelining and limits: RFC 3501 §5.5, RFC 7888, RFC 7889, DESIGN §6."""

import pytest_twisted
from conftest import in_thread
from transcript import Connection, run

from cpmstore.config import LimitsConfig


@pytest_twisted.ensureDeferred
async def test_rfc3501_5_5_pipelined_commands_in_one_packet(server):
    def scenario():
        conn = run(server.port, "S: * OK ...")
        conn.send(b"a LOGIN user1 pass\r\nb SELECT INBOX\r\nc APPEND INBOX {1+}\r\nx\r\n"
                  b"d FETCH 1 (UID)\r\ne NOOP\r\nf LOGOUT\r\n")
        lines = []
        while not lines or not lines[-1].startswith(b"f "):
            lines.append(conn.read_line())
        tagged = [l.split(b" ", 2)[:2] for l in lines if not l.startswith((b"*", b"+"))]
        assert tagged == [[b"a", b"OK"], [b"b", b"OK"], [b"c", b"OK"], [b"d", b"OK"], [b"e", b"OK"], [b"f", b"OK"]]
        assert b"* 1 FETCH (UID 1)" in lines

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_overlong_line_gets_bad_and_session_goes_on(start):
    server = await start(limits=LimitsConfig(max_line_bytes=1024, login_failure_delay=0.0))

    def scenario():
        conn = run(server.port, "S: * OK ...")
        conn.send(b"a1 NOOP " + b"x" * 5000 + b"\r\n")
        assert conn.read_line().startswith(b"a1 BAD ")
        run(server.port, """
            C: a2 LOGIN user1 pass
            S: a2 OK ...
        """, conn=conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7889_literal_over_limit_refused_before_its_bytes(start):
    server = await start(limits=LimitsConfig(max_literal_bytes=1000, login_failure_delay=0.0))

    def scenario():
        conn = run(server.port, """
            S: * OK [CAPABILITY ...] ...
            C: a1 LOGIN user1 pass
            S: a1 OK [CAPABILITY ... APPENDLIMIT=1000 ...] Logged in
        """)
        # A synchronizing literal is refused before the client sends a byte of it.
        conn.send(b"a2 APPEND INBOX {5000}\r\n")
        assert conn.read_line().startswith(b"a2 NO [TOOBIG] ")
        # A non-synchronizing one arrives anyway: it is skipped, never stored.
        conn.send(b"a3 APPEND INBOX {5000+}\r\n" + b"y" * 5000 + b"\r\n")
        assert conn.read_line().startswith(b"a3 BAD [TOOBIG] ")
        run(server.port, """
            C: a4 APPEND INBOX {10}
            C: 0123456789
            S: a4 OK [APPENDUID ...
            C: a5 STATUS INBOX (MESSAGES)
            S: * STATUS INBOX (MESSAGES 1)
            S: a5 OK ...
        """, conn=conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_bad_syntax_keeps_the_session(server):
    def scenario():
        run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
            C: a2 FROB
            S: a2 BAD ...
            C: a3 SELECT
            S: a3 BAD ...
            C: a4 FETCH 1 FLAGS
            S: a4 BAD ...
            C: a5 SELECT "unterminated
            S: a5 BAD ...
            C: a6 SELECT INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 0 EXISTS
            S: * 0 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a6 OK [READ-WRITE] ...
            C: a7 FETCH 0 FLAGS
            S: a7 BAD ...
            C: a8 UID FETCH 1:4294967295 FLAGS
            S: a8 OK Fetch completed.
            C: a9 FETCH 1:* (BODY[HEADER.FIELDS (FROM])
            S: a9 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_connection_limit(start):
    server = await start(limits=LimitsConfig(max_connections=2, login_failure_delay=0.0))

    def scenario():
        first = run(server.port, "S: * OK ...")
        second = run(server.port, "S: * OK ...")
        third = Connection(server.port)
        assert third.read_line().startswith(b"* BYE ")
        for c in (first, second, third):
            c.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_overlong_line_during_idle_ends_idle_not_the_session(start):
    server = await start(limits=LimitsConfig(max_line_bytes=1024, login_failure_delay=0.0))

    def scenario():
        conn = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
            C: a2 IDLE
            S: + idling
        """)
        conn.send(b"x" * 5000 + b"\r\n")
        assert conn.read_line() == b"a2 BAD Expected DONE."
        run(server.port, """
            C: a3 NOOP
            S: a3 OK NOOP completed.
        """, conn=conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_multiappend_over_the_command_limit_is_refused_and_nothing_stored(start):
    """Each message within APPENDLIMIT, the whole MULTIAPPEND over
    max_command_bytes: refused before the rest is held in memory (NO [LIMIT]
    for a synchronizing literal, BAD for LITERAL+ whose bytes are skipped);
    nothing of it is stored (RFC 3502: all or none); the session goes on."""
    server = await start(limits=LimitsConfig(max_literal_bytes=1000, max_command_bytes=2500,
                                             login_failure_delay=0.0))

    def scenario():
        conn = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
        """)
        conn.send(b"a2 APPEND INBOX {900+}\r\n" + b"x" * 900 + b" {900+}\r\n" + b"y" * 900
                  + b" {900+}\r\n" + b"z" * 900 + b"\r\n")
        assert conn.read_line().startswith(b"a2 BAD [LIMIT] ")
        conn.send(b"a3 APPEND INBOX {900+}\r\n" + b"x" * 900 + b" {900+}\r\n" + b"y" * 900 + b" {900}\r\n")
        assert conn.read_line().startswith(b"a3 NO [LIMIT] ")
        run(server.port, """
            C: a4 STATUS INBOX (MESSAGES)
            S: * STATUS INBOX (MESSAGES 0)
            S: a4 OK Status completed.
        """, conn=conn)

    await in_thread(scenario)
