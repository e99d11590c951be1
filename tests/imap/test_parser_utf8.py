"""Mailbox names on the wire before and after ENABLE UTF8=ACCEPT (RFC 3501
§5.1.3, RFC 6855 §3) and the APPEND ``UTF8`` data extension (RFC 6855 §4)."""

import pytest
from hypothesis import given, settings, strategies as st

from cpmstore.imap import names
from cpmstore.imap.parser import ParseError, parse_command
from cpmstore.imap.reader import Reader


@pytest.mark.parametrize("name, legacy, utf8", [
    ("INBOX", b"INBOX", b"INBOX"),
    ("été", b"&AOk-t&AOk-", '"été"'.encode()),
    ("Entwürfe/2024", b"Entw&APw-rfe/2024", '"Entwürfe/2024"'.encode()),
    ("台北", b"&U,BTFw-", '"台北"'.encode()),
    ("a b", b'"a b"', b'"a b"'),
    ("&AOk-", b"&-AOk-", b"&AOk-"),  # after ENABLE an "&" is just an "&"
    ('say "été"', b'"say \\"&AOk-t&AOk-\\""', '"say \\"été\\""'.encode()),
    ("é\r\n", b"&AOkADQAK-", "{4}\r\né\r\n".encode()),  # CR LF cannot be quoted: a literal
])
def test_rfc6855_3_names_in_responses(name, legacy, utf8):
    assert names.encode(name, utf8=False) == legacy
    assert names.encode(name, utf8=True) == utf8


def test_rfc6855_3_long_name_goes_as_a_literal():
    name = "é" * 600
    data = name.encode()
    assert names.encode(name, utf8=True) == b"{%d}\r\n" % len(data) + data


def test_rfc6855_3_never_raw_utf8_before_enable():
    for name in ("été", "台北/日本語", "\U0001F600", "é\r\n"):
        assert names.encode(name, utf8=False).isascii()
        assert names.encode(name, utf8=False, string=True).isascii()


def test_rfc6855_3_string_form_never_an_atom():
    assert names.encode("Default/tel:+332", utf8=False, string=True) == b'"Default/tel:+332"'
    assert names.encode("été", utf8=True, string=True) == '"été"'.encode()


@pytest.mark.parametrize("raw, legacy, utf8", [
    (b"&AOk-t&AOk-", "été", "&AOk-t&AOk-"),  # valid modified UTF-7 is still UTF-8 after ENABLE (§3)
    (b"&-", "&", "&-"),
    (b"INBOX", "INBOX", "INBOX"),
    ("été".encode(), None, "été"),
    ("日本語/台北".encode(), None, "日本語/台北"),
])
def test_rfc6855_3_names_from_clients(raw, legacy, utf8):
    if legacy is None:
        with pytest.raises(names.BadName):
            names.decode(raw, utf8=False)  # 8-bit is no modified UTF-7
    else:
        assert names.decode(raw, utf8=False) == legacy
    assert names.decode(raw, utf8=True) == utf8


@pytest.mark.parametrize("raw", [
    b"\xc3",              # truncated sequence
    b"\xc0\xaf",          # overlong "/"
    b"\xed\xa0\x80",      # a surrogate
    b"\xff",
    "a\tb".encode(),      # C0 control
    "a\x7fb".encode(),    # DEL
    "a\x85b".encode(),    # C1 control
    "a\u2028b".encode(),  # LINE SEPARATOR
    "a\u2029b".encode(),  # PARAGRAPH SEPARATOR
])
def test_rfc6855_3_invalid_utf8_names_are_refused(raw):
    with pytest.raises(names.BadName):
        names.decode(raw, utf8=True)


def test_rfc6855_3_response_text_shows_names_in_modified_utf7():
    assert names.text("Mailbox doesn't exist: été") == "Mailbox doesn't exist: &AOk-t&AOk-"


@pytest.mark.parametrize("line, mailbox", [
    ('a SELECT "été"', "été"),
    ("a STATUS {5}\r\nété (MESSAGES)", "été"),
    ("a DELETE &AOk-", "&AOk-"),
    ('a SELECT "inbox"', "INBOX"),
    ('a GETACL "Entwürfe"', "Entwürfe"),
])
def test_rfc6855_3_commands_take_utf8_names(line, mailbox):
    assert parse_command(line.encode(), utf8=True).mailbox == mailbox


def test_rfc6855_3_every_name_argument_is_decoded_the_same_way():
    rename = parse_command('a RENAME "été" "&AOk-"'.encode(), utf8=True)
    assert (rename.old, rename.new) == ("été", "&AOk-")
    listed = parse_command('a LIST "été/" "*/台北"'.encode(), utf8=True)
    assert (listed.reference, listed.pattern) == ("été/", "*/台北")
    notify = parse_command('a NOTIFY SET (mailboxes ("été" "台北") (MessageNew MessageExpunge))'.encode(),
                           utf8=True)
    assert notify.groups[0].mailboxes == ("été", "台北")
    copy = parse_command('a UID MOVE 1:* "été"'.encode(), utf8=True)
    assert copy.mailbox == "été"


def test_rfc3501_5_1_3_before_enable_utf8_names_are_bad():
    with pytest.raises(ParseError):
        parse_command('a SELECT "été"'.encode())
    assert parse_command(b"a SELECT &AOk-t&AOk-").mailbox == "été"


@pytest.mark.parametrize("line", [
    'a SELECT "a\u2028b"',
    'a CREATE "a\u0085b"',
    "a CREATE {3}\r\na\x01b",
    "a SELECT été",  # RFC 6855 §3 lets UTF-8 into quoted strings, not atoms
])
def test_rfc6855_3_forbidden_characters_and_utf8_atoms_are_bad(line):
    with pytest.raises(ParseError):
        parse_command(line.encode(), utf8=True)


def test_rfc6855_4_append_utf8_literal8():
    message = "Subject: été\r\n\r\nx\r\n".encode()
    cmd = parse_command(b"a APPEND INBOX (\\Seen) UTF8 (~{%d}\r\n%s)" % (len(message), message))
    (only,) = cmd.messages
    assert (only.data, only.utf8, only.flags) == (message, True, ("\\Seen",))


def test_rfc6855_4_append_utf8_with_multiappend_and_literal_plus():
    cmd = parse_command(b"a APPEND INBOX UTF8 (~{3+}\r\nabc) {2+}\r\nxy")
    assert [(m.data, m.utf8) for m in cmd.messages] == [(b"abc", True), (b"xy", False)]


def test_rfc6855_4_utf8_catenate_part():
    cmd = parse_command(b'a APPEND INBOX CATENATE (URL "/INBOX;UID=1" UTF8 (~{3}\r\nabc))')
    parts = cmd.messages[0].catenate
    assert [(p.url, p.text, p.utf8) for p in parts] == [(b"/INBOX;UID=1", None, False), (None, b"abc", True)]


@pytest.mark.parametrize("raw", [
    b"a APPEND INBOX UTF8 ({3}\r\nabc)",   # a literal8 is required
    b"a APPEND INBOX UTF8 (~{3}\r\nabc",   # unclosed
    b"a APPEND INBOX UTF8 ~{3}\r\nabc",    # no parentheses
    b"a APPEND INBOX UTF8 (~{3}\r\nabc) (",
])
def test_rfc6855_4_malformed_utf8_data_is_bad(raw):
    with pytest.raises(ParseError):
        parse_command(raw)


_NAME_CHARS = st.characters(blacklist_categories=("Cs",))


def _read_back(wire: bytes, utf8: bool) -> str:
    reader = Reader(wire, utf8=utf8)
    name = reader.mailbox_name(reader.astring())
    assert reader.at_end()
    return name


@settings(max_examples=200)
@given(st.text(_NAME_CHARS, max_size=30))
def test_rfc3501_5_1_3_encode_then_parse_before_enable(name):
    assert _read_back(names.encode(name, utf8=False), utf8=False) == name


@settings(max_examples=200)
@given(st.text(_NAME_CHARS, max_size=30).filter(lambda n: not names._FORBIDDEN.search(n)))
def test_rfc6855_3_encode_then_parse_after_enable(name):
    assert _read_back(names.encode(name, utf8=True), utf8=True) == name


_UTF8_SEEDS = [
    'a SELECT "été"'.encode(),
    'a LIST "" ("été/*" "台北")'.encode(),
    b"a APPEND INBOX UTF8 (~{3}\r\nabc)",
    'a NOTIFY SET (mailboxes "été" (MessageNew MessageExpunge))'.encode(),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_UTF8_SEEDS), st.integers(0, 40), st.binary(max_size=8))
def test_rfc6855_3_mangled_utf8_commands_raise_only_parse_error(seed, at, noise):
    raw = seed[:at] + noise + seed[at:]
    for utf8 in (False, True):
        try:
            parse_command(raw, utf8=utf8)
        except ParseError:
            pass
