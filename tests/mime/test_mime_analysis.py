"""analyze() and normalize_line_endings(): what APPEND caches (DESIGN §2, §4)."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpmstore.imap.response import encode_value
from cpmstore.mime.analysis import analyze, normalize_line_endings, parse_date
from cpmstore.mime.bodystructure import body_value
from cpmstore.mime.envelope import envelope_value
from cpmstore.mime.parse import parse_message
from cpmstore.mime.sections import fetch_section
from cpmstore.mime.text import searchable_text


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"a\nb\n", b"a\r\nb\r\n"),
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
        (b"a\rb\r", b"a\rb\r"),
        (b"a\r\nb\nc\r\rd\n", b"a\r\nb\r\nc\r\rd\r\n"),
        (b"\n\n", b"\r\n\r\n"),
        (b"", b""),
    ],
)
def test_normalize_bare_lf_to_crlf(raw, expected):
    assert normalize_line_endings(raw) == expected


def test_normalize_returns_the_same_object_when_nothing_changes():
    data = b"Subject: x\r\n\r\nbody\r\n" * 10
    assert normalize_line_endings(data) is data


CPM_CHAT = (
    b"Date: Tue, 29 Sep 2015 11:09:20 +0200\r\n"
    b"From: tel:+33612345678\r\n"
    b"To: tel:+33687654321\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: message/cpim\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: conv-1\r\n"
    b"Contribution-ID: contrib-1\r\n"
    b"IMDN-Message-ID: imdn-1\r\n"
    b"Message-Direction: received\r\n"
    b"\r\n"
    b"From: <sip:anonymous@anonymous.invalid>\r\n"
    b"\r\n"
    b"Content-type: text/plain;charset=utf-8\r\n"
    b"\r\n"
    b"Salut\r\n"
)


def test_analysis_of_cpm_chat_message():
    analysis = analyze(CPM_CHAT)
    assert analysis.header == CPM_CHAT[: CPM_CHAT.index(b"\r\n\r\n") + 4]
    assert analysis.header == fetch_section(CPM_CHAT, (), "HEADER")
    assert analysis.sent_date == datetime(2015, 9, 29, 11, 9, 20, tzinfo=timezone(timedelta(hours=2)))
    assert analysis.fields == {
        "conversation-id": "conv-1",
        "contribution-id": "contrib-1",
        "imdn-message-id": "imdn-1",
        "message-direction": "received",
    }
    assert analysis.bodystructure == b'("MESSAGE" "CPIM" NIL NIL NIL "8BIT" 92 NIL NIL NIL NIL)'
    assert analysis.envelope == (
        b'("Tue, 29 Sep 2015 11:09:20 +0200" NIL ((NIL NIL "tel:+33612345678" "")) '
        b'((NIL NIL "tel:+33612345678" "")) ((NIL NIL "tel:+33612345678" "")) '
        b'((NIL NIL "tel:+33687654321" "")) NIL NIL NIL "<1@example.com>")'
    )


PARIS = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", datetime(1996, 7, 17, 2, 23, 25, tzinfo=timezone(timedelta(hours=-7)))),
        (b"mar., 29 09 2015 11:09:20.826 +0200", datetime(2015, 9, 29, 11, 9, 20, tzinfo=PARIS)),
        (b"mar., 29 sept. 2015 11:09:20 +0200", datetime(2015, 9, 29, 11, 9, 20, tzinfo=PARIS)),
        (b"2015-09-29T11:09:20+02:00", datetime(2015, 9, 29, 11, 9, 20, tzinfo=PARIS)),
        (b"29 Sep 2015 11:09 GMT", datetime(2015, 9, 29, 11, 9, tzinfo=timezone.utc)),
        (b"Tue, 29 Sep 2015 11:09:20 -0000", datetime(2015, 9, 29, 11, 9, 20, tzinfo=timezone.utc)),
        (b"yesterday", None),
        (b"", None),
        (b"99 99 9999 99:99", None),
    ],
)
def test_rfc5322_3_3_sent_date_is_lenient(raw, expected):
    assert parse_date(raw) == expected


def test_sent_date_missing_is_none():
    assert analyze(b"Subject: x\r\n\r\n").sent_date is None


def test_header_only_message_has_whole_message_as_header():
    analysis = analyze(b"Subject: no body")
    assert analysis.header == b"Subject: no body"
    assert analysis.body == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0)'


def test_large_binary_part_is_linear():
    media = (bytes(range(256)) * 4096) * 16  # 16 MiB with many bare LFs and CRs
    message = (
        b"Content-Type: multipart/related; boundary=cpm\r\n\r\n--cpm\r\n"
        b"Content-Type: image/jpeg\r\nContent-Transfer-Encoding: binary\r\n\r\n" + media + b"\r\n--cpm--\r\n"
    )
    assert b'"IMAGE" "JPEG" NIL NIL NIL "BINARY" %d NIL' % len(media) in analyze(message).bodystructure
    assert fetch_section(message, (1,), None) == media


MIME_LIKE = st.lists(
    st.sampled_from(
        [
            b"Content-Type: multipart/mixed; boundary=b\r\n",
            b"Content-Type: message/rfc822\r\n",
            b"Content-Type: multipart/digest; boundary=\"b\"\r\n",
            b"Content-Type: text/plain; charset=\"utf-8\r\n",
            b"Content-Type: message/cpim\r\n",
            b"Content-Transfer-Encoding: base64\r\n",
            b"Content-Disposition: attachment; filename*0*=x; filename*1=y\r\n",
            b"From: \"a (b\" <c@d>, g:;, tel:+1\r\n",
            b"To: (((\r\n",
            b"Date: mar., 29 09 2015 11:09:20 +9999\r\n",
            b"\r\n",
            b"\n",
            b"--b\r\n",
            b"--b--\r\n",
            b" folded\r\n",
            b"=?utf-8?b?w6k=?=\r\n",
            b"\xff\x00\r",
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(st.one_of(MIME_LIKE, st.binary(max_size=300)))
def test_analyze_never_raises(message):
    # The parts analyze() is built from, called directly: its last-resort
    # fallback must never be what makes this test pass.
    root = parse_message(message)
    bodystructure = encode_value(body_value(message, root, extended=True))
    envelope = encode_value(envelope_value(message, root.index))
    searchable_text(message)
    analysis = analyze(message)
    assert analysis.bodystructure == bodystructure
    assert analysis.envelope == envelope
    assert analysis.header == message[: root.body_start]


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(MIME_LIKE, st.binary(max_size=200)),
    st.lists(st.integers(min_value=-1, max_value=4), max_size=4).map(tuple),
    st.sampled_from([None, "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME", "BOGUS"]),
)
def test_fetch_section_never_raises(message, parts, text):
    section = fetch_section(message, parts, text, (b"CONTENT-TYPE", b"FROM"))
    assert section is None or isinstance(section, bytes)
