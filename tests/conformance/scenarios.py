"""The scripted conversations of the differential suite.

Each scenario is a script for ``harness.steps``: ``session: COMMAND`` lines,
``{box}`` for this scenario's folder prefix (unique per run, so Dovecot's
shared users are never disturbed outside it), ``{user}`` for the login name
and ``{lit:name}`` for a LITERAL+ literal of ``MESSAGES[name]``. Every folder
a scenario makes lives under ``{box}``; the harness deletes them afterwards.
"""

from __future__ import annotations

import harness


# The CPM objects the server tests store (tests/server/cpm_samples.py).
_cpm = harness.server_test_module("cpm_samples")

PLAIN = (
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.com>, carol@example.org\r\n"
    b"Cc: \"Dave, D.\" <dave@example.net>\r\n"
    b"Subject: Plain hello\r\n"
    b"Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
    b"Message-ID: <plain-1@example.com>\r\n"
    b"In-Reply-To: <earlier@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"this is a plain message with the word zebra in it.\r\n"
)

MIXED = (
    b"From: bob@example.com\r\n"
    b"To: alice@example.com\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9_report?=\r\n"
    b"Date: Thu, 18 Jul 1996 10:00:00 +0000\r\n"
    b"Message-ID: <mixed-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    b"\r\n"
    b"preamble\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 au lait, see the attachment.\r\n"
    b"--b1\r\n"
    b"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
    b"Content-ID: <part2@example.com>\r\n"
    b"Content-Description: The report\r\n"
    b"\r\n"
    b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r\n"
    b"--b1--\r\n"
    b"epilogue\r\n"
)

FORWARD = (
    b"From: carol@example.org\r\n"
    b"To: alice@example.com\r\n"
    b"Subject: Fwd: Plain hello\r\n"
    b"Date: Fri, 19 Jul 1996 08:30:00 +0200\r\n"
    b"Message-ID: <fwd-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Forwarding this.\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"Content-Disposition: inline\r\n"
    b"\r\n" + PLAIN +
    b"--outer--\r\n"
)

SMALL = b"Subject: small\r\nFrom: x@example.com\r\n\r\nx\r\n"
UTF8_BODY = (
    b"From: eve@example.com\r\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n"
    b"Date: Sat, 20 Jul 1996 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n"
)

MESSAGES = {
    "plain": PLAIN, "mixed": MIXED, "forward": FORWARD, "small": SMALL, "utf8": UTF8_BODY,
    "history": _cpm.SESSION_HISTORY, "chat": _cpm.CHAT, "empty": b"",
    "koeln": "Köln".encode(),
}

LOGIN = "a: LOGIN {user} pass"

SESSION = """
    a: CAPABILITY
    a: NOOP
    a: LOGIN {user} wrong
    a: LOGIN nosuchuser pass
    a: LOGIN {user}
    a: SELECT INBOX
    a: LOGOUT
    d: FETCH 1 FLAGS
    d: AUTHENTICATE X-NOSUCH-MECH
    d: LOGIN {user} pass
    d: LOGOUT
    e: NOSUCHCOMMAND
    e: LOGIN
    e: NOOP
    e: LOGOUT
    b: LOGIN "{user}" "pass"
    b: LOGIN {user} pass
    b: CAPABILITY
    b: NOOP
    b: CHECK
    b: FETCH 1 FLAGS
    b: STORE 1 +FLAGS (\\Seen)
    b: EXPUNGE
    b: SEARCH ALL
    b: CLOSE
    b: UNSELECT
    b: ENABLE CONDSTORE
    b: NOSUCHCOMMAND arg
    b: SELECT
    b: LIST
    b: LOGOUT
    c: AUTHENTICATE PLAIN {plain}
    c: NOOP
    c: LOGOUT
"""

SELECT = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" (\\Seen) "17-Jul-1996 02:44:25 -0700" {lit:plain}
    a: APPEND "{box}" () "18-Jul-1996 02:44:25 +0000" {lit:mixed}
    a: APPEND "{box}" (\\Flagged $Label1) "19-Jul-1996 02:44:25 +0200" {lit:forward}
    a: SELECT "{box}"
    a: FETCH 1:* (FLAGS)
    a: EXAMINE "{box}"
    a: FETCH 1:* (FLAGS)
    a: STORE 1 +FLAGS (\\Deleted)
    a: EXPUNGE
    a: CLOSE
    a: CLOSE
    a: UNSELECT
    a: SELECT "{box}"
    a: STORE 1 +FLAGS.SILENT (\\Deleted)
    a: UNSELECT
    a: SELECT "{box}"
    a: STORE 2 +FLAGS.SILENT (\\Deleted)
    a: CLOSE
    a: EXAMINE "{box}"
    a: FETCH 1:* (UID FLAGS)
    a: SELECT "{box}/nosuch"
    a: FETCH 1 FLAGS
    a: SELECT "{box}"
    a: SELECT ""
    a: EXAMINE "{box}/nosuch"
    a: SELECT "{box}" (CONDSTORE)
    a: SELECT "{box}" (NOSUCHPARAM)
    a: STATUS "{box}" (MESSAGES RECENT UIDNEXT UNSEEN)
    a: CREATE "{box}/empty"
    a: SELECT "{box}/empty"
    a: FETCH 1:* FLAGS
    a: SEARCH ALL
    a: FETCH * FLAGS
    a: UNSELECT
    a: LOGOUT
"""

MAILBOXES = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}"
    a: CREATE "{box}/a"
    a: CREATE "{box}/a/b"
    a: CREATE "{box}/p"
    a: CREATE "{box}/Entw&APw-rfe"
    a: CREATE "{box}/&ZeVnLIqe-"
    a: CREATE "{box}/&Jjo"
    a: CREATE "{box}/&AGE-"
    a: CREATE {box}/atom
    a: CREATE INBOX
    a: CREATE inbox
    a: LIST "" "{box}*"
    a: LIST "" "{box}/%"
    a: LIST "{box}/" "%"
    a: LIST "{box}/" "*"
    a: LIST "" ""
    a: LIST "" "{box}/nosuch*"
    a: LIST "" "{box}/Entw*"
    a: LIST "" "{box}/%/%"
    a: LSUB "" "{box}*"
    a: SUBSCRIBE "{box}/a"
    a: SUBSCRIBE "{box}/a/b"
    a: SUBSCRIBE "{box}/Entw&APw-rfe"
    a: LSUB "" "{box}*"
    a: LSUB "" "{box}/%"
    a: UNSUBSCRIBE "{box}/a"
    a: UNSUBSCRIBE "{box}/a"
    a: LSUB "" "{box}*"
    a: STATUS "{box}/a" (MESSAGES RECENT UIDNEXT UNSEEN)
    a: STATUS "{box}/Entw&APw-rfe" (MESSAGES UIDNEXT)
    a: STATUS "{box}/nosuch" (MESSAGES)
    a: STATUS "{box}/a" (NOSUCHITEM)
    a: STATUS "{box}/a" ()
    a: RENAME "{box}/a" "{box}/c"
    a: LIST "" "{box}/*"
    a: RENAME "{box}/c" "{box}/Entw&APw-rfe"
    a: RENAME "{box}/nosuch" "{box}/d"
    a: RENAME "{box}/c/b" "{box}/fresh/deep/b"
    a: LIST "" "{box}/fresh*"
    a: DELETE "{box}/nosuch"
    a: DELETE "{box}/c"
    a: LIST "" "{box}/c*"
    a: CREATE "{box}/p/q"
    a: DELETE "{box}/p"
    a: LIST "" "{box}/p*"
    a: SELECT "{box}/p"
    a: DELETE "{box}/p/q"
    a: LIST "" "{box}/p*"
    a: DELETE INBOX
    a: RENAME "{box}/Entw&APw-rfe" INBOX
    a: SELECT "{box}/&ZeVnLIqe-"
    a: DELETE "{box}/&ZeVnLIqe-"
    a: LIST "" "{box}/*"
    a: LOGOUT
    # Superior names made by CREATE (RFC 3501 §6.3.3), kept apart so that
    # how they are listed does not change every LIST above.
    b: LOGIN {user} pass
    b: CREATE "{box}-i/x/y/z"
    b: CREATE "{box}-i/trailing/"
    b: LIST "" "{box}-i*"
    b: LIST "" "{box}-i/x/%"
    b: STATUS "{box}-i/x" (MESSAGES)
    b: DELETE "{box}-i/x/y/z"
    b: LIST "" "{box}-i/*"
    b: LOGOUT
"""

APPEND = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" {lit:small}
    a: APPEND "{box}" (\\Seen \\Flagged) {lit:small}
    a: APPEND "{box}" (\\Answered \\Draft $Forwarded Custom1) "01-Jan-2001 00:00:00 +0000" {lit:plain}
    a: APPEND "{box}" " 1-Feb-2002 13:14:15 -0800" {lit:small}
    a: APPEND "{box}" () "31-Dec-1999 23:59:59 +0100" {lit:mixed}
    a: APPEND "{box}" (\\Seen) "01-Jan-2001 00:00:00 +0000" {lit:history} (\\Flagged) {lit:chat}
    a: APPEND "{box}" {lit:forward} {lit:utf8}
    a: APPEND "{box}/nosuch" {sync:small}
    a: CREATE "{box}/lenient"
    a: APPEND "{box}/lenient" "32-Jan-2001 00:00:00 +0000" {sync:small}
    a: APPEND "{box}/lenient" {sync:empty}
    a: APPEND "{box}" "yesterday" {sync:small}
    a: APPEND "{box}" (\\Recent) {sync:small}
    a: APPEND "{box}" (\\NoSuchSystemFlag) {sync:small}
    a: APPEND "{box}"
    a: APPEND
    a: STATUS "{box}" (MESSAGES RECENT UIDNEXT UNSEEN)
    a: SELECT "{box}"
    a: FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)
    a: APPEND "{box}" (\\Deleted) {lit:small}
    a: NOOP
    a: FETCH 1:* (FLAGS)
    a: EXPUNGE
    a: APPEND "{box}" (\\Seen) {lit:small}
    a: NOOP
    a: UID FETCH 1:* (FLAGS)
    a: LOGOUT
"""

_FETCH_ITEMS = [
    "ALL", "FAST", "FULL", "ENVELOPE", "BODY", "BODYSTRUCTURE", "RFC822.SIZE", "INTERNALDATE", "UID", "FLAGS",
    "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]",
    "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[1.TEXT]",
    "BODY.PEEK[HEADER.FIELDS (From Subject)]", "BODY.PEEK[HEADER.FIELDS.NOT (From Subject Date)]",
    "BODY.PEEK[]<0.20>", "BODY.PEEK[TEXT]<5.10>", "BODY.PEEK[]<100000.10>",
]

FETCH = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" () "17-Jul-1996 02:44:25 -0700" {lit:plain}
    a: APPEND "{box}" () "18-Jul-1996 02:44:25 -0700" {lit:mixed}
    a: APPEND "{box}" () "19-Jul-1996 02:44:25 -0700" {lit:forward}
    a: APPEND "{box}" () "20-Jul-1996 02:44:25 -0700" {lit:history}
    a: SELECT "{box}"
""" + "\n".join(f"    a: FETCH 1:4 ({item})" for item in _FETCH_ITEMS) + """
    a: FETCH 3 (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] BODY.PEEK[2.MIME])
    a: FETCH 3 (BODY.PEEK[2.HEADER.FIELDS (Subject To)])
    a: FETCH 2 (BODY.PEEK[2] BODY.PEEK[1]<0.4>)
    a: FETCH 4 (BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[3] BODY.PEEK[3.MIME])
    a: FETCH 4 (BODY.PEEK[9])
    a: FETCH 1 (BODY.PEEK[1.2])
    a: FETCH 1 (RFC822.HEADER)
    a: FETCH 1 (FLAGS)
    a: FETCH 1 (RFC822.TEXT)
    a: FETCH 1 (FLAGS)
    a: FETCH 2 (BODY[TEXT]<0.8>)
    a: FETCH 3 (RFC822)
    a: FETCH 4 (BODY[1])
    a: FETCH 1:* (FLAGS)
    a: UID FETCH 1:* (FLAGS)
    a: UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (Message-ID)])
    a: UID FETCH 99 (FLAGS)
    a: FETCH 5 (FLAGS)
    a: FETCH 0 (FLAGS)
    a: FETCH 1 (NOSUCHITEM)
    a: FETCH 1 (BODY[HEADER.FIELDS])
    a: FETCH 1 BODY.PEEK[]<0.0>
    a: FETCH 1 (BODY.PEEK[]<10>)
    a: FETCH * (UID)
    a: FETCH 2,4 (UID RFC822.SIZE)
    a: LOGOUT
"""

STORE = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" () "17-Jul-1996 02:44:25 -0700" {lit:plain} () "17-Jul-1996 02:44:25 -0700" {lit:small} () "17-Jul-1996 02:44:25 -0700" {lit:mixed} () "17-Jul-1996 02:44:25 -0700" {lit:small}
    a: SELECT "{box}"
    a: STORE 1 FLAGS (\\Seen)
    a: STORE 1 +FLAGS (\\Flagged)
    a: STORE 1 -FLAGS (\\Seen)
    a: STORE 2 +FLAGS.SILENT (\\Answered)
    a: STORE 2 -FLAGS.SILENT (\\Answered)
    a: STORE 2:3 FLAGS.SILENT (\\Draft)
    a: FETCH 1:* FLAGS
    a: STORE 1:* +FLAGS ($Forwarded $MDNSent)
    a: STORE 1 +FLAGS (MyKeyword)
    a: STORE 3 +FLAGS \\Seen \\Answered
    a: STORE 4 FLAGS ()
    a: STORE 4 +FLAGS (\\Recent)
    a: STORE 4 +FLAGS (\\NoSuchSystemFlag)
    a: STORE 4 +FLAGS (bad(keyword)
    a: STORE 9 +FLAGS (\\Seen)
    a: STORE 1 NOSUCHOP (\\Seen)
    a: UID STORE 1:2 +FLAGS (\\Deleted)
    a: UID STORE 99 +FLAGS (\\Deleted)
    a: UID STORE 1:* -FLAGS.SILENT (\\Deleted)
    a: FETCH 1:* FLAGS
    a: SELECT "{box}"
    a: EXAMINE "{box}"
    a: STORE 1 +FLAGS (\\Seen)
    a: FETCH 1 (BODY[TEXT])
    a: FETCH 1 FLAGS
    a: SELECT "{box}"
    a: STORE 2 +FLAGS mykeyword
    a: FETCH 2 FLAGS
    a: STORE 4 +FLAGS (\\read-report-sent)
    a: FETCH 4 FLAGS
    a: LOGOUT
"""

COPY_MOVE = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}/dest"
    a: APPEND "{box}" (\\Seen) "17-Jul-1996 02:44:25 -0700" {lit:plain} () "17-Jul-1996 02:44:25 -0700" {lit:small} (\\Flagged) "17-Jul-1996 02:44:25 -0700" {lit:mixed} () "17-Jul-1996 02:44:25 -0700" {lit:small} () "17-Jul-1996 02:44:25 -0700" {lit:forward}
    a: SELECT "{box}"
    a: COPY 1 "{box}/dest"
    a: COPY 2:3 "{box}/dest"
    a: UID COPY 4:5 "{box}/dest"
    a: COPY 1 "{box}/nosuch"
    a: COPY 9 "{box}/dest"
    a: UID COPY 99 "{box}/dest"
    a: MOVE 1 "{box}/dest"
    a: UID MOVE 3 "{box}/dest"
    a: MOVE 1 "{box}/nosuch"
    a: FETCH 1:* (UID FLAGS)
    a: STORE 1:2 +FLAGS.SILENT (\\Deleted)
    a: UID EXPUNGE 4
    a: UID EXPUNGE 99
    a: FETCH 1:* (UID FLAGS)
    a: EXPUNGE
    a: FETCH 1:* (UID FLAGS)
    a: STATUS "{box}/dest" (MESSAGES RECENT UIDNEXT UNSEEN)
    a: SELECT "{box}/dest"
    a: FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)
    a: COPY 1:* "{box}/dest"
    a: STORE 1:* +FLAGS.SILENT (\\Deleted)
    a: EXPUNGE
    a: SELECT "{box}/dest"
    a: MOVE 1:* "{box}"
    a: EXAMINE "{box}"
    a: FETCH 1:* (UID FLAGS)
    a: COPY 1 "{box}/dest"
    a: MOVE 1 "{box}/dest"
    a: EXPUNGE
    a: LOGOUT
"""

SEARCH = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" (\\Seen) "17-Jul-1996 02:44:25 -0700" {lit:plain}
    a: APPEND "{box}" (\\Flagged $Label1) "18-Jul-1996 10:00:00 +0000" {lit:mixed}
    a: APPEND "{box}" (\\Answered \\Seen) "19-Jul-1996 02:44:25 -0700" {lit:forward}
    a: APPEND "{box}" (\\Draft) "20-Jul-1996 02:44:25 -0700" {lit:history}
    a: APPEND "{box}" (\\Deleted) "21-Jul-1996 02:44:25 -0700" {lit:utf8}
    a: APPEND "{box}" () "22-Jul-1996 02:44:25 -0700" {lit:small}
    a: SELECT "{box}"
    a: SEARCH ALL
    a: SEARCH SEEN
    a: SEARCH UNSEEN
    a: SEARCH FLAGGED
    a: SEARCH UNFLAGGED
    a: SEARCH ANSWERED
    a: SEARCH UNANSWERED
    a: SEARCH DELETED
    a: SEARCH UNDELETED
    a: SEARCH DRAFT
    a: SEARCH UNDRAFT
    a: SEARCH RECENT
    a: SEARCH NEW
    a: SEARCH OLD
    a: SEARCH KEYWORD $Label1
    a: SEARCH UNKEYWORD $Label1
    a: SEARCH KEYWORD nosuchkeyword
    a: SEARCH SUBJECT hello
    a: SEARCH SUBJECT "Plain HELLO"
    a: SEARCH FROM alice
    a: SEARCH FROM "example.org"
    a: SEARCH TO bob
    a: SEARCH CC dave
    a: SEARCH BCC nobody
    a: SEARCH BODY zebra
    a: SEARCH TEXT zebra
    a: SEARCH TEXT Conversation-ID
    a: SEARCH BODY "Hello team"
    a: SEARCH HEADER Message-ID "<mixed-1@example.com>"
    a: SEARCH HEADER Content-Type multipart
    a: SEARCH HEADER X-Nosuch ""
    a: SEARCH HEADER In-Reply-To ""
    a: SEARCH LARGER 1000
    a: SEARCH SMALLER 100
    a: SEARCH BEFORE 19-Jul-1996
    a: SEARCH ON 19-Jul-1996
    a: SEARCH SINCE 19-Jul-1996
    a: SEARCH SENTBEFORE 18-Jul-1996
    a: SEARCH SENTON 18-Jul-1996
    a: SEARCH SENTSINCE 19-Jul-1996
    a: SEARCH OR FLAGGED ANSWERED
    a: SEARCH NOT SEEN
    a: SEARCH NOT NOT SEEN
    a: SEARCH (SEEN FLAGGED) OR DRAFT DELETED
    a: SEARCH 2:4
    a: SEARCH 2:4 UID 1,3,5
    a: SEARCH UID 4:*
    a: SEARCH *
    a: UID SEARCH ALL
    a: UID SEARCH SEEN
    a: UID SEARCH UID 2:3
    a: SEARCH CHARSET UTF-8 BODY {lit:koeln}
    a: SEARCH CHARSET UTF-8 SUBJECT "Caf\u00e9"
    a: SEARCH CHARSET US-ASCII SUBJECT report
    a: SEARCH CHARSET ISO-8859-1 TEXT "K\u00f6ln"
    a: SEARCH CHARSET X-NOSUCH-CHARSET TEXT x
    a: SEARCH SUBJECT Gr\u00fc\u00dfe
    a: SEARCH NOSUCHKEY
    a: SEARCH BEFORE notadate
    a: SEARCH LARGER notanumber
    a: SEARCH OR SEEN
    a: SEARCH
    a: SEARCH 99
    a: LOGOUT
"""

CONDSTORE = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" () "17-Jul-1996 02:44:25 -0700" {lit:plain} () "17-Jul-1996 02:44:25 -0700" {lit:small} () "17-Jul-1996 02:44:25 -0700" {lit:mixed}
    a: SELECT "{box}" (CONDSTORE)
    a: FETCH 1:* (UID MODSEQ)
    a: STATUS "{box}/nosuch" (HIGHESTMODSEQ)
    a: FETCH 1:* (FLAGS) (CHANGEDSINCE 1)
    a: FETCH 1:* (FLAGS) (CHANGEDSINCE 1000000)
    a: STORE 1 (UNCHANGEDSINCE 1000000) +FLAGS (\\Seen)
    a: STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)
    a: STORE 2 (UNCHANGEDSINCE 1000000) +FLAGS.SILENT (\\Answered)
    a: FETCH 1:* (FLAGS)
    a: SEARCH MODSEQ 1
    a: SEARCH MODSEQ 1000000
    a: UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)
    a: ENABLE QRESYNC
    a: ENABLE QRESYNC
    a: UNSELECT
    a: SELECT "{box}"
    a: STORE 3 +FLAGS.SILENT (\\Deleted)
    a: UID EXPUNGE 3
    a: STORE 1 +FLAGS.SILENT (\\Deleted)
    a: EXPUNGE
    a: UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
    a: FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
    a: UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1000000 VANISHED)
    a: UNSELECT
    a: EXAMINE "{box}" (CONDSTORE)
    a: LOGOUT
    b: LOGIN {user} pass
    b: SELECT "{box}"
    b: FETCH 1 (MODSEQ)
    b: SELECT "{box}"
    b: FETCH 1 (FLAGS)
    b: STORE 1 (UNCHANGEDSINCE 1000000) +FLAGS (\\Draft)
    b: SELECT "{box}"
    b: FETCH 1 (FLAGS)
    b: LOGOUT
"""

TWO_SESSIONS = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" () "17-Jul-1996 02:44:25 -0700" {lit:plain} () "17-Jul-1996 02:44:25 -0700" {lit:small} () "17-Jul-1996 02:44:25 -0700" {lit:mixed}
    a: SELECT "{box}"
    b: LOGIN {user} pass
    b: SELECT "{box}"
    a: APPEND "{box}" (\\Seen) "17-Jul-1996 02:44:25 -0700" {lit:forward}
    a: NOOP
    b: NOOP
    b: FETCH 4 (FLAGS)
    a: STORE 1 +FLAGS (\\Flagged)
    b: NOOP
    b: STORE 2 +FLAGS (\\Answered)
    a: CHECK
    a: FETCH 2 (FLAGS)
    a: STORE 3 +FLAGS.SILENT (\\Deleted)
    a: EXPUNGE
    b: NOOP
    b: FETCH 1:* (UID FLAGS)
    a: STORE 2 +FLAGS.SILENT (\\Deleted)
    a: EXPUNGE
    b: FETCH 2 (FLAGS)
    b: UID FETCH 2 (FLAGS)
    b: STORE 2 +FLAGS (\\Seen)
    b: SEARCH ALL
    b: NOOP
    b: FETCH 1:* (UID FLAGS)
    a: COPY 1 "{box}"
    b: STATUS "{box}" (MESSAGES RECENT UIDNEXT)
    b: NOOP
    a: NOOP
    c: LOGIN {user} pass
    c: EXAMINE "{box}"
    c: STATUS "{box}" (MESSAGES RECENT UNSEEN)
    c: FETCH 1:* (UID FLAGS)
    b: MOVE 1 "{box}"
    a: NOOP
    c: NOOP
    b: LOGOUT
    a: LOGOUT
    c: LOGOUT
"""

# ACL (RFC 4314) and the other users' namespace. {user} owns every folder and
# shares it with {user2}, who reaches it as "shared/{user}/..." (RFC 2342 §5,
# the prefix both servers are configured with). \Seen is left out: Dovecot
# keeps it per user in shared folders, cpmstore keeps flags shared.
ACL_OWNER = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}/sub"
    a: MYRIGHTS "{box}"
    a: GETACL "{box}"
    a: LISTRIGHTS "{box}" {user}
    a: LISTRIGHTS "{box}" {user2}
    a: SETACL "{box}" {user2} lr
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} +wsi
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} -w
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} +c
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} +d
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} -cd
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} -x
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} lrz
    a: SETACL "{box}" {user2} ""
    a: GETACL "{box}"
    a: SETACL "{box}" {user2} lrswi
    a: SETACL "{box}" -{user2} w
    a: GETACL "{box}"
    a: DELETEACL "{box}" -{user2}
    a: DELETEACL "{box}" {user2}
    a: GETACL "{box}"
    a: DELETEACL "{box}" {user2}
    a: GETACL "{box}/sub"
    a: SETACL "{box}" {user} lr
    a: MYRIGHTS "{box}"
    a: GETACL "{box}"
    a: DELETEACL "{box}" {user}
    a: MYRIGHTS "{box}"
    a: GETACL "{box}"
    a: GETACL "{box}/nosuch"
    a: MYRIGHTS "{box}/nosuch"
    a: SETACL "{box}/nosuch" {user2} lr
    a: DELETEACL "{box}/nosuch" {user2}
    a: LISTRIGHTS "{box}/nosuch" {user2}
    a: MYRIGHTS INBOX
    a: GETACL
    a: SETACL "{box}" {user2}
    a: LOGOUT
"""

# Dovecot caches a session's rights (acl_cache_secs), so each grant the
# grantee is to see is tried in a fresh session: b with lr, c with lrswi, d
# with r alone, e with none. The owner's SELECT first takes \Recent: a
# read-only SELECT by the grantee takes it in Dovecot but not in cpmstore.
ACL_GRANTEE = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}/hidden"
    a: APPEND "{box}" (\\Flagged) "17-Jul-1996 02:44:25 -0700" {lit:plain} () "18-Jul-1996 02:44:25 -0700" {lit:small}
    a: SELECT "{box}"
    a: UNSELECT
    a: SETACL "{box}" {user2} lr
    b: LOGIN {user2} pass
    b: NAMESPACE
    b: LIST "" "shared/{user}/{box}*"
    b: LIST "shared/{user}/" "{box}%"
    b: LIST "" "shared/{user}/{box}/%"
    b: MYRIGHTS "shared/{user}/{box}"
    b: GETACL "shared/{user}/{box}"
    b: LISTRIGHTS "shared/{user}/{box}" {user2}
    b: SETACL "shared/{user}/{box}" {user2} lrswi
    b: DELETEACL "shared/{user}/{box}" {user2}
    b: STATUS "shared/{user}/{box}" (MESSAGES UIDNEXT)
    b: EXAMINE "shared/{user}/{box}"
    b: SELECT "shared/{user}/{box}"
    b: FETCH 1:* (UID FLAGS RFC822.SIZE)
    b: FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])
    b: SEARCH FLAGGED
    b: STORE 1 +FLAGS (\\Answered)
    b: CREATE "{box}"
    b: COPY 1 "{box}"
    b: MOVE 1 "{box}"
    b: UNSELECT
    b: APPEND "shared/{user}/{box}" {sync:small}
    b: CREATE "shared/{user}/{box}/child"
    b: DELETE "shared/{user}/{box}"
    b: RENAME "shared/{user}/{box}" "shared/{user}/{box}-renamed"
    b: RENAME "shared/{user}/{box}" "{box}-mine"
    b: SELECT "shared/{user}/{box}/hidden"
    b: SELECT "shared/{user}/{box}/nosuch"
    b: STATUS "shared/{user}/{box}/hidden" (MESSAGES)
    b: STATUS "shared/{user}/{box}/nosuch" (MESSAGES)
    b: MYRIGHTS "shared/{user}/{box}/hidden"
    b: MYRIGHTS "shared/{user}/{box}/nosuch"
    b: GETACL "shared/{user}/{box}/hidden"
    b: GETACL "shared/{user}/{box}/nosuch"
    b: APPEND "shared/{user}/{box}/hidden" {sync:small}
    b: APPEND "shared/{user}/{box}/nosuch" {sync:small}
    b: SELECT "{box}"
    b: COPY 1 "shared/{user}/{box}"
    b: COPY 1 "shared/{user}/{box}/hidden"
    b: COPY 1 "shared/{user}/{box}/nosuch"
    b: LOGOUT
    a: SETACL "{box}" {user2} lrswi
    c: LOGIN {user2} pass
    c: MYRIGHTS "shared/{user}/{box}"
    c: SELECT "shared/{user}/{box}"
    c: STORE 1 +FLAGS (\\Answered)
    c: STORE 1 -FLAGS (\\Flagged)
    c: STORE 2 +FLAGS ($Label1)
    c: STORE 2 +FLAGS (\\Deleted)
    c: EXPUNGE
    c: APPEND "shared/{user}/{box}" (\\Draft) "19-Jul-1996 02:44:25 -0700" {lit:mixed}
    c: NOOP
    c: SELECT "{box}"
    c: COPY 1 "shared/{user}/{box}"
    c: MOVE 1 "shared/{user}/{box}"
    c: SELECT "shared/{user}/{box}"
    c: FETCH 1:* (UID FLAGS)
    c: COPY 1:2 "{box}"
    c: MOVE 1 "{box}"
    c: UNSELECT
    c: CREATE "shared/{user}/{box}/child"
    c: DELETE "shared/{user}/{box}"
    c: RENAME "shared/{user}/{box}" "shared/{user}/{box}-renamed"
    c: GETACL "shared/{user}/{box}"
    c: LOGOUT
    a: SELECT "{box}"
    a: FETCH 1:* (UID FLAGS)
    a: SETACL "{box}" {user2} r
    d: LOGIN {user2} pass
    d: LIST "" "shared/{user}/{box}*"
    d: MYRIGHTS "shared/{user}/{box}"
    d: STATUS "shared/{user}/{box}" (MESSAGES)
    d: EXAMINE "shared/{user}/{box}"
    d: LOGOUT
    a: DELETEACL "{box}" {user2}
    e: LOGIN {user2} pass
    e: LIST "" "shared/{user}/{box}*"
    e: MYRIGHTS "shared/{user}/{box}"
    e: SELECT "shared/{user}/{box}"
    e: STATUS "shared/{user}/{box}" (MESSAGES)
    e: LOGOUT
    a: LOGOUT
"""

# Folder and server annotations (RFC 5464). Options come before the mailbox
# name (RFC 5464 §5, errata 2785/2786). Entry names are lower-case: Dovecot
# answers SERVERBUG to some mixed-case ones. Every value is removed at the
# end, because Dovecot cannot DELETE a folder that still has metadata. Not
# here: SETMETADATA of the bare "/shared" (Dovecot accepts it and corrupts
# that folder's index; cpmstore answers BAD, RFC 5464 §3.2).
METADATA = LOGIN + """
    a: CREATE "{box}"
    a: SETACL "{box}" {user2} lr
    a: GETMETADATA "{box}" /shared/comment
    a: SETMETADATA "{box}" (/private/comment "mine")
    a: SETMETADATA "{box}" (/shared/comment "for everyone")
    a: GETMETADATA "{box}" /private/comment
    a: GETMETADATA "{box}" (/private/comment /shared/comment /shared/nosuch)
    a: SETMETADATA "{box}" (/shared/vendor/cpm/a "1" /shared/vendor/cpm/a/b "22" /shared/vendor/cpm/c "333")
    a: GETMETADATA "{box}" /shared/vendor/cpm
    a: GETMETADATA (DEPTH 0) "{box}" /shared/vendor/cpm/a
    a: GETMETADATA (DEPTH 1) "{box}" /shared/vendor/cpm
    a: GETMETADATA (DEPTH infinity) "{box}" /shared/vendor
    a: GETMETADATA (DEPTH infinity) "{box}" /shared
    a: GETMETADATA (DEPTH 1) "{box}" (/shared/vendor/cpm /private)
    a: GETMETADATA (MAXSIZE 2) "{box}" (/shared/vendor/cpm/a /shared/vendor/cpm/a/b /shared/vendor/cpm/c)
    a: GETMETADATA (MAXSIZE 2 DEPTH 1) "{box}" /shared/vendor/cpm
    a: GETMETADATA (DEPTH infinity MAXSIZE 100) "{box}" /shared/vendor
    a: GETMETADATA (DEPTH 2) "{box}" /shared
    a: GETMETADATA (MAXSIZE -1) "{box}" /shared
    a: GETMETADATA (NOSUCHOPTION 1) "{box}" /shared
    a: GETMETADATA "{box}" (DEPTH 1) /shared/vendor/cpm
    a: GETMETADATA "{box}" /nosuchprefix/x
    a: GETMETADATA "{box}" /shared/
    a: SETMETADATA "{box}" (/nosuchprefix/x "1")
    a: SETMETADATA "{box}" (/shared/a*b "1")
    a: GETMETADATA "{box}/nosuch" /shared/comment
    a: SETMETADATA "{box}/nosuch" (/shared/comment "x")
    a: SETMETADATA "{box}" (/shared/vendor/cpm/a NIL)
    a: GETMETADATA (DEPTH infinity) "{box}" /shared/vendor
    a: SETMETADATA "{box}" (/shared/vendor/cpm/nosuch NIL)
    a: SETMETADATA "{box}" (/shared/vendor/cpm/c {lit:small})
    a: GETMETADATA "{box}" /shared/vendor/cpm/c
    a: SETMETADATA "" (/private/vendor/{box} "server value")
    a: GETMETADATA "" /private/vendor/{box}
    a: GETMETADATA "" /shared/vendor/{box}
    b: LOGIN {user2} pass
    b: GETMETADATA "shared/{user}/{box}" (/shared/comment /private/comment)
    b: SETMETADATA "shared/{user}/{box}" (/shared/vendor/cpm/b "theirs")
    b: SETMETADATA "shared/{user}/{box}" (/private/comment "user4's own")
    b: GETMETADATA "shared/{user}/{box}" (/shared/comment /private/comment)
    b: GETMETADATA "" /private/vendor/{box}
    b: LOGOUT
    a: GETMETADATA "{box}" (/shared/comment /private/comment)
    a: SETACL "{box}" {user2} lrw
    c: LOGIN {user2} pass
    c: SETMETADATA "shared/{user}/{box}" (/shared/comment "theirs")
    c: SETMETADATA "shared/{user}/{box}" (/private/comment NIL)
    c: LOGOUT
    a: GETMETADATA "{box}" (/shared/comment /private/comment)
    a: SETACL "{box}" {user2} l
    d: LOGIN {user2} pass
    d: GETMETADATA "shared/{user}/{box}" /shared/comment
    d: SETMETADATA "shared/{user}/{box}" (/private/comment "x")
    d: LOGOUT
    a: DELETEACL "{box}" {user2}
    e: LOGIN {user2} pass
    e: GETMETADATA "shared/{user}/{box}" /shared/comment
    e: SETMETADATA "shared/{user}/{box}" (/private/comment "x")
    e: LOGOUT
    a: SETMETADATA "{box}" (/private/comment NIL /shared/comment NIL /shared/vendor/cpm/a/b NIL /shared/vendor/cpm/b NIL /shared/vendor/cpm/c NIL)
    a: SETMETADATA "" (/private/vendor/{box} NIL)
    a: GETMETADATA (DEPTH infinity) "{box}" (/shared /private)
    a: GETMETADATA "" /private/vendor/{box}
    a: LOGOUT
"""

# ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and WITHIN (RFC 5032). Messages 2, 4 and 5
# are \Seen; 1 and 2 have old INTERNALDATEs, 3 to 5 are appended now.
ESEARCH = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}/copy"
    a: APPEND "{box}" () "17-Jul-1996 02:44:25 -0700" {lit:plain}
    a: APPEND "{box}" (\\Seen) "18-Jul-1996 10:00:00 +0000" {lit:mixed}
    a: APPEND "{box}" () {lit:forward}
    a: APPEND "{box}" (\\Seen) {lit:small}
    a: APPEND "{box}" (\\Seen \\Flagged) {lit:history}
    a: SELECT "{box}"
    a: FETCH $ (UID)
    a: SEARCH RETURN (MIN MAX ALL COUNT) SEEN
    a: UID SEARCH RETURN (COUNT ALL MAX MIN) SEEN
    a: SEARCH RETURN () ALL
    a: SEARCH RETURN (MIN) DRAFT
    a: UID SEARCH RETURN (COUNT) DRAFT
    a: SEARCH RETURN (MAX) CHARSET UTF-8 UNSEEN
    a: SEARCH RETURN (min MIN) FLAGGED
    a: SEARCH RETURN (FOO) ALL
    a: SEARCH RETURN ALL
    a: SEARCH RETURN (ALL)
    a: SEARCH CHARSET UTF-8 RETURN (ALL) ALL
    a: SEARCH SEEN
    a: SEARCH RETURN (SAVE) SEEN
    a: FETCH $ (UID FLAGS)
    a: UID FETCH $ (FLAGS)
    a: SEARCH $
    a: SEARCH NOT $
    a: UID SEARCH OR $ 1
    a: SEARCH RETURN (SAVE ALL) $ 3:5
    a: FETCH $ (UID)
    a: SEARCH RETURN (SAVE MIN MAX) SEEN
    a: FETCH $ (UID)
    a: SEARCH RETURN (SAVE COUNT MIN) SEEN
    a: FETCH $ (UID)
    a: SEARCH RETURN (SAVE) NOSUCHKEY
    a: FETCH $ (UID)
    a: SEARCH RETURN (SAVE) CHARSET X-NOSUCH-CHARSET ALL
    a: FETCH $ (UID)
    a: FETCH 1,$ (UID)
    a: SEARCH RETURN (SAVE) SEEN
    a: STORE $ +FLAGS (\\Answered)
    a: COPY $ "{box}/copy"
    a: STORE 2 +FLAGS.SILENT (\\Deleted)
    a: UID EXPUNGE 2
    a: FETCH $ (UID)
    a: SEARCH RETURN (ALL COUNT) UID $
    a: MOVE $ "{box}/copy"
    a: FETCH $ (UID)
    a: SEARCH RETURN (ALL COUNT) MODSEQ 1
    a: SEARCH RETURN (MIN) MODSEQ 1
    a: UID SEARCH RETURN (MAX COUNT) UNSEEN MODSEQ 1
    a: SEARCH RETURN (ALL) DRAFT MODSEQ 1
    a: SEARCH YOUNGER 3600
    a: SEARCH OLDER 3600
    a: UID SEARCH RETURN (ALL) OLDER 86400 UNSEEN
    a: SEARCH OLDER 0
    a: SEARCH YOUNGER x
    a: SEARCH RETURN (SAVE) ALL
    a: UNSELECT
    a: SELECT "{box}/copy"
    a: FETCH $ (UID)
    a: UID SEARCH RETURN (SAVE) 2
    a: FETCH $ (UID FLAGS)
    a: SEARCH RETURN (SAVE) ALL
    a: CLOSE
    a: EXAMINE "{box}"
    a: FETCH $ (UID)
    a: LOGOUT
"""

SCENARIOS = {
    "session": SESSION,
    "select": SELECT,
    "mailboxes": MAILBOXES,
    "append": APPEND,
    "fetch": FETCH,
    "store": STORE,
    "copy_move": COPY_MOVE,
    "search": SEARCH,
    "condstore": CONDSTORE,
    "two_sessions": TWO_SESSIONS,
    "acl_owner": ACL_OWNER,
    "acl_grantee": ACL_GRANTEE,
    "metadata": METADATA,
    "esearch": ESEARCH,
}


def script(name: str) -> list[harness.Step]:
    return harness.steps(SCENARIOS[name], MESSAGES)


# -- SORT and THREAD (RFC 5256, RFC 5957, RFC 5267) ------------------------------
def _sort_message(*headers: str, body: str = "x\r\n") -> bytes:
    return ("".join(h + "\r\n" for h in headers) + "\r\n" + body).encode()


# Tricky base subjects, equal keys, a missing Date, a duplicate Message-ID,
# reply chains through References, In-Reply-To and missing (dummy) parents.
SORT_MESSAGES = {
    "s1": _sort_message("From: Zed <zed@example.com>", "To: bob@example.com", "Subject: Project plan",
                        "Date: Mon, 1 Jan 2024 10:00:00 +0000", "Message-ID: <p1@example.com>"),
    "s2": _sort_message("From: alice@example.com", "To: Zed <zed@example.com>", "Subject: Re: Project plan",
                        "Date: Tue, 2 Jan 2024 10:00:00 +0000", "Message-ID: <p2@example.com>",
                        "In-Reply-To: <p1@example.com>", "References: <p1@example.com>", body="longer body\r\n"),
    "s3": _sort_message("From: \"Carol\" <Carol@example.com>", "To: Bob <bob@example.com>",
                        "Cc: dave@example.net", "Subject: [list] Re: project  PLAN (fwd)",
                        "Message-ID: <p3@example.com>", "References: <p1@example.com>\r\n <p2@example.com>"),
    "s4": _sort_message("From: =?UTF-8?Q?=C3=89mile?= <emile@example.com>", "To: Zoe <zoe@example.com>",
                        "Cc: Ann <ann@example.com>", "Subject: Fwd: Lunch",
                        "Date: Mon, 1 Jan 2024 09:00:00 +0100", "Message-ID: <l1@example.com>"),
    "s5": _sort_message("From: bob@example.com", "To: =?UTF-8?Q?Andr=C3=A9?= <andre@example.com>", "Subject: lunch",
                        "Date: Mon, 1 Jan 2024 08:00:00 +0000", "Message-ID: <l2@example.com>"),
    "s6": _sort_message("From: alice@example.com", "To: team: x@example.com, y@example.com;",
                        "Subject: [fwd: Lunch]", "Date: Wed, 3 Jan 2024 10:00:00 +0000",
                        "Message-ID: <l3@example.com>", "In-Reply-To: <gone@example.com>"),
    "s7": _sort_message("From: Bob <bob@example.com>", "Subject: Re: lunch\t (fwd)",
                        "Date: Thu, 4 Jan 2024 10:00:00 +0000", "Message-ID: <l4@example.com>",
                        "References: <gone@example.com>"),
    "s8": _sort_message("To: nobody@example.com", "Message-ID: <p1@example.com>", body="no subject\r\n"),
    "s9": _sort_message("From: Dave <dave@example.net>", "Subject: Re: [PATCH] Widget",
                        "Date: Fri, 5 Jan 2024 12:00:00 +0000", "Message-ID: <w1@example.com>",
                        "References: <w0@example.com>"),
    "s10": _sort_message("From: Dave <dave@example.net>", "Subject: [PATCH] Widget",
                         "Date: Fri, 5 Jan 2024 11:00:00 +0000", "Message-ID: <w2@example.com>"),
    "s11": _sort_message("From: eve@example.com", "Subject: Re: Re: Widget",
                         "Date: Fri, 5 Jan 2024 13:00:00 +0000", "Message-ID: <w3@example.com>",
                         "In-Reply-To: <w1@example.com> (Dave's message)"),
}
MESSAGES.update(SORT_MESSAGES)

SORT_THREAD = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:s1}
    a: APPEND "{box}" "02-Jan-2024 12:00:00 +0000" {lit:s2}
    a: APPEND "{box}" "06-Jan-2024 12:00:00 +0000" {lit:s3}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:s4}
    a: APPEND "{box}" "01-Jan-2024 09:00:00 +0000" {lit:s5}
    a: APPEND "{box}" "03-Jan-2024 12:00:00 +0000" {lit:s6}
    a: APPEND "{box}" "04-Jan-2024 12:00:00 +0000" {lit:s7}
    a: APPEND "{box}" "31-Dec-2023 12:00:00 +0000" {lit:s8}
    a: APPEND "{box}" "05-Jan-2024 12:00:00 +0000" {lit:s9}
    a: APPEND "{box}" "05-Jan-2024 12:00:00 +0000" {lit:s10}
    a: APPEND "{box}" "05-Jan-2024 13:00:00 +0000" {lit:s11}
    a: SELECT "{box}"
    a: SORT (SUBJECT) UTF-8 ALL
    a: SORT (REVERSE SUBJECT) UTF-8 ALL
    a: SORT (SUBJECT DATE) US-ASCII ALL
    a: SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL
    a: SORT (DATE) UTF-8 ALL
    a: SORT (REVERSE DATE) UTF-8 ALL
    a: SORT (ARRIVAL) UTF-8 ALL
    a: SORT (REVERSE ARRIVAL) UTF-8 ALL
    a: SORT (SIZE) UTF-8 ALL
    a: SORT (REVERSE SIZE ARRIVAL) UTF-8 ALL
    a: SORT (FROM) UTF-8 ALL
    a: SORT (REVERSE FROM) UTF-8 ALL
    a: SORT (TO) UTF-8 ALL
    a: SORT (CC) UTF-8 ALL
    a: SORT (DISPLAYFROM) UTF-8 ALL
    a: SORT (DISPLAYTO) UTF-8 ALL
    a: SORT (REVERSE DISPLAYFROM SUBJECT) UTF-8 ALL
    a: UID SORT (SUBJECT) UTF-8 2:6
    a: SORT (SUBJECT) UTF-8 FROM alice
    a: SORT (DATE) UTF-8 SUBJECT nosuchsubject
    a: SORT (DATE) X-NOSUCH-CHARSET ALL
    a: SORT (NOSUCHKEY) UTF-8 ALL
    a: SORT () UTF-8 ALL
    a: SORT (DATE) UTF-8
    a: SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL
    a: SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL
    a: UID SORT RETURN (COUNT) (SIZE) UTF-8 SEEN
    a: THREAD ORDEREDSUBJECT UTF-8 ALL
    a: THREAD REFERENCES UTF-8 ALL
    a: THREAD REFS UTF-8 ALL
    a: UID THREAD REFERENCES UTF-8 ALL
    a: UID THREAD ORDEREDSUBJECT UTF-8 ALL
    a: THREAD REFERENCES UTF-8 3:9
    a: THREAD REFS UTF-8 NOT 1
    a: THREAD REFERENCES UTF-8 SUBJECT nosuchsubject
    a: THREAD NOSUCHALGORITHM UTF-8 ALL
    a: THREAD REFERENCES X-NOSUCH-CHARSET ALL
    a: LOGOUT
"""
SCENARIOS["sort_thread"] = SORT_THREAD

# Edge cases: non-ASCII collation, blob-only and empty subjects, groups and
# tel: URIs as addresses, an unparsable Date, reference loops, a References
# line truncated by another message, equal dates in REFS.
SORT_EDGE_MESSAGES = {
    "e1": _sort_message("From: =?UTF-8?Q?=C3=A9mile?= <e1@example.com>", "Subject: =?UTF-8?Q?=C3=A9t=C3=A9?=",
                        "Date: Mon, 1 Jan 2024 10:00:00 +0000", "Message-ID: <e1@example.com>",
                        "References: <e2@example.com>"),
    "e2": _sort_message("From: Frank <frank@example.com>", "Subject: ete", "Date: not a date at all",
                        "Message-ID: <e2@example.com>", "References: <e1@example.com>"),
    "e3": _sort_message("From: undisclosed-recipients:;", "To: <tel:+33612345678>", "Subject: [only a blob]",
                        "Date: Mon, 1 Jan 2024 10:00:00 +0000", "Message-ID: <e3@example.com>",
                        "References: <e3@example.com>"),
    "e4": _sort_message("From: tel:+33612345678", "To: sip:bob@example.com", "Subject: Re:",
                        "Date: Mon, 1 Jan 2024 10:00:00 +0000", "Message-ID: <e4@example.com>",
                        "References: <a@example.com> <b@example.com> <e3@example.com>"),
    "e5": _sort_message("From: \"\" <empty@example.com>", "Subject: [fwd: [x] Re: FW: Ete ]",
                        "Date: Mon, 1 Jan 2024 11:00:00 +0100", "Message-ID: <e5@example.com>",
                        "References: <b@example.com>"),
    "e6": _sort_message("From: Eve <EVE@example.com>", "Subject: Fwd : [a][b] \t Etf",
                        "Date: Mon, 1 Jan 2024 10:00:00 -0100", "Message-ID: <e6@example.com>",
                        "In-Reply-To: no-angle-brackets@example.com"),
    "e7": _sort_message("From: (comment only)", "Subject: (fwd) (fwd)", "Date: Mon, 01 Jan 2024 10:00:00 GMT",
                        "Message-ID: <e7@example.com>", "References: <e5@example.com> <e2@example.com>"),
    "e8": _sort_message("Subject: =?UTF-8?B?w4lUw4k=?=", "Date: Mon, 1 Jan 2024 10:00:00 +0000",
                        "Message-ID: <e8@example.com>", "References: <e7@example.com> <e5@example.com>"),
}
MESSAGES.update(SORT_EDGE_MESSAGES)

SORT_EDGE = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e1}
    a: APPEND "{box}" "01-Jan-2024 08:00:00 +0000" {lit:e2}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e3}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e4}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e5}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e6}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e7}
    a: APPEND "{box}" "01-Jan-2024 12:00:00 +0000" {lit:e8}
    a: SELECT "{box}"
    a: SORT (SUBJECT) UTF-8 ALL
    a: SORT (REVERSE SUBJECT) UTF-8 ALL
    a: SORT (DATE) UTF-8 ALL
    a: SORT (FROM) UTF-8 ALL
    a: SORT (TO) UTF-8 ALL
    a: SORT (DISPLAYFROM) UTF-8 ALL
    a: SORT (DISPLAYTO) UTF-8 ALL
    a: THREAD ORDEREDSUBJECT UTF-8 ALL
    a: THREAD REFERENCES UTF-8 ALL
    a: THREAD REFS UTF-8 ALL
    a: THREAD REFERENCES UTF-8 2:8
    a: LOGOUT
"""
SCENARIOS["sort_edge"] = SORT_EDGE


def _random_sort_messages(seed: int, count: int) -> dict[str, bytes]:
    """``count`` messages drawn with a fixed seed from tricky subjects, names,
    dates (some missing) and Message-ID / References / In-Reply-To values
    that collide, repeat, loop and point at messages that are not there."""
    import random
    rnd = random.Random(seed)
    prefixes = ["Re: ", "RE: ", "Fwd: ", "Fw: ", "[list] ", "[x] Re: ", "", "", "", " ", "re[2]: ", "Re: Re: "]
    bases = ["alpha", "Alpha", "beta", "Beta gamma", "[only]", "", "delta (fwd)", "[fwd: alpha]", "Zeta",
             "=?UTF-8?Q?=C3=A9ta?=", "Eta"]
    names = ["Zed <zed@x.org>", "alice@x.org", "Bob <BOB@x.org>", "=?UTF-8?Q?=C3=89lise?= <elise@x.org>",
             "\"Carol\" <carol@x.org>", "dave@x.org", None]
    out = {}
    for i in range(count):
        headers = [f"{name}: {value}" for name, value in (("From", rnd.choice(names)), ("To", rnd.choice(names)))
                   if value]
        if rnd.random() < 0.9:
            headers.append("Subject: " + rnd.choice(prefixes) + rnd.choice(bases))
        if rnd.random() < 0.85:
            headers.append(f"Date: Mon, {rnd.randint(1, 5)} Jan 2024 {rnd.choice([8, 9, 10]):02d}:00:00 +0000")
        if rnd.random() < 0.95:
            headers.append(f"Message-ID: <m{rnd.randint(0, count + 5)}@x.org>")
        references = [f"<m{rnd.randint(0, count + 5)}@x.org>" for _ in range(rnd.choice([0, 0, 1, 1, 2, 3]))]
        if references:
            headers.append("References: " + " ".join(references) if rnd.random() < 0.5
                           else "In-Reply-To: " + references[-1])
        out[f"r{i}"] = _sort_message(*headers, body="x" * rnd.randint(1, 50) + "\r\n")
    return out


# Dovecot breaks ties between threads whose top is a dummy by the order in
# which the whole folder first mentions their Message-IDs; cpmstore knows only
# the matching messages. So REFS over a subset is left out here.
SORT_RANDOM_MESSAGES = _random_sort_messages(5256, 60)
MESSAGES.update(SORT_RANDOM_MESSAGES)
SORT_RANDOM = LOGIN + '\n    a: CREATE "{box}"\n' + "".join(
    f'    a: APPEND "{{box}}" "{1 + i % 7:02d}-Jan-2024 12:00:00 +0000" {{lit:{name}}}\n'
    for i, name in enumerate(SORT_RANDOM_MESSAGES)) + """
    a: SELECT "{box}"
    a: SORT (SUBJECT) UTF-8 ALL
    a: SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL
    a: SORT (DATE) UTF-8 ALL
    a: SORT (FROM SIZE) UTF-8 ALL
    a: SORT (REVERSE TO) UTF-8 ALL
    a: SORT (DISPLAYFROM) UTF-8 ALL
    a: SORT (DISPLAYTO ARRIVAL) UTF-8 ALL
    a: THREAD ORDEREDSUBJECT UTF-8 ALL
    a: THREAD ORDEREDSUBJECT UTF-8 NOT 10:30
    a: THREAD REFERENCES UTF-8 ALL
    a: THREAD REFERENCES UTF-8 NOT 10:30
    a: UID THREAD REFERENCES UTF-8 OR 1:20 40:50
    a: THREAD REFS UTF-8 ALL
    a: LOGOUT
"""
SCENARIOS["sort_random"] = SORT_RANDOM

# BINARY (RFC 3516): a CPM file-transfer whose JPEG travels base64-encoded,
# with a quoted-printable and an 8bit text part and an embedded message; a
# message with an encoding nobody knows (kept apart: Dovecot then refuses
# BINARY.SIZE on any part of that message); a literal8 message whose binary
# part holds NUL and bare LF, and one whose JPEG part does (both servers
# store such a part base64-encoded, RFC 3516 §4.4, so BODY[] carries no NUL);
# a literal8 message with a NUL in a part not labelled binary (stored as
# sent, sent as 0x80 in BODY[] and as NUL in BINARY[]).
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\r\n\x00\xff\xd9"
BINARY_MESSAGES = {
    "bin_media": (
        b"From: <sip:alice@example.com>\r\nSubject: photo\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; boundary=cpm; type="Application/X-CPM-File-Transfer"\r\n\r\n'
        b"--cpm\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"caf=C3=A9 soft=\r\nbreak\r\n"
        b"--cpm\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").encodebytes(_JPEG).replace(b"\n", b"\r\n")
        + b"--cpm\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nplain \xc3\xa9\r\n"
        b"--cpm\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"aGVsbG8=\r\n"
        b"--cpm--\r\n"),
    "bin_unknown": (
        b"Subject: odd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfine\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
        b"--b--\r\n"),
    "bin_raw": (
        b"Subject: raw\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"a\x00b\nc\r\n--b--\r\n"),
    "bin_jpeg": (
        b"Subject: jpeg\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <p1>\r\n\r\n"
        + _JPEG + b"\r\n--b--\r\n"),
    "bin_nul": (
        b"Subject: nul\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\n"
        b"ab\x00cd\xff\r\n"),
    "cat_sep": b"\r\n--cpm\r\n",
    "cat_end": b"\r\n--cpm--\r\n",
    "cat_text": b"Subject: built\r\n\r\n",
}
MESSAGES.update(BINARY_MESSAGES)

BINARY = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" {lit:bin_media}
    a: APPEND "{box}" {lit:bin_unknown}
    a: APPEND "{box}" ~{lit:bin_raw}
    a: SELECT "{box}"
    a: FETCH 1 (BINARY.PEEK[1] BINARY.PEEK[2])
    a: FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3] BINARY.SIZE[4] BINARY.SIZE[9])
    a: FETCH 1 BINARY.PEEK[2]<4.10>
    a: FETCH 1 BINARY.PEEK[1]<100.10>
    a: FETCH 1 (BINARY.PEEK[3] BINARY.PEEK[4] BINARY.PEEK[4.1] BINARY.PEEK[9])
    a: FETCH 1 BINARY.PEEK[]
    a: FETCH 1 BINARY.SIZE[]
    a: FETCH 2 BINARY.PEEK[1]
    a: FETCH 2 BINARY.PEEK[2]
    a: FETCH 3 (BINARY.PEEK[1] BINARY.SIZE[1])
    a: FETCH 1 BINARY[1]
    a: FETCH 1:3 FLAGS
    a: FETCH 1 BINARY.PEEK[1.MIME]
    a: APPEND "{box}" ~{lit:bin_jpeg}
    a: APPEND "{box}" ~{lit:bin_nul}
    a: NOOP
    a: FETCH 3:5 (RFC822.SIZE BODY.PEEK[])
    a: FETCH 3:5 (BINARY.PEEK[] BINARY.SIZE[])
    a: FETCH 4 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODYSTRUCTURE)
    a: LOGOUT
"""
SCENARIOS["binary"] = BINARY

# CATENATE (RFC 4469): a new message from stored parts and text, URLs relative
# to the server and to the selected mailbox, PARTIAL, BADURL, MULTIAPPEND all
# or none, and the rights check on the URL's mailbox (the other user may
# catenate from the folder only once it is shared with r).
CATENATE = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}/dst"
    a: APPEND "{box}" {lit:bin_media}
    a: APPEND "{box}/dst" CATENATE (URL "/{box}/;UID=1/;SECTION=HEADER" TEXT {lit:cat_sep} URL "/{box}/;UID=1/;SECTION=2.MIME" URL "/{box}/;UID=1/;SECTION=2" TEXT {lit:cat_end})
    a: APPEND "{box}/dst" (\\Seen) CATENATE (TEXT {lit:cat_text} URL "/{box}/;uid=1/;section=1/;partial=2.3" URL "/{box}/;UID=1/;SECTION=9" URL "/{box}/;UID=1/;SECTION=4.TEXT")
    a: APPEND "{box}/dst" CATENATE (TEXT ~{lit:cat_text} URL "/{box}/;UID=1/;SECTION=4.HEADER.FIELDS%20(SUBJECT)")
    a: APPEND "{box}/dst" CATENATE (URL ";UID=1/;SECTION=1")
    a: APPEND "{box}/dst" CATENATE (URL "/{box}/;UID=9")
    a: APPEND "{box}/dst" CATENATE (URL "/{box}/nosuch/;UID=1")
    a: APPEND "{box}/dst" CATENATE (URL "/{box}/;UID=1/;SECTION=1/;PARTIAL=0.0")
    a: APPEND "{box}/dst" CATENATE (URL "/{box}/;UID=1;URLAUTH=anonymous")
    a: APPEND "{box}/dst" CATENATE ()
    a: APPEND "{box}/dst" {lit:cat_text} CATENATE (URL "/{box}/;UID=1/;SECTION=3") CATENATE (URL "/{box}/;UID=7")
    a: STATUS "{box}/dst" (MESSAGES UIDNEXT)
    a: APPEND "{box}/nosuch" CATENATE (URL "/{box}/;UID=7")
    a: SELECT "{box}"
    a: APPEND "{box}/dst" CATENATE (URL ";UID=1/;SECTION=3" TEXT {lit:cat_sep})
    a: FETCH 1 FLAGS
    a: SELECT "{box}/dst"
    a: FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[])
    a: FETCH 1 BINARY.PEEK[1]
    # Last, since cpmstore stores what Dovecot refuses: an absolute URL of this server and user.
    a: APPEND "{box}/dst" CATENATE (URL "imap://{user}@127.0.0.1/{box}/;UID=1/;SECTION=1")
    b: LOGIN {user2} pass
    b: CREATE "{box}"
    b: APPEND "{box}" CATENATE (URL "/shared/{user}/{box}/;UID=1/;SECTION=1")
    a: SETACL "{box}" {user2} lr
    c: LOGIN {user2} pass
    c: APPEND "{box}" CATENATE (URL "/shared/{user}/{box}/;UID=1/;SECTION=1")
    c: STATUS "{box}" (MESSAGES)
    a: SETACL "{box}" {user2} l
    d: LOGIN {user2} pass
    d: APPEND "{box}" CATENATE (URL "/shared/{user}/{box}/;UID=1/;SECTION=1")
    a: LOGOUT
    b: LOGOUT
    c: LOGOUT
    d: LOGOUT
"""
SCENARIOS["catenate"] = CATENATE

# URLAUTH (RFC 4467), URLAUTH=BINARY (RFC 5524), URL-PARTIAL (RFC 5550): {user}
# signs references to parts of a CPM file transfer, {user2} fetches them.
# Tokens are each server's own HMAC: the harness reads them from the last
# GENURLAUTH answer ({url:N}) and compares them only by place. URLs carry no
# port: Dovecot takes 143 (imap_urlauth_port), cpmstore its own listener.
_RUMP = "imap://{user}@127.0.0.1/{box}/;UID="
URLAUTH = LOGIN + f"""
    a: CREATE "{{box}}"
    a: APPEND "{{box}}" {{lit:bin_media}}
    a: APPEND "{{box}}" {{lit:small}}
    a: GENURLAUTH "{_RUMP}1;URLAUTH=anonymous" INTERNAL "{_RUMP}1/;SECTION=2;URLAUTH=authuser" INTERNAL "{_RUMP}1/;SECTION=1.MIME;URLAUTH=user+{{user2}}" INTERNAL "{_RUMP}1/;SECTION=2/;PARTIAL=0.100;URLAUTH=anonymous" INTERNAL "{_RUMP}2;URLAUTH=anonymous" INTERNAL "{_RUMP}1;URLAUTH=user+{{user}}" INTERNAL "{_RUMP}2;URLAUTH=submit+{{user2}}" INTERNAL
    a: URLFETCH {{url:1}} {{url:2}} {{url:3}} {{url:4}} {{url:5}} {{url:6}}
    a: URLFETCH ({{url:2}} BODYPARTSTRUCTURE BINARY) ({{url:2}} BODYPARTSTRUCTURE) ({{url:4}} BINARY) ({{url:5}}) ({{url:5}} BODYPARTSTRUCTURE BODY)
    b: LOGIN {{user2}} pass
    b: URLFETCH {{url:1}} {{url:2}} {{url:3}} {{url:4}} {{url:5}}
    b: URLFETCH ({{url:2}} BODYPARTSTRUCTURE BINARY) ({{url:4}} BINARY)
    b: URLFETCH {{url:7}}
    b: URLFETCH {{url:6}}
    a: URLFETCH "{_RUMP}1;URLAUTH=anonymous:internal:000000000000000000000000000000000000000000"
    b: URLFETCH "/{{box}}/;UID=1"
    b: URLFETCH "{_RUMP}1"
    b: URLFETCH ({{url:1}} BODY BINARY)
    a: SELECT "{{box}}"
    a: FETCH 1:2 FLAGS
    a: STORE 2 +FLAGS (\\Deleted)
    a: EXPUNGE
    b: URLFETCH {{url:5}}
    a: UNSELECT
    a: RENAME "{{box}}" "{{box}}-away"
    b: URLFETCH {{url:1}}
    a: RENAME "{{box}}-away" "{{box}}"
    b: URLFETCH {{url:1}}
    a: SETACL "{{box}}" {{user}} lwi
    b: URLFETCH {{url:1}}
    a: SETACL "{{box}}" {{user}} lrswipkxtea
    a: RESETKEY "{{box}}"
    b: URLFETCH {{url:1}} {{url:2}}
    a: GENURLAUTH "{_RUMP}1/;SECTION=1;URLAUTH=anonymous" INTERNAL
    b: URLFETCH {{url:1}}
    a: RESETKEY
    b: URLFETCH {{url:1}}
    a: GENURLAUTH "imap://{{user2}}@127.0.0.1/{{box}}/;UID=1;URLAUTH=anonymous" INTERNAL
    a: GENURLAUTH "{_RUMP}1" INTERNAL
    a: GENURLAUTH "{_RUMP}1;URLAUTH=anonymous" XSAMPLE
    a: GENURLAUTH "{_RUMP}9;URLAUTH=anonymous" INTERNAL
    a: GENURLAUTH "imap://{{user}}@127.0.0.1/{{box}}/nosuch/;UID=1;URLAUTH=anonymous" INTERNAL
    a: GENURLAUTH "{_RUMP}1;EXPIRE=2001-01-01T00:00:00Z;URLAUTH=anonymous" INTERNAL
    a: GENURLAUTH "/{{box}}/;UID=1;URLAUTH=anonymous" INTERNAL
    a: RESETKEY "{{box}}/nosuch"
    a: RESETKEY "{{box}}" XSAMPLE
    a: LOGOUT
    b: LOGOUT
"""
SCENARIOS["urlauth"] = URLAUTH

# -- I18NLEVEL=1 (RFC 5255 §4.1): SEARCH with i;unicode-casemap (RFC 5051) ----------
# Headers are RFC 2047 encoded (8-bit header fields are refused before ENABLE
# UTF8=ACCEPT, RFC 6855 §4, and Dovecot has no UTF8=ACCEPT); bodies are 8-bit.
_I18N_BODY = "Привет, ΣΊΣΥΦΟΣ! ＦＵＬＬ width, Straße, ﬁne, Ǆemal, \u212a.\r\n"
I18N_MESSAGES = {
    "i1": _sort_message("From: =?utf-8?q?Andr=C3=A9?= <andre@example.com>",
                        "Subject: =?utf-8?q?=C3=89t=C3=A9_=C3=A0_Paris?=", "Date: Mon, 1 Jan 2024 10:00:00 +0000",
                        "Message-ID: <i1@example.com>", "MIME-Version: 1.0",
                        "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
                        body=_I18N_BODY),
    "i2": _sort_message("From: zoe@example.com", "Subject: =?utf-8?b?w4lUw4k=?=",
                        "Date: Tue, 2 Jan 2024 10:00:00 +0000", "Message-ID: <i2@example.com>",
                        "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                        body="e\u0301te\u0301 decomposed, привет\r\n"),
    "i3": _sort_message("From: bob@example.com", "Subject: ete", "Date: Wed, 3 Jan 2024 10:00:00 +0000",
                        "Message-ID: <i3@example.com>", body="plain ASCII, fine\r\n"),
    "i4": _sort_message("From: =?iso-8859-1?q?Ren=E9?= <rene@example.com>", "Subject: Re: =?utf-8?q?=C3=A9t=C3=A9?=",
                        "Date: Thu, 4 Jan 2024 10:00:00 +0000", "Message-ID: <i4@example.com>",
                        "In-Reply-To: <i2@example.com>", "MIME-Version: 1.0",
                        "Content-Type: text/plain; charset=iso-8859-1",
                        "Content-Transfer-Encoding: quoted-printable", body="=C9T=C9 en latin-1\r\n"),
}
# Search strings, sent as literals: each is compared with Dovecot's answer.
I18N_QUERIES = {
    "q_ete_upper": "ÉTÉ", "q_ete_a": "été À", "q_ete_ascii": "ete", "q_andre": "ANDRÉ", "q_rene": "rené",
    "q_privet": "привет", "q_sisyphus": "σίσυφος", "q_full": "full", "q_full_wide": "ｆｕｌｌ",
    "q_strasse": "STRASSE", "q_strasse_sz": "STRAßE", "q_fine": "FINE", "q_fine_lig": "ﬁne",
    "q_dzemal": "ǆEMAL", "q_kelvin": "\u212a.", "q_decomposed": "E\u0301TE\u0301",
}
MESSAGES.update(I18N_MESSAGES)
MESSAGES.update({name: text.encode() for name, text in I18N_QUERIES.items()})

I18N_SEARCH = LOGIN + """
    a: CREATE "{box}"
    a: APPEND "{box}" {lit:i1}
    a: APPEND "{box}" {lit:i2}
    a: APPEND "{box}" {lit:i3}
    a: APPEND "{box}" {lit:i4}
    a: SELECT "{box}"
    a: SEARCH CHARSET UTF-8 SUBJECT {lit:q_ete_upper}
    a: SEARCH CHARSET UTF-8 SUBJECT {lit:q_ete_a}
    a: SEARCH CHARSET UTF-8 SUBJECT {lit:q_ete_ascii}
    a: SEARCH CHARSET UTF-8 SUBJECT {lit:q_decomposed}
    a: SEARCH CHARSET UTF-8 FROM {lit:q_andre}
    a: SEARCH CHARSET UTF-8 FROM {lit:q_rene}
    a: SEARCH CHARSET UTF-8 HEADER Subject {lit:q_ete_upper}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_privet}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_sisyphus}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_full}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_full_wide}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_strasse}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_strasse_sz}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_fine}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_fine_lig}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_dzemal}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_kelvin}
    a: SEARCH CHARSET UTF-8 BODY {lit:q_ete_upper}
    a: SEARCH CHARSET UTF-8 TEXT {lit:q_ete_a}
    a: SEARCH CHARSET UTF-8 OR SUBJECT {lit:q_ete_upper} BODY {lit:q_privet}
    a: SEARCH CHARSET UTF-8 NOT BODY {lit:q_privet}
    a: SORT (SUBJECT) UTF-8 ALL
    a: SORT (FROM) UTF-8 SUBJECT {lit:q_ete_upper}
    a: SORT (DISPLAYFROM) UTF-8 ALL
    a: THREAD ORDEREDSUBJECT UTF-8 ALL
    a: THREAD REFERENCES UTF-8 BODY {lit:q_privet}
    a: LOGOUT
"""
SCENARIOS["i18n_search"] = I18N_SEARCH

# SAVEDATE (RFC 8514): save dates of APPEND, COPY and MOVE (every one a moment
# of this run, which the harness compares as such; INTERNALDATEs stay the
# given ones) and the SAVED* search keys, with dates a day around the run so
# that the servers' zones do not matter.
_TODAY = __import__("datetime").date.today()
_DAY = __import__("datetime").timedelta(days=1)
_YESTERDAY, _TOMORROW = (f"{d.day}-{d.strftime('%b')}-{d.year}" for d in (_TODAY - _DAY, _TODAY + _DAY))
SAVEDATE = LOGIN + f"""
    a: CREATE "{{box}}"
    a: CREATE "{{box}}/dest"
    a: APPEND "{{box}}" (\\Seen) "17-Jul-1996 02:44:25 -0700" {{lit:plain}} () "18-Jul-1996 10:00:00 +0000" {{lit:mixed}} () "19-Jul-1996 02:44:25 -0700" {{lit:small}}
    a: SELECT "{{box}}"
    a: FETCH 1:* (UID INTERNALDATE SAVEDATE)
    a: FETCH 2 SAVEDATE
    a: SEARCH SAVEDATESUPPORTED
    a: SEARCH SAVEDBEFORE 1-Jan-2000
    a: SEARCH SAVEDSINCE 1-Jan-2000
    a: SEARCH SAVEDON 17-Jul-1996
    a: SEARCH SAVEDSINCE {_YESTERDAY}
    a: SEARCH SAVEDBEFORE {_TOMORROW}
    a: SEARCH SAVEDSINCE {_TOMORROW}
    a: SEARCH OR SAVEDBEFORE 1-Jan-2000 SEEN
    a: SEARCH NOT SAVEDATESUPPORTED
    a: UID SEARCH SAVEDATESUPPORTED SAVEDSINCE {_YESTERDAY} UNSEEN
    a: SEARCH SAVEDBEFORE notadate
    a: SEARCH SAVEDON
    a: COPY 1:2 "{{box}}/dest"
    a: MOVE 3 "{{box}}/dest"
    a: FETCH 1:* (UID SAVEDATE)
    a: SELECT "{{box}}/dest"
    a: FETCH 1:* (UID FLAGS INTERNALDATE SAVEDATE)
    a: SEARCH SAVEDSINCE {_YESTERDAY}
    a: LOGOUT
"""
SCENARIOS["savedate"] = SAVEDATE

# PREVIEW (RFC 8970): e-mail previews must agree with Dovecot's; a CPM object
# is previewed CPM-aware (its chat text, its file, its IMDN status), where
# Dovecot, knowing no CPM, says "": those steps are kept apart and allowlisted.
# Dovecot answers PREVIEW (LAZY) with NIL until a preview was made, so LAZY
# is asked only after a plain PREVIEW.
PREVIEW_MESSAGES = {
    "pv_html": (b"Subject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                b"<html><head><title>Title</title><style>p {color: red}</style><script>var x = 1;</script></head>"
                b"<body><p>Hi &amp; bye &eacute; &#233;</p><!-- hidden --><p>second</p></body></html>\r\n"),
    "pv_alternative": (b"Subject: alt\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
                       b"--b\r\nContent-Type: text/html\r\n\r\n<b>html part</b>\r\n"
                       b"--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b--\r\n"),
    "pv_qp": (b"Subject: qp\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me =\r\nsoft\r\n"),
    "pv_base64": (b"Subject: b64\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gYmFzZTY0IOKCrA==\r\n"),
    "pv_long": b"Subject: long\r\n\r\n" + b"word " * 100 + b"\r\n",
    "pv_long_utf8": b"Subject: long\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    + "\u00e9".encode() * 300 + b"\r\n",
    "pv_reply": b"Subject: re\r\n\r\n> quoted line\r\n>> older\r\nreply text\r\n",
    "pv_image": b"Subject: image\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n",
}
MESSAGES.update(PREVIEW_MESSAGES)

PREVIEW = LOGIN + """
    a: CREATE "{box}"
    a: CREATE "{box}/dest"
    a: APPEND "{box}" {lit:plain} {lit:mixed} {lit:forward} {lit:small} {lit:utf8} {lit:pv_html} {lit:pv_alternative} {lit:pv_qp} {lit:pv_base64} {lit:pv_long} {lit:pv_long_utf8} {lit:pv_reply} {lit:pv_image}
    a: APPEND "{box}" {lit:chat}
    a: APPEND "{box}" {lit:history}
    a: SELECT "{box}"
    a: FETCH 1:13 (PREVIEW)
    a: FETCH 1:13 (PREVIEW (LAZY))
    a: UID FETCH 6:8 (FLAGS PREVIEW)
    a: FETCH 1 PREVIEW (LAZY)
    a: FETCH 2 PREVIEW
    a: FETCH 14 (PREVIEW)
    a: FETCH 15 (PREVIEW)
    a: FETCH 1 (PREVIEW (FOO))
    a: FETCH 1 (PREVIEW ())
    a: FETCH 1 (PREVIEW) (CHANGEDSINCE 1)
    a: FETCH 1 PREVIEW (CHANGEDSINCE 1)
    a: COPY 6:8 "{box}/dest"
    a: SELECT "{box}/dest"
    a: FETCH 1:* (PREVIEW)
    a: LOGOUT
"""
SCENARIOS["preview"] = PREVIEW
