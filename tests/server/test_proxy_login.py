"""Trusted network identities acting for a user (issue 8): SASL PLAIN with an
authorization identity, RFC 4616 §2 and RFC 3501 §6.2.2; refusals with RFC 5530
response codes; ``[server] proxy_users``."""

import base64

import pytest_twisted
from conftest import in_thread
from transcript import run
from twisted.logger import globalLogPublisher

from cpmstore.config import LimitsConfig

USERS = {"alice": "alice-pw", "bob": "bob-pw", "cpm-pf": "pf-pw"}


def _plain(authzid: str, authcid: str, password: str) -> str:
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


async def _start(start, make_users_file, **server):
    return await start(users_file=make_users_file(USERS), **server)


@pytest_twisted.ensureDeferred
async def test_rfc4616_2_proxy_user_deposits_and_flags_in_users_folders(start, make_users_file):
    server = await _start(start, make_users_file, proxy_users=["cpm-pf"])
    events: list[str] = []

    def observe(event) -> None:
        if event.get("event") == "login":  # cpmstore.server.logs: one line names both
            events.append(f"{event['result']} {event['user']} by proxy {event.get('proxy')}")

    def scenario():
        conn = run(server.port, f"""
            S: * OK ...
            C: a1 AUTHENTICATE PLAIN {_plain("alice", "cpm-pf", "pf-pw")}
            S: a1 OK [CAPABILITY ...] Logged in
            C: a2 APPEND INBOX {{22+}}
            C: Subject: deposit\\r\\n\\r\\nhi
            S: a2 OK [APPENDUID ... 1] ...
        """)
        selected = conn.command(b"a3", b"SELECT INBOX")
        assert b"* 1 EXISTS" in selected and selected[-1].startswith(b"a3 OK [READ-WRITE]"), selected
        run(server.port, """
            C: a4 STORE 1 +FLAGS (\\Seen)
            S: * 1 FETCH (FLAGS (\\Seen \\Recent))
            S: a4 OK ...
            C: a5 LOGOUT
            S: * BYE ...
            S: a5 OK ...
        """, conn)
        # The deposit and the flag are in alice's own INBOX, not in cpm-pf's.
        run(server.port, """
            S: * OK ...
            C: b1 LOGIN alice alice-pw
            S: b1 OK ...
            C: b2 STATUS INBOX (MESSAGES UNSEEN)
            S: * STATUS INBOX (MESSAGES 1 UNSEEN 0)
            S: b2 OK ...
        """)
        run(server.port, """
            S: * OK ...
            C: c1 LOGIN cpm-pf pf-pw
            S: c1 OK ...
            C: c2 STATUS INBOX (MESSAGES)
            S: * STATUS INBOX (MESSAGES 0)
            S: c2 OK ...
        """)

    globalLogPublisher.addObserver(observe)
    try:
        await in_thread(scenario)
    finally:
        globalLogPublisher.removeObserver(observe)
    assert [e for e in events if "by proxy cpm-pf" in e] == ["ok alice by proxy cpm-pf"]


@pytest_twisted.ensureDeferred
async def test_rfc5530_3_proxy_account_without_config_entry_is_refused(start, make_users_file):
    server = await _start(start, make_users_file)

    def scenario():
        run(server.port, f"""
            S: * OK ...
            C: a1 AUTHENTICATE PLAIN {_plain("alice", "cpm-pf", "pf-pw")}
            S: a1 NO [AUTHORIZATIONFAILED] ...
            C: a2 AUTHENTICATE PLAIN {_plain("", "cpm-pf", "pf-pw")}
            S: a2 OK [CAPABILITY ...] Logged in
        """)

    await in_thread(scenario)


# (authzid, authcid, password) -> the tagged answer, with proxy_users = ["cpm-pf"].
AUTHORIZATION_TABLE = [
    # RFC 5530 §3: authenticated, but bob may not act for alice.
    ("alice", "bob", "bob-pw", "NO [AUTHORIZATIONFAILED] Authorization as another user is not permitted."),
    # The password is checked first: a wrong one says nothing about authorization.
    ("alice", "bob", "wrong", "NO [AUTHENTICATIONFAILED] Authentication failed."),
    ("alice", "cpm-pf", "wrong", "NO [AUTHENTICATIONFAILED] Authentication failed."),
    # A user not in the users file: the same answer as a wrong password.
    ("nobody", "cpm-pf", "pf-pw", "NO [AUTHENTICATIONFAILED] Authentication failed."),
    # RFC 4616 §2: authzid equal to authcid is an ordinary login.
    ("bob", "bob", "bob-pw", "OK [CAPABILITY ...] Logged in"),
    ("cpm-pf", "cpm-pf", "pf-pw", "OK [CAPABILITY ...] Logged in"),
]


@pytest_twisted.ensureDeferred
async def test_rfc4616_2_rfc5530_3_who_may_act_for_whom(start, make_users_file):
    server = await _start(start, make_users_file, proxy_users=["cpm-pf"])

    def scenario():
        for authzid, authcid, password, answer in AUTHORIZATION_TABLE:
            run(server.port, f"""
                S: * OK ...
                C: a1 AUTHENTICATE PLAIN {_plain(authzid, authcid, password)}
                S: a1 {answer}
            """).close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5530_3_proxied_session_counts_against_the_users_limit(start, make_users_file):
    server = await _start(start, make_users_file, proxy_users=["cpm-pf"],
                          limits=LimitsConfig(login_failure_delay=0.0, max_connections_per_user=1))

    def scenario():
        alice = run(server.port, """
            S: * OK ...
            C: a1 LOGIN alice alice-pw
            S: a1 OK ...
        """)
        run(server.port, f"""
            S: * OK ...
            C: b1 AUTHENTICATE PLAIN {_plain("alice", "cpm-pf", "pf-pw")}
            S: b1 NO [UNAVAILABLE] ...
            C: b2 AUTHENTICATE PLAIN {_plain("bob", "cpm-pf", "pf-pw")}
            S: b2 OK ...
        """)
        alice.close()

    await in_thread(scenario)
