"""PREVIEW text (RFC 8970 §3.1), CPM-aware (shared/cpm-formats.md §3)."""

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpmstore.mime.analysis import analyze
from cpmstore.mime.preview import MAX_CHARS, clip, preview_text

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
from cpm_samples import CHAT, SESSION_HISTORY, SESSION_INFO, email  # noqa: E402


def _cpim(content_type: bytes, body: bytes) -> bytes:
    """A stored chat object: message/cpim around one inner MIME entity (RFC 3862 §3)."""
    return (
        b"From: tel:+33642575779\r\nTo: tel:+33640332859\r\nContent-Type: message/cpim\r\n"
        b"Content-Transfer-Encoding: 8bit\r\nIMDN-Message-ID: Msg0002\r\n\r\n"
        b"From: <sip:anonymous@anonymous.invalid>\r\nNS: imdn <urn:ietf:params:imdn>\r\n"
        b"imdn.Message-ID: Msg0002\r\n\r\n"
        b"Content-type: " + content_type + b"\r\n\r\n" + body
    )


FT_HTTP = _cpim(
    b"application/vnd.gsma.rcs-ft-http+xml",
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n<file xmlns="urn:gsma:params:xml:ns:rcs:rcs:fthttp">\r\n'
    b'<file-info type="thumbnail"><file-size>7427</file-size><content-type>image/jpeg</content-type>'
    b'<data url="https://ft.example.com/t/1" until="2015-10-05T11:32:03.000Z"/></file-info>\r\n'
    b'<file-info type="file"><file-size>1843200</file-size><file-name>IMG_0001 &amp; co.jpg</file-name>'
    b'<content-type>image/jpeg</content-type><data url="https://ft.example.com/f/1" until="2015-10-05T11:32:03.000Z"/>'
    b"</file-info>\r\n</file>\r\n",
)

OMA_FT_HISTORY = (
    b"From: John Doe <jdoe@machine.example>\r\nDate: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    b"Conversation-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\nContribution-ID: abcdef-0123\r\n"
    b'Content-type: multipart/related;boundary=cpm; type="Application/X-CPM-File-Transfer"\r\n\r\n'
    b"--cpm\r\nContent-Type: Application/X-CPM-File-Transfer\r\n\r\n"
    b"<file-object><cid>cid:<1234@example.com></cid><sdp> i=This is my latest picture\r\n a=sendonly\r\n"
    b' a=file-selector:name:"My picture.jpg" type:image/jpeg size:4092\r\n a=file-disposition:render\r\n'
    b"</sdp></file-object>\r\n"
    b"--cpm\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <1234@example.com>\r\n\r\n"
    b"\xff\xd8\xff\xe0 jpeg bytes\r\n--cpm--\r\n"
)


def _imdn(status: bytes) -> bytes:
    kind = b"delivery" if status == b"delivered" else b"display"
    return _cpim(
        b"message/imdn+xml",
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<imdn xmlns="urn:ietf:params:xml:ns:imdn">'
        b"<message-id>Msg0001</message-id><datetime>2015-09-29T09:10:00Z</datetime>"
        b"<" + kind + b"-notification><status><" + status + b"/></status></" + kind + b"-notification></imdn>\r\n",
    )


E_MAILS = [
    # (name, message, preview)
    ("plain", email("plain", "Hello   world,\r\n  this is   a test.\r\n"), "Hello world, this is a test."),
    ("quoted_reply", email("re", "> what you wrote\r\n>> before\r\nmy answer\r\n"), "my answer"),
    ("html", b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><title>T</title>"
             b"<style>p {color: red}</style><script>var x = '<p>no</p>';</script></head>"
             b"<body><p>Hi &amp; bye &eacute; &#233;</p><!-- hidden --><p>second</p></body></html>\r\n",
     "T Hi & bye é é second"),
    ("html_script_never_closed", b"Content-Type: text/html\r\n\r\n<p>shown</p><script>if (a < b) {\r\n", "shown"),
    ("alternative_prefers_plain",
     b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
     b"<b>html part</b>\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--b--\r\n", "plain part"),
    ("alternative_html_only",
     b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
     b"<b>only html</b>\r\n--b--\r\n", "only html"),
    ("mixed_text_before_attachment",
     b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
     b"Content-Disposition: attachment; filename=notes.txt\r\n\r\nattached\r\n"
     b"--b\r\nContent-Type: text/plain\r\n\r\nthe body\r\n--b--\r\n", "the body"),
    ("quoted_printable_latin1",
     b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
     b"Caf=E9 cr=E8me =\r\nsoft\r\n", "Café crème soft"),
    ("base64_utf8",
     b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gYmFzZTY0IOKCrA==\r\n",
     "Hello base64 €"),
    ("charset_koi8r", b"Content-Type: text/plain; charset=koi8-r\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n", "Привет"),
    ("embedded_message",
     b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nforwarded text\r\n", "forwarded text"),
    ("no_text", b"Subject: image\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n", ""),
    ("empty_body", b"Subject: empty\r\n\r\n", ""),
]


@pytest.mark.parametrize("name, message, expected", E_MAILS, ids=[row[0] for row in E_MAILS])
def test_rfc8970_3_1_preview_of_email(name, message, expected):
    assert preview_text(message) == expected


def test_rfc8970_3_1_long_text_is_cut_to_200_characters():
    assert preview_text(b"Subject: long\r\n\r\n" + b"word " * 100) == " ".join(["word"] * 40)
    accents = preview_text(b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "é".encode() * 300)
    assert accents == "é" * MAX_CHARS  # characters, not octets: no UTF-8 sequence is cut


CPM_OBJECTS = [
    ("chat", CHAT, "Bonjour à toi"),
    ("session_history_first_chat_not_xml", SESSION_HISTORY, "Hello team"),
    ("session_info_alone",
     b"Content-Type: Application/X-CPM-Session\r\n\r\n" + SESSION_INFO, ""),
    ("ft_over_http_file_not_thumbnail", FT_HTTP, "IMG_0001 & co.jpg (1.8 MB)"),
    ("oma_ft_history_file_selector", OMA_FT_HISTORY, "My picture.jpg (4 KB)"),
    ("oma_ft_history_media_part_only",
     OMA_FT_HISTORY.replace(b' a=file-selector:name:"My picture.jpg" type:image/jpeg size:4092\r\n', b"")
     .replace(b"Content-ID: <1234@example.com>", b"Content-Disposition: render; filename*=utf-8''photo%C3%A9.jpg"),
     "photoé.jpg (15 B)"),
    ("imdn_delivered", _imdn(b"delivered"), "delivered"),
    ("imdn_displayed", _imdn(b"displayed"), "displayed"),
    ("chat_text_keeps_a_leading_quote", _cpim(b"text/plain;charset=utf-8", b"> not a reply\r\n"), "> not a reply"),
]


@pytest.mark.parametrize("name, message, expected", CPM_OBJECTS, ids=[row[0] for row in CPM_OBJECTS])
def test_rfc8970_3_1_preview_of_cpm_objects(name, message, expected):
    assert preview_text(message) == expected


def test_session_history_skips_a_leading_imdn_for_the_first_chat():
    imdn_part = _imdn(b"delivered").split(b"\r\n\r\n", 1)[1]
    history = SESSION_HISTORY.replace(
        b"--cpm\r\nContent-Type: message/cpim\r\n", b"--cpm\r\nContent-Type: message/cpim\r\n\r\n" + imdn_part
        + b"\r\n--cpm\r\nContent-Type: message/cpim\r\n", 1)
    assert preview_text(history) == "Hello team"


def test_analyze_stores_the_preview():
    assert analyze(CHAT).preview == "Bonjour à toi"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_rfc8970_3_1_any_bytes_give_a_short_string(data):
    text = preview_text(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + data)
    assert isinstance(text, str) and len(text) <= MAX_CHARS and text == text.strip()


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_clip_collapses_whitespace_and_bounds_length(text):
    clipped = clip(text)
    assert len(clipped) <= MAX_CHARS
    assert "  " not in clipped and clipped == clipped.strip()
