"""[server] fsync = "optimized" through the real server: the same answers as
"always", and a restart keeps the flags, the expunge and a HIGHESTMODSEQ
that only grows (RFC 7162 §3.1.1)."""

from __future__ import annotations

import imaplib

import pytest_twisted

from conftest import in_thread
from transcript import LOGIN, run

BEFORE = LOGIN + """
    C: a1 CREATE Chats
    S: a1 OK Create completed.
    C: a2 APPEND Chats {18+}
    C: Subject: one\\r\\n\\r\\nhi
    S: a2 OK [APPENDUID ... 1] Append completed.
    C: a3 APPEND Chats {18+}
    C: Subject: two\\r\\n\\r\\nhi
    S: a3 OK [APPENDUID ... 2] Append completed.
    C: a4 SELECT Chats (CONDSTORE)
    S: * FLAGS ...
    S: * OK [PERMANENTFLAGS ...] ...
    S: * 2 EXISTS
    S: * 2 RECENT
    S: * OK [UNSEEN 1] ...
    S: * OK [UIDVALIDITY ...] ...
    S: * OK [UIDNEXT 3] ...
    S: * OK [HIGHESTMODSEQ ...] ...
    S: a4 OK [READ-WRITE] Select completed.
    C: a5 UID STORE 1 +FLAGS.SILENT (\\Flagged)
    S: * 1 FETCH (UID 1 MODSEQ (...))
    S: a5 OK Store completed.
    C: a6 UID STORE 2 +FLAGS.SILENT (\\Deleted)
    S: * 2 FETCH (UID 2 MODSEQ (...))
    S: a6 OK Store completed.
    C: a7 EXPUNGE
    S: * 2 EXPUNGE
    S: * 1 RECENT
    S: a7 OK Expunge completed.
    C: a8 LOGOUT
    S: * BYE ...
    S: a8 OK ...
"""


def highest_modseq(port: int) -> int:
    client = imaplib.IMAP4("127.0.0.1", port)
    try:
        client.login("user1", "pass")
        typ, data = client.status("Chats", "(HIGHESTMODSEQ)")
        assert typ == "OK"
        return int(data[0].decode().split("HIGHESTMODSEQ ")[1].rstrip(")"))
    finally:
        client.logout()


@pytest_twisted.ensureDeferred
async def test_optimized_answers_and_keeps_state_across_a_restart(start):
    first = await start(fsync="optimized")
    await in_thread(run, first.port, BEFORE)
    seen = await in_thread(highest_modseq, first.port)
    await first.running.stop()
    second = await start(data_dir=first.data_dir, fsync="optimized")

    def after():
        run(second.port, LOGIN + """
            C: b1 EXAMINE Chats
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 1 EXISTS
            S: * 0 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: b1 OK [READ-ONLY] Examine completed.
            C: b2 UID FETCH 1:* (FLAGS)
            S: * 1 FETCH (UID 1 FLAGS (\\Flagged))
            S: b2 OK Fetch completed.
        """)
        return highest_modseq(second.port)

    assert await in_thread(after) >= seen
