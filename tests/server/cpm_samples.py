"""CPM objects as phones store them (shared/cpm-formats.md §3), for server tests."""

CHAT = (
    b"Date: Tue, 29 Sep 2015 11:09:20 +0200\r\n"
    b"From: tel:+33642575779\r\n"
    b"To: tel:+33640332859\r\n"
    b"Message-ID: <chat-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: message/cpim\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: 0c1e2b6e-5f4a-4c59-9b2d-1f1d2c3b4a5e\r\n"
    b"Contribution-ID: 0c1e2b6e-5f4a-4c59-9b2d-1f1d2c3b4a5e\r\n"
    b"IMDN-Message-ID: Msg0001\r\n"
    b"Message-Direction: received\r\n"
    b"\r\n"
    b"From: <sip:anonymous@anonymous.invalid>\r\n"
    b"To: <sip:anonymous@anonymous.invalid>\r\n"
    b"NS: imdn <urn:ietf:params:imdn>\r\n"
    b"imdn.Message-ID: Msg0001\r\n"
    b"DateTime: 2015-09-29T09:09:20Z\r\n"
    b"imdn.Disposition-Notification: positive-delivery\r\n"
    b"\r\n"
    b"Content-type: text/plain;charset=utf-8\r\n"
    b"Content-length: 13\r\n"
    b"\r\n"
    b"Bonjour \xc3\xa0 toi\r\n"
)

SESSION_INFO = (
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    b"<session><session-type>Ad-Hoc</session-type><sdp>v=0\r\n"
    b"m=message 7394 TCP/MSRP *\r\na=accept-types:message/cpim\r\n</sdp>"
    b"<invited-participants>tel:+33612345678;tel:+33687654321</invited-participants></session>\r\n"
)


def _cpim(sender: bytes, text: bytes) -> bytes:
    return (
        b"From: <" + sender + b">\r\n"
        b"To: <sip:conference@example.com>\r\n"
        b"DateTime: 2015-09-29T09:10:00Z\r\n"
        b"\r\n"
        b"Content-type: text/plain;charset=utf-8\r\n"
        b"Content-length: %d\r\n"
        b"\r\n" % len(text) + text
    )


CPIM_1 = _cpim(b"sip:alice@example.com", b"Hello team")
CPIM_2 = _cpim(b"sip:bob@example.com", b"Hi Alice")

SESSION_HISTORY = (
    b"From: tel:+33612345678\r\n"
    b"To: sip:Conference-Factory@example.com\r\n"
    b"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    b"Subject: Team chat\r\n"
    b"Message-ID: <session-1@example.com>\r\n"
    b"Conversation-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
    b"Contribution-ID: abcdef-0123\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/related;boundary=cpm;type=\"Application/X-CPM-Session\"\r\n"
    b"\r\n"
    b"--cpm\r\n"
    b"Content-Type: Application/X-CPM-Session\r\n"
    b"\r\n" + SESSION_INFO +
    b"\r\n--cpm\r\n"
    b"Content-Type: message/cpim\r\n"
    b"\r\n" + CPIM_1 +
    b"\r\n--cpm\r\n"
    b"Content-Type: message/cpim\r\n"
    b"\r\n" + CPIM_2 +
    b"\r\n--cpm--\r\n"
)


def email(subject: str, body: str = "hello\r\n", sender: str = "alice@example.com",
          to: str = "bob@example.com", extra: str = "") -> bytes:
    name = sender.split("@")[0].title()
    return (f"From: {name} <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Wed, 17 Jul 1996 02:23:25 -0700\r\nMessage-ID: <{abs(hash(subject))}@example.com>\r\n"
            f"{extra}\r\n{body}").encode()
