"""Session logging (issue 11): one line per login (ok and failed), per logout
or disconnect and per server failure, with structured fields; never a
password, a SASL response or message content; ``[logging] format = "json"``
under ``twistd``."""

from __future__ import annotations

import base64
import imaplib
import json
import subprocess
import sys
from pathlib import Path

import pytest_twisted
from conftest import in_thread
from transcript import Connection
from twistd_proc import ROOT, free_port
from twisted.logger import formatEventAsClassicLogText, globalLogPublisher

from cpmstore.server.logs import json_line

LOGIN_PASSWORD = "Zebra-Login-Secret-7731"
WRONG_PASSWORD = "Wrong-Guess-Quartz-5521"
PLAIN_PASSWORD = "Sasl-Plain-Secret-4419"
WRONG_PLAIN_PASSWORD = "Sasl-Wrong-Heron-2087"
BODY_MARKER = "Body-Marker-Plum-9043"
SUBJECT_MARKER = "Subject-Marker-Lynx-6650"
MESSAGE = (f"From: a@example.com\r\nSubject: {SUBJECT_MARKER}\r\n\r\n"
           f"Hello, {BODY_MARKER} is the body.\r\n").encode()


def _plain(user: str, password: str) -> bytes:
    return base64.b64encode(f"\0{user}\0{password}".encode())


def secrets_in(text: str) -> list[str]:
    """Every secret (or its base64, alone or as a SASL PLAIN message) in ``text``."""
    secrets = [LOGIN_PASSWORD, WRONG_PASSWORD, PLAIN_PASSWORD, WRONG_PLAIN_PASSWORD, BODY_MARKER, SUBJECT_MARKER]
    encoded = [base64.b64encode(s.encode()).decode() for s in secrets]
    encoded += [_plain("alice", LOGIN_PASSWORD).decode(), _plain("bob", PLAIN_PASSWORD).decode(),
                _plain("bob", WRONG_PLAIN_PASSWORD).decode(), base64.b64encode(MESSAGE).decode()]
    return [s for s in secrets + encoded if s in text]


def session(port: int) -> list[str]:
    """Logins with distinctive passwords, ok and failed, by LOGIN and by
    AUTHENTICATE PLAIN (initial response and continuation), an APPEND and a
    FETCH of a distinctive message. Returns each connection's local address."""
    a = Connection(port)
    a.read_line()
    assert a.command(b"a1", f"LOGIN alice {WRONG_PASSWORD}".encode())[-1].startswith(b"a1 NO")
    assert a.command(b"a2", f"LOGIN alice {LOGIN_PASSWORD}".encode())[-1].startswith(b"a2 OK")
    a.send(b"a3 APPEND INBOX {%d+}\r\n" % len(MESSAGE) + MESSAGE + b"\r\n")
    assert a.until(b"a3")[-1].startswith(b"a3 OK")
    assert a.command(b"a4", b"SELECT INBOX")[-1].startswith(b"a4 OK")
    fetched = a.command(b"a5", b"FETCH 1 (BODY[] BODY[HEADER.FIELDS (SUBJECT)])")
    assert BODY_MARKER.encode() in fetched[0] and fetched[-1].startswith(b"a5 OK")
    assert a.command(b"a6", b"LOGOUT")[-1].startswith(b"a6 OK")

    b = Connection(port)
    b.read_line()
    assert b.command(b"b1", b"AUTHENTICATE PLAIN " + _plain("bob", WRONG_PLAIN_PASSWORD))[-1].startswith(b"b1 NO")
    b.send(b"b2 AUTHENTICATE PLAIN\r\n")
    assert b.read_line().startswith(b"+")
    b.send(_plain("bob", PLAIN_PASSWORD) + b"\r\n")
    assert b.until(b"b2")[-1].startswith(b"b2 OK")
    # bob leaves without LOGOUT: a disconnect.
    addresses = ["%s:%d" % a.sock.getsockname(), "%s:%d" % b.sock.getsockname()]
    a.close()
    b.close()
    return addresses


@pytest_twisted.ensureDeferred
async def test_no_password_sasl_response_or_message_in_any_log_line(start, make_users_file):
    server = await start(users_file=make_users_file({"alice": LOGIN_PASSWORD, "bob": PLAIN_PASSWORD}))
    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    try:
        alice_at, bob_at = await in_thread(session, server.port)
        # Both connections are gone on the server's side once their ends are logged.
        while sum(e.get("event") == "session_end" for e in events) < 2:
            await _turn()
    finally:
        globalLogPublisher.removeObserver(events.append)

    # Every line, as twistd's text format and as the JSON format write it.
    lines = [formatEventAsClassicLogText(e) or "" for e in events] + [json_line(e) for e in events]
    assert [(line, secrets_in(line)) for line in lines if secrets_in(line)] == []

    logins = [(e["result"], e["user"], e["mechanism"], e["remote"]) for e in events if e.get("event") == "login"]
    assert logins == [("failed", "alice", "LOGIN", alice_at), ("ok", "alice", "LOGIN", alice_at),
                      ("failed", "bob", "PLAIN", bob_at), ("ok", "bob", "PLAIN", bob_at)]
    text = [formatEventAsClassicLogText(e) for e in events if e.get("event") == "login"]
    assert "login ok: user=alice mechanism=LOGIN" in text[1] and f"remote={alice_at}" in text[1]
    assert "reason=authentication failed" in text[0]

    ends = {e["user"]: e for e in events if e.get("event") == "session_end"}
    assert ends["alice"]["reason"] == "logout" and ends["alice"]["remote"] == alice_at
    assert ends["alice"]["commands"] == 6 and ends["alice"]["duration"] >= 0
    assert ends["bob"]["reason"] == "disconnect" and ends["bob"]["commands"] == 2
    # One session id per connection, the same on all of its lines.
    ids = {e["user"]: e["session"] for e in events if e.get("event") == "login" and e["result"] == "ok"}
    assert ids["alice"] != ids["bob"]
    assert ends["alice"]["session"] == ids["alice"] and ends["bob"]["session"] == ids["bob"]


async def _turn() -> None:
    from twisted.internet import reactor, task

    await task.deferLater(reactor, 0.01, lambda: None)


def test_twistd_writes_json_lines_with_structured_fields(tmp_path: Path):
    port = free_port()
    users = tmp_path / "users"
    users.write_text(f"alice:{{PLAIN}}{LOGIN_PASSWORD}\nbob:{{PLAIN}}{PLAIN_PASSWORD}\n")
    config = tmp_path / "server.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\nusers_file = "{users}"\n'
        f'[[listener]]\nendpoint = "tcp:{port}:interface=127.0.0.1"\nallow_plaintext_auth = true\n'
        f'[logging]\nformat = "json"\n'
    )
    # -n without --logfile: the JSON lines go to standard output.
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=",
         "cpmstore", "--config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(port, proc)
        alice_at, bob_at = session(port)
        # A last, plain session whose logout line tells that the others' are written.
        with imaplib.IMAP4("127.0.0.1", port) as client:
            client.login("alice", LOGIN_PASSWORD)
            client.logout()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    lines = out.decode().splitlines()
    assert lines, err.decode()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "namespace", "text"} <= set(r) for r in records)
    assert [(line, secrets_in(line)) for line in lines if secrets_in(line)] == []

    logins = [r for r in records if r.get("event") == "login"]
    assert [(r["result"], r["user"], r["mechanism"], r["remote"]) for r in logins[:4]] == [
        ("failed", "alice", "LOGIN", alice_at), ("ok", "alice", "LOGIN", alice_at),
        ("failed", "bob", "PLAIN", bob_at), ("ok", "bob", "PLAIN", bob_at)]
    assert all(r["namespace"] == "cpmstore.session" and r["level"] == "info" and r["session"] for r in logins)
    assert logins[1]["text"].startswith("login ok: user=alice mechanism=LOGIN")
    ends = [r for r in records if r.get("event") == "session_end"]
    assert {(r["user"], r["remote"], r["reason"]) for r in ends if r["remote"] in (alice_at, bob_at)} == {
        ("alice", alice_at, "logout"), ("bob", bob_at, "disconnect")}
    assert all(isinstance(r["duration"], float) and isinstance(r["commands"], int) for r in ends)


def _wait_for(port: int, proc: subprocess.Popen) -> None:
    import socket
    import time

    while proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("twistd exited: " + proc.stderr.read().decode())


def test_logging_file_is_appended_to_and_not_world_readable(tmp_path: Path):
    from twisted.logger import Logger, LogPublisher

    from cpmstore.config import LoggingConfig
    from cpmstore.server.logs import make_observer

    path = tmp_path / "cpmstore.log"
    path.write_text("an older line\n")
    publisher = LogPublisher(make_observer(LoggingConfig(format="text", file=str(path))))
    Logger(namespace="cpmstore.session", observer=publisher).info("login ok: user={user}", user="alice")
    lines = path.read_text().splitlines()
    assert lines[0] == "an older line" and lines[1].endswith("[cpmstore.session#info] login ok: user=alice")
    fresh = tmp_path / "fresh.log"
    make_observer(LoggingConfig(format="json", file=str(fresh)))
    assert fresh.stat().st_mode & 0o777 == 0o640 & ~_umask()
    assert make_observer(LoggingConfig()) is None  # twistd's own text observer stays


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
