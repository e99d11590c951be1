"""CONDSTORE and QRESYNC: RFC 7162 §3.1 and §3.2, as a phone resynchronizes."""

import re

import pytest_twisted
from conftest import in_thread
from transcript import Connection, LOGIN, run


def fill(port: int, folder: str, count: int) -> None:
    lines = LOGIN + f"C: f1 CREATE {folder}\nS: f1 OK ...\n"
    for i in range(count):
        lines += f"C: f{i + 2} APPEND {folder} {{1+}}\nC: {i % 10}\nS: f{i + 2} OK ...\n"
    run(port, lines).close()


def modseqs(conn: Connection, tag: bytes, command: bytes) -> dict[int, int]:
    """UID -> MODSEQ from the FETCH responses to ``command``."""
    out = {}
    for line in conn.command(tag, command)[:-1]:
        m = re.search(rb"UID (\d+).*MODSEQ \((\d+)\)", line)
        if m:
            out[int(m.group(1))] = int(m.group(2))
    return out


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_select_condstore_and_status_highestmodseq(server):
    def scenario():
        fill(server.port, "box", 3)
        conn = run(server.port, LOGIN + """
            C: a1 STATUS box (MESSAGES HIGHESTMODSEQ)
            S: * STATUS box (MESSAGES 3 HIGHESTMODSEQ ...)
            S: a1 OK ...
            C: a2 SELECT box (CONDSTORE)
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...
            S: * 3 EXISTS
            S: * 3 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...
            S: * OK [UIDNEXT 4] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a2 OK [READ-WRITE] Select completed.
        """)
        before = modseqs(conn, b"a3", b"UID FETCH 1:* (MODSEQ)")
        assert sorted(before) == [1, 2, 3] and len(set(before.values())) == 3
        # One counter per user: each change takes a larger MODSEQ than any before it.
        conn.command(b"a4", b"STORE 2 +FLAGS.SILENT (\\Seen)")
        after = modseqs(conn, b"a5", b"UID FETCH 1:* (MODSEQ) (CHANGEDSINCE %d)" % max(before.values()))
        assert list(after) == [2] and after[2] > max(before.values())
        unchanged = conn.command(b"a6", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % after[2])
        assert unchanged == [b"a6 OK Fetch completed."]
        status = conn.command(b"a7", b"STATUS box (HIGHESTMODSEQ)")[0]
        assert status == b"* STATUS box (HIGHESTMODSEQ %d)" % after[2]
        found = conn.command(b"a8", b"SEARCH MODSEQ %d" % after[2])
        assert found[0] == b"* SEARCH 2 (MODSEQ %d)" % after[2]

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_3_conditional_store_reports_modified(server):
    def scenario():
        fill(server.port, "cs", 3)
        mine = run(server.port, LOGIN + "C: s SELECT cs (CONDSTORE)\n" + "S: ...\n" * 8 + "S: s OK ...")
        seen = modseqs(mine, b"a1", b"UID FETCH 1:* (MODSEQ)")
        other = run(server.port, LOGIN + "C: s SELECT cs\n" + "S: ...\n" * 8 + "S: s OK ...")
        other.command(b"b1", b"UID STORE 2 +FLAGS.SILENT ($Label1)")
        lines = mine.command(b"a2", b"UID STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % max(seen.values()))
        assert lines[-1] == b"a2 OK [MODIFIED 2] Conditional STORE failed."
        updated = [l for l in lines if b"FETCH" in l]
        assert any(l.startswith(b"* 1 FETCH (UID 1 MODSEQ (") for l in updated)
        assert any(l.startswith(b"* 3 FETCH (UID 3 MODSEQ (") for l in updated)
        flags = mine.command(b"a3", b"UID FETCH 1:3 (FLAGS)")
        assert b"\\Deleted" in flags[0] and b"\\Deleted" not in flags[1] and b"\\Deleted" in flags[2]
        zero = mine.command(b"a4", b"STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)")
        assert zero[-1] == b"a4 OK [MODIFIED 1] Conditional STORE failed."

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_qresync_select_reports_vanished_and_changes(server):
    def scenario():
        fill(server.port, "phone", 6)
        first = run(server.port, LOGIN + """
            C: e1 ENABLE QRESYNC
            S: * ENABLED QRESYNC
            S: e1 OK ...
        """)
        lines = first.command(b"s1", b"SELECT phone")
        validity = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(lines)).group(1))
        highest = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(lines)).group(1))
        first.command(b"l1", b"LOGOUT")
        # Another device changes things while this one is away.
        run(server.port, LOGIN + """
            C: b1 SELECT phone
            S: ...
            S: ...
            S: ...
            S: ...
            S: ...
            S: ...
            S: ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: b1 OK ...
            C: b2 STORE 2,5 +FLAGS.SILENT (\\Deleted)
            S: b2 OK ...
            C: b3 EXPUNGE
            S: * 5 EXPUNGE
            S: * 2 EXPUNGE
            S: b3 OK ...
            C: b4 UID STORE 3 +FLAGS.SILENT (\\Seen)
            S: b4 OK ...
        """).close()
        back = run(server.port, LOGIN + """
            C: e1 ENABLE QRESYNC
            S: * ENABLED QRESYNC
            S: e1 OK ...
        """)
        lines = back.command(b"s2", b"SELECT phone (QRESYNC (%d %d 1:6))" % (validity, highest))
        assert b"* VANISHED (EARLIER) 2,5" in lines
        changed = [l for l in lines if b"FETCH" in l]
        assert changed == [b"* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (%s))" % re.search(rb"MODSEQ \((\d+)\)", changed[0]).group(1)]
        assert lines[-1] == b"s2 OK [READ-WRITE] Select completed."
        # A wrong UIDVALIDITY means start over: no VANISHED, no changes.
        lines = back.command(b"s3", b"SELECT phone (QRESYNC (%d %d))" % (validity + 1, highest))
        assert lines[0] == b"* OK [CLOSED] Previous mailbox closed."
        assert not any(b"VANISHED" in l or b"FETCH" in l for l in lines)
        # UID FETCH ... (CHANGEDSINCE n VANISHED) answers the same question in a selected mailbox.
        lines = back.command(b"f1", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % highest)
        assert lines[0] == b"* VANISHED (EARLIER) 2,5"
        assert [l for l in lines if b"FETCH" in l][0].startswith(b"* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (")

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_10_vanished_replaces_expunge_once_qresync_is_on(server):
    def scenario():
        fill(server.port, "live", 3)
        watcher = run(server.port, LOGIN + """
            C: e1 ENABLE QRESYNC
            S: * ENABLED QRESYNC
            S: e1 OK ...
        """)
        watcher.command(b"s1", b"SELECT live")
        actor = run(server.port, LOGIN + "C: s SELECT live\n" + "S: ...\n" * 8 + "S: s OK ...")
        actor.command(b"b1", b"STORE 1:2 +FLAGS.SILENT (\\Deleted)")
        actor.command(b"b2", b"EXPUNGE")
        lines = watcher.command(b"n1", b"NOOP")
        assert b"* VANISHED 1:2" in lines
        assert all(b"EXPUNGE" not in l for l in lines)
        flag_lines = [l for l in lines if b"FETCH" in l]
        assert all(re.match(rb"\* \d FETCH \(UID \d FLAGS \(.*\) MODSEQ \(\d+\)\)", l) for l in flag_lines)
        assert watcher.command(b"n2", b"UID FETCH 1:* (UID)") == [b"* 1 FETCH (UID 3)", b"n2 OK Fetch completed."]
        bad = watcher.command(b"f1", b"FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert bad[-1].startswith(b"f1 BAD")

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_5_qresync_needs_enable(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 SELECT INBOX (QRESYNC (1 1))
            S: a1 BAD ...
            C: a2 SELECT INBOX (FOO)
            S: a2 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_6_vanished_includes_the_expunged_top_uid(server):
    def scenario():
        fill(server.port, "top", 3)
        conn = run(server.port, LOGIN + """
            C: e1 ENABLE QRESYNC
            S: * ENABLED QRESYNC
            S: e1 OK ...
        """)
        conn.command(b"s1", b"SELECT top")
        conn.command(b"s2", b"UID STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        lines = conn.command(b"s3", b"UID EXPUNGE 3")
        # RFC 7162 §3.2.10: with QRESYNC the tagged OK carries the new HIGHESTMODSEQ.
        assert lines[-1].startswith(b"s3 OK [HIGHESTMODSEQ ")
        conn.command(b"s4", b"EXPUNGE")
        lines = conn.command(b"f1", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert lines[0] == b"* VANISHED (EARLIER) 1,3"

    await in_thread(scenario)
