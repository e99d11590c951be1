"""ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and WITHIN (RFC 5032) against the
real server, as the RFCs' own transcripts."""

from datetime import datetime, timedelta, timezone

import pytest
import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, Connection, run

from cpmstore.commands.search import esearch_response

# Five messages; 2, 4 and 5 are \Seen (the folder Dovecot answers the same way).
def fill_script(box: str) -> str:
    script = LOGIN + f"C: f0 CREATE {box}\nS: f0 OK ...\n"
    for i, (flags, text) in enumerate([("", "a"), ("(\\Seen) ", "b"), ("", "c"), ("(\\Seen) ", "d"),
                                       ("(\\Seen) ", "e")], 1):
        script += f"C: f{i} APPEND {box} {flags}{{1+}}\nC: {text}\nS: f{i} OK ...\n"
    return script


def selected(port: int, box: str, fill: bool = True) -> Connection:
    """A logged-in connection with ``box`` selected (filled first if asked)."""
    conn = run(port, fill_script(box) if fill else LOGIN)
    assert conn.command(b"s", b"SELECT " + box.encode())[-1].startswith(b"s OK")
    return conn


async def replay(server, box: str, script: str) -> None:
    """Fill and select ``box``, then play the transcript ``script`` on that connection."""
    await in_thread(lambda: run(server.port, script, conn=selected(server.port, box)).close())


@pytest.mark.parametrize("uid, options, numbers, modseq, line", [
    (False, {"MIN", "COUNT"}, [2, 10, 11], None, b'ESEARCH (TAG "A282") MIN 2 COUNT 3'),
    (False, {"ALL"}, [2, 10, 11], None, b'ESEARCH (TAG "A282") ALL 2,10:11'),
    (True, {"MIN", "MAX", "ALL", "COUNT"}, [7, 8, 9, 3800], None,
     b'ESEARCH (TAG "A282") UID MIN 7 MAX 3800 ALL 7:9,3800 COUNT 4'),
    (False, {"ALL"}, [1, 2, 3, 5], 1236, b'ESEARCH (TAG "A282") ALL 1:3,5 MODSEQ 1236'),
    (False, {"MIN", "MAX", "ALL"}, [], None, b'ESEARCH (TAG "A282")'),
    (True, {"COUNT", "ALL"}, [], None, b'ESEARCH (TAG "A282") UID COUNT 0'),
])
def test_rfc4731_3_1_esearch_response_wire_form(uid, options, numbers, modseq, line):
    assert esearch_response(b"A282", uid, frozenset(options), numbers, modseq) == line


@pytest_twisted.ensureDeferred
async def test_rfc4731_3_1_return_min_max_all_count(server):
    await replay(server, "es1", """
        C: a1 SEARCH RETURN (MIN MAX ALL COUNT) SEEN
        S: * ESEARCH (TAG "a1") MIN 2 MAX 5 ALL 2,4:5 COUNT 3
        S: a1 OK Search completed.
        C: a2 UID SEARCH RETURN (COUNT ALL MAX MIN) SEEN
        S: * ESEARCH (TAG "a2") UID MIN 2 MAX 5 ALL 2,4:5 COUNT 3
        S: a2 OK Search completed.
        C: a3 SEARCH RETURN () ALL
        S: * ESEARCH (TAG "a3") ALL 1:5
        S: a3 OK Search completed.
        C: a4 SEARCH RETURN (MIN) DRAFT
        S: * ESEARCH (TAG "a4")
        S: a4 OK Search completed.
        C: a5 UID SEARCH RETURN (COUNT) DRAFT
        S: * ESEARCH (TAG "a5") UID COUNT 0
        S: a5 OK Search completed.
        C: a6 SEARCH RETURN (MAX) CHARSET UTF-8 UNSEEN
        S: * ESEARCH (TAG "a6") MAX 3
        S: a6 OK Search completed.
        C: a7 SEARCH RETURN (FOO) ALL
        S: a7 BAD Error in IMAP command: Unknown SEARCH return option FOO
    """)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_4_search_without_return_is_unchanged(server):
    await replay(server, "es2", """
        C: a1 SEARCH SEEN
        S: * SEARCH 2 4 5
        S: a1 OK Search completed.
        C: a2 UID SEARCH DRAFT
        S: * SEARCH
        S: a2 OK Search completed.
    """)


@pytest_twisted.ensureDeferred
async def test_rfc4731_3_2_modseq_in_esearch(server):
    def scenario():
        conn = selected(server.port, "es3")
        conn.command(b"a0", b"STORE 3 +FLAGS.SILENT (\\Flagged)")
        modseqs = {}
        for line in conn.command(b"a1", b"FETCH 1:5 (MODSEQ)"):
            if b" FETCH " not in line:
                continue  # the HIGHESTMODSEQ that enabling CONDSTORE brings, the tagged OK
            seq, _, rest = line[2:].partition(b" FETCH (MODSEQ (")
            modseqs[int(seq)] = int(rest.rstrip(b")"))
        highest = max(modseqs.values())
        assert highest == modseqs[3]
        assert conn.command(b"a2", b"SEARCH RETURN (ALL COUNT) MODSEQ 1") == [
            b'* ESEARCH (TAG "a2") ALL 1:5 COUNT 5 MODSEQ %d' % highest, b"a2 OK Search completed."]
        # With only MIN or MAX asked, only those messages are returned (RFC 4731 §3.2).
        assert conn.command(b"a3", b"SEARCH RETURN (MIN) MODSEQ 1")[0] == (
            b'* ESEARCH (TAG "a3") MIN 1 MODSEQ %d' % modseqs[1])
        assert conn.command(b"a4", b"UID SEARCH RETURN (MIN MAX) MODSEQ 1")[0] == (
            b'* ESEARCH (TAG "a4") UID MIN 1 MAX 5 MODSEQ %d' % max(modseqs[1], modseqs[5]))
        assert conn.command(b"a5", b"SEARCH RETURN (COUNT) SEEN MODSEQ 1")[0] == (
            b'* ESEARCH (TAG "a5") COUNT 3 MODSEQ %d' % max(modseqs[2], modseqs[4], modseqs[5]))
        # Nothing found: no MODSEQ either.
        assert conn.command(b"a6", b"SEARCH RETURN (ALL) DRAFT MODSEQ 1")[0] == b'* ESEARCH (TAG "a6")'

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5182_2_2_save_then_dollar_in_fetch_store_copy_search(server):
    await replay(server, "es4", """
        C: a0 CREATE es4-copy
        S: a0 OK ...
        C: a1 FETCH $ (UID)
        S: a1 OK Fetch completed.
        C: a2 SEARCH RETURN (SAVE) SEEN
        S: a2 OK Search completed.
        C: a3 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 4 FETCH (UID 4)
        S: * 5 FETCH (UID 5)
        S: a3 OK Fetch completed.
        C: a4 UID FETCH $ (FLAGS)
        S: * 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))
        S: * 4 FETCH (UID 4 FLAGS (\\Seen \\Recent))
        S: * 5 FETCH (UID 5 FLAGS (\\Seen \\Recent))
        S: a4 OK Fetch completed.
        C: a5 SEARCH $
        S: * SEARCH 2 4 5
        S: a5 OK Search completed.
        C: a6 SEARCH NOT $
        S: * SEARCH 1 3
        S: a6 OK Search completed.
        C: a7 UID SEARCH OR $ 1
        S: * SEARCH 1 2 4 5
        S: a7 OK Search completed.
        C: a8 SEARCH RETURN (ALL) UID $ 4:5
        S: * ESEARCH (TAG "a8") ALL 4:5
        S: a8 OK Search completed.
        C: a9 STORE $ +FLAGS (\\Flagged)
        S: * 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
        S: * 4 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
        S: * 5 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
        S: a9 OK Store completed.
        C: b1 COPY $ es4-copy
        S: b1 OK [COPYUID ... 2,4:5 1:3] Copy completed.
        C: b2 STATUS es4-copy (MESSAGES)
        S: * STATUS es4-copy (MESSAGES 3)
        S: b2 OK ...
    """)


@pytest_twisted.ensureDeferred
async def test_rfc5182_2_2_save_uses_the_old_dollar_and_sequence_search_saves_uids(server):
    await replay(server, "es5", """
        C: a1 UID SEARCH RETURN (SAVE) UNSEEN
        S: a1 OK Search completed.
        C: a2 SEARCH RETURN (SAVE ALL) $ 3:5
        S: * ESEARCH (TAG "a2") ALL 3
        S: a2 OK Search completed.
        C: a3 UID FETCH $ (UID)
        S: * 3 FETCH (UID 3)
        S: a3 OK Fetch completed.
        C: a4 SEARCH $
        S: * SEARCH 3
        S: a4 OK Search completed.
    """)


@pytest_twisted.ensureDeferred
async def test_rfc5182_2_4_save_with_min_max_saves_only_those(server):
    await replay(server, "es6", """
        C: a1 SEARCH RETURN (SAVE MIN) SEEN
        S: * ESEARCH (TAG "a1") MIN 2
        S: a1 OK Search completed.
        C: a2 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: a2 OK Fetch completed.
        C: a3 UID SEARCH RETURN (SAVE MIN MAX) SEEN
        S: * ESEARCH (TAG "a3") UID MIN 2 MAX 5
        S: a3 OK Search completed.
        C: a4 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 5 FETCH (UID 5)
        S: a4 OK Fetch completed.
        C: a5 SEARCH RETURN (SAVE COUNT MIN) SEEN
        S: * ESEARCH (TAG "a5") MIN 2 COUNT 3
        S: a5 OK Search completed.
        C: a6 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 4 FETCH (UID 4)
        S: * 5 FETCH (UID 5)
        S: a6 OK Fetch completed.
        C: a7 SEARCH RETURN (SAVE MAX) DRAFT
        S: * ESEARCH (TAG "a7")
        S: a7 OK Search completed.
        C: a8 FETCH $ (UID)
        S: a8 OK Fetch completed.
    """)


@pytest_twisted.ensureDeferred
async def test_rfc5182_2_1_no_empties_dollar_bad_keeps_it_plain_search_keeps_it(server):
    await replay(server, "es7", """
        C: a1 SEARCH RETURN (SAVE) SEEN
        S: a1 OK Search completed.
        C: a2 SEARCH RETURN (SAVE ALL) BADKEY
        S: a2 BAD Error in IMAP command: Unknown search key BADKEY
        C: a3 SEARCH RETURN (SAVE) SEEN OLDER 0
        S: a3 BAD ...
        C: a4 SEARCH UNSEEN
        S: * SEARCH 1 3
        S: a4 OK Search completed.
        C: a5 SEARCH RETURN (ALL) UNSEEN
        S: * ESEARCH (TAG "a5") ALL 1,3
        S: a5 OK Search completed.
        C: a6 FETCH $ (UID)
        S: * 2 FETCH (UID 2)
        S: * 4 FETCH (UID 4)
        S: * 5 FETCH (UID 5)
        S: a6 OK Fetch completed.
        C: a7 SEARCH RETURN (SAVE) CHARSET KOI8-R ALL
        S: a7 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset.
        C: a8 FETCH $ (UID)
        S: a8 OK Fetch completed.
    """)


@pytest_twisted.ensureDeferred
async def test_rfc5182_2_1_dollar_reset_by_select_examine_close_unselect(server):
    def scenario():
        conn = selected(server.port, "es8")
        for reset in (b"SELECT es8", b"EXAMINE es8", b"CLOSE", b"UNSELECT"):
            assert conn.command(b"a1", b"SEARCH RETURN (SAVE) ALL")[-1] == b"a1 OK Search completed."
            assert len(conn.command(b"a2", b"FETCH $ (UID)")) == 6
            assert conn.command(b"a3", reset)[-1].startswith(b"a3 OK")
            if reset in (b"CLOSE", b"UNSELECT"):
                assert conn.command(b"a4", b"FETCH $ (UID)") == [
                    b"a4 BAD FETCH needs a selected mailbox."]
                conn.command(b"a5", b"SELECT es8")
            assert conn.command(b"a6", b"UID FETCH $ (UID)") == [b"a6 OK Fetch completed."]
        # An empty "$" in an empty folder is still no error, unlike "1:*" (as Dovecot).
        conn.command(b"a7", b"CREATE es8-empty")
        conn.command(b"a8", b"SELECT es8-empty")
        assert conn.command(b"a9", b"FETCH $ (UID)") == [b"a9 OK Fetch completed."]
        assert conn.command(b"b1", b"FETCH 1:* (UID)")[-1].startswith(b"b1 BAD")

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5182_2_1_expunged_messages_leave_dollar(server):
    def scenario():
        conn = selected(server.port, "es9")
        other = selected(server.port, "es9", fill=False)
        run(server.port, """
            C: a1 SEARCH RETURN (SAVE) SEEN
            S: a1 OK Search completed.
            C: a2 UID STORE 2 +FLAGS.SILENT (\\Deleted)
            S: a2 OK Store completed.
            C: a3 UID EXPUNGE 2
            S: * 2 EXPUNGE
            S: * 4 RECENT
            S: a3 OK Expunge completed.
            C: a4 FETCH $ (UID)
            S: * 3 FETCH (UID 4)
            S: * 4 FETCH (UID 5)
            S: a4 OK Fetch completed.
            C: a5 SEARCH RETURN (ALL COUNT) UID $
            S: * ESEARCH (TAG "a5") ALL 3:4 COUNT 2
            S: a5 OK Search completed.
        """, conn=conn)
        # Another session expunges UID 4: not yet announced during FETCH
        # (RFC 3501 §7.4.1), yet it has left "$" and the FETCH is complete.
        other.command(b"b1", b"UID STORE 4 +FLAGS.SILENT (\\Deleted)")
        assert other.command(b"b2", b"UID EXPUNGE 4")[-2:] == [b"* 3 EXPUNGE", b"b2 OK Expunge completed."]
        run(server.port, """
            C: a6 FETCH $ (UID)
            S: * 4 FETCH (UID 5)
            S: a6 OK Fetch completed.
            C: a7 NOOP
            S: * 3 EXPUNGE
            S: * 3 RECENT
            S: a7 OK ...
            C: a8 CREATE es9-moved
            S: a8 OK ...
            C: a9 UID MOVE $ es9-moved
            S: * OK [COPYUID ... 5 1] Moved UIDs.
            S: * 3 EXPUNGE
            S: * 2 RECENT
            S: a9 OK Move completed.
            C: b1 FETCH $ (UID)
            S: b1 OK Fetch completed.
            C: b3 UID SEARCH RETURN (SAVE) ALL
            S: b3 OK Search completed.
            C: b4 UID STORE $ +FLAGS.SILENT (\\Deleted)
            S: b4 OK Store completed.
            C: b5 UID EXPUNGE $
            S: * 2 EXPUNGE
            S: * 1 EXPUNGE
            S: * 0 RECENT
            S: b5 OK Expunge completed.
            C: b6 UID FETCH $ (UID)
            S: b6 OK Fetch completed.
        """, conn=conn)
        other.close()

    await in_thread(scenario)


def _date_time(moment: datetime) -> str:
    return moment.strftime("%d-%b-%Y %H:%M:%S +0000")


@pytest_twisted.ensureDeferred
async def test_rfc5032_3_older_and_younger_against_internaldate(server):
    def scenario():
        now = datetime.now(timezone.utc)
        day_ago, week_ago = _date_time(now - timedelta(days=1)), _date_time(now - timedelta(days=7))
        conn = run(server.port, LOGIN + f"""
            C: f1 CREATE es10
            S: f1 OK ...
            C: f2 APPEND es10 "{week_ago}" {{1+}}
            C: a
            S: f2 OK ...
            C: f3 APPEND es10 "{day_ago}" {{1+}}
            C: b
            S: f3 OK ...
            C: f4 APPEND es10 {{1+}}
            C: c
            S: f4 OK ...
            C: f5 SELECT es10
            S: * ...
            S: * ...
            S: * ...
            S: * ...
            S: * ...
            S: * ...
            S: * ...
            S: * ...
            S: f5 OK ...
        """)
        run(server.port, """
            C: a1 SEARCH UNSEEN YOUNGER 259200
            S: * SEARCH 2 3
            S: a1 OK Search completed.
            C: a2 SEARCH OLDER 3600
            S: * SEARCH 1 2
            S: a2 OK Search completed.
            C: a3 SEARCH YOUNGER 3600
            S: * SEARCH 3
            S: a3 OK Search completed.
            C: a4 UID SEARCH RETURN (COUNT) OLDER 691200
            S: * ESEARCH (TAG "a4") UID COUNT 0
            S: a4 OK Search completed.
            C: a5 SEARCH NOT YOUNGER 4294967295
            S: * SEARCH
            S: a5 OK Search completed.
            C: a6 SEARCH OLDER 0
            S: a6 BAD Error in IMAP command: Number must not be zero
        """, conn=conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4731_rfc5182_rfc5032_capabilities_after_login(server):
    def scenario():
        conn = run(server.port, LOGIN)
        caps = conn.command(b"a1", b"CAPABILITY")[0].split()
        assert {b"ESEARCH", b"SEARCHRES", b"WITHIN"} <= set(caps)
        pre = Connection(server.port)
        pre.read_line()
        assert b"ESEARCH" not in pre.command(b"a1", b"CAPABILITY")[0]

    await in_thread(scenario)
