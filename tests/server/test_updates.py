"""Other sessions hear of changes: RFC 3501 §5.2, §7.4.1; IDLE, RFC 2177."""

import pytest_twisted
from conftest import in_thread
from transcript import run

SELECTED = """
    S: * OK ...
    C: a0 LOGIN user1 pass
    S: a0 OK ...
    C: s1 SELECT INBOX
    S: * FLAGS ...
    S: * OK [PERMANENTFLAGS ...
    S: * 2 EXISTS
    S: * ... RECENT
    S: * OK [UNSEEN 1] ...
    S: * OK [UIDVALIDITY ...
    S: * OK [UIDNEXT 3] ...
    S: * OK [HIGHESTMODSEQ ...] ...
    S: s1 OK [READ-WRITE] Select completed.
"""

SETUP = """
    S: * OK ...
    C: a0 LOGIN user1 pass
    S: a0 OK ...
    C: a1 APPEND INBOX {1+}
    C: x {1+}
    C: y
    S: a1 OK ...
"""


@pytest_twisted.ensureDeferred
async def test_rfc3501_7_4_1_no_expunge_during_fetch_but_after_noop(server):
    def scenario():
        run(server.port, SETUP)
        one = run(server.port, SELECTED)
        two = run(server.port, SELECTED)
        run(server.port, """
            C: b1 STORE 1 +FLAGS.SILENT (\\Deleted)
            S: b1 OK ...
            C: b2 STORE 2 +FLAGS.SILENT (\\Flagged)
            S: b2 OK ...
            C: b3 EXPUNGE
            S: * 1 EXPUNGE
            S: b3 OK Expunge completed.
            C: b4 APPEND INBOX {1+}
            C: z
            S: * 2 EXISTS
            S: * 1 RECENT
            S: b4 OK ...
        """, conn=two)
        # FETCH by sequence number: the expunge must wait, the flag change and the new message need not.
        run(server.port, """
            C: c1 FETCH 1 FLAGS
            S: * 3 EXISTS
            S: * 2 RECENT
            S: * 2 FETCH (FLAGS (\\Flagged \\Recent))
            S: c1 NO [EXPUNGEISSUED] Some of the requested messages no longer exist.
            C: c2 NOOP
            S: * 1 EXPUNGE
            S: * 1 RECENT
            S: c2 OK NOOP completed.
            C: c3 UID FETCH 1:* (UID FLAGS)
            S: * 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent))
            S: * 2 FETCH (UID 3 FLAGS ())
            S: c3 OK Fetch completed.
        """, conn=one)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc2177_idle_hears_changes_at_once(server):
    def scenario():
        run(server.port, SETUP)
        watcher = run(server.port, SELECTED + """
            C: i1 IDLE
            S: + idling
        """)
        actor = run(server.port, SELECTED)
        run(server.port, """
            C: d1 APPEND INBOX {1+}
            C: w
            S: * 3 EXISTS
            S: * 0 RECENT
            S: d1 OK ...
        """, conn=actor)
        # \Recent goes to exactly one session: the idler, which heard first.
        run(server.port, """
            S: * 3 EXISTS
            S: * 3 RECENT
        """, conn=watcher)
        run(server.port, """
            C: d2 STORE 2 +FLAGS.SILENT (\\Seen)
            S: d2 OK ...
        """, conn=actor)
        run(server.port, "S: * 2 FETCH (FLAGS (\\Seen \\Recent))", conn=watcher)
        run(server.port, """
            C: d3 STORE 1 +FLAGS.SILENT (\\Deleted)
            S: d3 OK ...
            C: d4 EXPUNGE
            S: * 1 EXPUNGE
            S: d4 OK ...
        """, conn=actor)
        run(server.port, """
            S: * 1 FETCH (FLAGS (\\Deleted \\Recent))
            S: * 1 EXPUNGE
            S: * 2 RECENT
            C: DONE
            S: i1 OK Idle completed.
        """, conn=watcher)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc2177_idle_ends_only_on_done(server):
    def scenario():
        run(server.port, SETUP + """
            C: i1 IDLE
            S: + idling
            C: NOOP
            S: i1 BAD Expected DONE.
            C: i2 IDLE
            S: + idling
            C: done
            S: i2 OK Idle completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_deleting_the_selected_mailbox_ends_the_session_like_dovecot(server):
    def scenario():
        watcher = run(server.port, """
            S: * OK ...
            C: a0 LOGIN user1 pass
            S: a0 OK ...
            C: a1 CREATE doomed
            S: a1 OK ...
            C: a2 SELECT doomed
            S: * FLAGS ...
            S: * OK ...
            S: * 0 EXISTS
            S: * 0 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a2 OK ...
        """)
        run(server.port, """
            S: * OK ...
            C: b0 LOGIN user1 pass
            S: b0 OK ...
            C: b1 DELETE doomed
            S: b1 OK Delete completed.
        """)
        run(server.port, """
            C: a3 NOOP
            S: * BYE Selected mailbox was deleted, please log in again.
        """, conn=watcher)

    await in_thread(scenario)
