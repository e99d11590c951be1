"""BINARY fetch attributes and literal8 APPEND (RFC 3516 §4.2, §4.4, §6), APPEND CATENATE (RFC 4469 §5)."""

from __future__ import annotations

import pytest

from cpmstore.imap.commands import AppendMessage, CatPart
from cpmstore.imap.fetchatt import FetchAtt, Section, response_name
from cpmstore.imap.parser import ParseError, parse_command


@pytest.mark.parametrize(("text", "att", "name"), [
    (b"BINARY[1]", FetchAtt("BINARY", Section((1,))), b"BINARY[1]"),
    (b"BINARY.PEEK[1.2]", FetchAtt("BINARY", Section((1, 2)), peek=True), b"BINARY[1.2]"),
    (b"binary.peek[]<0.100>", FetchAtt("BINARY", Section(), peek=True, partial=(0, 100)), b"BINARY[]<0>"),
    (b"BINARY[2]<4.10>", FetchAtt("BINARY", Section((2,)), partial=(4, 10)), b"BINARY[2]<4>"),
    (b"BINARY.SIZE[3]", FetchAtt("BINARY.SIZE", Section((3,))), b"BINARY.SIZE[3]"),
    (b"BINARY.SIZE[]", FetchAtt("BINARY.SIZE", Section()), b"BINARY.SIZE[]"),
])
def test_rfc3516_4_2_fetch_atts(text, att, name):
    cmd = parse_command(b"a FETCH 1 " + text)
    assert cmd.items == (att,)
    assert response_name(att) == name


@pytest.mark.parametrize("text", [
    b"BINARY", b"BINARY[1.MIME]", b"BINARY[HEADER]", b"BINARY[TEXT]", b"BINARY[0]", b"BINARY[1",
    b"BINARY.SIZE[1]<0.2>", b"BINARY.SIZE", b"BINARY[1]<0.0>",
])
def test_rfc3516_6_section_binary_is_part_numbers_only(text):
    with pytest.raises(ParseError):
        parse_command(b"a FETCH 1 " + text)


def test_rfc3516_4_4_append_literal8():
    cmd = parse_command(b"a APPEND INBOX (\\Seen) ~{5}\r\na\x00b\r\n")
    assert cmd.messages == (AppendMessage(b"a\x00b\r\n", ("\\Seen",), binary=True),)
    cmd = parse_command(b"a APPEND INBOX ~{3+}\r\n\x00\x01\x02 {1}\r\nx")
    assert [(m.data, m.binary) for m in cmd.messages] == [(b"\x00\x01\x02", True), (b"x", False)]


def test_rfc4469_appendix_a_example_1():
    cmd = parse_command(
        b'A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE'
        + b' (URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER" TEXT {42}\r\n'
        + b"\r\n--------------030308070208000400050907\r\n"
        + b' URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME"'
        + b' URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1" TEXT {42}\r\n'
        + b"\r\n--------------030308070208000400050907\r\n"
        + b' URL "/Drafts;UIDVALIDITY=385759045/;UID=30" TEXT {44}\r\n'
        + b"\r\n--------------030308070208000400050907--\r\n)"
    )
    (message,) = cmd.messages
    assert message.data == b""
    assert message.flags == ("\\Seen", "\\Draft", "$MDNSent")
    assert message.catenate == (
        CatPart(url=b"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"),
        CatPart(text=b"\r\n--------------030308070208000400050907\r\n"),
        CatPart(url=b"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME"),
        CatPart(url=b"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1"),
        CatPart(text=b"\r\n--------------030308070208000400050907\r\n"),
        CatPart(url=b"/Drafts;UIDVALIDITY=385759045/;UID=30"),
        CatPart(text=b"\r\n--------------030308070208000400050907--\r\n"),
    )


def test_rfc4469_5_multiappend_mixes_catenate_and_literals():
    cmd = parse_command(b'a APPEND Sent "01-Jan-2024 10:00:00 +0000" catenate (TEXT ~{2}\r\n\x00x url /INBOX/;UID=1)'
                        b' (\\Seen) {3}\r\nabc')
    first, second = cmd.messages
    assert first.date is not None
    assert first.catenate == (CatPart(text=b"\x00x", binary=True), CatPart(url=b"/INBOX/;UID=1"))
    assert second == AppendMessage(b"abc", ("\\Seen",))


@pytest.mark.parametrize("text", [
    b"a APPEND INBOX CATENATE ()",
    b"a APPEND INBOX CATENATE (TEXT)",
    b'a APPEND INBOX CATENATE (FILE "x")',
    b'a APPEND INBOX CATENATE (URL "/INBOX/;UID=1"',
    b"a APPEND INBOX CATENATE (TEXT {1}\r\nxURL x)",
    b"a APPEND INBOX ~(x)",
])
def test_rfc4469_5_bad_syntax(text):
    with pytest.raises(ParseError):
        parse_command(text)
