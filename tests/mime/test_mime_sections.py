"""BODY[section] extraction, RFC 3501 §6.4.5, on the RFC's own part tree."""

import pytest

from cpmstore.mime.sections import fetch_section

# The example message of RFC 3501 §6.4.5, part by part.
PART_1 = b"part 1 text"
PART_2 = b"\x00\x01binary\xff"
PART_3_HEADER = b"Subject: three\r\nContent-Type: multipart/mixed; boundary=b3\r\n\r\n"
PART_3_TEXT = (
    b"--b3\r\nContent-Type: text/plain\r\n\r\n3.1 text\r\n"
    b"--b3\r\nContent-Type: application/octet-stream\r\n\r\n3.2 data\r\n--b3--\r\n"
)
PART_4_1_MIME = b"Content-Type: image/gif\r\nContent-ID: <gif>\r\n\r\n"
PART_4_2_HEADER = b"Subject: four two\r\nContent-Type: multipart/mixed; boundary=b42\r\n\r\n"
PART_4_2_TEXT = (
    b"--b42\r\nContent-Type: text/plain\r\n\r\n4.2.1 text\r\n"
    b"--b42\r\nContent-Type: multipart/alternative; boundary=b422\r\n\r\n"
    b"--b422\r\nContent-Type: text/plain\r\n\r\n4.2.2.1 text\r\n"
    b"--b422\r\nContent-Type: text/richtext\r\n\r\n4.2.2.2 rich\r\n--b422--\r\n"
    b"--b42--\r\n"
)
PART_4 = (
    b"--b4\r\n" + PART_4_1_MIME + b"GIF89a\r\n"
    b"--b4\r\nContent-Type: message/rfc822\r\n\r\n" + PART_4_2_HEADER + PART_4_2_TEXT + b"\r\n"
    b"--b4--\r\n"
)
HEADER = (
    b"From: a@example.com\r\n"
    b"Subject: the\r\n  folded subject\r\n"
    b"X-Other: x\r\n"
    b"Content-Type: MULTIPART/MIXED; boundary=top\r\n"
    b"\r\n"
)
TEXT = (
    b"--top\r\nContent-Type: text/plain\r\n\r\n" + PART_1 + b"\r\n"
    b"--top\r\nContent-Type: application/octet-stream\r\n\r\n" + PART_2 + b"\r\n"
    b"--top\r\nContent-Type: message/rfc822\r\n\r\n" + PART_3_HEADER + PART_3_TEXT + b"\r\n"
    b"--top\r\nContent-Type: multipart/mixed; boundary=b4\r\n\r\n" + PART_4 + b"\r\n"
    b"--top--\r\n"
)
MESSAGE = HEADER + TEXT

RFC3501_6_4_5_TABLE = [
    ((), None, MESSAGE),
    ((), "HEADER", HEADER),
    ((), "TEXT", TEXT),
    ((1,), None, PART_1),
    ((2,), None, PART_2),
    ((3,), None, PART_3_HEADER + PART_3_TEXT),
    ((3,), "HEADER", PART_3_HEADER),
    ((3,), "TEXT", PART_3_TEXT),
    ((3, 1), None, b"3.1 text"),
    ((3, 2), None, b"3.2 data"),
    ((4,), None, PART_4),
    ((4, 1), None, b"GIF89a"),
    ((4, 1), "MIME", PART_4_1_MIME),
    ((4, 2), None, PART_4_2_HEADER + PART_4_2_TEXT),
    ((4, 2), "HEADER", PART_4_2_HEADER),
    ((4, 2), "TEXT", PART_4_2_TEXT),
    ((4, 2, 1), None, b"4.2.1 text"),
    ((4, 2, 2), None, PART_4_2_TEXT[PART_4_2_TEXT.index(b"--b422\r\n"):PART_4_2_TEXT.index(b"\r\n--b42--")]),
    ((4, 2, 2, 1), None, b"4.2.2.1 text"),
    ((4, 2, 2, 2), None, b"4.2.2.2 rich"),
    ((4, 2, 2, 2), "MIME", b"Content-Type: text/richtext\r\n\r\n"),
    ((3, 1), "MIME", b"Content-Type: text/plain\r\n\r\n"),
]


@pytest.mark.parametrize("parts, text, expected", RFC3501_6_4_5_TABLE)
def test_rfc3501_6_4_5_section_table(parts, text, expected):
    assert fetch_section(MESSAGE, parts, text) == expected


@pytest.mark.parametrize(
    "parts, text",
    [
        ((5,), None),
        ((0,), None),
        ((1, 1), None),
        ((4, 1, 1), None),
        ((1,), "HEADER"),  # HEADER after part numbers needs a message/rfc822 part
        ((4,), "TEXT"),
        ((), "MIME"),
        ((3, 3), None),
        ((4, 2, 3), None),
    ],
)
def test_rfc3501_6_4_5_missing_sections_are_none(parts, text):
    assert fetch_section(MESSAGE, parts, text) is None


def test_rfc3501_6_4_5_header_fields_keep_folded_lines_in_message_order():
    section = fetch_section(MESSAGE, (), "HEADER.FIELDS", (b"SUBJECT", b"FROM", b"NOT-THERE"))
    assert section == b"From: a@example.com\r\nSubject: the\r\n  folded subject\r\n\r\n"


def test_rfc3501_6_4_5_header_fields_not():
    section = fetch_section(MESSAGE, (), "HEADER.FIELDS.NOT", (b"from", b"CONTENT-TYPE"))
    assert section == b"Subject: the\r\n  folded subject\r\nX-Other: x\r\n\r\n"


def test_rfc3501_6_4_5_header_fields_of_embedded_message():
    assert fetch_section(MESSAGE, (4, 2), "HEADER.FIELDS", (b"SUBJECT",)) == b"Subject: four two\r\n\r\n"


def test_rfc3501_6_4_5_header_fields_with_no_match_is_blank_line():
    assert fetch_section(MESSAGE, (), "HEADER.FIELDS", (b"X-NONE",)) == b"\r\n"


NON_MULTIPART = b"Subject: one\r\nContent-Type: text/plain\r\n\r\nonly body\r\n"


def test_rfc3501_6_4_5_non_multipart_part_1_is_the_body():
    assert fetch_section(NON_MULTIPART, (1,), None) == b"only body\r\n"
    assert fetch_section(NON_MULTIPART, (1,), "MIME") == b"Subject: one\r\nContent-Type: text/plain\r\n\r\n"
    assert fetch_section(NON_MULTIPART, (2,), None) is None


def test_rfc3501_6_4_5_top_level_message_rfc822():
    message = b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body"
    assert fetch_section(message, (1,), None) == b"Subject: inner\r\n\r\ninner body"
    assert fetch_section(message, (1,), "HEADER") == b"Subject: inner\r\n\r\n"
    assert fetch_section(message, (1, 1), None) == b"inner body"


def test_rfc2046_5_1_1_boundary_prefix_is_not_a_delimiter():
    message = (
        b"Content-Type: multipart/mixed; boundary=cpm\r\n\r\n"
        b"--cpm\r\nContent-Type: multipart/mixed; boundary=cpm-inner\r\n\r\n"
        b"--cpm-inner\r\n\r\ninner one\r\n--cpm-inner--\r\n"
        b"--cpm  \r\n\r\nsecond\r\n--cpm--"
    )
    assert fetch_section(message, (1, 1), None) == b"inner one"
    assert fetch_section(message, (2,), None) == b"second"


def test_bare_lf_message_still_splits():
    message = b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n"
    assert fetch_section(message, (1,), None) == b"hi"
    assert fetch_section(message, (1,), "MIME") == b"Content-Type: text/plain\n\n"
