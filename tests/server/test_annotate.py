"""Per-message annotations, ANNOTATE-EXPERIMENT-1 (RFC 5257): STORE, FETCH
and APPEND ANNOTATION, shared and private values, and what a syncing device
hears of them (a new MODSEQ, RFC 7162; NOTIFY AnnotationChange, RFC 5465 §5.3)."""

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, run

LOGIN2 = LOGIN.replace("user1", "user2")

SELECT_CHATS = """
    C: s1 SELECT Chats
    S: * FLAGS ...
    S: * OK [PERMANENTFLAGS ...] ...
    S: * ... EXISTS
    S: * ... RECENT
    S: * OK [UNSEEN 1] ...
    S: * OK [UIDVALIDITY ...] ...
    S: * OK [UIDNEXT ...] ...
    S: * OK [HIGHESTMODSEQ ...] ...
    S: s1 OK [READ-WRITE] Select completed.
"""


@pytest_twisted.ensureDeferred
async def test_rfc5257_4_store_fetch_and_append_annotations(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 APPEND Chats ANNOTATION (/comment (value.priv "mine" value.shared "ours")) {5+}
            C: hello
            S: a2 OK [APPENDUID ... 1] Append completed.
            C: a3 APPEND Chats {5+}
            C: world
            S: a3 OK [APPENDUID ... 2] Append completed.
        """ + SELECT_CHATS + """
            C: a4 FETCH 1:2 (ANNOTATION (/comment (value.priv value.shared)))
            S: * 1 FETCH (ANNOTATION (/comment (value.priv "mine" value.shared "ours")))
            S: * 2 FETCH (ANNOTATION (/comment (value.priv NIL value.shared NIL)))
            S: a4 OK Fetch completed.
            C: a5 STORE 2 ANNOTATION (/altsubject (value.shared "Dinner?") /comment (value.priv "todo"))
            S: a5 OK Store completed.
            C: a6 FETCH 2 (ANNOTATION (/* value) UID)
            S: * 2 FETCH (ANNOTATION (/altsubject (value.priv NIL value.shared "Dinner?") /comment (value.priv "todo" value.shared NIL) /vendor/cpm/kind (value.priv NIL value.shared "email")) UID 2)
            S: a6 OK Fetch completed.
            C: a7 FETCH 2 (ANNOTATION (/comment size))
            S: * 2 FETCH (ANNOTATION (/comment (size.priv "4" size.shared "0")))
            S: a7 OK Fetch completed.
            C: a8 STORE 2 ANNOTATION (/comment (value.priv NIL))
            S: a8 OK Store completed.
            C: a9 FETCH 2 (ANNOTATION (/% value.priv))
            S: * 2 FETCH (ANNOTATION (/altsubject (value.priv NIL)))
            S: a9 OK Fetch completed.
            C: b1 STORE 1 ANNOTATION (/comment (size.priv "1"))
            S: b1 BAD ...
            C: b2 COPY 1 INBOX
            S: b2 OK [COPYUID ... 1 1] Copy completed.
            C: b3 EXAMINE INBOX
            S: * OK [CLOSED] ...
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ()] ...
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 2] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: b3 OK [READ-ONLY] Examine completed.
            C: b4 FETCH 1 (ANNOTATION (/comment value))
            S: * 1 FETCH (ANNOTATION (/comment (value.priv "mine" value.shared "ours")))
            S: b4 OK Fetch completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5257_annotation_change_gets_a_modseq_and_is_heard(server):
    """A device that resyncs with CHANGEDSINCE finds the annotated message,
    and a device listening with NOTIFY AnnotationChange hears of it."""
    def scenario():
        phone = run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 APPEND Chats {5+}
            C: hello
            S: a2 OK [APPENDUID ... 1] Append completed.
            C: a3 STATUS Chats (HIGHESTMODSEQ)
            S: * STATUS Chats (HIGHESTMODSEQ 4)
            S: a3 OK Status completed.
            C: a4 CREATE Other
            S: a4 OK Create completed.
            C: a5 SELECT Other
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 0 EXISTS
            S: * 0 RECENT
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 1] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a5 OK [READ-WRITE] Select completed.
            C: n1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))
            S: n1 OK NOTIFY completed.
        """)
        run(server.port, LOGIN + SELECT_CHATS + """
            C: b1 STORE 1 ANNOTATION (/comment (value.shared "pinned"))
            S: b1 OK Store completed.
            C: b2 UID FETCH 1:* (ANNOTATION (/comment value.shared)) (CHANGEDSINCE 4)
            S: * OK [HIGHESTMODSEQ 6] ...
            S: * 1 FETCH (UID 1 ANNOTATION (/comment (value.shared "pinned")) MODSEQ (6))
            S: b2 OK Fetch completed.
            C: b3 UID STORE 1 (UNCHANGEDSINCE 5) ANNOTATION (/comment (value.shared "old"))
            S: b3 OK [MODIFIED 1] Conditional STORE failed.
        """)
        run(server.port, """
            S: * STATUS Chats (MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ 6)
        """, phone)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5257_private_values_are_per_user_and_survive_restart(start):
    first = await start()

    def before():
        run(first.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 SETACL Chats user2 lrs
            S: a2 OK Setacl completed.
            C: a3 APPEND Chats ANNOTATION (/comment (value.priv "user1's" value.shared "everyone's")) {5+}
            C: hello
            S: a3 OK [APPENDUID ... 1] Append completed.
        """)
        run(first.port, LOGIN2 + """
            C: b1 SELECT "Other Users/user1/Chats"
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 1 EXISTS
            S: * ... RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 2] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: b1 OK [READ-WRITE] Select completed.
            C: b2 FETCH 1 (ANNOTATION (/comment value))
            S: * 1 FETCH (ANNOTATION (/comment (value.priv NIL value.shared "everyone's")))
            S: b2 OK Fetch completed.
            C: b3 STORE 1 ANNOTATION (/comment (value.priv "user2's"))
            S: b3 OK Store completed.
            C: b4 STORE 1 ANNOTATION (/comment (value.shared "mine now"))
            S: b4 NO [NOPERM] ...
        """)
    await in_thread(before)
    await first.running.stop()
    second = await start(data_dir=first.data_dir)

    def after():
        run(second.port, LOGIN + SELECT_CHATS + """
            C: c1 FETCH 1 (ANNOTATION (/comment value))
            S: * 1 FETCH (ANNOTATION (/comment (value.priv "user1's" value.shared "everyone's")))
            S: c1 OK Fetch completed.
        """)
        run(second.port, LOGIN2 + """
            C: d1 EXAMINE "Other Users/user1/Chats"
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ()] ...
            S: * 1 EXISTS
            S: * ... RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 2] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: d1 OK [READ-ONLY] Examine completed.
            C: d2 FETCH 1 (ANNOTATION (/comment value.priv))
            S: * 1 FETCH (ANNOTATION (/comment (value.priv "user2's")))
            S: d2 OK Fetch completed.
        """)
    await in_thread(after)


@pytest_twisted.ensureDeferred
async def test_rfc5257_limits_toobig_and_toomany(start):
    from cpmstore.config import LimitsConfig
    server = await start(limits=LimitsConfig(login_failure_delay=0.0, max_metadata_value_bytes=8,
                                             max_metadata_entries=2))

    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 APPEND Chats ANNOTATION (/comment (value.shared "123456789")) {5+}
            C: hello
            S: a2 NO [ANNOTATE TOOBIG] ...
            C: a3 APPEND Chats {5+}
            C: hello
            S: a3 OK [APPENDUID ... 1] Append completed.
        """ + SELECT_CHATS + """
            C: a4 STORE 1 ANNOTATION (/a (value.priv "1") /b (value.priv "2") /c (value.priv "3"))
            S: a4 NO [ANNOTATE TOOMANY] ...
            C: a5 FETCH 1 (ANNOTATION (/* value.priv))
            S: * 1 FETCH (ANNOTATION (/vendor/cpm/kind (value.priv NIL)))
            S: a5 OK Fetch completed.
            C: a6 STORE 1 ANNOTATION (/a (value.priv "12345678") /b (value.shared "2"))
            S: a6 OK Store completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_cpm_object_kind_is_a_read_only_annotation(server):
    """The kind classified once at APPEND (cpm/kinds.py, shared/cpm-formats.md
    §3.1) reads as the shared value of /vendor/cpm/kind; nobody can set it."""
    from cpm_samples import CHAT, SESSION_HISTORY

    def scenario():
        conn = run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
        """)
        for n, data in enumerate((CHAT, SESSION_HISTORY, b"Subject: mail\r\n\r\nplain\r\n"), 1):
            reply = conn.command(b"p%d" % n, b"APPEND Chats {%d+}\r\n" % len(data) + data)
            assert reply[-1].startswith(b"p%d OK" % n), reply
        run(server.port, SELECT_CHATS + """
            C: a2 FETCH 1:3 (ANNOTATION (/vendor/cpm/kind value.shared))
            S: * 1 FETCH (ANNOTATION (/vendor/cpm/kind (value.shared "chat")))
            S: * 2 FETCH (ANNOTATION (/vendor/cpm/kind (value.shared "session-info")))
            S: * 3 FETCH (ANNOTATION (/vendor/cpm/kind (value.shared "email")))
            S: a2 OK Fetch completed.
            C: a3 STORE 1 ANNOTATION (/vendor/cpm/kind (value.shared "sms"))
            S: a3 NO [NOPERM] ...
            C: a4 COPY 1 INBOX
            S: a4 OK [COPYUID ... 1 1] Copy completed.
        """, conn)
    await in_thread(scenario)
