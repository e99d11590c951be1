"""Sync state is never lost or wrong: MODSEQs, HIGHESTMODSEQ and the expunge
history survive a restart and a SIGKILL, so a phone that resynchronizes with
QRESYNC after either learns exactly what changed (RFC 7162 §3.1, §3.2.5;
DESIGN §4 "MODSEQ", §5)."""

import os
import re
import signal
import threading

import pytest_twisted
from conftest import in_thread
from twistd_proc import free_port, start_twistd
from transcript import Connection, ok, run

# (modseq, flags) of one message, as a client last saw it.
Seen = tuple[int, frozenset[bytes]]


def login(port: int, enable: bytes = b"QRESYNC") -> Connection:
    conn = run(port, """
        S: * OK ...
        C: a0 LOGIN user1 pass
        S: a0 OK ...
    """)
    assert conn.command(b"e0", b"ENABLE " + enable)[-1].startswith(b"e0 OK")
    return conn


def fill(conn: Connection, folder: bytes, count: int) -> None:
    """``count`` messages in one MULTIAPPEND (RFC 3502): one command, one commit."""
    ok(conn, b"c", b"CREATE " + folder)
    literals = b"".join(b" {%d+}\r\nSubject: %d\r\n\r\nm\r\n" % (len(b"Subject: %d\r\n\r\nm\r\n" % i), i)
                        for i in range(count))
    ok(conn, b"f", b"APPEND " + folder + literals)


def fetched(lines: list[bytes]) -> dict[int, Seen]:
    """UID -> (MODSEQ, FLAGS) from the FETCH responses among ``lines``."""
    out = {}
    for line in lines:
        if b" FETCH (" not in line:
            continue
        uid = int(re.search(rb"UID (\d+)", line).group(1))
        modseq = int(re.search(rb"MODSEQ \((\d+)\)", line).group(1))
        flags = re.search(rb"FLAGS \(([^)]*)\)", line)
        out[uid] = (modseq, frozenset(flags.group(1).split()) if flags else frozenset())
    return out


def status(conn: Connection, folder: bytes) -> dict[bytes, int]:
    line = ok(conn, b"st", b"STATUS " + folder + b" (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")[0]
    pairs = re.search(rb"\((.*)\)", line).group(1).split()
    return {pairs[i]: int(pairs[i + 1]) for i in range(0, len(pairs), 2)}


def vanished(lines: list[bytes]) -> set[int]:
    out: set[int] = set()
    for line in lines:
        if line.startswith(b"* VANISHED (EARLIER) "):
            for part in line.split()[-1].split(b","):
                lo, _, hi = part.partition(b":")
                out.update(range(int(lo), int(hi or lo) + 1))
    return out


def snapshot(port: int, folders: tuple[bytes, ...]) -> dict[bytes, tuple[dict, dict[int, Seen]]]:
    """STATUS and every message's MODSEQ and flags, read-only (EXAMINE changes nothing)."""
    conn = login(port)
    out = {}
    for folder in folders:
        info = status(conn, folder)
        ok(conn, b"x", b"EXAMINE " + folder)
        messages = fetched(ok(conn, b"u", b"UID FETCH 1:* (FLAGS MODSEQ)")) if info[b"MESSAGES"] else {}
        out[folder] = (info, messages)
    conn.command(b"l", b"LOGOUT")
    return out


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_5_restart_keeps_modseqs_and_expunge_history(start, tmp_path):
    data = tmp_path / "data"
    first = await start(data_dir=data)
    folders = (b"phone", b"other")

    def before():
        conn = login(first.port)
        fill(conn, b"phone", 6)
        fill(conn, b"other", 3)
        mark = status(conn, b"phone")
        ok(conn, b"s", b"SELECT phone")
        # Changes the phone has not seen: before the restart ...
        ok(conn, b"b1", b"UID STORE 2 +FLAGS.SILENT (\\Seen)")
        ok(conn, b"b2", b"UID STORE 3 +FLAGS.SILENT (\\Deleted)")
        ok(conn, b"b3", b"UID EXPUNGE 3")
        ok(conn, b"b4", b"SELECT other")
        ok(conn, b"b5", b"UID STORE 1 +FLAGS.SILENT ($Other)")
        conn.command(b"l", b"LOGOUT")
        return mark, snapshot(first.port, folders)

    mark, seen = await in_thread(before)
    await first.running.stop()
    second = await start(data_dir=data)
    assert await in_thread(snapshot, second.port, folders) == seen
    largest_before = max(info[b"HIGHESTMODSEQ"] for info, _ in seen.values())

    def after():
        conn = login(second.port)
        ok(conn, b"s", b"SELECT phone")
        # ... and after it.
        changed = fetched(ok(conn, b"c1", b"UID STORE 5 +FLAGS ($Work)"))
        assert changed[5][0] > largest_before
        ok(conn, b"c2", b"UID STORE 1 +FLAGS.SILENT (\\Deleted)")
        ok(conn, b"c3", b"UID EXPUNGE 1")
        conn.command(b"l", b"LOGOUT")
        now = snapshot(second.port, folders)[b"phone"][1]
        phone = login(second.port)
        lines = ok(phone, b"q", b"SELECT phone (QRESYNC (%d %d 1:6))" % (mark[b"UIDVALIDITY"], mark[b"HIGHESTMODSEQ"]))
        assert vanished(lines) == {1, 3}
        assert sum(line.startswith(b"* VANISHED") for line in lines) == 1
        assert fetched(lines) == {uid: now[uid] for uid in (2, 5)}
        assert now[2][1] == {b"\\Seen"} and now[5][1] == {b"$Work"}
        # Messages nobody touched keep the MODSEQ they had before the restart.
        assert now[4] == seen[b"phone"][1][4] and now[6] == seen[b"phone"][1][6]

    await in_thread(after)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_one_modseq_counter_across_folders(server):
    def scenario():
        setup = login(server.port)
        fill(setup, b"left", 3)
        fill(setup, b"right", 3)
        left, right = login(server.port, b"CONDSTORE"), login(server.port, b"CONDSTORE")
        ok(left, b"s", b"SELECT left")
        ok(right, b"s", b"SELECT right")
        modseqs = []
        for i in range(8):
            conn = (left, right)[i % 2]
            changed = fetched(ok(conn, b"t%d" % i, b"UID STORE %d +FLAGS ($k%d)" % (i % 3 + 1, i)))
            modseqs.append(changed[i % 3 + 1][0])
        assert modseqs == sorted(set(modseqs)), modseqs
        # Each folder's HIGHESTMODSEQ is the largest of its own changes only.
        assert status(setup, b"left")[b"HIGHESTMODSEQ"] == modseqs[-2]
        assert status(setup, b"right")[b"HIGHESTMODSEQ"] == modseqs[-1]
        # An APPEND in one folder and an EXPUNGE in the other take the next ones.
        ok(setup, b"a", b"APPEND left {1+}\r\nx")
        appended = status(setup, b"left")[b"HIGHESTMODSEQ"]
        ok(right, b"d", b"UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        ok(right, b"e", b"UID EXPUNGE 2")
        assert modseqs[-1] < appended < status(setup, b"right")[b"HIGHESTMODSEQ"]

    await in_thread(scenario)


def test_rfc7162_3_2_5_sigkill_during_stores_and_expunges_keeps_every_acknowledged_change(tmp_path):
    port = free_port()
    proc = start_twistd(tmp_path, port)
    count = 200
    try:
        conn = login(port)
        fill(conn, b"box", count)
        mark = status(conn, b"box")
        ok(conn, b"s", b"SELECT box")
        seen = fetched(ok(conn, b"m", b"UID FETCH 1:* (MODSEQ)"))
        flags_acked: dict[int, set[bytes]] = {uid: set() for uid in seen}
        expunged_acked: set[int] = set()
        in_flight: tuple[bytes, int, bytes] | None = None
        live = sorted(seen)
        killer = threading.Timer(0.5, lambda: os.kill(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            for i in range(1_000_000):
                uid = live[i % len(live)]
                if i % 6 == 5 and len(live) > count // 2:
                    in_flight = (b"expunge", uid, b"")
                    changed = fetched(ok(conn, b"d%d" % i, b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid))
                    seen[uid] = changed[uid]
                    assert ok(conn, b"x%d" % i, b"UID EXPUNGE %d" % uid)[0] == b"* VANISHED %d" % uid
                    expunged_acked.add(uid)
                    live.remove(uid)
                else:
                    keyword = b"$k%d" % i
                    in_flight = (b"store", uid, keyword)
                    changed = fetched(ok(conn, b"k%d" % i, b"UID STORE %d +FLAGS (%s)" % (uid, keyword)))
                    seen[uid] = changed[uid]
                    flags_acked[uid].add(keyword)
                in_flight = None
        except OSError:
            pass  # the server died under us, as intended
        killer.join()
    finally:
        proc.wait(timeout=10)
    highest_seen = max(modseq for modseq, _flags in seen.values())
    assert len(expunged_acked) >= 2 and sum(map(len, flags_acked.values())) >= 5, "the kill came too early"

    proc = start_twistd(tmp_path, port)
    try:
        conn = login(port)
        assert status(conn, b"box")[b"HIGHESTMODSEQ"] >= highest_seen
        lines = ok(conn, b"q", b"SELECT box (QRESYNC (%d %d 1:%d))" % (mark[b"UIDVALIDITY"], mark[b"HIGHESTMODSEQ"], count))
        gone = vanished(lines)
        maybe_gone = {in_flight[1]} if in_flight and in_flight[0] == b"expunge" else set()
        assert expunged_acked <= gone <= expunged_acked | maybe_gone
        stored = fetched(ok(conn, b"u", b"UID FETCH 1:* (FLAGS MODSEQ)"))
        assert not gone & set(stored) and set(stored) | gone == set(range(1, count + 1))
        for uid, (modseq, flags) in stored.items():
            assert modseq >= seen[uid][0], f"UID {uid}: MODSEQ went back from {seen[uid][0]} to {modseq}"
            assert flags_acked[uid] <= flags, f"UID {uid}: acknowledged flags lost"
        # QRESYNC reported every message changed since the mark, with its current state.
        changed = fetched(lines)
        touched = {uid for uid, keywords in flags_acked.items() if keywords} - gone
        assert touched <= set(changed) and all(changed[uid] == stored[uid] for uid in changed)
        # The counter resumes above everything a client ever saw.
        uid = min(stored)
        after = fetched(ok(conn, b"n", b"UID STORE %d +FLAGS ($after)" % uid))
        assert after[uid][0] > highest_seen
        conn.command(b"l", b"LOGOUT")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
