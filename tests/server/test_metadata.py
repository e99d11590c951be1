"""Folder and server metadata (RFC 5464, METADATA and METADATA-SERVER) against
the running server: one user, two users on a shared folder, limits, restart.
Dovecot 2.3 answered the same conversations this way, except where it is off
RFC 5464 (it refuses server ``/shared`` with ``[CANNOT]`` and answers a
missing folder without ``[NONEXISTENT]``); its shared namespace is
"shared/" where ours is "Other Users/"."""

import re

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, run

from cpmstore.config import LimitsConfig

LOGIN2 = LOGIN.replace("user1", "user2")
SMALL = LimitsConfig(login_failure_delay=0.0, max_metadata_value_bytes=16, max_metadata_entries=3)

# One entry and its value in a METADATA response: a quoted string, a literal
# or literal8 (read inline by the transcript Connection), or NIL.
_ENTRY_VALUE = re.compile(rb' ?(\S+) (?:"((?:[^"\\]|\\.)*)"|~?\{(\d+)\}\r\n|NIL)', re.DOTALL)


def metadata(line: bytes) -> dict[bytes, bytes | None]:
    """Entry -> value of one ``* METADATA mailbox (...)`` line. RFC 5464
    fixes no order for the entries a DEPTH request finds, so those are
    compared as a mapping."""
    assert line.startswith(b"* METADATA ") and line.endswith(b")"), line
    body = line[line.index(b" (") + 2:-1]
    found: dict[bytes, bytes | None] = {}
    pos = 0
    while pos < len(body):
        m = _ENTRY_VALUE.match(body, pos)
        assert m, body[pos:]
        entry, quoted, size = m.groups()
        pos = m.end()
        if quoted is not None:
            found[entry] = re.sub(rb"\\(.)", rb"\1", quoted)
        elif size is not None:
            found[entry] = body[pos:pos + int(size)]
            pos += int(size)
        else:
            found[entry] = None
    return found


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_3_and_4_2_set_and_get_folder_and_server_entries(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CAPABILITY
            S: * CAPABILITY ... METADATA METADATA-SERVER...
            S: a1 OK ...
            C: a2 CREATE Chats
            S: a2 OK Create completed.
            C: a3 SETMETADATA Chats (/shared/comment "Shared comment" /private/comment "My own comment")
            S: a3 OK Setmetadata completed.
            C: a4 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment "Shared comment")
            S: a4 OK Getmetadata completed.
            C: a5 GETMETADATA Chats (/shared/comment /private/comment)
            S: * METADATA Chats (/shared/comment "Shared comment" /private/comment "My own comment")
            S: a5 OK Getmetadata completed.
            C: a6 GETMETADATA Chats (/private/comment /shared/nosuch)
            S: * METADATA Chats (/private/comment "My own comment" /shared/nosuch NIL)
            S: a6 OK Getmetadata completed.
            C: a7 SETMETADATA "" (/private/comment "Server comment")
            S: a7 OK Setmetadata completed.
            C: a8 GETMETADATA "" (/private/comment /shared/comment)
            S: * METADATA "" (/private/comment "Server comment" /shared/comment NIL)
            S: a8 OK Getmetadata completed.
            C: a9 GETMETADATA INBOX /private/comment
            S: * METADATA INBOX (/private/comment NIL)
            S: a9 OK Getmetadata completed.
            C: b1 SETMETADATA Chats (/shared/comment "Changed")
            S: b1 OK Setmetadata completed.
            C: b2 GETMETADATA Chats (/shared/comment /private/comment)
            S: * METADATA Chats (/shared/comment "Changed" /private/comment "My own comment")
            S: b2 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_3_nil_removes_an_entry(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/comment "one" /shared/other "two")
            S: a2 OK Setmetadata completed.
            C: a3 SETMETADATA Chats (/shared/comment NIL)
            S: a3 OK Setmetadata completed.
            C: a4 GETMETADATA Chats (/shared/comment /shared/other)
            S: * METADATA Chats (/shared/comment NIL /shared/other "two")
            S: a4 OK Getmetadata completed.
            C: a5 SETMETADATA Chats (/shared/nosuch NIL)
            S: a5 OK Setmetadata completed.
            C: a6 GETMETADATA (DEPTH infinity) Chats /shared
            S: * METADATA Chats (/shared/other "two")
            S: a6 OK Getmetadata completed.
            C: a7 SETMETADATA "" (/private/comment "x")
            S: a7 OK Setmetadata completed.
            C: a8 SETMETADATA "" (/private/comment NIL)
            S: a8 OK Setmetadata completed.
            C: a9 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment NIL)
            S: a9 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_5_literal_values_crlf_and_literal8_nul(server):
    """A value is any octets: a literal may hold CRLF (answered as a literal),
    a literal8 (RFC 4466 ``~{n}``) may hold NUL, which only a literal8 can
    carry back (RFC 5464 §5 ``value``)."""
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/comment {12}
            C: line1\\r\\nline2)
            S: a2 OK Setmetadata completed.
            C: a3 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment {12}\\r\\nline1\\r\\nline2)
            S: a3 OK Getmetadata completed.
            C: a4 SETMETADATA Chats (/private/comment {5}
            C: plain /shared/other {3+}\\r\\nabc)
            S: a4 OK Setmetadata completed.
            C: a5 GETMETADATA Chats (/private/comment /shared/other)
            S: * METADATA Chats (/private/comment "plain" /shared/other "abc")
            S: a5 OK Getmetadata completed.
            C: a6 SETMETADATA Chats (/shared/comment ~{5}
            C: a\x00bcd)
            S: a6 OK Setmetadata completed.
            C: a7 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment ~{5}\\r\\na\x00bcd)
            S: a7 OK Getmetadata completed.
            C: a8 SETMETADATA "" (/private/comment ~{3+}\\r\\n\x00\x00\x00)
            S: a8 OK Setmetadata completed.
            C: a9 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment ~{3}\\r\\n\x00\x00\x00)
            S: a9 OK Getmetadata completed.
            C: b1 SETMETADATA Chats (/shared/comment "")
            S: b1 OK Setmetadata completed.
            C: b2 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment "")
            S: b2 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_3_2_entry_names_are_case_insensitive(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/Comment "first")
            S: a2 OK Setmetadata completed.
            C: a3 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment "first")
            S: a3 OK Getmetadata completed.
            C: a4 SETMETADATA Chats (/SHARED/COMMENT "second")
            S: a4 OK Setmetadata completed.
            C: a5 GETMETADATA (DEPTH infinity) Chats /Shared
            S: * METADATA Chats (/shared/comment "second")
            S: a5 OK Getmetadata completed.
            C: a6 SETMETADATA Chats (/Shared/comMENT NIL)
            S: a6 OK Setmetadata completed.
            C: a7 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment NIL)
            S: a7 OK Getmetadata completed.
        """)
    await in_thread(scenario)


TREE = LOGIN + """
    C: t1 CREATE Chats
    S: t1 OK Create completed.
    C: t2 SETMETADATA Chats (/private/filters/values "top" /private/filters/values/small "SMALLER THAN 10K")
    S: t2 OK Setmetadata completed.
    C: t3 SETMETADATA Chats (/private/filters/values/boss {23}
    C: FROM "boss@example.com")
    S: t3 OK Setmetadata completed.
    C: t4 SETMETADATA Chats (/private/filters/values/boss/deep "d" /private/other "o" /shared/comment "s")
    S: t4 OK Setmetadata completed.
"""


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_2_2_depth(server):
    def scenario():
        conn = run(server.port, TREE)
        # DEPTH 0 is the default: the entry alone, NIL when it has no value.
        run(server.port, """
            C: a1 GETMETADATA (DEPTH 0) Chats /private/filters/values
            S: * METADATA Chats (/private/filters/values "top")
            S: a1 OK Getmetadata completed.
            C: a2 GETMETADATA Chats /private/filters
            S: * METADATA Chats (/private/filters NIL)
            S: a2 OK Getmetadata completed.
        """, conn=conn)
        got = conn.command(b"a3", b"GETMETADATA Chats (DEPTH 1) (/private/filters/values)")
        assert got[-1] == b"a3 OK Getmetadata completed.", got
        assert len(got) == 2 and metadata(got[0]) == {
            b"/private/filters/values": b"top",
            b"/private/filters/values/small": b"SMALLER THAN 10K",
            b"/private/filters/values/boss": b'FROM "boss@example.com"',
        }
        got = conn.command(b"a4", b"GETMETADATA (DEPTH infinity) Chats /private")
        assert got[-1] == b"a4 OK Getmetadata completed.", got
        assert len(got) == 2 and metadata(got[0]) == {
            b"/private/filters/values": b"top",
            b"/private/filters/values/small": b"SMALLER THAN 10K",
            b"/private/filters/values/boss": b'FROM "boss@example.com"',
            b"/private/filters/values/boss/deep": b"d",
            b"/private/other": b"o",
        }
        got = conn.command(b"a5", b"GETMETADATA (DEPTH 1) Chats (/private /shared)")
        assert len(got) == 2 and metadata(got[0]) == {b"/private/other": b"o", b"/shared/comment": b"s"}, got
        # With DEPTH only existing entries are listed: nothing at all is no
        # METADATA response (RFC 5464 §4.2.2 "if it exists").
        run(server.port, """
            C: a6 GETMETADATA (DEPTH infinity) Chats (/private/nosuch /shared/nosuch)
            S: a6 OK Getmetadata completed.
            C: a7 GETMETADATA (DEPTH 1) Chats (/private/nosuch /shared/comment)
            S: * METADATA Chats (/shared/comment "s")
            S: a7 OK Getmetadata completed.
            C: a8 GETMETADATA (DEPTH infinity) INBOX /private
            S: a8 OK Getmetadata completed.
        """, conn=conn)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_2_1_maxsize_and_longentries(server):
    def scenario():
        conn = run(server.port, TREE + """
            C: a1 GETMETADATA Chats (MAXSIZE 16) (/private/filters/values/small /private/filters/values/boss)
            S: * METADATA Chats (/private/filters/values/small "SMALLER THAN 10K")
            S: a1 OK [METADATA LONGENTRIES 23] Getmetadata completed.
            C: a2 GETMETADATA (MAXSIZE 5) Chats (/private/filters/values/small /private/other /shared/nosuch)
            S: * METADATA Chats (/private/other "o" /shared/nosuch NIL)
            S: a2 OK [METADATA LONGENTRIES 16] Getmetadata completed.
            C: a3 GETMETADATA (MAXSIZE 2) Chats (/private/filters/values/small /private/filters/values/boss)
            S: a3 OK [METADATA LONGENTRIES 23] Getmetadata completed.
            C: a4 GETMETADATA (MAXSIZE 23) Chats (/private/filters/values/small /private/filters/values/boss)
            S: * METADATA Chats (/private/filters/values/small "SMALLER THAN 10K" /private/filters/values/boss "FROM \\"boss@example.com\\"")
            S: a4 OK Getmetadata completed.
        """)
        got = conn.command(b"a5", b"GETMETADATA (MAXSIZE 3 DEPTH infinity) Chats /private/filters")
        assert got[-1] == b"a5 OK [METADATA LONGENTRIES 23] Getmetadata completed.", got
        assert len(got) == 2 and metadata(got[0]) == {
            b"/private/filters/values": b"top", b"/private/filters/values/boss/deep": b"d"}
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_3_value_over_limit_is_no_maxsize_and_sets_nothing(start):
    server = await start(limits=SMALL)

    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/comment "sixteen-octets!!")
            S: a2 OK Setmetadata completed.
            C: a3 SETMETADATA Chats (/shared/comment "seventeen-octets!")
            S: a3 NO [METADATA MAXSIZE 16] ...
            C: a4 SETMETADATA Chats (/private/comment "small" /shared/other {17}
            C: seventeen-octets!)
            S: a4 NO [METADATA MAXSIZE 16] ...
            C: a5 GETMETADATA Chats (/shared/comment /private/comment /shared/other)
            S: * METADATA Chats (/shared/comment "sixteen-octets!!" /private/comment NIL /shared/other NIL)
            S: a5 OK Getmetadata completed.
            C: a6 SETMETADATA "" (/private/comment ~{17}
            C: seventeen\x00octets!)
            S: a6 NO [METADATA MAXSIZE 16] ...
            C: a7 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment NIL)
            S: a7 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_3_too_many_entries_is_no_toomany_all_or_none(start):
    server = await start(limits=SMALL)

    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/a "1" /shared/b "2")
            S: a2 OK Setmetadata completed.
            C: a3 SETMETADATA Chats (/shared/c "3" /shared/d "4")
            S: a3 NO [METADATA TOOMANY] ...
            C: a4 GETMETADATA Chats (/shared/a /shared/b /shared/c /shared/d)
            S: * METADATA Chats (/shared/a "1" /shared/b "2" /shared/c NIL /shared/d NIL)
            S: a4 OK Getmetadata completed.
            C: a5 SETMETADATA Chats (/shared/b "changed" /shared/c "3")
            S: a5 OK Setmetadata completed.
            C: a6 SETMETADATA Chats (/shared/a NIL /shared/b NIL /shared/d "4" /shared/e "5" /shared/f "6")
            S: a6 NO [METADATA TOOMANY] ...
            C: a7 GETMETADATA (DEPTH infinity) Chats /shared
            S: * METADATA Chats (/shared/a "1" /shared/b "changed" /shared/c "3")
            S: a7 OK Getmetadata completed.
            C: a8 SETMETADATA Chats (/shared/a NIL /shared/d "4")
            S: a8 OK Setmetadata completed.
            C: a9 GETMETADATA (DEPTH infinity) Chats /shared
            S: * METADATA Chats (/shared/b "changed" /shared/c "3" /shared/d "4")
            S: a9 OK Getmetadata completed.
            C: b1 SETMETADATA "" (/private/a "1" /private/b "2" /private/c "3" /private/d "4")
            S: b1 NO [METADATA TOOMANY] ...
            C: b2 GETMETADATA (DEPTH infinity) "" /private
            S: b2 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_3_2_server_shared_refused_server_private_per_user(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 SETMETADATA "" (/shared/comment "admin only")
            S: a1 NO [NOPERM] ...
            C: a2 SETMETADATA "" (/private/comment "mine" /shared/comment "admin only")
            S: a2 NO [NOPERM] ...
            C: a3 GETMETADATA "" (/shared/comment /private/comment)
            S: * METADATA "" (/shared/comment NIL /private/comment NIL)
            S: a3 OK Getmetadata completed.
            C: a4 SETMETADATA "" (/private/comment "user1's")
            S: a4 OK Setmetadata completed.
        """)
        run(server.port, LOGIN2 + """
            C: a1 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment NIL)
            S: a1 OK Getmetadata completed.
            C: a2 SETMETADATA "" (/private/comment "user2's")
            S: a2 OK Setmetadata completed.
            C: a3 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment "user2's")
            S: a3 OK Getmetadata completed.
        """)
        run(server.port, LOGIN + """
            C: a1 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment "user1's")
            S: a1 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_3_metadata_survives_restart(start):
    first = await start()

    def fill():
        run(first.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/comment "kept" /private/comment ~{3}
            C: a\x00b)
            S: a2 OK Setmetadata completed.
            C: a3 SETMETADATA "" (/private/comment "server kept")
            S: a3 OK Setmetadata completed.
        """)
    await in_thread(fill)
    await first.running.stop()
    second = await start(data_dir=first.data_dir)

    def check():
        run(second.port, LOGIN + """
            C: a1 GETMETADATA Chats (/shared/comment /private/comment)
            S: * METADATA Chats (/shared/comment "kept" /private/comment ~{3}\\r\\na\x00b)
            S: a1 OK Getmetadata completed.
            C: a2 GETMETADATA "" /private/comment
            S: * METADATA "" (/private/comment "server kept")
            S: a2 OK Getmetadata completed.
        """)
    await in_thread(check)


@pytest_twisted.ensureDeferred
async def test_rfc5464_3_rename_keeps_and_delete_removes_metadata(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats/sub
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/comment "parent" /private/comment "mine")
            S: a2 OK Setmetadata completed.
            C: a3 SETMETADATA Chats/sub (/shared/comment "child")
            S: a3 OK Setmetadata completed.
            C: a4 RENAME Chats Talks
            S: a4 OK Rename completed.
            C: a5 GETMETADATA Talks (/shared/comment /private/comment)
            S: * METADATA Talks (/shared/comment "parent" /private/comment "mine")
            S: a5 OK Getmetadata completed.
            C: a6 GETMETADATA Talks/sub /shared/comment
            S: * METADATA Talks/sub (/shared/comment "child")
            S: a6 OK Getmetadata completed.
            C: a7 GETMETADATA Chats /shared/comment
            S: a7 NO [NONEXISTENT] ...
            C: a8 DELETE Talks/sub
            S: a8 OK Delete completed.
            C: a9 CREATE Talks/sub
            S: a9 OK Create completed.
            C: b1 GETMETADATA Talks/sub /shared/comment
            S: * METADATA Talks/sub (/shared/comment NIL)
            S: b1 OK Getmetadata completed.
            C: b2 CREATE Chats
            S: b2 OK Create completed.
            C: b3 GETMETADATA (DEPTH infinity) Chats (/shared /private)
            S: b3 OK Getmetadata completed.
            C: b4 DELETE Talks/sub
            S: b4 OK Delete completed.
            C: b5 DELETE Talks
            S: b5 OK Delete completed.
            C: b6 CREATE Talks
            S: b6 OK Create completed.
            C: b7 GETMETADATA Talks (/shared/comment /private/comment)
            S: * METADATA Talks (/shared/comment NIL /private/comment NIL)
            S: b7 OK Getmetadata completed.
        """)
    await in_thread(scenario)


SHARED = '"Other Users/user1/Chats"'


@pytest_twisted.ensureDeferred
async def test_rfc5464_3_3_shared_folder_reader_and_private_entries(server):
    """RFC 5464 §3.3 with RFC 4314: ``lr`` reads every /shared entry and
    keeps /private entries of one's own; ``w`` is needed to write /shared."""
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETMETADATA Chats (/shared/comment "from user1" /private/comment "user1's own")
            S: a2 OK Setmetadata completed.
            C: a3 SETACL Chats user2 lr
            S: a3 OK Setacl completed.
        """)
        run(server.port, LOGIN2 + f"""
            C: a1 GETMETADATA {SHARED} (/shared/comment /private/comment)
            S: * METADATA {SHARED} (/shared/comment "from user1" /private/comment NIL)
            S: a1 OK Getmetadata completed.
            C: a2 SETMETADATA {SHARED} (/shared/comment "from user2")
            S: a2 NO [NOPERM] ...
            C: a3 SETMETADATA {SHARED} (/private/comment "user2's own" /shared/comment "from user2")
            S: a3 NO [NOPERM] ...
            C: a4 GETMETADATA {SHARED} /private/comment
            S: * METADATA {SHARED} (/private/comment NIL)
            S: a4 OK Getmetadata completed.
            C: a5 SETMETADATA {SHARED} (/private/comment "user2's own")
            S: a5 OK Setmetadata completed.
            C: a6 GETMETADATA (DEPTH infinity) {SHARED} (/shared /private)
            S: * METADATA {SHARED} (/shared/comment "from user1" /private/comment "user2's own")
            S: a6 OK Getmetadata completed.
        """)
        run(server.port, LOGIN + """
            C: a1 GETMETADATA (DEPTH infinity) Chats (/shared /private)
            S: * METADATA Chats (/shared/comment "from user1" /private/comment "user1's own")
            S: a1 OK Getmetadata completed.
            C: a2 SETACL Chats user2 lrw
            S: a2 OK Setacl completed.
        """)
        run(server.port, LOGIN2 + f"""
            C: a1 SETMETADATA {SHARED} (/shared/comment "from user2")
            S: a1 OK Setmetadata completed.
        """)
        run(server.port, LOGIN + """
            C: a1 GETMETADATA Chats (/shared/comment /private/comment)
            S: * METADATA Chats (/shared/comment "from user2" /private/comment "user1's own")
            S: a1 OK Getmetadata completed.
            C: a2 SETACL Chats user2 l
            S: a2 OK Setacl completed.
        """)
        # Seeing a folder is not reading it: without r no metadata either way.
        run(server.port, LOGIN2 + f"""
            C: a1 GETMETADATA {SHARED} /shared/comment
            S: a1 NO [NOPERM] ...
            C: a2 SETMETADATA {SHARED} (/private/comment "again")
            S: a2 NO [NOPERM] ...
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_4_nonexistent_folder_is_no_nonexistent(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 GETMETADATA nosuch /shared/comment
            S: a1 NO [NONEXISTENT] ...
            C: a2 SETMETADATA nosuch (/shared/comment "x")
            S: a2 NO [NONEXISTENT] ...
            C: a3 SETMETADATA nosuch (/private/comment "x")
            S: a3 NO [NONEXISTENT] ...
            C: a4 GETMETADATA (DEPTH infinity) "Other Users/user2/INBOX" /shared
            S: a4 NO [NONEXISTENT] ...
            C: a5 SETMETADATA "Other Users/user2/INBOX" (/private/comment "x")
            S: a5 NO [NONEXISTENT] ...
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5464_3_2_and_5_invalid_entry_names_and_options_are_bad(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
        """)
        for i, command in enumerate([
            'SETMETADATA Chats (/foo "x")', 'SETMETADATA Chats (comment "x")',
            'SETMETADATA Chats (/shared/foo* "x")', 'SETMETADATA Chats (/private/f%o "x")',
            'SETMETADATA Chats (/shared//x "x")', 'SETMETADATA Chats (/shared/x/ "x")',
            'SETMETADATA Chats ("/shared/a b" "x")',
            'SETMETADATA Chats (/shared/ok "x" /sharedx "y")', "SETMETADATA Chats ()",
            'SETMETADATA Chats (/shared/comment)', 'SETMETADATA "" (/foo "x")',
            "GETMETADATA Chats /foo", "GETMETADATA Chats /shared/foo*", "GETMETADATA Chats /shared//x",
            "GETMETADATA Chats (/shared/ok /private%)", "GETMETADATA Chats ()",
            "GETMETADATA (DEPTH 2) Chats /shared", "GETMETADATA (MAXSIZE -1) Chats /shared",
            "GETMETADATA (COLOUR 1) Chats /shared",
        ]):
            got = conn.command(b"b%d" % i, command.encode())
            assert len(got) == 1 and got[0].startswith(b"b%d BAD " % i), (command, got)
        # A BAD command set nothing, not even its valid entries.
        run(server.port, """
            C: a2 GETMETADATA (DEPTH infinity) Chats (/shared /private)
            S: a2 OK Getmetadata completed.
        """, conn=conn)
    await in_thread(scenario)
