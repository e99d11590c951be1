"""FETCH attribute parsing and response names (RFC 3501 §6.4.5, §7.4.2)."""

import pytest

from cpmstore.imap.fetchatt import FetchAtt, Section, parse_fetch_atts, response_name
from cpmstore.imap.parser import ParseError


@pytest.mark.parametrize("text, names", [
    (b"ALL", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE"]),
    (b"fast", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"]),
    (b"FULL", [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE", b"ENVELOPE", b"BODY"]),
    (b"(UID RFC822 RFC822.HEADER RFC822.TEXT BODYSTRUCTURE)",
     [b"UID", b"RFC822", b"RFC822.HEADER", b"RFC822.TEXT", b"BODYSTRUCTURE"]),
    (b"BODY[]", [b"BODY[]"]),
    (b"BODY.PEEK[TEXT]", [b"BODY[TEXT]"]),
    (b"body[header.fields (date from)]", [b"BODY[HEADER.FIELDS (DATE FROM)]"]),
    (b'BODY[HEADER.FIELDS.NOT ("Subject" {4}\r\nX-Ab)]', [b"BODY[HEADER.FIELDS.NOT (SUBJECT X-AB)]"]),
    (b"BODY[1.2.3]", [b"BODY[1.2.3]"]),
    (b"BODY[1.2.MIME]", [b"BODY[1.2.MIME]"]),
    (b"BODY[3.HEADER]", [b"BODY[3.HEADER]"]),
    (b"BODY[4.2.TEXT]<0.2048>", [b"BODY[4.2.TEXT]<0>"]),
    (b"BODY.PEEK[]<100.5>", [b"BODY[]<100>"]),
])
def test_rfc3501_7_4_2_response_names(text, names):
    assert [response_name(a) for a in parse_fetch_atts(text)] == names


def test_rfc3501_6_4_5_partial_and_peek():
    assert parse_fetch_atts(b"BODY.PEEK[1.HEADER.FIELDS (TO)]<0.10>") == (
        FetchAtt("BODY", Section((1,), "HEADER.FIELDS", (b"TO",)), peek=True, partial=(0, 10)),)


@pytest.mark.parametrize("text", [
    b"", b"()", b"BODY[MIME]", b"BODY[0]", b"BODY[1.]", b"BODY[HEADER.FIELDS]",
    b"BODY[HEADER.FIELDS ()]", b"BODY[]<0.0>", b"BODY[]<1>", b"BODY.PEEK", b"BODY[TEXT",
    b"(ALL)", b"FOO", b"(FLAGS", b"(FLAGS  UID)", b"BODY[1.TEXT.MIME]", b"RFC822.PEEK",
])
def test_rfc3501_9_invalid_fetch_atts(text):
    with pytest.raises(ParseError):
        parse_fetch_atts(text)
