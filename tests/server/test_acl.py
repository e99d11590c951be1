"""Access control (RFC 4314) and the other users' namespace (RFC 2342), with
two and three users of one server. Dovecot 2.3 answered the same
conversations this way (its namespace prefix is "shared/" where ours is
"Other Users/"; rights strings compared as sets)."""

import pytest_twisted
from conftest import in_thread
from transcript import LOGIN, Connection, run

LOGIN2 = LOGIN.replace("user1", "user2")
LOGIN3 = LOGIN.replace("user1", "user3")


@pytest_twisted.ensureDeferred
async def test_rfc4314_3_owner_sets_gets_and_deletes_rights(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Chats
            S: a1 OK Create completed.
            C: a2 GETACL Chats
            S: * ACL Chats user1 lrwstipekxacd
            S: a2 OK Getacl completed.
            C: a3 MYRIGHTS Chats
            S: * MYRIGHTS Chats lrwstipekxacd
            S: a3 OK Myrights completed.
            C: a4 LISTRIGHTS Chats user2
            S: * LISTRIGHTS Chats user2 "" l r w s t p i e k x a c d
            S: a4 OK Listrights completed.
            C: a5 LISTRIGHTS Chats user1
            S: * LISTRIGHTS Chats user1 a l r w s t p i e k x c d
            S: a5 OK Listrights completed.
            C: a6 SETACL Chats user2 lr
            S: a6 OK Setacl completed.
            C: a7 GETACL Chats
            S: * ACL Chats user2 lr user1 lrwstipekxacd
            S: a7 OK Getacl completed.
            C: a8 SETACL Chats user2 +ic
            S: a8 OK Setacl completed.
            C: a9 GETACL Chats
            S: * ACL Chats user2 lrikxc user1 lrwstipekxacd
            S: a9 OK Getacl completed.
            C: b1 SETACL Chats user2 -c
            S: b1 OK Setacl completed.
            C: b2 SETACL Chats -user3 d
            S: b2 OK Setacl completed.
            C: b3 GETACL Chats
            S: * ACL Chats user2 lri -user3 ted user1 lrwstipekxacd
            S: b3 OK Getacl completed.
            C: b4 SETACL Chats user1 lr
            S: b4 OK Setacl completed.
            C: b5 MYRIGHTS Chats
            S: * MYRIGHTS Chats lra
            S: b5 OK Myrights completed.
            C: b6 DELETEACL Chats user1
            S: b6 OK Deleteacl completed.
            C: b7 MYRIGHTS Chats
            S: * MYRIGHTS Chats lrwstipekxacd
            S: b7 OK Myrights completed.
            C: b8 SETACL Chats user2 lrz
            S: b8 BAD Invalid ACL right: z
            C: b9 GETACL nosuch
            S: b9 NO [NONEXISTENT] ...
            C: c1 CREATE Chats/child
            S: c1 OK Create completed.
            C: c2 GETACL Chats/child
            S: * ACL Chats/child user2 lri -user3 ted user1 lrwstipekxacd
            S: c2 OK Getacl completed.
            C: c3 DELETEACL Chats -user3
            S: c3 OK Deleteacl completed.
            C: c4 SETACL Chats anyone l
            S: c4 OK Setacl completed.
            C: c5 GETACL Chats
            S: * ACL Chats user2 lri anyone l user1 lrwstipekxacd
            S: c5 OK Getacl completed.
        """)
    await in_thread(scenario)


SHARE_CHATS = LOGIN + """
    C: s1 CREATE Chats
    S: s1 OK Create completed.
    C: s2 APPEND Chats {22}
    C: Subject: one\\r\\n\\r\\nbody\\r\\n
    S: s2 OK [APPENDUID ...] Append completed.
    C: s3 APPEND Chats (\\Seen) {22}
    C: Subject: two\\r\\n\\r\\nbody\\r\\n
    S: s3 OK [APPENDUID ...] Append completed.
    C: s4 CREATE Secret
    S: s4 OK Create completed.
"""


@pytest_twisted.ensureDeferred
async def test_rfc4314_4_read_only_grantee_sees_and_reads_but_changes_nothing(server):
    def scenario():
        run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lr
            S: a1 OK Setacl completed.
        """)
        run(server.port, LOGIN2 + """
            C: a1 NAMESPACE
            S: * NAMESPACE (("" "/")) (("Other Users/" "/")) NIL
            S: a1 OK Namespace completed.
            C: a2 LIST "" "*"
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: * LIST (\\Noselect \\HasChildren) "/" "Other Users"
            S: * LIST (\\Noselect \\HasChildren) "/" "Other Users/user1"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/Chats"
            S: a2 OK List completed.
            C: a3 MYRIGHTS "Other Users/user1/Chats"
            S: * MYRIGHTS "Other Users/user1/Chats" lr
            S: a3 OK Myrights completed.
            C: a4 GETACL "Other Users/user1/Chats"
            S: a4 NO [NOPERM] ...
            C: a5 STATUS "Other Users/user1/Chats" (MESSAGES UNSEEN)
            S: * STATUS "Other Users/user1/Chats" (MESSAGES 2 UNSEEN 1)
            S: a5 OK Status completed.
            C: a6 SELECT "Other Users/user1/Chats"
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent)
            S: * OK [PERMANENTFLAGS ()] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a6 OK [READ-ONLY] Select completed.
            C: a7 FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)] FLAGS)
            S: * 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {16}\\r\\nSubject: one\\r\\n\\r\\n FLAGS (\\Recent))
            S: a7 OK Fetch completed.
            C: a8 FETCH 1 BODY[TEXT]
            S: * 1 FETCH (BODY[TEXT] {6}\\r\\nbody\\r\\n)
            S: a8 OK Fetch completed.
            C: a9 FETCH 1 FLAGS
            S: * 1 FETCH (FLAGS (\\Recent))
            S: a9 OK Fetch completed.
            C: b1 STORE 1 +FLAGS (\\Flagged)
            S: b1 NO [READ-ONLY] ...
            C: b2 COPY 1 "Other Users/user1/Chats"
            S: b2 NO [NOPERM] ...
            C: b3 COPY 1:2 INBOX
            S: b3 OK [COPYUID ... 1:2 1:2] Copy completed.
            C: b4 EXPUNGE
            S: b4 NO [READ-ONLY] ...
            C: b5 MOVE 1 INBOX
            S: b5 NO [READ-ONLY] ...
            C: b6 APPEND "Other Users/user1/Chats" {5+}
            C: hello
            S: b6 NO [NOPERM] ...
            C: b7 CREATE "Other Users/user1/Chats/sub"
            S: b7 NO [NOPERM] ...
            C: b8 DELETE "Other Users/user1/Chats"
            S: b8 NO [NOPERM] ...
            C: b9 RENAME "Other Users/user1/Chats" "Other Users/user1/Other"
            S: b9 NO [NOPERM] ...
            C: c1 SETACL "Other Users/user1/Chats" user2 lrswi
            S: c1 NO [NOPERM] ...
            C: c2 RENAME "Other Users/user1/Chats" Mine
            S: c2 NO [NOPERM] ...
            C: c3 SELECT INBOX
            S: * OK [CLOSED] ...
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: c3 OK [READ-WRITE] Select completed.
            C: c4 FETCH 1:2 FLAGS
            S: * 1 FETCH (FLAGS (\\Recent))
            S: * 2 FETCH (FLAGS (\\Seen \\Recent))
            S: c4 OK Fetch completed.
            C: c5 MOVE 1 "Other Users/user1/Chats"
            S: c5 NO [NOPERM] ...
            C: c6 UID MOVE 2 "Other Users/user1/Chats"
            S: c6 NO [NOPERM] ...
        """)
    await in_thread(scenario)


# Every command that names a folder, with {} for the name. Literals use LITERAL+.
PROBES = [
    "SELECT {q}", "EXAMINE {q}", "STATUS {q} (MESSAGES UIDNEXT)", "APPEND {q} {{5+}}\r\nhello",
    "CREATE {q}", 'CREATE "{n}/child"', "DELETE {q}", "RENAME {q} Mine", 'RENAME {q} "{n}2"',
    "GETACL {q}", "SETACL {q} user3 lrswipkxtea", "SETACL {q} user3 +a", "DELETEACL {q} user1",
    "MYRIGHTS {q}", "LISTRIGHTS {q} user3", "GETMETADATA {q} /shared/comment",
    "GETMETADATA (DEPTH infinity) {q} /private", 'SETMETADATA {q} (/shared/comment "x")',
    'SETMETADATA {q} (/private/comment "x")', 'LIST "" {q}', 'LIST "" "{n}/*"',
    'LIST "" * RETURN (STATUS (MESSAGES))', "COPY 1 {q}", "UID COPY 1 {q}", "MOVE 1 {q}",
    "UID MOVE 1 {q}", "SUBSCRIBE {q}", 'LSUB "" {q}', "UNSUBSCRIBE {q}",
    "NOTIFY SET STATUS (mailboxes {q} (MessageNew MessageExpunge MailboxName)) (subtree {q} (MailboxName))",
    "NOTIFY NONE",
]


def _answers(port: int, user: str, name: str) -> list[list[bytes]]:
    """What ``user`` is told for every probe on ``name``, the name itself
    replaced so that answers about different names compare equal."""
    conn = Connection(port)
    conn.read_line()
    conn.command(b"a0", f"LOGIN {user} pass".encode())
    answers = []
    quoted = '"' + name + '"'
    for i, probe in enumerate(PROBES):
        if "COPY" in probe or "MOVE" in probe:
            conn.command(b"s%d" % i, b"SELECT INBOX")
        line = probe.format(q=quoted, n=name).encode()
        lines = conn.command(b"t%d" % i, line)
        if "COPY" in probe or "MOVE" in probe:
            conn.command(b"u%d" % i, b"UNSELECT")
        answers.append([l.replace(quoted.encode(), b"NAME").replace(name.encode(), b"NAME") for l in lines])
    conn.close()
    return answers


@pytest_twisted.ensureDeferred
async def test_rfc4314_4_no_right_answers_as_no_folder(server):
    """Authorization fuzz: user3, granted nothing, tries every command on
    every folder of user1, on folders that do not exist and on a user that
    does not exist; no command succeeds and no answer tells them apart."""
    def scenario():
        run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lrswipkxtea
            S: a1 OK Setacl completed.
            C: a2 SETACL Secret -user3 l
            S: a2 OK Setacl completed.
            C: a3 SETMETADATA Chats (/shared/comment "mine")
            S: a3 OK Setmetadata completed.
        """)
        run(server.port, LOGIN3 + """
            C: a1 APPEND INBOX {5+}
            C: hello
            S: a1 OK [APPENDUID ...] Append completed.
        """)
        names = ["Other Users/user1/Chats", "Other Users/user1/Secret", "Other Users/user1/INBOX",
                 "Other Users/user1/Nosuch", "Other Users/nobody/Chats", "Other Users/user3/INBOX"]
        reference = _answers(server.port, "user3", "Other Users/user1/Nosuch")
        for probe, lines in zip(PROBES, reference):
            tagged = lines[-1].split(b" ", 2)[1]
            if probe.split()[0] in ("SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NOTIFY"):
                assert tagged == b"OK", (probe, lines)  # names need not exist (RFC 3501 §6.3.6)
                if probe.startswith("LIST"):
                    assert not any(b"NAME" in l for l in lines[:-1]), (probe, lines)
            else:
                assert tagged in (b"NO", b"BAD"), (probe, lines)
        for name in names:
            assert _answers(server.port, "user3", name) == reference, name
        # Nothing changed for the owner.
        run(server.port, LOGIN + """
            C: b1 LIST "" *
            S: * LIST (\\HasNoChildren) "/" Chats
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: * LIST (\\HasNoChildren) "/" Secret
            S: b1 OK List completed.
            C: b2 STATUS Chats (MESSAGES)
            S: * STATUS Chats (MESSAGES 2)
            S: b2 OK Status completed.
            C: b3 GETACL Chats
            S: * ACL Chats user2 lrwstipekxacd user1 lrwstipekxacd
            S: b3 OK Getacl completed.
            C: b4 GETACL Secret
            S: * ACL Secret -user3 l user1 lrwstipekxacd
            S: b4 OK Getacl completed.
            C: b5 GETMETADATA Chats /shared/comment
            S: * METADATA Chats (/shared/comment "mine")
            S: b5 OK Getmetadata completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4314_4_each_right_opens_its_commands(server):
    """i: APPEND, COPY, MOVE into; s/w/t: which flags STORE may change (the
    others are left alone, as in Dovecot); e: EXPUNGE; k: CREATE below;
    x: DELETE and RENAME away; a: the ACL itself."""
    def scenario():
        run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lrs
            S: a1 OK Setacl completed.
        """)
        grantee = run(server.port, LOGIN2 + """
            C: a1 APPEND "Other Users/user1/Chats" {5+}
            C: hello
            S: a1 NO [NOPERM] ...
            C: a2 SELECT "Other Users/user1/Chats"
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS (\\Seen)] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: a2 OK [READ-WRITE] Select completed.
            C: a3 STORE 1 +FLAGS (\\Seen \\Flagged \\Deleted)
            S: * 1 FETCH (FLAGS (\\Seen \\Recent))
            S: a3 OK Store completed.
            C: a4 STORE 2 FLAGS (\\Draft)
            S: * 2 FETCH (FLAGS (\\Recent))
            S: a4 OK Store completed.
            C: a5 EXPUNGE
            S: a5 NO [NOPERM] ...
            C: a6 MOVE 1 INBOX
            S: a6 NO [NOPERM] ...
        """)
        run(server.port, LOGIN + """
            C: b1 SETACL Chats user2 +iwte
            S: b1 OK Setacl completed.
        """)
        run(server.port, """
            C: a7 NOOP
            S: a7 OK NOOP completed.
            C: a8 STORE 2 +FLAGS (\\Deleted \\Flagged)
            S: * 2 FETCH (FLAGS (\\Deleted \\Flagged \\Recent))
            S: a8 OK Store completed.
            C: a9 EXPUNGE
            S: * 2 EXPUNGE
            S: * 1 RECENT
            S: a9 OK Expunge completed.
            C: b1 APPEND "Other Users/user1/Chats" (\\Seen $Chat) {5+}
            C: hello
            S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent $Chat)
            S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\read-report-sent $Chat \\*)] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: b1 OK [APPENDUID ... 3] Append completed.
            C: b2 COPY 1 INBOX
            S: b2 OK [COPYUID ... 1 1] Copy completed.
            C: b3 SELECT INBOX
            S: * OK [CLOSED] ...
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 2] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: b3 OK [READ-WRITE] Select completed.
            C: b4 MOVE 1 "Other Users/user1/Chats"
            S: * OK [COPYUID ... 1 4] ...
            S: * 1 EXPUNGE
            S: * 0 RECENT
            S: b4 OK Move completed.
            C: b5 CREATE "Other Users/user1/Chats/Sub"
            S: b5 NO [NOPERM] ...
            C: b6 DELETE "Other Users/user1/Chats"
            S: b6 NO [NOPERM] ...
            C: b7 GETACL "Other Users/user1/Chats"
            S: b7 NO [NOPERM] ...
        """, grantee)
        run(server.port, LOGIN + """
            C: c1 SETACL Chats user2 +kxa
            S: c1 OK Setacl completed.
            C: c2 STATUS Chats (MESSAGES UNSEEN)
            S: * STATUS Chats (MESSAGES 3 UNSEEN 0)
            S: c2 OK Status completed.
            C: c3 GETACL Chats
            S: * ACL Chats user2 lrwstiekxacd user1 lrwstipekxacd
            S: c3 OK Getacl completed.
        """)
        run(server.port, """
            C: c1 CREATE "Other Users/user1/Chats/Sub"
            S: c1 OK Create completed.
            C: c2 GETACL "Other Users/user1/Chats/Sub"
            S: * ACL "Other Users/user1/Chats/Sub" user2 lrwstiekxacd user1 lrwstipekxacd
            S: c2 OK Getacl completed.
            C: c3 RENAME "Other Users/user1/Chats/Sub" "Other Users/user1/Chats/Sub2"
            S: c3 OK Rename completed.
            C: c4 RENAME "Other Users/user1/Chats/Sub2" "Other Users/user1/Top"
            S: c4 NO [NOPERM] ...
            C: c5 RENAME "Other Users/user1/Chats/Sub2" Mine
            S: c5 NO [CANNOT] ...
            C: c6 DELETE "Other Users/user1/Chats/Sub2"
            S: c6 OK Delete completed.
            C: c7 SETACL "Other Users/user1/Chats" user3 lr
            S: c7 OK Setacl completed.
        """, grantee)
        run(server.port, LOGIN3 + """
            C: d1 LIST "" "Other Users/*"
            S: * LIST (\\Noselect \\HasChildren) "/" "Other Users/user1"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/Chats"
            S: d1 OK List completed.
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4314_2_anyone_and_negative_rights_combine(server):
    """Rights are the union of the entries that match (the user's own name,
    anyone, authenticated) minus the union of the matching negative entries."""
    def scenario():
        run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats anyone lr
            S: a1 OK Setacl completed.
            C: a2 SETACL Chats user2 lrw
            S: a2 OK Setacl completed.
            C: a3 SETACL Chats -user3 r
            S: a3 OK Setacl completed.
            C: a4 SETACL Chats -authenticated w
            S: a4 OK Setacl completed.
        """)
        run(server.port, LOGIN2 + """
            C: b1 MYRIGHTS "Other Users/user1/Chats"
            S: * MYRIGHTS "Other Users/user1/Chats" lr
            S: b1 OK Myrights completed.
        """)
        run(server.port, LOGIN3 + """
            C: c1 MYRIGHTS "Other Users/user1/Chats"
            S: * MYRIGHTS "Other Users/user1/Chats" l
            S: c1 OK Myrights completed.
            C: c2 LIST "" "Other Users/user1/*"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/Chats"
            S: c2 OK List completed.
            C: c3 SELECT "Other Users/user1/Chats"
            S: c3 NO [NOPERM] ...
        """)
        run(server.port, LOGIN.replace("user1", "user4") + """
            C: d1 STATUS "Other Users/user1/Chats" (MESSAGES)
            S: * STATUS "Other Users/user1/Chats" (MESSAGES 2)
            S: d1 OK Status completed.
        """)
        run(server.port, LOGIN + """
            C: e1 DELETEACL Chats anyone
            S: e1 OK Deleteacl completed.
        """)
        run(server.port, LOGIN.replace("user1", "user4") + """
            C: f1 LIST "" "*"
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: f1 OK List completed.
            C: f2 SELECT "Other Users/user1/Chats"
            S: f2 NO [NONEXISTENT] ...
        """)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4314_3_2_deleteacl_hides_the_folder_again(server):
    def scenario():
        run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lr
            S: a1 OK Setacl completed.
        """)
        grantee = run(server.port, LOGIN2 + """
            C: b1 LIST "" "Other Users/*"
            S: * LIST (\\Noselect \\HasChildren) "/" "Other Users/user1"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/Chats"
            S: b1 OK List completed.
        """)
        run(server.port, LOGIN + """
            C: a2 DELETEACL Chats user2
            S: a2 OK Deleteacl completed.
        """)
        run(server.port, """
            C: b2 LIST "" "*"
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: b2 OK List completed.
            C: b3 SELECT "Other Users/user1/Chats"
            S: b3 NO [NONEXISTENT] ...
            C: b4 SELECT "Other Users/user1/Nosuch"
            S: b4 NO [NONEXISTENT] ...
        """, grantee)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4314_rights_survive_restart_and_rename(start):
    first = await start()

    def before():
        run(first.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lri
            S: a1 OK Setacl completed.
            C: a2 CREATE Chats/Old
            S: a2 OK Create completed.
            C: a3 RENAME Chats Talks
            S: a3 OK Rename completed.
        """)
    await in_thread(before)
    await first.running.stop()
    second = await start(data_dir=first.data_dir)

    def after():
        run(second.port, LOGIN + """
            C: a1 GETACL Talks
            S: * ACL Talks user2 lri user1 lrwstipekxacd
            S: a1 OK Getacl completed.
            C: a2 GETACL Talks/Old
            S: * ACL Talks/Old user2 lri user1 lrwstipekxacd
            S: a2 OK Getacl completed.
        """)
        run(second.port, LOGIN2 + """
            C: b1 LIST "" "Other Users/*"
            S: * LIST (\\Noselect \\HasChildren) "/" "Other Users/user1"
            S: * LIST (\\HasChildren) "/" "Other Users/user1/Talks"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/Talks/Old"
            S: b1 OK List completed.
            C: b2 MYRIGHTS "Other Users/user1/Talks/Old"
            S: * MYRIGHTS "Other Users/user1/Talks/Old" lri
            S: b2 OK Myrights completed.
        """)
    await in_thread(after)


@pytest_twisted.ensureDeferred
async def test_rfc4314_grantee_sees_the_owners_changes_live(server):
    """The change bus crosses users: a session with another user's folder
    selected hears of new messages, flag changes and expunges as they commit."""
    def scenario():
        run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lrs
            S: a1 OK Setacl completed.
        """)
        grantee = run(server.port, LOGIN2 + """
            C: b1 EXAMINE "Other Users/user1/Chats"
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ()] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: b1 OK [READ-ONLY] Examine completed.
            C: b2 IDLE
            S: + idling
        """)
        run(server.port, LOGIN + """
            C: c1 SELECT Chats
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 2 EXISTS
            S: * 2 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 3] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: c1 OK [READ-WRITE] Select completed.
            C: c2 APPEND Chats {5+}
            C: hello
            S: * 3 EXISTS
            S: * 3 RECENT
            S: c2 OK [APPENDUID ... 3] Append completed.
        """)
        run(server.port, """
            S: * 3 EXISTS
            S: * 3 RECENT
        """, grantee)
        run(server.port, LOGIN + """
            C: c1 SELECT Chats
            S: * FLAGS ...
            S: * OK [PERMANENTFLAGS ...] ...
            S: * 3 EXISTS
            S: * 0 RECENT
            S: * OK [UNSEEN 1] ...
            S: * OK [UIDVALIDITY ...] ...
            S: * OK [UIDNEXT 4] ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: c1 OK [READ-WRITE] Select completed.
            C: c2 STORE 1 +FLAGS.SILENT (\\Deleted \\Flagged)
            S: c2 OK Store completed.
            C: c3 EXPUNGE
            S: * 1 EXPUNGE
            S: c3 OK Expunge completed.
        """)
        run(server.port, """
            S: * 1 FETCH (FLAGS (\\Deleted \\Flagged \\Recent))
            S: * 1 EXPUNGE
            S: * 2 RECENT
            C: DONE
            S: b2 OK Idle completed.
        """, grantee)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4314_4_insert_only_folder_is_a_drop_box(server):
    """With i and neither l nor r a user may deposit into a folder but not
    find it or read it: SELECT answers as for a missing folder (DESIGN §6)."""
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Drop
            S: a1 OK Create completed.
            C: a2 SETACL Drop user2 i
            S: a2 OK Setacl completed.
        """)
        run(server.port, LOGIN2 + """
            C: b1 APPEND "Other Users/user1/Drop" {5+}
            C: hello
            S: b1 OK [APPENDUID ... 1] Append completed.
            C: b2 SELECT "Other Users/user1/Drop"
            S: b2 NO [NONEXISTENT] ...
            C: b3 LIST "" "*"
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: b3 OK List completed.
            C: b4 STATUS "Other Users/user1/Drop" (MESSAGES)
            S: b4 NO [NONEXISTENT] ...
        """)
        run(server.port, LOGIN + """
            C: c1 STATUS Drop (MESSAGES)
            S: * STATUS Drop (MESSAGES 1)
            S: c1 OK Status completed.
        """)
    await in_thread(scenario)


# The owner adds to a folder the grantee may not see, then to the shared one.
APPEND_SECRET_AND_CHATS = """
    C: b1 APPEND Secret {5+}
    C: hello
    S: b1 OK [APPENDUID ... 1] Append completed.
    C: b2 APPEND Chats {5+}
    C: hello
    S: b2 OK [APPENDUID ... 3] Append completed.
"""


@pytest_twisted.ensureDeferred
async def test_rfc5465_grantee_hears_shared_folder_changes_and_acl_changes(server):
    """NOTIFY reaches across users: the grantee hears of new messages in a
    folder shared with them (STATUS, by the name they know it by), and of ACL
    changes that make it appear or vanish (RFC 5465 §5.4); nothing of the
    owner's folders they may not see."""
    def scenario():
        owner = run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lr
            S: a1 OK Setacl completed.
        """)
        grantee = run(server.port, LOGIN2 + """
            C: n1 NOTIFY SET (subtree "Other Users" (MessageNew MessageExpunge MailboxName))
            S: n1 OK NOTIFY completed.
        """)
        run(server.port, APPEND_SECRET_AND_CHATS, owner)
        run(server.port, """
            S: * STATUS "Other Users/user1/Chats" (MESSAGES 3 UIDNEXT 4 UNSEEN 2)
        """, grantee)
        run(server.port, """
            C: b3 DELETEACL Chats user2
            S: b3 OK Deleteacl completed.
        """, owner)
        run(server.port, """
            S: * LIST (\\NonExistent) "/" "Other Users/user1/Chats"
        """, grantee)
        run(server.port, """
            C: b4 APPEND Chats {5+}
            C: hello
            S: b4 OK [APPENDUID ... 4] Append completed.
            C: b5 SETACL Chats user2 lr
            S: b5 OK Setacl completed.
        """, owner)
        run(server.port, """
            S: * LIST () "/" "Other Users/user1/Chats"
            C: c1 NOOP
            S: c1 OK NOOP completed.
        """, grantee)
    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_lost_share_registry_is_rebuilt_from_the_indexes(start):
    """shares.sqlite3 is derived data: without it, the next start rebuilds it
    from every user's ACLs, and grantees find the shared folders again."""
    import os

    first = await start()

    def before():
        run(first.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lr
            S: a1 OK Setacl completed.
        """)
    await in_thread(before)
    await first.running.stop()
    for name in os.listdir(first.data_dir):
        if name.startswith("shares.sqlite3"):
            os.unlink(os.path.join(first.data_dir, name))
    second = await start(data_dir=first.data_dir)

    def after():
        run(second.port, LOGIN2 + """
            C: b1 LIST "" "Other Users/*"
            S: * LIST (\\Noselect \\HasChildren) "/" "Other Users/user1"
            S: * LIST (\\HasNoChildren) "/" "Other Users/user1/Chats"
            S: b1 OK List completed.
        """)
    await in_thread(after)


@pytest_twisted.ensureDeferred
async def test_rfc5465_an_owner_who_shares_after_notify_set_is_heard(server):
    """NOTIFY set before any folder was shared with the user still hears of
    the folder the moment it is shared (a LIST, RFC 5465 §5.4), and of its
    new messages after that."""
    def scenario():
        grantee = run(server.port, LOGIN2 + """
            C: n1 NOTIFY SET (subtree "Other Users" (MessageNew MessageExpunge MailboxName))
            S: n1 OK NOTIFY completed.
        """)
        owner = run(server.port, SHARE_CHATS + """
            C: a1 SETACL Chats user2 lr
            S: a1 OK Setacl completed.
        """)
        run(server.port, """
            S: * LIST () "/" "Other Users/user1/Chats"
        """, grantee)
        run(server.port, APPEND_SECRET_AND_CHATS, owner)
        run(server.port, """
            S: * STATUS "Other Users/user1/Chats" (MESSAGES 3 UIDNEXT 4 UNSEEN 2)
            C: c1 NOOP
            S: c1 OK NOOP completed.
        """, grantee)
    await in_thread(scenario)
