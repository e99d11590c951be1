"""UTF8=ACCEPT (RFC 6855) and I18NLEVEL=1 SEARCH (RFC 5255 §4.1) against the
real server: names are modified UTF-7 until ENABLE UTF8=ACCEPT and UTF-8
quoted strings after it, in every response that carries one."""

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, Connection, run

from cpmstore.imap import mutf7

ENABLE = """
    C: e1 ENABLE UTF8=ACCEPT
    S: * ENABLED UTF8=ACCEPT
    S: e1 OK ...
"""


def read_pushed(conn: Connection, count: int) -> list[bytes]:
    return [conn.read_line() for _ in range(count)]


def select(conn: Connection, box: str, exists: int) -> None:
    reply = conn.command(b"s0", b"SELECT " + box.encode())
    assert b"* %d EXISTS" % exists in reply and reply[-1].startswith(b"s0 OK"), reply


def literal(data: bytes) -> bytes:
    return b"{%d+}\r\n" % len(data) + data


@pytest_twisted.ensureDeferred
async def test_rfc6855_3_capabilities_and_enable(server):
    def scenario():
        conn = run(server.port, LOGIN)
        (caps, _ok) = conn.command(b"c1", b"CAPABILITY")
        assert b" UTF8=ACCEPT" in caps and b" I18NLEVEL=1" in caps
        run(server.port, """
            C: e1 ENABLE UTF8=ACCEPT UTF8=ONLY
            S: * ENABLED UTF8=ACCEPT
            S: e1 OK ...
            C: e2 ENABLE UTF8=ACCEPT
            S: * ENABLED
            S: e2 OK ...
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc6855_3_names_before_and_after_enable(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE &AOk-t&AOk-/&ZeVnLIqe-
            S: a1 OK ...
            C: a2 CREATE "été"
            S: a2 BAD Error in IMAP command: Invalid mailbox name: ...
            C: a3 LIST "" "&AOk-t&AOk-*"
            S: * LIST (\\HasChildren) "/" &AOk-t&AOk-
            S: * LIST (\\HasNoChildren) "/" &AOk-t&AOk-/&ZeVnLIqe-
            S: a3 OK ...
            C: a4 STATUS &AOk-t&AOk- (MESSAGES)
            S: * STATUS &AOk-t&AOk- (MESSAGES 0)
            S: a4 OK ...
            C: a5 SUBSCRIBE &AOk-t&AOk-
            S: a5 OK ...
        """ + ENABLE + """
            C: b1 LIST "" "été*"
            S: * LIST (\\HasChildren) "/" "été"
            S: * LIST (\\HasNoChildren) "/" "été/日本語"
            S: b1 OK ...
            C: b2 LSUB "" "*"
            S: * LSUB () "/" "été"
            S: b2 OK ...
            C: b3 LIST "" "été" RETURN (STATUS (MESSAGES UIDNEXT))
            S: * LIST (\\HasChildren) "/" "été"
            S: * STATUS "été" (MESSAGES 0 UIDNEXT 1)
            S: b3 OK ...
            C: b4 STATUS {5+}
            C: été (UIDNEXT)
            S: * STATUS "été" (UIDNEXT 1)
            S: b4 OK ...
            C: b5 CREATE &AOk-
            S: b5 OK ...
            C: b6 LIST "" "&*"
            S: * LIST (\\HasNoChildren) "/" &AOk-
            S: b6 OK ...
            C: b7 EXAMINE "été/日本語"
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...
            S: * 0 EXISTS
            S: * 0 RECENT
            S: * OK [UIDVALIDITY ...
            S: * OK [UIDNEXT 1] ...
            S: * OK [HIGHESTMODSEQ ...
            S: b7 OK [READ-ONLY] ...
        """)
        reply = conn.command(b"b8", 'CREATE "a\u2028b"'.encode())
        assert reply == [b"b8 BAD Error in IMAP command: Invalid mailbox name: U+2028 is not allowed in a mailbox name"]
        # A second session that did not enable UTF8=ACCEPT sees the name made
        # from "&AOk-" (after ENABLE: those five characters) in modified UTF-7.
        run(server.port, LOGIN + """
            C: c1 LIST "" "&-*"
            S: * LIST (\\HasNoChildren) "/" &-AOk-
            S: c1 OK ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc6855_3_acl_metadata_quota_namespace_names(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE "&AOk-t&AOk-"
            S: a1 OK ...
            C: a2 SETACL &AOk-t&AOk- user2 lr
            S: a2 OK ...
            C: a3 GETACL &AOk-t&AOk-
            S: * ACL &AOk-t&AOk- ...user2 lr...
            S: a3 OK ...
        """ + ENABLE + """
            C: b1 GETACL "été"
            S: * ACL "été" ...user2 lr...
            S: b1 OK ...
            C: b2 MYRIGHTS "été"
            S: * MYRIGHTS "été" ...
            S: b2 OK ...
            C: b3 LISTRIGHTS "été" user2
            S: * LISTRIGHTS "été" user2 ...
            S: b3 OK ...
            C: b4 SETMETADATA "été" (/private/comment "x")
            S: b4 OK ...
            C: b5 GETMETADATA "été" /private/comment
            S: * METADATA "été" (/private/comment "x")
            S: b5 OK ...
            C: b6 GETQUOTAROOT "été"
            S: * QUOTAROOT "été"...
            S: b6 OK ...
            C: b7 NAMESPACE
            S: * NAMESPACE (("" "/")) (("Other Users/" "/")) NIL
            S: b7 OK ...
        """)
        # user2 sees it in the other users' namespace, in its own session's spelling.
        run(server.port, """
            S: * OK ...
            C: a0 LOGIN user2 pass
            S: a0 OK ...
            C: a1 LIST "" "Other Users/user1/*"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/&AOk-t&AOk-"
            S: a1 OK ...
        """ + ENABLE + """
            C: b1 LIST "" "Other Users/user1/*"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/été"
            S: b1 OK ...
            C: b2 MYRIGHTS "Other Users/user1/été"
            S: * MYRIGHTS "Other Users/user1/été" lr
            S: b2 OK ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc6855_3_notify_names(server):
    def scenario():
        phone = run(server.port, LOGIN + """
            C: a1 CREATE &BBsEOARBBEI-
            S: a1 OK ...
        """ + ENABLE + """
            C: n1 NOTIFY SET STATUS (mailboxes ("Лист") (MessageNew MessageExpunge MailboxName)) (personal (MailboxName))
            S: * STATUS "Лист" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)
            S: n1 OK ...
        """)
        legacy = run(server.port, LOGIN + """
            C: b1 APPEND &BBsEOARBBEI- {1+}
            C: x
            S: b1 OK ...
        """)
        assert read_pushed(phone, 1) == ['* STATUS "Лист" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)'.encode()]
        legacy.command(b"b2", b"RENAME &BBsEOARBBEI- " + mutf7.encode("Лид"))
        assert read_pushed(phone, 1) == ['* LIST () "/" "Лид" ("OLDNAME" ("Лист"))'.encode()]
        legacy.command(b"b3", b"CREATE &ZeVnLIqe-")
        assert read_pushed(phone, 1) == ['* LIST () "/" "日本語"'.encode()]

    await in_thread(scenario)


CHAT = ("From: =?utf-8?q?Andr=C3=A9?= <andre@example.com>\r\n"
        "Subject: Été à Paris\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "Привет, ΣΊΣΥΦΟΣ! ＦＵＬＬ width\r\n").encode()
ASCII_HEAD = ("Subject: =?utf-8?q?=C3=A9t=C3=A9?=\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n\r\n"
              "straße \u212a\r\n").encode()


@pytest_twisted.ensureDeferred
async def test_rfc6855_4_append_utf8(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE utf8box
            S: a1 OK ...
        """)
        # Before ENABLE the UTF8 data item is BAD (§4); 8-bit header fields are
        # stored all the same (a deliberate deviation: commands/append.py says why).
        reply = conn.command(b"a2", b"APPEND utf8box UTF8 (~" + literal(CHAT) + b")")
        assert reply[-1].startswith(b"a2 BAD ")
        reply = conn.command(b"a3", b"APPEND utf8box " + literal(CHAT))
        assert reply[-1].startswith(b"a3 OK [APPENDUID ")
        reply = conn.command(b"a4", b"APPEND utf8box " + literal(ASCII_HEAD))
        assert reply[-1].startswith(b"a4 OK [APPENDUID ")
        run(server.port, ENABLE, conn)
        reply = conn.command(b"b1", b"APPEND utf8box (\\Seen) UTF8 (~" + literal(CHAT) + b")")
        assert reply[-1].startswith(b"b1 OK [APPENDUID ")
        reply = conn.command(b"b2", b"APPEND utf8box CATENATE (UTF8 (~" + literal(CHAT) + b"))")
        assert reply[-1].startswith(b"b2 OK [APPENDUID ")
        select(conn, "utf8box", 4)
        run(server.port, """
            C: b4 FETCH 3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])
            S: * 3 FETCH (FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (SUBJECT)] {27}\\r\\nSubject: Été à Paris\\r\\n\\r\\n)
            S: b4 OK ...
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5255_4_1_search_is_unicode_case_insensitive(server):
    def scenario():
        conn = run(server.port, LOGIN + ENABLE + """
            C: a1 CREATE search
            S: a1 OK ...
        """)
        for n, message in enumerate((CHAT, ASCII_HEAD, CHAT.replace("Été".encode(), b"Winter"))):
            assert conn.command(b"p%d" % n, b"APPEND search UTF8 (~" + literal(message) + b")")[-1].startswith(
                b"p%d OK" % n)
        select(conn, "search", 3)
        run(server.port, """
            C: b1 SEARCH SUBJECT "ÉTÉ"
            S: * SEARCH 1 2
            S: b1 OK ...
            C: b2 SEARCH SUBJECT "été À"
            S: * SEARCH 1
            S: b2 OK ...
            C: b3 SEARCH BODY "привет"
            S: * SEARCH 1 3
            S: b3 OK ...
            C: b4 SEARCH BODY "σίσυφος"
            S: * SEARCH 1 3
            S: b4 OK ...
            C: b5 SEARCH BODY "full WIDTH"
            S: * SEARCH 1 3
            S: b5 OK ...
            C: b6 SEARCH BODY "STRASSE"
            S: * SEARCH
            S: b6 OK ...
            C: b7 SEARCH BODY "STRAßE k"
            S: * SEARCH 2
            S: b7 OK ...
            C: b8 SEARCH FROM "ANDRÉ"
            S: * SEARCH 1 3
            S: b8 OK ...
            C: b9 SEARCH TEXT "ÉTÉ À"
            S: * SEARCH 1
            S: b9 OK ...
            C: c1 SEARCH HEADER Subject "ÉTÉ"
            S: * SEARCH 1 2
            S: c1 OK ...
            C: c2 SEARCH CHARSET UTF-8 SUBJECT "ÉTÉ"
            S: c2 BAD ...
            C: c3 SORT (SUBJECT) UTF-8 SUBJECT "été"
            S: * SORT 2 1
            S: c3 OK ...
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5255_4_1_search_before_enable_uses_charset(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE legacy
            S: a1 OK ...
        """)
        assert conn.command(b"p1", b"APPEND legacy " + literal(ASCII_HEAD))[-1].startswith(b"p1 OK")
        select(conn, "legacy", 1)
        run(server.port, """
            C: b1 SEARCH CHARSET UTF-8 SUBJECT {5}
            C: ÉTÉ
            S: * SEARCH 1
            S: b1 OK ...
            C: b2 SEARCH CHARSET UTF-8 BODY {7}
            C: STRAßE
            S: * SEARCH 1
            S: b2 OK ...
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc6855_3_enable_while_selected_keeps_modified_utf7(server):
    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE &AOk-
            S: a1 OK ...
        """)
        select(conn, "INBOX", 0)
        run(server.port, """
            C: a3 ENABLE UTF8=ACCEPT
            S: * ENABLED
            S: a3 OK ...
            C: a4 LIST "" "&AOk-"
            S: * LIST (\\HasNoChildren) "/" &AOk-
            S: a4 OK ...
        """, conn)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_9_response_text_is_7bit_for_every_client(server):
    def scenario():
        conn = run(server.port, LOGIN + ENABLE + """
            C: a1 CREATE "été"
            S: a1 OK ...
            C: a2 CREATE "ça"
            S: a2 OK ...
        """)
        for tag, line in ((b"b1", 'APPEND "nulle part" {1+}\r\nx'),
                          (b"b2", 'APPEND "où" {1+}\r\nx'),
                          (b"b3", 'RENAME "ça" "été"')):
            reply = conn.command(tag, line.encode())
            assert reply[-1].startswith(tag + b" NO ") and reply[-1].isascii(), reply

    await in_thread(scenario)
