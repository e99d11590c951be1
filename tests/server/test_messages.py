"""Object store / fetch / copy / move / remove / search: RFC 3501 §6.3.11, §6.4,
RFC 3502 MULTIAPPEND, RFC 4315 UIDPLUS, RFC 6851 MOVE."""

import imaplib
import re

import pytest_twisted
from conftest import in_thread
from cpm_samples import CHAT, CPIM_1, CPIM_2, SESSION_HISTORY, SESSION_INFO, email
from imapclient import IMAPClient
from transcript import LOGIN, run


def client(server) -> IMAPClient:
    c = IMAPClient("127.0.0.1", server.port, ssl=False)
    c.login("user1", "pass")
    return c


@pytest_twisted.ensureDeferred
async def test_rfc4315_appenduid_and_multiappend(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 APPEND INBOX (\\Seen $MDNSent) "05-Oct-2015 10:11:12 +0200" {17+}
            C: Subject: one\\r\\n\\r\\nx
            S: a1 OK [APPENDUID ... 1] Append completed.
            C: a2 APPEND INBOX {4+}
            C: x\\r\\ny {4+}
            C: z\\r\\nw {1+}
            C: v
            S: a2 OK [APPENDUID ... 2:4] Append completed.
            C: a3 APPEND nosuch {1+}
            C: x
            S: a3 NO [TRYCREATE] ...
            C: a4 SELECT INBOX
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent $MDNSent)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent $MDNSent \\*)] ...
            S: * 4 EXISTS
            S: * 4 RECENT
            S: * OK [UNSEEN 2] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 5] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a4 OK [READ-WRITE] Select completed.
            C: a5 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)
            S: * 1 FETCH (FLAGS ($MDNSent \\Seen \\Recent) INTERNALDATE "05-Oct-2015 10:11:12 +0200" RFC822.SIZE 17)
            S: a5 OK Fetch completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_cpm_session_history_stored_and_fetched_byte_exact(server):
    def scenario():
        c = client(server)
        c.create_folder("Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
        folder = "Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
        c.append(folder, SESSION_HISTORY)
        c.append(folder, CHAT)
        c.select_folder(folder)
        uids = c.search("ALL")
        data = c.fetch(uids, ["BODY.PEEK[]", "RFC822.SIZE", "BODYSTRUCTURE", "BODY.PEEK[1]", "BODY.PEEK[2]",
                              "BODY.PEEK[3]", "BODY.PEEK[]<0.5>", "FLAGS"])
        session, chat = data[uids[0]], data[uids[1]]
        assert session[b"BODY[]"] == SESSION_HISTORY
        assert session[b"RFC822.SIZE"] == len(SESSION_HISTORY)
        assert session[b"BODY[1]"] == SESSION_INFO
        assert session[b"BODY[2]"] == CPIM_1
        assert session[b"BODY[3]"] == CPIM_2
        assert session[b"BODY[]<0>"] == SESSION_HISTORY[:5]
        assert chat[b"BODY[]"] == CHAT
        assert b"\\Seen" not in session[b"FLAGS"]  # PEEK never sets \Seen
        structure = session[b"BODYSTRUCTURE"]
        assert structure.is_multipart
        parts, subtype = structure[0], structure[1]
        assert subtype.upper() == b"RELATED"
        assert [(p[0].upper(), p[1].upper()) for p in parts] == [
            (b"APPLICATION", b"X-CPM-SESSION"), (b"MESSAGE", b"CPIM"), (b"MESSAGE", b"CPIM")]
        # Each part's size in BODYSTRUCTURE is the length of the part body.
        assert [p[6] for p in parts] == [len(SESSION_INFO), len(CPIM_1), len(CPIM_2)]
        params = structure[2]
        assert [x.upper() if i % 2 == 0 else x for i, x in enumerate(params)][:4] == [
            b"BOUNDARY", b"cpm", b"TYPE", b"Application/X-CPM-Session"]
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_5_partial_fetch_returns_exactly_the_octets(server):
    def scenario():
        c = imaplib.IMAP4("127.0.0.1", server.port)
        c.login("user1", "pass")
        c.append("INBOX", None, None, CHAT)
        c.select("INBOX")
        typ, data = c.fetch("1", "(BODY.PEEK[]<0.5>)")
        assert data[0][0].endswith(b"BODY[]<0> {5}")
        assert data[0][1] == CHAT[:5]
        typ, data = c.fetch("1", "(BODY.PEEK[]<100000.5>)")
        assert re.search(rb'BODY\[\]<100000> (""|\{0\})', data[0] if isinstance(data[0], bytes) else data[0][0])
        typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (IMDN-Message-ID Message-Direction)])")
        assert data[0][1] == b"IMDN-Message-ID: Msg0001\r\nMessage-Direction: received\r\n\r\n"
        typ, data = c.fetch("1", "(BODY.PEEK[TEXT]<2.3>)")
        assert data[0][1] == CHAT[CHAT.index(b"\r\n\r\n") + 4:][2:5]
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_5_body_without_peek_sets_seen(server):
    def scenario():
        c = client(server)
        c.append("INBOX", email("seen me"))
        c.select_folder("INBOX")
        uid = c.search("ALL")[0]
        assert b"\\Seen" not in c.get_flags([uid])[uid]
        data = c.fetch([uid], ["BODY[TEXT]"])
        assert b"\\Seen" in data[uid][b"FLAGS"]
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_5_envelope_and_rfc822_items(server):
    message = email("Envelope test", to="Bob <bob@example.com>, carol@example.org")

    def scenario():
        c = client(server)
        c.append("INBOX", message)
        c.select_folder("INBOX", readonly=True)
        data = c.fetch("1", ["ENVELOPE", "RFC822.HEADER", "RFC822.TEXT", "UID", "BODY"])[1]
        env = data[b"ENVELOPE"]
        assert env.subject == b"Envelope test"
        assert env.from_[0].mailbox == b"alice" and env.from_[0].host == b"example.com"
        assert [a.mailbox for a in env.to] == [b"bob", b"carol"]
        assert env.sender == env.from_ and env.reply_to == env.from_
        head, _, text = message.partition(b"\r\n\r\n")
        assert data[b"RFC822.HEADER"] == head + b"\r\n\r\n"
        assert data[b"RFC822.TEXT"] == text
        # EXAMINE is read-only: a non-PEEK fetch does not set \Seen.
        data = c.fetch("1", ["RFC822", "FLAGS"])[1]
        assert data[b"RFC822"] == message and b"\\Seen" not in data[b"FLAGS"]
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_6_store_flags(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 APPEND INBOX {1+}
            C: x
            S: a1 OK ...
            C: a2 APPEND INBOX {1+}
            C: y
            S: a2 OK ...
            C: a3 SELECT INBOX
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a3 OK [READ-WRITE] Select completed.
            C: a4 STORE 1:2 +FLAGS (\\Seen \\read-report-sent)
            S: * 1 FETCH (FLAGS (\\Seen \\read-report-sent \\Recent))
            S: * 2 FETCH (FLAGS (\\Seen \\read-report-sent \\Recent))
            S: a4 OK Store completed.
            C: a5 STORE 2 -FLAGS.SILENT (\\Seen)
            S: a5 OK Store completed.
            C: a6 UID STORE 1 FLAGS (Work $Label1)
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent $Label1 Work)
            S: * OK [PERMANENTFLAGS ...
            S: * 1 FETCH (UID 1 FLAGS ($Label1 Work \\Recent))
            S: a6 OK Store completed.
            C: a7 FETCH 1:* FLAGS
            S: * 1 FETCH (FLAGS ($Label1 Work \\Recent))
            S: * 2 FETCH (FLAGS (\\read-report-sent \\Recent))
            S: a7 OK Fetch completed.
            C: a8 STORE 1 +FLAGS (\\Recent)
            S: a8 BAD ...
            C: a9 STORE 3 +FLAGS (\\Seen)
            S: a9 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4315_copy_and_rfc6851_move(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE dest
            S: a1 OK ...
            C: a2 APPEND INBOX {1+}
            C: x {1+}
            C: y {1+}
            C: z
            S: a2 OK [APPENDUID ... 1:3] ...
            C: a3 SELECT INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 3 EXISTS
            S: * 3 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a3 OK ...
            C: a4 COPY 1:2 dest
            S: a4 OK [COPYUID ... 1:2 1:2] Copy completed.
            C: a5 UID MOVE 2:3 dest
            S: * OK [COPYUID ... 2:3 3:4] Moved UIDs.
            S: * 3 EXPUNGE
            S: * 2 EXPUNGE
            S: * 1 RECENT
            S: a5 OK Move completed.
            C: a6 COPY 1 nosuch
            S: a6 NO [TRYCREATE] ...
            C: a7 STATUS dest (MESSAGES UIDNEXT)
            S: * STATUS dest (MESSAGES 4 UIDNEXT 5)
            S: a7 OK ...
            C: a8 UID FETCH 1:* (UID)
            S: * 1 FETCH (UID 1)
            S: a8 OK Fetch completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_3_expunge_and_rfc4315_uid_expunge(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 APPEND INBOX (\\Deleted) {1+}
            C: a (\\Deleted) {1+}
            C: b {1+}
            C: c (\\Deleted) {1+}
            C: d
            S: a1 OK [APPENDUID ... 1:4] ...
            C: a2 SELECT INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 4 EXISTS
            S: * 4 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a2 OK ...
            C: a3 UID EXPUNGE 4
            S: * 4 EXPUNGE
            S: * 3 RECENT
            S: a3 OK Expunge completed.
            C: a4 EXPUNGE
            S: * 2 EXPUNGE
            S: * 1 EXPUNGE
            S: * 1 RECENT
            S: a4 OK Expunge completed.
            C: a5 UID FETCH 1:* UID
            S: * 1 FETCH (UID 3)
            S: a5 OK Fetch completed.
            C: a6 STORE 1 +FLAGS.SILENT (\\Deleted)
            S: a6 OK ...
            C: a7 CLOSE
            S: a7 OK Close completed.
            C: a8 STATUS INBOX (MESSAGES)
            S: * STATUS INBOX (MESSAGES 0)
            S: a8 OK ...
            C: a9 FETCH 1 FLAGS
            S: a9 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_4_search_keys(server):
    messages = [
        email("Lunch plans", "see you at noon\r\n", sender="alice@example.com"),
        email("Report", "quarterly numbers attached\r\n", sender="bob@example.org"),
        CHAT,
        email("Big", "x" * 5000 + "\r\n", sender="carol@example.net"),
    ]

    def scenario():
        c = client(server)
        for m in messages:
            c.append("INBOX", m)
        c.select_folder("INBOX")
        c.add_flags([2], [b"\\Flagged"])
        c.add_flags([4], [b"\\Seen", b"$Work"])
        assert c.search("ALL") == [1, 2, 3, 4]
        assert c.search(["FROM", "bob"]) == [2]
        assert c.search(["SUBJECT", "lunch"]) == [1]
        assert c.search(["BODY", "QUARTERLY"]) == [2]
        assert c.search(["TEXT", "noon"]) == [1]
        assert c.search(["TEXT", "Lunch"]) == [1]
        assert c.search(["HEADER", "IMDN-Message-ID", "Msg0001"]) == [3]
        assert c.search(["HEADER", "Conversation-ID", "0c1e2b6e"]) == [3]
        assert c.search(["HEADER", "X-Nothing", ""]) == []
        assert c.search(["FLAGGED"]) == [2]
        assert c.search(["UNFLAGGED", "UNSEEN"]) == [1, 3]
        assert c.search(["KEYWORD", "$Work"]) == [4]
        assert c.search(["LARGER", "4000"]) == [4]
        assert c.search(["SMALLER", "4000", "NOT", "FROM", "alice"]) == [2, 3]
        assert c.search(["OR", "FROM", "bob", "FROM", "carol"]) == [2, 4]
        assert c.search(["UID", "2:3"]) == [2, 3]
        assert c.search(["2,4"]) == [2, 4]
        assert c.search(["SENTON", "17-Jul-1996"]) == [1, 2, 4]
        assert c.search(["SENTBEFORE", "1-Jan-2000"]) == [1, 2, 4]
        assert c.search(["SINCE", "1-Jan-2000"]) == [1, 2, 3, 4]
        assert c.search(["BEFORE", "1-Jan-2000"]) == []
        assert c.search(["RECENT"]) == [1, 2, 3, 4]
        assert c.search(["NEW"]) == [1, 2, 3]
        assert c.search(["BODY", "à toi"], charset="UTF-8") == [3]
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_4_search_errors(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 SELECT INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 0 EXISTS
            S: * 0 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a1 OK ...
            C: a2 SEARCH CHARSET KOI8-R TEXT x
            S: a2 NO [BADCHARSET (US-ASCII UTF-8)] ...
            C: a3 SEARCH FROBNICATE
            S: a3 BAD ...
            C: a4 UID SEARCH ALL
            S: * SEARCH
            S: a4 OK Search completed.
            C: a5 FETCH 1:* FLAGS
            S: a5 BAD Invalid messageset: the mailbox is empty.
            C: a6 UID FETCH 1:* FLAGS
            S: a6 OK Fetch completed.
            C: a7 STATUS INBOX (MESSAGES FOO)
            S: a7 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_4_search_flag_and_address_keys(server):
    def scenario():
        c = client(server)
        c.append("INBOX", email("one", to="dave@example.com", extra="Cc: erin@example.com\r\nBcc: frank@example.com\r\n"),
                 flags=[b"\\Answered", b"\\Draft"])
        c.append("INBOX", email("two"), flags=[b"\\Deleted", b"$Todo"])
        c.select_folder("INBOX", readonly=True)
        assert c.search(["TO", "dave"]) == [1]
        assert c.search(["CC", "erin"]) == [1]
        assert c.search(["BCC", "frank"]) == [1]
        assert c.search(["ANSWERED"]) == [1] and c.search(["UNANSWERED"]) == [2]
        assert c.search(["DRAFT"]) == [1] and c.search(["UNDRAFT"]) == [2]
        assert c.search(["DELETED"]) == [2] and c.search(["UNDELETED"]) == [1]
        assert c.search(["UNKEYWORD", "$Todo"]) == [1]
        assert c.search(["SENTSINCE", "17-Jul-1996"]) == [1, 2]
        assert c.search(["SENTSINCE", "18-Jul-1996"]) == []
        # EXAMINE shows \Recent (without taking it, RFC 3501 §6.3.2): both are NEW.
        assert c.search(["OLD"]) == [] and c.search(["NEW"]) == [1, 2]
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_4_5_sections_and_macros(server):
    def scenario():
        c = client(server)
        c.append("INBOX", SESSION_HISTORY)
        c.select_folder("INBOX", readonly=True)
        data = c.fetch([1], ["BODY.PEEK[2.MIME]", "BODY.PEEK[HEADER.FIELDS.NOT (Subject Date From To Message-ID "
                                                  "Conversation-ID Contribution-ID MIME-Version)]", "BODY.PEEK[9]"])[1]
        assert data[b"BODY[2.MIME]"] == b"Content-Type: message/cpim\r\n\r\n"
        assert data[b"BODY[HEADER.FIELDS.NOT (SUBJECT DATE FROM TO MESSAGE-ID CONVERSATION-ID CONTRIBUTION-ID " \
                    b"MIME-VERSION)]"] == (b"Content-Type: multipart/related;boundary=cpm;"
                                           b"type=\"Application/X-CPM-Session\"\r\n\r\n")
        c.logout()
        # The macros stand alone, never inside a list (RFC 3501 §9 grammar; Dovecot agrees).
        run(server.port, """
            S: * OK ...
            C: a1 LOGIN user1 pass
            S: a1 OK ...
            C: a2 EXAMINE INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a2 OK [READ-ONLY] Examine completed.
            C: a3 FETCH 1 FAST
            S: * 1 FETCH (FLAGS (\\Recent) INTERNALDATE "..." RFC822.SIZE ...)
            S: a3 OK Fetch completed.
            C: a4 FETCH 1 ALL
            S: * 1 FETCH (FLAGS (\\Recent) INTERNALDATE "..." RFC822.SIZE ... ENVELOPE ("Fri, 21 Nov 1997 09:55:06 -0600" "Team chat" ...))
            S: a4 OK Fetch completed.
            C: a5 FETCH 1 FULL
            S: * 1 FETCH (FLAGS (\\Recent) INTERNALDATE "..." RFC822.SIZE ... ENVELOPE (...) BODY ((...) "RELATED"))
            S: a5 OK Fetch completed.
            C: a6 FETCH 1 (FULL)
            S: a6 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_2_3_2_unknown_system_flags_and_missing_parts(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 APPEND INBOX (\\Bogus) {1+}
            C: x
            S: a1 BAD ...
            C: a2 APPEND INBOX (\\READ-REPORT-SENT) {1+}
            C: x
            S: a2 OK ...
            C: a3 SELECT INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a3 OK ...
            C: a4 STORE 1 +FLAGS (\\Bogus)
            S: a4 BAD ...
            C: a5 FETCH 1 (FLAGS BODY.PEEK[2] BODY.PEEK[1.2.3])
            S: * 1 FETCH (FLAGS (\\read-report-sent \\Recent) BODY[2] {0}\\r\\n BODY[1.2.3] {0}\\r\\n)
            S: a5 OK Fetch completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_check_unselect_uid_copy_and_read_only(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 APPEND INBOX {1+}
            C: x
            S: a1 OK ...
            C: a2 CHECK
            S: a2 BAD CHECK needs a selected mailbox.
            C: a3 EXAMINE INBOX
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ()] ...
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a3 OK [READ-ONLY] Examine completed.
            C: a4 CHECK
            S: a4 OK Check completed.
            C: a5 STORE 1 +FLAGS (\\Seen)
            S: a5 NO [READ-ONLY] ...
            C: a6 EXPUNGE
            S: a6 NO [READ-ONLY] ...
            C: a7 CREATE copies
            S: a7 OK ...
            C: a8 UID COPY 1 copies
            S: a8 OK [COPYUID ... 1 1] Copy completed.
            C: a9 UID MOVE 1 copies
            S: a9 NO [READ-ONLY] ...
            C: b1 UNSELECT
            S: b1 OK Unselect completed.
            C: b2 FETCH 1 FLAGS
            S: b2 BAD ...
            C: b3 STATUS copies (MESSAGES)
            S: * STATUS copies (MESSAGES 1)
            S: b3 OK ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_zero_byte_append_is_refused(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 APPEND INBOX {0+}
            C:
            S: a1 NO Can't save a zero byte message.
            C: a2 STATUS INBOX (MESSAGES)
            S: * STATUS INBOX (MESSAGES 0)
            S: a2 OK ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_2_3_2_keywords_keep_the_folders_spelling(server):
    """Keywords compare case-insensitively across the folder: a keyword sent
    in another case takes the spelling already stored, in STORE, APPEND and
    SEARCH, as Dovecot answers."""
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Tags
            S: a1 OK Create completed.
            C: a2 APPEND Tags (MyKeyword) {1+}
            C: x
            S: a2 OK [APPENDUID ... 1] Append completed.
            C: a3 APPEND Tags (MYKEYWORD Other) {1+}
            C: y
            S: a3 OK [APPENDUID ... 2] Append completed.
            C: a4 APPEND Tags {1+}
            C: z
            S: a4 OK [APPENDUID ... 3] Append completed.
            C: a5 SELECT Tags
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent MyKeyword Other)
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 3 EXISTS
            S: * 3 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 4] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a5 OK [READ-WRITE] Select completed.
            C: a6 STORE 3 +FLAGS (mykeyword)
            S: * 3 FETCH (FLAGS (MyKeyword \\Recent))
            S: a6 OK Store completed.
            C: a7 SEARCH KEYWORD mYkEyWoRd
            S: * SEARCH 1 2 3
            S: a7 OK Search completed.
            C: a8 STORE 1 -FLAGS (MYKEYWORD)
            S: * 1 FETCH (FLAGS (\\Recent))
            S: a8 OK Store completed.
            C: a9 SEARCH UNKEYWORD other
            S: * SEARCH 1 3
            S: a9 OK Search completed.
        """)
    await in_thread(scenario)
