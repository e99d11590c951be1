"""Nothing lost: restart and SIGKILL keep every acknowledged APPEND, its UID,
UIDVALIDITY, UIDNEXT and flags (DESIGN §4 "Delivery order")."""

import os
import signal
import threading
from pathlib import Path

import pytest_twisted
from conftest import in_thread
from imapclient import IMAPClient
from twistd_proc import free_port, start_twistd

ROOT = Path(__file__).resolve().parents[2]


def snapshot(port: int) -> dict:
    c = IMAPClient("127.0.0.1", port, ssl=False)
    c.login("user1", "pass")
    out = {}
    for folder in ("INBOX", "keep"):
        status = c.folder_status(folder, ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
        c.select_folder(folder, readonly=True)
        fetched = c.fetch(c.search("ALL"), ["UID", "FLAGS", "BODY.PEEK[]"]) if status[b"MESSAGES"] else {}
        # \Recent belongs to sessions, not to the store: not compared.
        out[folder] = (status, {uid: (sorted(f for f in d[b"FLAGS"] if f != b"\\Recent"), d[b"BODY[]"])
                                for uid, d in fetched.items()})
    c.logout()
    return out


@pytest_twisted.ensureDeferred
async def test_restart_keeps_uids_uidvalidity_uidnext_flags(start, tmp_path):
    data = tmp_path / "data"
    first = await start(data_dir=data)

    def fill():
        c = IMAPClient("127.0.0.1", first.port, ssl=False)
        c.login("user1", "pass")
        c.create_folder("keep")
        for i in range(5):
            c.append("INBOX", b"Subject: %d\r\n\r\nbody %d\r\n" % (i, i), flags=[b"\\Seen"] if i % 2 else [])
            c.append("keep", b"Subject: k%d\r\n\r\nkeep %d\r\n" % (i, i))
        c.select_folder("INBOX")
        c.add_flags([2], [b"\\Flagged", b"$Work"])
        c.delete_messages([3])
        c.expunge()
        c.logout()
        return snapshot(first.port)

    before = await in_thread(fill)
    await first.running.stop()
    second = await start(data_dir=data)
    after = await in_thread(snapshot, second.port)
    assert after == before
    assert before["INBOX"][0][b"UIDNEXT"] == 6 and 3 not in before["INBOX"][1]


def test_sigkill_during_appends_loses_nothing_acknowledged(tmp_path):
    port = free_port()
    proc = start_twistd(tmp_path, port)
    acked: dict[int, bytes] = {}
    sent = []
    try:
        c = IMAPClient("127.0.0.1", port, ssl=False, timeout=10)
        c.login("user1", "pass")
        killer = threading.Timer(0.8, lambda: os.kill(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            for i in range(100000):
                body = b"Subject: crash %d\r\nIMDN-Message-ID: crash-%d\r\n\r\n%s\r\n" % (i, i, b"z" * (i % 700))
                sent.append(body)
                reply = c.append("INBOX", body)
                uid = int(reply.split(b"APPENDUID ")[1].split(b"]")[0].split()[1])
                acked[uid] = body
        except Exception:
            pass  # the server died under us, as intended
        killer.join()
    finally:
        proc.wait(timeout=10)
    assert len(acked) > 5, "the kill came before any APPEND was acknowledged"
    proc = start_twistd(tmp_path, port)
    try:
        c = IMAPClient("127.0.0.1", port, ssl=False, timeout=10)
        c.login("user1", "pass")
        c.select_folder("INBOX", readonly=True)
        stored = {uid: d[b"BODY[]"] for uid, d in c.fetch(c.search("ALL"), ["UID", "BODY.PEEK[]"]).items()}
        c.logout()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for uid, body in acked.items():
        assert stored.get(uid) == body, f"acknowledged UID {uid} lost or changed"
    bodies = list(stored.values())
    assert len(bodies) == len(set(bodies)), "a message was stored twice"
    assert set(bodies) <= set(sent)
    # At most the one APPEND in flight at the kill may exist unacknowledged.
    assert len(stored) - len(acked) <= 1
