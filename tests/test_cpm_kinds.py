"""Object kinds as the message-store clients dispatch them (shared/cpm-formats.md
§3.1): Message-Context first, then the outer Content-Type, inside message/cpim
the payload's own; case-insensitive, quoted values tolerated, never rejected."""

import importlib.util
from pathlib import Path

import pytest

from cpmstore.cpm.kinds import CHAT, EMAIL, FILE_TRANSFER, GROUP_STATE, IMDN, MMS, SESSION_INFO, SMS, classify
from cpmstore.mime.analysis import analyze
from cpmstore.mime.parse import parse_message

_spec = importlib.util.spec_from_file_location("cpm_samples_for_kinds",
                                              Path(__file__).parent / "server" / "cpm_samples.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)


def cpim(inner_type: str, body: str, outer_extra: str = "", outer_type: str = "message/cpim") -> bytes:
    return (f"From: tel:+33612345678\r\nTo: tel:+33687654321\r\nContent-Type: {outer_type}\r\n{outer_extra}"
            "Conversation-ID: c1\r\nContribution-ID: k1\r\nIMDN-Message-ID: m1\r\n\r\n"
            "From: <sip:anonymous@anonymous.invalid>\r\nNS: imdn <urn:ietf:params:imdn>\r\n\r\n"
            f"Content-type: {inner_type}\r\nContent-length: {len(body)}\r\n\r\n{body}").encode()


@pytest.mark.parametrize("message, kind", [
    (cpim("text/plain;charset=utf-8", "hello"), CHAT),
    (cpim("Text/Plain", "hello", outer_type="Message/CPIM"), CHAT),
    (cpim("application/vnd.gsma.rcs-ft-http+xml", "<file/>"), FILE_TRANSFER),
    (cpim("message/imdn+xml", "<imdn/>"), IMDN),
    (cpim("text/plain", "sms text", 'Message-Context: "pager-message"\r\n'), SMS),
    (cpim("multipart/related;boundary=x", "", "Message-Context: Multimedia-Message\r\n"), MMS),
    (b"Subject: s\r\nContent-Type: Application/X-CPM-Session\r\n\r\n<session/>", SESSION_INFO),
    (b'Content-Type: multipart/related;boundary=cpm;type="Application/X-CPM-Session"\r\n\r\n--cpm--\r\n',
     SESSION_INFO),
    (b'Content-type: multipart/related;boundary=cpm; type="Application/X-CPM-File-Transfer"\r\n\r\n--cpm--\r\n',
     FILE_TRANSFER),
    (b"Content-Type: application/group-state-object+xml\r\n\r\n<groupstate/>", GROUP_STATE),
    (b"Subject: hi\r\n\r\nplain mail", EMAIL),
    (b"Content-Type: text/html\r\n\r\n<p>hi</p>", EMAIL),
    (b"Content-Type: multipart/related;boundary=b\r\n\r\n--b--\r\n", EMAIL),
    (cpim("image/png", "..."), EMAIL),
    (b"Content-Type: message/cpim\r\n\r\nno payload headers", EMAIL),
    (b"", EMAIL),
    (b"garbage without any header block", EMAIL),
])
def test_cpm_formats_3_1_dispatch(message, kind):
    assert classify(message) == kind
    # As APPEND's analysis calls it: with the header index the MIME parse already built.
    assert classify(message, parse_message(message).index) == kind
    assert analyze(message).kind == kind


def test_cpm_formats_3_samples_from_the_server_tests():
    assert classify(samples.CHAT) == CHAT
    assert classify(samples.SESSION_HISTORY) == SESSION_INFO
