"""parse_command for the ACL (RFC 4314 §3) and METADATA (RFC 5464 §4) commands."""

import pytest
from hypothesis import given, settings, strategies as st

from cpmstore.errors import BadCommand
from cpmstore.imap.commands import (
    DeleteAcl, GetAcl, GetMetadata, ListRights, MyRights, SetAcl, SetMetadata,
)
from cpmstore.imap.parser import ParseError, parse_command


def bad(line: bytes, message: str) -> None:
    """``line`` is a tagged BAD whose text contains ``message``."""
    with pytest.raises(ParseError) as caught:
        parse_command(line)
    assert isinstance(caught.value, BadCommand)
    assert caught.value.tag == line.split(b" ", 1)[0]
    assert message in caught.value.text


# -- ACL -----------------------------------------------------------------------------
@pytest.mark.parametrize("line, expected", [
    # §3.1
    (b"A001 GETACL INBOX/Drafts", GetAcl(b"A001", "GETACL", "INBOX/Drafts")),
    (b"A002 SETACL INBOX/Drafts Chris +cda", SetAcl(b"A002", "SETACL", "INBOX/Drafts", "Chris", "+cda")),
    # Unknown and upper-case rights are the handler's BAD, not the parser's.
    (b"A035 SETACL INBOX/Drafts John lrQswicda",
     SetAcl(b"A035", "SETACL", "INBOX/Drafts", "John", "lrQswicda")),
    (b"A036 SETACL INBOX/Drafts John lrqswicda",
     SetAcl(b"A036", "SETACL", "INBOX/Drafts", "John", "lrqswicda")),
    # §3.2
    (b"B001 getacl INBOX", GetAcl(b"B001", "GETACL", "INBOX")),
    (b"B002 DeleteAcl INBOX Fred", DeleteAcl(b"B002", "DELETEACL", "INBOX", "Fred")),
    # §3.3
    (b"A002 GETACL INBOX", GetAcl(b"A002", "GETACL", "INBOX")),
    # §3.4
    (b"a001 LISTRIGHTS ~/Mail/saved smith", ListRights(b"a001", "LISTRIGHTS", "~/Mail/saved", "smith")),
    (b"a005 listrights archive/imap anyone", ListRights(b"a005", "LISTRIGHTS", "archive/imap", "anyone")),
    # §3.5, §4, §5.1.1
    (b"A003 MYRIGHTS INBOX", MyRights(b"A003", "MYRIGHTS", "INBOX")),
    (b"A003 MYRIGHTS TargetMailbox", MyRights(b"A003", "MYRIGHTS", "TargetMailbox")),
    (b"A143 MYRIGHTS inbox", MyRights(b"A143", "MYRIGHTS", "INBOX")),
])
def test_rfc4314_3_acl_examples(line, expected):
    assert parse_command(line) == expected


@pytest.mark.parametrize("line, expected", [
    # §2 negative rights: the identifier keeps its "-"; the rights their modifier.
    (b"a SETACL INBOX -Fred wetd", SetAcl(b"a", "SETACL", "INBOX", "-Fred", "wetd")),
    (b"a SETACL INBOX $team -w", SetAcl(b"a", "SETACL", "INBOX", "$team", "-w")),
    # "zero or more rights characters": an empty replacement is valid syntax.
    (b'a SETACL INBOX fred ""', SetAcl(b"a", "SETACL", "INBOX", "fred", "")),
    (b'a SETACL "INBOX/a b" "fred smith" "+lr"', SetAcl(b"a", "SETACL", "INBOX/a b", "fred smith", "+lr")),
    (b"a SETACL INBOX {4+}\r\nfred {2}\r\nlr", SetAcl(b"a", "SETACL", "INBOX", "fred", "lr")),
    ("a SETACL INBOX \"h\u00e9l\u00e8ne\" lr".encode(),
     SetAcl(b"a", "SETACL", "INBOX", "h\u00e9l\u00e8ne", "lr")),
    # Mailbox names are modified UTF-7 (RFC 3501 §5.1.3).
    (b"a GETACL ~peter/mail/&U,BTFw-/&ZeVnLIqe-",
     GetAcl(b"a", "GETACL", "~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e")),
    (b"a DELETEACL inbox/x anyone", DeleteAcl(b"a", "DELETEACL", "INBOX/x", "anyone")),
])
def test_rfc4314_8_acl_argument_forms(line, expected):
    assert parse_command(line) == expected


@pytest.mark.parametrize("line, message", [
    (b"a SETACL", "Missing argument"),
    (b"a SETACL INBOX", "Missing argument"),
    (b"a SETACL INBOX fred", "Missing argument"),
    (b"a SETACL INBOX fred lr extra", "Unexpected extra arguments"),
    (b"a DELETEACL INBOX", "Missing argument"),
    (b"a LISTRIGHTS INBOX", "Missing argument"),
    (b"a LISTRIGHTS INBOX fred lr", "Unexpected extra arguments"),
    (b"a GETACL", "Missing argument"),
    (b"a GETACL INBOX fred", "Unexpected extra arguments"),
    (b"a MYRIGHTS", "Missing argument"),
    (b"a MYRIGHTS INBOX fred", "Unexpected extra arguments"),
    (b"a SETACL INBOX fred (lr)", "Invalid string"),
])
def test_rfc4314_8_acl_syntax_errors(line, message):
    bad(line, message)


@pytest.mark.parametrize("line, message", [
    # §3: an identifier that prepares to the empty string or fails is BAD.
    (b'a SETACL INBOX "" lr', "Empty identifier"),
    (b'a DELETEACL INBOX ""', "Empty identifier"),
    (b'a LISTRIGHTS INBOX ""', "Empty identifier"),
    (b"a SETACL INBOX {1}\r\n\xff lr", "not valid UTF-8"),
    (b"a SETACL INBOX {5}\r\nfr\x00ed lr", "control characters"),
    ("a SETACL INBOX fred \"l\u00e9\"".encode(), "Invalid rights"),
])
def test_rfc4314_3_identifier_and_rights_errors(line, message):
    bad(line, message)


# -- METADATA ------------------------------------------------------------------------
@pytest.mark.parametrize("line, expected", [
    # §4.2
    (b'a GETMETADATA "" /shared/comment', GetMetadata(b"a", "GETMETADATA", "", ("/shared/comment",))),
    (b'a GETMETADATA "INBOX" /private/comment',
     GetMetadata(b"a", "GETMETADATA", "INBOX", ("/private/comment",))),
    (b'a GETMETADATA "INBOX" (/shared/comment /private/comment)',
     GetMetadata(b"a", "GETMETADATA", "INBOX", ("/shared/comment", "/private/comment"))),
])
def test_rfc5464_4_2_getmetadata_examples(line, expected):
    assert parse_command(line) == expected


@pytest.mark.parametrize("line", [
    b'a GETMETADATA (MAXSIZE 1024) "INBOX" (/shared/comment /private/comment)',  # §5 grammar
    b'a GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)',  # as printed in §4.2.1
])
def test_rfc5464_4_2_1_maxsize(line):
    assert parse_command(line) == GetMetadata(
        b"a", "GETMETADATA", "INBOX", ("/shared/comment", "/private/comment"), maxsize=1024)


@pytest.mark.parametrize("line", [
    b'a GETMETADATA (DEPTH 1) "INBOX" (/private/filters/values)',
    b'a GETMETADATA "INBOX" (DEPTH 1) (/private/filters/values)',  # as printed in §4.2.2
])
def test_rfc5464_4_2_2_depth(line):
    assert parse_command(line) == GetMetadata(
        b"a", "GETMETADATA", "INBOX", ("/private/filters/values",), depth="1")


@pytest.mark.parametrize("line, expected", [
    (b"a GETMETADATA (MAXSIZE 0 DEPTH infinity) INBOX /private",
     GetMetadata(b"a", "GETMETADATA", "INBOX", ("/private",), maxsize=0, depth="infinity")),
    (b'a getmetadata (depth "INFINITY" maxsize 4294967295) "" (/Shared /PRIVATE/Vendor/Vendor.Cpm)',
     GetMetadata(b"a", "GETMETADATA", "", ("/shared", "/private/vendor/vendor.cpm"),
                 maxsize=4294967295, depth="infinity")),
    (b"a GETMETADATA (DEPTH 0) INBOX/Sent /shared/comment",
     GetMetadata(b"a", "GETMETADATA", "INBOX/Sent", ("/shared/comment",))),
    # Entry names are case-insensitive (§3.2): one entry asked twice is asked once.
    (b"a GETMETADATA INBOX (/shared/comment /SHARED/COMMENT /private/comment)",
     GetMetadata(b"a", "GETMETADATA", "INBOX", ("/shared/comment", "/private/comment"))),
    (b'a GETMETADATA INBOX ("/shared/comment" {15}\r\n/private/Commen)',
     GetMetadata(b"a", "GETMETADATA", "INBOX", ("/shared/comment", "/private/commen"))),
    (b"a GETMETADATA &ZeVnLIqe- /shared/x",
     GetMetadata(b"a", "GETMETADATA", "\u65e5\u672c\u8a9e", ("/shared/x",))),
])
def test_rfc5464_5_getmetadata_options_and_entries(line, expected):
    assert parse_command(line) == expected


COMMENT = b"My new comment across\r\ntwo lines.\r\n"


@pytest.mark.parametrize("line, expected", [
    # §4.3
    (b"a SETMETADATA INBOX (/private/comment {%d}\r\n%b)" % (len(COMMENT), COMMENT),
     SetMetadata(b"a", "SETMETADATA", "INBOX", (("/private/comment", COMMENT),))),
    (b"a SETMETADATA INBOX (/private/comment NIL)",
     SetMetadata(b"a", "SETMETADATA", "INBOX", (("/private/comment", None),))),
    (b'a SETMETADATA INBOX (/private/comment "My new comment" /shared/comment "This one is for you!")',
     SetMetadata(b"a", "SETMETADATA", "INBOX", (("/private/comment", b"My new comment"),
                                                 ("/shared/comment", b"This one is for you!")))),
    (b'a SETMETADATA INBOX (/private/comment "My new comment")',
     SetMetadata(b"a", "SETMETADATA", "INBOX", (("/private/comment", b"My new comment"),))),
])
def test_rfc5464_4_3_setmetadata_examples(line, expected):
    assert parse_command(line) == expected


@pytest.mark.parametrize("line, entries", [
    # literal8 (RFC 4466 §4): any octet, NUL included; "+" as with LITERAL+.
    (b"a SETMETADATA INBOX (/private/vendor/vendor.cpm/blob ~{3}\r\na\x00b)",
     (("/private/vendor/vendor.cpm/blob", b"a\x00b"),)),
    (b"a SETMETADATA INBOX (/shared/x ~{0+}\r\n /shared/y nil)", (("/shared/x", b""), ("/shared/y", None))),
    (b"a SETMETADATA INBOX (/shared/x {3+}\r\nabc)", (("/shared/x", b"abc"),)),
    # A quoted "NIL" is a three-letter value, not a removal.
    (b'a SETMETADATA INBOX (/Shared/Comment "NIL")', (("/shared/comment", b"NIL"),)),
    (b'a SETMETADATA INBOX (/shared/comment "")', (("/shared/comment", b""),)),
    (b'a SETMETADATA INBOX (/shared/a "1" /shared/a NIL)', (("/shared/a", b"1"), ("/shared/a", None))),
])
def test_rfc5464_5_setmetadata_values(line, entries):
    assert parse_command(line) == SetMetadata(b"a", "SETMETADATA", "INBOX", entries)


def test_rfc5464_4_3_setmetadata_server_entry():
    assert parse_command(b'a SETMETADATA "" (/shared/comment "Shared comment")') == SetMetadata(
        b"a", "SETMETADATA", "", (("/shared/comment", b"Shared comment"),))


@pytest.mark.parametrize("line, message", [
    (b"a GETMETADATA", "Missing argument"),
    (b"a GETMETADATA INBOX", "Missing argument"),
    (b"a GETMETADATA (DEPTH 1) INBOX", "Missing argument"),
    (b"a GETMETADATA INBOX (DEPTH 1)", "Missing argument"),
    (b"a GETMETADATA INBOX ()", "Empty list"),
    (b"a GETMETADATA INBOX /shared/a /shared/b", "Unexpected extra arguments"),
    (b"a GETMETADATA (DEPTH 2) INBOX /shared/x", "Invalid DEPTH"),
    (b"a GETMETADATA (DEPTH -1) INBOX /shared/x", "Invalid DEPTH"),
    (b"a GETMETADATA (DEPTH) INBOX /shared/x", "Expected space"),
    (b"a GETMETADATA (DEPTH 1 DEPTH 0) INBOX /shared/x", "Duplicate GETMETADATA option DEPTH"),
    (b"a GETMETADATA (MAXSIZE 1 maxsize 2) INBOX /shared/x", "Duplicate GETMETADATA option MAXSIZE"),
    (b"a GETMETADATA INBOX (MAXSIZE 1 MAXSIZE 2) /shared/x", "Duplicate GETMETADATA option MAXSIZE"),
    (b"a GETMETADATA (MAXSIZE -1) INBOX /shared/x", "Invalid number"),
    (b"a GETMETADATA (MAXSIZE 4294967296) INBOX /shared/x", "Number too large"),
    (b"a GETMETADATA (SIZE 1) INBOX /shared/x", "Unknown GETMETADATA option SIZE"),
    (b"a GETMETADATA () INBOX /shared/x", "Empty list"),
    # Options come once: a second list where entries belong is read as entries.
    (b"a GETMETADATA (DEPTH 1) INBOX (MAXSIZE 5) /shared/x",
     "Entry name must begin with /private or /shared"),
    (b"a SETMETADATA", "Missing argument"),
    (b"a SETMETADATA INBOX", "Missing argument"),
    (b"a SETMETADATA INBOX ()", "Empty list"),
    (b"a SETMETADATA INBOX (/private/comment)", "Expected space"),
    (b'a SETMETADATA INBOX /private/comment "x"', "Expected ("),
    (b'a SETMETADATA INBOX (/private/comment "x" /shared/comment)', "Expected space"),
    (b'a SETMETADATA INBOX (/private/comment "x") extra', "Unexpected extra arguments"),
    (b"a SETMETADATA INBOX (/private/comment ~{5}\r\nab)", "Literal truncated"),
    (b"a SETMETADATA INBOX (/private/comment ~3)", "Expected string"),
    (b"a SETMETADATA INBOX (/private/comment value)", "Expected string"),
])
def test_rfc5464_5_syntax_errors(line, message):
    bad(line, message)


@pytest.mark.parametrize("entry, message", [
    (b"/comment", "Entry name must begin with /private or /shared"),
    (b"comment", "Entry name must begin with /private or /shared"),
    (b"/privatecomment", "Entry name must begin with /private or /shared"),
    (b'""', "Entry name must begin with /private or /shared"),
    (b"/private/comment/", "Entry name can't end with '/'"),
    (b"/shared/", "Entry name can't end with '/'"),
    (b"/", "Entry name can't end with '/'"),
    (b"/private//comment", "Entry name can't contain consecutive '/'"),
    (b"//private/comment", "Entry name can't contain consecutive '/'"),
    (b'"/private/*"', "Entry name can't contain '*'"),
    (b'"/shared/50%"', "Entry name can't contain '%'"),
    (b'"/private/a b"', "printable ASCII"),
    (b"{11}\r\n/shared/a\tb", "printable ASCII"),
    ('"/shared/caf\u00e9"'.encode(), "printable ASCII"),
])
def test_rfc5464_3_2_invalid_entry_names(entry, message):
    bad(b"a GETMETADATA INBOX " + entry, message)
    bad(b"a GETMETADATA INBOX (/shared/ok " + entry + b")", message)
    bad(b"a SETMETADATA INBOX (" + entry + b" NIL)", message)


@pytest.mark.parametrize("root", [b"/private", b"/shared", b"/SHARED"])
def test_rfc5464_4_3_roots_only_readable(root):
    command = parse_command(b"a GETMETADATA (DEPTH infinity) INBOX " + root)
    assert command.entries == (root.decode().lower(),)
    bad(b'a SETMETADATA INBOX (' + root + b' "x")',
        "Entry name must name an entry below /private or /shared")


# -- properties ------------------------------------------------------------------------
SEGMENT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters='/*%"\\(){]'),
                  min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["/private", "/shared", "/PRIVATE", "/Shared"]),
       st.lists(SEGMENT, min_size=1, max_size=4))
def test_rfc5464_3_2_valid_entry_names_parse_lower_cased(root, segments):
    entry = "/".join([root, *segments])
    command = parse_command(b"t SETMETADATA INBOX (" + entry.encode() + b" NIL)")
    assert command.entries == ((entry.lower(), None),)


SEEDS = [
    b"a SETACL INBOX/Drafts {5+}\r\nChris +cda",
    b'a DELETEACL "INBOX" Fred',
    b"a LISTRIGHTS ~/Mail/saved smith",
    b"a MYRIGHTS INBOX",
    b'a GETMETADATA (MAXSIZE 1024 DEPTH infinity) "" (/shared/comment /private/comment)',
    b"a GETMETADATA INBOX (DEPTH 1) /private/filters/values",
    b"a SETMETADATA INBOX (/private/comment ~{3}\r\nx\x00y /shared/comment NIL /shared/x {1+}\r\nz)",
]


def test_seed_commands_parse():
    for seed in SEEDS:
        parse_command(seed)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(0, 120), st.integers(0, 8), st.binary(max_size=6))
def test_mutated_acl_metadata_commands_raise_only_parse_error(raw, at, cut, insert):
    at = min(at, len(raw))
    try:
        parse_command(raw[:at] + insert + raw[at + cut:])
    except ParseError:
        pass
