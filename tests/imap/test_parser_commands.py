"""parse_command against the client lines of RFC 3501 §6 and §8 and the extension RFCs."""

from datetime import date, datetime, timedelta, timezone

import pytest

from cpmstore.errors import BadCommand
from cpmstore.imap.commands import (
    Append, AppendMessage, Authenticate, Capability, Check, Close, Copy, Create, Delete,
    Enable, Expunge, Fetch, Id, Idle, List, Login, Logout, Namespace, Noop, Rename, Search,
    Select, StartTLS, Status, Store, Subscribe, Unselect,
)
from cpmstore.imap.fetchatt import FetchAtt, Section
from cpmstore.imap.parser import ParseError, parse_command, parse_tag
from cpmstore.imap.searchkeys import SearchKey
from cpmstore.imap.seqset import STAR, SequenceSet

FULL = (FetchAtt("FLAGS"), FetchAtt("INTERNALDATE"), FetchAtt("RFC822.SIZE"),
        FetchAtt("ENVELOPE"), FetchAtt("BODY"))


def seq(*items):
    return SequenceSet(tuple(items))


def test_rfc3501_8_sample_session():
    assert parse_command(b"a001 login mrc secret") == Login(b"a001", "LOGIN", b"mrc", b"secret")
    assert parse_command(b"a002 select inbox") == Select(b"a002", "SELECT", "INBOX")
    assert parse_command(b"a003 fetch 12 full") == Fetch(b"a003", "FETCH", sequence_set=seq((12, 12)),
                                                          items=FULL)
    assert parse_command(b"a004 fetch 12 body[header]") == Fetch(
        b"a004", "FETCH", sequence_set=seq((12, 12)), items=(FetchAtt("BODY", Section((), "HEADER")),))
    assert parse_command(b"a005 store 12 +flags \\deleted") == Store(
        b"a005", "STORE", sequence_set=seq((12, 12)), mode="+", flags=("\\Deleted",))
    assert parse_command(b"a006 logout") == Logout(b"a006", "LOGOUT")


@pytest.mark.parametrize("line, expected", [
    (b"abcd CAPABILITY", Capability(b"abcd", "CAPABILITY")),          # §6.1.1
    (b"a002 NOOP", Noop(b"a002", "NOOP")),                           # §6.1.2
    (b"A023 LOGOUT", Logout(b"A023", "LOGOUT")),                     # §6.1.3
    (b"a001 STARTTLS", StartTLS(b"a001", "STARTTLS")),               # §6.2.1
    (b"A001 AUTHENTICATE GSSAPI", Authenticate(b"A001", "AUTHENTICATE", "GSSAPI")),  # §6.2.2
    (b"a001 LOGIN SMITH SESAME", Login(b"a001", "LOGIN", b"SMITH", b"SESAME")),      # §6.2.3
    (b"A142 SELECT INBOX", Select(b"A142", "SELECT", "INBOX")),      # §6.3.1
    (b"A932 EXAMINE blurdybloop", Select(b"A932", "EXAMINE", "blurdybloop", readonly=True)),
    (b"A003 CREATE owatagusiam/", Create(b"A003", "CREATE", "owatagusiam/")),          # §6.3.3
    (b"A683 DELETE blurdybloop", Delete(b"A683", "DELETE", "blurdybloop")),             # §6.3.4
    (b"A683 RENAME blurdybloop sarasoop", Rename(b"A683", "RENAME", "blurdybloop", "sarasoop")),
    (b"A002 SUBSCRIBE #news.comp.mail.mime", Subscribe(b"A002", "SUBSCRIBE", "#news.comp.mail.mime")),
    (b"A002 UNSUBSCRIBE #news.comp.mail.mime",
     Subscribe(b"A002", "UNSUBSCRIBE", "#news.comp.mail.mime", subscribe=False)),
    (b'A101 LIST "" ""', List(b"A101", "LIST", "", "")),              # §6.3.8
    (b'A102 LIST #news.comp.mail.misc ""', List(b"A102", "LIST", "#news.comp.mail.misc", "")),
    (b"A202 LIST ~/Mail/ %", List(b"A202", "LIST", "~/Mail/", "%")),
    (b'A002 LSUB "#news." "comp.mail.*"', List(b"A002", "LSUB", "#news.", "comp.mail.*", lsub=True)),
    (b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)",                  # §6.3.10
     Status(b"A042", "STATUS", "blurdybloop", ("UIDNEXT", "MESSAGES"))),
    (b"FXXZ CHECK", Check(b"FXXZ", "CHECK")),                        # §6.4.1
    (b"A341 CLOSE", Close(b"A341", "CLOSE")),                        # §6.4.2
    (b"A202 EXPUNGE", Expunge(b"A202", "EXPUNGE")),                  # §6.4.3
    (b"A003 COPY 2:4 MEETING", Copy(b"A003", "COPY", sequence_set=seq((2, 4)), mailbox="MEETING")),
    (b"A999 UID FETCH 4827313:4828442 FLAGS",                        # §6.4.8
     Fetch(b"A999", "FETCH", uid=True, sequence_set=seq((4827313, 4828442)), items=(FetchAtt("FLAGS"),))),
    (b"A343 UNSELECT", Unselect(b"A343", "UNSELECT")),               # RFC 3691
    (b"A003 UID EXPUNGE 3000:3002",                                  # RFC 4315 §2.1
     Expunge(b"A003", "EXPUNGE", uid=True, uid_set=seq((3000, 3002)))),
    (b"a UID MOVE 42:69 foo",                                        # RFC 6851 §4.2
     Copy(b"a", "MOVE", uid=True, sequence_set=seq((42, 69)), mailbox="foo", move=True)),
    (b"t2 ENABLE CONDSTORE X-GOOD-IDEA", Enable(b"t2", "ENABLE", ("CONDSTORE", "X-GOOD-IDEA"))),
    (b"A002 IDLE", Idle(b"A002", "IDLE")),                           # RFC 2177
    (b"A001 NAMESPACE", Namespace(b"A001", "NAMESPACE")),            # RFC 2342
    (b"a01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",                 # RFC 4959 §3
     Authenticate(b"a01", "AUTHENTICATE", "PLAIN", b"dGVzdAB0ZXN0AHRlc3Q=")),
    (b"a01 AUTHENTICATE plain =", Authenticate(b"a01", "AUTHENTICATE", "PLAIN", b"=")),
    (b"a023 ID NIL", Id(b"a023", "ID", None)),                       # RFC 2971 §3.1
])
def test_rfc3501_6_command_table(line, expected):
    assert parse_command(line) == expected


def test_rfc2971_3_1_id_params():
    line = b'a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited" "os" NIL)'
    assert parse_command(line) == Id(b"a023", "ID", (
        (b"name", b"sodr"), (b"version", b"19.34"), (b"vendor", b"Pink Floyd Music Limited"),
        (b"os", None)))


def test_rfc3501_6_3_11_append_with_flags_and_literal():
    message = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nSubject: afternoon meeting\r\n\r\nHello\r\n"
    line = b"A003 APPEND saved-messages (\\Seen) {%d}\r\n" % len(message) + message
    assert parse_command(line) == Append(b"A003", "APPEND", "saved-messages",
                                         (AppendMessage(message, ("\\Seen",)),))


def test_rfc3502_multiappend_with_date_time():
    line = (b'A003 APPEND saved-messages (\\Seen) {3}\r\nabc '
            b'(\\Seen) "1-Jul-2002 22:35:17 +0100" {4+}\r\ndefg {0}\r\n')
    when = datetime(2002, 7, 1, 22, 35, 17, tzinfo=timezone(timedelta(hours=1)))
    assert parse_command(line).messages == (
        AppendMessage(b"abc", ("\\Seen",)), AppendMessage(b"defg", ("\\Seen",), when),
        AppendMessage(b""))


def test_rfc7888_login_with_nonsynchronizing_literals():
    assert parse_command(b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man") == Login(
        b"A001", "LOGIN", b"FRED FOOBAR", b"fat man")


def test_rfc3501_6_4_4_search_examples():
    assert parse_command(b'A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"') == Search(
        b"A282", "SEARCH", criteria=SearchKey("AND", (
            SearchKey("FLAG", ("\\Flagged",)), SearchKey("SINCE", (date(1994, 2, 1),)),
            SearchKey("NOT", (SearchKey("HEADER", (b"FROM", b"Smith")),)))))
    assert parse_command(b'A283 SEARCH TEXT "string not in mailbox"').criteria == SearchKey(
        "TEXT", (b"string not in mailbox",))
    utf8 = "Привет".encode("utf-8")
    cmd = parse_command(b"A284 SEARCH CHARSET utf-8 TEXT {%d}\r\n" % len(utf8) + utf8)
    assert (cmd.charset, cmd.criteria) == ("UTF-8", SearchKey("TEXT", (utf8,)))


def test_rfc3501_6_4_5_fetch_header_fields():
    cmd = parse_command(b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])")
    assert cmd.items == (FetchAtt("FLAGS"),
                         FetchAtt("BODY", Section((), "HEADER.FIELDS", (b"DATE", b"FROM"))))


def test_rfc3501_6_4_6_store_forms():
    cmd = parse_command(b"A003 STORE 2:4 +FLAGS (\\Deleted)")
    assert (cmd.mode, cmd.silent, cmd.flags) == ("+", False, ("\\Deleted",))
    cmd = parse_command(b"A003 uid store 1:* -flags.silent \\SEEN $Label1 \\Read-Report-Sent")
    assert (cmd.uid, cmd.mode, cmd.silent, cmd.flags, cmd.sequence_set) == (
        True, "-", True, ("\\Seen", "$Label1", "\\read-report-sent"), seq((1, STAR)))
    assert parse_command(b"A003 STORE 1 FLAGS ()").flags == ()


def test_rfc7162_modifiers_kept_raw():
    cmd = parse_command(b"a103 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)")
    assert cmd.modifiers == (("CHANGEDSINCE", b"12345"), ("VANISHED", None))
    cmd = parse_command(b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)")
    assert cmd.modifiers == (("UNCHANGEDSINCE", b"320162338"),)
    cmd = parse_command(b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211 (1:3 5:7)))")
    assert cmd.params == (("QRESYNC", (b"67890007", b"20050715194045000", b"41,43:211",
                                       (b"1:3", b"5:7"))),)
    assert parse_command(b"A142 EXAMINE INBOX (CONDSTORE)").params == (("CONDSTORE", None),)


@pytest.mark.parametrize("line, mailbox", [
    (b"a SELECT inbox", "INBOX"),
    (b'a SELECT "InBoX"', "INBOX"),
    (b"a SELECT inbox/child", "INBOX/child"),
    (b"a SELECT inboxes", "inboxes"),
    (b"a SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"),  # RFC 3501 §5.1.3
    (b"a SELECT {14}\r\nDefault/tel:+1", "Default/tel:+1"),
])
def test_rfc3501_5_1_mailbox_names(line, mailbox):
    assert parse_command(line).mailbox == mailbox


@pytest.mark.parametrize("line, message", [
    (b"a FOO", "Unknown command FOO"),
    (b"a UID NOOP", "Unknown command UID NOOP"),
    (b"a LOGIN user", "Missing argument"),
    (b"a", "Missing command"),
    (b"a NOOP extra", "Unexpected extra arguments"),
    (b"a FETCH 0 FLAGS", "Invalid sequence set"),
    (b"a FETCH 1 FLAGS ", "Missing argument"),
    (b"a FETCH 1 BODY.PEEK", "Unknown fetch attribute BODY.PEEK"),
    (b"a STORE 1 +FLAGS (\\Recent)", "\\Recent may not be set by a client"),
    (b"a APPEND x (\\Recent) {1}\r\nx", "\\Recent may not be set by a client"),
    (b"a APPEND x \"x\"", "Invalid date-time"),
    (b"a APPEND x \"31-Feb-2000 00:00:00 +0000\" {1}\r\nx", "Invalid date-time"),
    (b"a APPEND x \"hello\"", "Invalid date-time"),
    (b"a APPEND x (\\Seen)", "Missing argument"),
    (b"a APPEND x abc", "Expected message literal"),
    (b"a SELECT &Jjo", "Invalid mailbox name"),
    (b"a LOGIN {5}\r\nab", "Literal truncated"),
    (b"a AUTHENTICATE PLAIN abc", "Invalid initial response"),
    (b"a SEARCH", "Missing argument"),
    (b"a SEARCH FOO", "Unknown search key FOO"),
    (b"a EXAMINE x ()", "Empty list"),
])
def test_rfc3501_9_syntax_errors_carry_tag_and_text(line, message):
    with pytest.raises(ParseError) as info:
        parse_command(line)
    assert str(info.value).startswith(message)
    assert info.value.tag == b"a"
    assert isinstance(info.value, BadCommand) and info.value.status == b"BAD"


@pytest.mark.parametrize("raw, tag", [
    (b"a1 NOOP", b"a1"), (b"a1", b"a1"), (b"+ NOOP", None), (b"", None), (b" NOOP", None),
    (b"a(b NOOP", None), (b"a]b NOOP", b"a]b"), (b"\xff NOOP", None),
])
def test_rfc3501_9_tag(raw, tag):
    assert parse_tag(raw) == tag


def test_untaggable_line_raises_without_tag():
    with pytest.raises(ParseError) as info:
        parse_command(b"+ NOOP")
    assert info.value.tag is None
