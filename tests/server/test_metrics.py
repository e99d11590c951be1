"""The Prometheus endpoint (issue 11, ``[metrics] endpoint``): a scripted
session against the real server, then a scrape of ``/metrics`` over HTTP that
must show exactly the counts the session caused."""

from __future__ import annotations

import base64
import sys
import urllib.error
import urllib.request

import pytest
import pytest_twisted
from conftest import in_thread
from prometheus_client.parser import text_string_to_metric_families
from transcript import Connection
from twisted.internet import reactor, task

from cpmstore.config import ConfigError, LimitsConfig, MetricsConfig, make_config
from cpmstore.service import make_service

METRICS = MetricsConfig(endpoint="tcp:0:interface=127.0.0.1", store_size_interval="0")

MESSAGE_1 = b"From: a@example.com\r\nSubject: one\r\n\r\nFirst body.\r\n"
MESSAGE_2 = b"From: b@example.com\r\nSubject: two\r\n\r\nSecond, a little longer, body.\r\n"
MESSAGE_3 = b"From: c@example.com\r\nSubject: three\r\n\r\nThird body, sent while the first session idles.\r\n"


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    """Every sample of ``/metrics``, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def append(conn: Connection, tag: bytes, message: bytes) -> list[bytes]:
    # LITERAL+ (RFC 7888): the message follows without waiting for "+".
    conn.send(tag + b" APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
    return conn.until(tag)


@pytest_twisted.ensureDeferred
async def test_commands_refused_by_the_limits_are_counted_too(start):
    # Refused before any parse (the framer): a line and literals over their limits.
    server = await start(metrics=METRICS, limits=LimitsConfig(login_failure_delay=0.0, max_line_bytes=200,
                                                               max_literal_bytes=100))
    imap_port, metrics_port = server.port, server.running.metrics_port.getHost().port

    def scenario():
        a = Connection(imap_port)
        assert a.read_line().startswith(b"* OK")
        assert a.command(b"a1", b"LOGIN user1 pass")[-1].startswith(b"a1 OK")
        assert a.command(b"a2", b"NOOP " + b"x" * 300)[-1] == b"a2 BAD Command line too long."
        a.send(b"a3 APPEND INBOX {500}\r\n")  # synchronizing: refused before the bytes come
        assert a.read_line().startswith(b"a3 NO [TOOBIG]")
        a.send(b"a4 SEARCH TEXT {500+}\r\n" + b"y" * 500 + b"\r\n")
        assert a.until(b"a4")[-1].startswith(b"a4 BAD [TOOBIG]")
        assert a.command(b"a5", b"LOGOUT")[-1].startswith(b"a5 OK")
        a.close()

    await in_thread(scenario)
    after = await in_thread(scrape, metrics_port)
    commands = {(dict(k)["command"], dict(k)["result"]): v for (name, k), v in after.items()
                if name == "cpmstore_commands_total"}
    assert commands == {("LOGIN", "OK"): 1, ("UNKNOWN", "BAD"): 1, ("APPEND", "NO"): 1, ("SEARCH", "BAD"): 1,
                        ("LOGOUT", "OK"): 1}


@pytest_twisted.ensureDeferred
async def test_scrape_counts_what_a_scripted_session_did(start):
    server = await start(metrics=METRICS)
    imap_port, metrics_port = server.port, server.running.metrics_port.getHost().port
    listener = server.running.context.config.listeners[0].endpoint

    def scenario():
        before = scrape(metrics_port)
        # A server that has served nobody: every state of the listener at 0, no counts yet.
        for state in ("not_authenticated", "authenticated", "selected", "idle"):
            assert value(before, "cpmstore_connections", listener=listener, state=state) == 0
        assert value(before, "cpmstore_appended_messages_total") == 0

        a = Connection(imap_port)
        assert a.read_line().startswith(b"* OK")
        assert value(scrape(metrics_port), "cpmstore_connections", listener=listener, state="not_authenticated") == 1
        assert a.command(b"a1", b"LOGIN user1 wrong-password")[-1].startswith(b"a1 NO [AUTHENTICATIONFAILED]")
        assert a.command(b"a2", b"LOGIN user1 pass")[-1].startswith(b"a2 OK")
        assert a.command(b"a3", b"SELECT INBOX")[-1].startswith(b"a3 OK")
        assert append(a, b"a4", MESSAGE_1)[-1].startswith(b"a4 OK")
        assert append(a, b"a5", MESSAGE_2)[-1].startswith(b"a5 OK")
        fetched = a.command(b"a6", b"FETCH 1:2 (RFC822.SIZE)")
        assert fetched[-1].startswith(b"a6 OK") and len(fetched) == 3, fetched
        assert a.command(b"a7", b"FROBNICATE")[-1].startswith(b"a7 BAD")

        b = Connection(imap_port)
        assert b.read_line().startswith(b"* OK")
        plain = base64.b64encode(b"\0user1\0pass")
        assert b.command(b"b1", b"AUTHENTICATE PLAIN " + plain)[-1].startswith(b"b1 OK")

        a.send(b"a8 IDLE\r\n")
        assert a.read_line().startswith(b"+ ")
        live = scrape(metrics_port)
        assert value(live, "cpmstore_connections", listener=listener, state="idle") == 1
        assert value(live, "cpmstore_connections", listener=listener, state="authenticated") == 1
        assert value(live, "cpmstore_connections", listener=listener, state="selected") == 0

        assert append(b, b"b2", MESSAGE_3)[-1].startswith(b"b2 OK")
        a.send(b"DONE\r\n")
        pushed = a.until(b"a8")[:-1]  # what IDLE told: the new message
        assert b"* 3 EXISTS" in pushed, pushed
        assert value(scrape(metrics_port), "cpmstore_change_backlog", queue="selected") == 0

        assert a.command(b"a9", b"LOGOUT")[-1].startswith(b"a9 OK")
        assert b.command(b"b3", b"LOGOUT")[-1].startswith(b"b3 OK")
        a.close()
        b.close()
        return pushed

    pushed = await in_thread(scenario)
    # Both connections are closed on the server's side once the reactor has run.
    while server.running.context.protocols:
        await task.deferLater(reactor, 0.01, lambda: None)
    after = await in_thread(scrape, metrics_port)

    commands = {(dict(k)["command"], dict(k)["result"]): v for (name, k), v in after.items()
                if name == "cpmstore_commands_total"}
    assert commands == {
        ("LOGIN", "NO"): 1, ("LOGIN", "OK"): 1, ("AUTHENTICATE", "OK"): 1, ("SELECT", "OK"): 1,
        ("APPEND", "OK"): 3, ("FETCH", "OK"): 1, ("UNKNOWN", "BAD"): 1, ("IDLE", "OK"): 1, ("LOGOUT", "OK"): 2,
    }
    # One latency observation per command, under the same name.
    for command in ("LOGIN", "APPEND", "IDLE", "UNKNOWN"):
        answered = sum(v for (c, _r), v in commands.items() if c == command)
        assert value(after, "cpmstore_command_duration_seconds_count", command=command) == answered
        assert value(after, "cpmstore_command_duration_seconds_bucket", command=command, le="+Inf") == answered
    assert value(after, "cpmstore_logins_total", mechanism="LOGIN", result="ok") == 1
    assert value(after, "cpmstore_logins_total", mechanism="LOGIN", result="failed") == 1
    assert value(after, "cpmstore_logins_total", mechanism="PLAIN", result="ok") == 1
    assert ("cpmstore_logins_total", frozenset({("mechanism", "PLAIN"), ("result", "failed")})) not in after
    assert value(after, "cpmstore_appended_messages_total") == 3
    size = len(MESSAGE_1) + len(MESSAGE_2) + len(MESSAGE_3)
    assert value(after, "cpmstore_appended_bytes_total") == size
    assert value(after, "cpmstore_notifications_sent_total") == len(pushed)
    assert value(after, "cpmstore_store_messages", user="user1") == 3
    assert value(after, "cpmstore_store_bytes", user="user1") == size
    assert value(after, "cpmstore_store_total_bytes") == size
    assert value(after, "cpmstore_store_users") == 1
    for state in ("not_authenticated", "authenticated", "selected", "idle"):
        assert value(after, "cpmstore_connections", listener=listener, state=state) == 0


@pytest_twisted.ensureDeferred
async def test_store_size_series_are_capped_to_the_largest_users(start):
    metrics = MetricsConfig(endpoint="tcp:0:interface=127.0.0.1", store_size_interval="0", store_size_users=1)
    server = await start(metrics=metrics)

    def scenario():
        for user, count in (("user1", 1), ("user2", 2)):
            conn = Connection(server.port)
            conn.read_line()
            assert conn.command(b"l", b"LOGIN %s pass" % user.encode())[-1].startswith(b"l OK")
            for i in range(count):
                assert append(conn, b"a%d" % i, MESSAGE_1)[-1].startswith(b"a%d OK" % i)
            conn.command(b"z", b"LOGOUT")
            conn.close()
        return scrape(server.running.metrics_port.getHost().port)

    samples = await in_thread(scenario)
    users = {dict(labels)["user"] for name, labels in samples if name == "cpmstore_store_bytes"}
    assert users == {"user2"}
    assert value(samples, "cpmstore_store_total_messages") == 3
    assert value(samples, "cpmstore_store_users") == 2


@pytest_twisted.ensureDeferred
async def test_only_metrics_path_is_served(start):
    server = await start(metrics=METRICS)

    def fetch_root():
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"http://127.0.0.1:{server.running.metrics_port.getHost().port}/", timeout=10)
        return raised.value.code

    assert await in_thread(fetch_root) == 404


@pytest_twisted.ensureDeferred
async def test_no_endpoint_by_default(start):
    server = await start()
    assert server.running.metrics_port is None


def test_missing_prometheus_client_stops_the_start_and_says_how_to_install(tmp_path, monkeypatch):
    # As if the optional package were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    config = make_config(tmp_path / "data", metrics=METRICS)
    with pytest.raises(ConfigError, match=r"^metrics\.endpoint: .*pip install 'cpmstore\[metrics\]'"):
        make_service(config)
