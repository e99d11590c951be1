"""Authentication and the state machine: RFC 3501 §6.1-6.2, RFC 4959, RFC 4616, DESIGN §6."""

import base64
import imaplib
import ssl

import pytest
import pytest_twisted
from conftest import in_thread
from transcript import Connection, run

from cpmstore.config import ListenerConfig


@pytest_twisted.ensureDeferred
async def test_rfc3501_7_1_1_greeting_names_capabilities(server):
    def scenario():
        run(server.port, """
            S: * OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN] cpmstore ready.
            C: a1 CAPABILITY
            S: * CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN
            S: a1 OK Capability completed.
            C: a2 LOGIN user1 pass
            S: a2 OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS MOVE MULTIAPPEND APPENDLIMIT=... CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS NOTIFY ACL RIGHTS=texk METADATA METADATA-SERVER ANNOTATE-EXPERIMENT-1 SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE... ESEARCH SEARCHRES WITHIN... SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS...] Logged in
            C: a3 LOGOUT
            S: * BYE Logging out
            S: a3 OK Logout completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_nothing_but_the_unauthenticated_set_before_login(server):
    def scenario():
        conn = run(server.port, "S: * OK ...")
        for command in (b"SELECT INBOX", b"LIST \"\" *", b"CREATE x", b"APPEND INBOX {1+}\r\nx",
                        b"FETCH 1 FLAGS", b"ENABLE CONDSTORE", b"NAMESPACE", b"IDLE"):
            lines = conn.command(b"t", command)
            assert lines[-1].startswith(b"t BAD "), (command, lines)
        assert conn.command(b"n", b"NOOP")[-1] == b"n OK NOOP completed."
        assert conn.command(b"i", b'ID ("name" "test")')[-1].startswith(b"i OK")

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_2_3_login_failure_then_success(server):
    def scenario():
        run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 wrong
            S: a1 NO [AUTHENTICATIONFAILED] Authentication failed.
            C: a2 LOGIN nobody pass
            S: a2 NO [AUTHENTICATIONFAILED] Authentication failed.
            C: a3 LOGIN "user1" {4+}
            C: pass
            S: a3 OK [CAPABILITY ...] Logged in
            C: a4 LOGIN user1 pass
            S: a4 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4959_authenticate_plain_with_initial_response(server):
    token = base64.b64encode(b"\x00user2\x00pass").decode()
    bad = base64.b64encode(b"\x00user2\x00nope").decode()

    def scenario():
        run(server.port, f"""
            S: * OK ...
            C: a1 AUTHENTICATE PLAIN {bad}
            S: a1 NO [AUTHENTICATIONFAILED] Authentication failed.
            C: a2 AUTHENTICATE PLAIN {token}
            S: a2 OK [CAPABILITY ...] Logged in
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_2_2_authenticate_continuation_and_cancel(server):
    token = base64.b64encode(b"user3\x00user3\x00pass").decode()

    def scenario():
        run(server.port, f"""
            S: * OK ...
            C: a1 AUTHENTICATE PLAIN
            S: + ...
            C: *
            S: a1 BAD Authentication cancelled.
            C: a2 AUTHENTICATE PLAIN
            S: + ...
            C: {token}
            S: a2 OK [CAPABILITY ...] Logged in
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4616_authzid_of_another_user_is_refused(server):
    token = base64.b64encode(b"user1\x00user2\x00pass").decode()

    def scenario():
        run(server.port, f"""
            S: * OK ...
            C: a1 AUTHENTICATE PLAIN {token}
            S: a1 NO ...
            C: a2 AUTHENTICATE CRAM-MD5
            S: a2 NO Unsupported authentication mechanism.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_logindisabled_without_tls(start):
    server = await start(listeners=(ListenerConfig("tcp:0:interface=127.0.0.1", "none", False),))
    token = base64.b64encode(b"\x00user1\x00pass").decode()

    def scenario():
        run(server.port, f"""
            S: * OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE LOGINDISABLED] cpmstore ready.
            C: a1 LOGIN user1 pass
            S: a1 NO [PRIVACYREQUIRED] ...
            C: a2 AUTHENTICATE PLAIN {token}
            S: a2 NO [PRIVACYREQUIRED] ...
            C: a3 SELECT INBOX
            S: a3 BAD ...
        """)

    await in_thread(scenario)


def _client_context(tls_files) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls_files.certificate)
    ctx.check_hostname = False
    return ctx


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_2_1_starttls_then_login(start, tls_files):
    server = await start(listeners=(ListenerConfig("tcp:0:interface=127.0.0.1", "starttls", False),),
                         tls=tls_files)

    def scenario():
        c = imaplib.IMAP4("127.0.0.1", server.port)
        assert "STARTTLS" in c.capabilities and "LOGINDISABLED" in c.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            c.login("user1", "pass")
        c.starttls(_client_context(tls_files))
        typ, caps = c.capability()
        assert b"STARTTLS" not in caps[0] and b"AUTH=PLAIN" in caps[0]
        assert c.login("user1", "pass")[0] == "OK"
        assert c.select("INBOX")[0] == "OK"
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_2_1_commands_sent_behind_starttls_are_not_run(start, tls_files):
    server = await start(listeners=(ListenerConfig("tcp:0:interface=127.0.0.1", "starttls", True),),
                         tls=tls_files)

    def scenario():
        conn = Connection(server.port)
        conn.read_line()
        conn.send(b"b STARTTLS\r\nc NOOP\r\n")
        assert conn.read_line() == b"b OK Begin TLS negotiation now."
        tls = _client_context(tls_files).wrap_socket(conn.sock, server_hostname="localhost")
        conn2 = Connection(0, sock=tls)
        # The injected NOOP must not have run: the next thing we hear answers our own command.
        assert conn2.command(b"d", b"NOOP") == [b"d OK NOOP completed."]
        assert conn2.command(b"e", b"LOGIN user1 pass")[-1].startswith(b"e OK")

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_implicit_tls_listener(start, tls_files):
    server = await start(listeners=(ListenerConfig("tcp:0:interface=127.0.0.1", "implicit", False),),
                         tls=tls_files)

    def scenario():
        c = imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=_client_context(tls_files))
        assert "STARTTLS" not in c.capabilities and "AUTH=PLAIN" in c.capabilities
        assert c.login("user1", "pass")[0] == "OK"
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc2971_id_and_rfc2342_namespace(server):
    def scenario():
        run(server.port, """
            S: * OK ...
            C: a1 ID NIL
            S: * ID ("name" "cpmstore" "version" "...")
            S: a1 OK ID completed.
            C: a2 LOGIN user1 pass
            S: a2 OK ...
            C: a3 NAMESPACE
            S: * NAMESPACE (("" "/")) (("Other Users/" "/")) NIL
            S: a3 OK Namespace completed.
            C: a4 ENABLE CONDSTORE X-UNKNOWN
            S: * ENABLED CONDSTORE
            S: a4 OK Enabled.
            C: a5 ENABLE CONDSTORE
            S: * ENABLED
            S: a5 OK Enabled.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_6_failed_login_is_delayed(start):
    from cpmstore.config import LimitsConfig
    server = await start(limits=LimitsConfig(login_failure_delay=0.4))

    def scenario():
        import time
        conn = run(server.port, "S: * OK ...")
        began = time.monotonic()
        assert conn.command(b"a1", b"LOGIN user1 wrong")[-1].startswith(b"a1 NO")
        return time.monotonic() - began

    assert await in_thread(scenario) >= 0.4


@pytest_twisted.ensureDeferred
async def test_design_6_connections_per_user_limit(start):
    from cpmstore.config import LimitsConfig
    server = await start(limits=LimitsConfig(max_connections_per_user=1, login_failure_delay=0.0))

    def scenario():
        first = run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
        """)
        run(server.port, """
            S: * OK ...
            C: b1 LOGIN user1 pass
            S: b1 NO [UNAVAILABLE] ...
            C: b2 LOGIN user2 pass
            S: b2 OK ...
        """)
        first.command(b"a2", b"LOGOUT")
        run(server.port, """
            S: * OK ...
            C: c1 LOGIN user1 pass
            S: c1 OK ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_2_login_when_already_authenticated(server):
    def scenario():
        run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
            C: a2 LOGIN user1 pass
            S: a2 BAD LOGIN: already authenticated.
            C: a3 AUTHENTICATE PLAIN
            S: a3 BAD AUTHENTICATE: already authenticated.
        """)

    await in_thread(scenario)
