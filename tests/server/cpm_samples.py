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


# -- one object of every kind (cpm-formats.md §3), for test_cpm_objects.py ------
GROUP_CHAT = (
    b"Date: Tue, 29 Sep 2015 11:12:00 +0200\r\n"
    b"From: tel:+33612345678\r\n"
    b"To: sip:Conference-Factory@example.com\r\n"
    b"Subject: Weekend plans\r\n"
    b"Message-ID: <group-chat-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: message/cpim\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: 5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d\r\n"
    b"Contribution-ID: 5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d\r\n"
    b"IMDN-Message-ID: GrpMsg0001\r\n"
    b"Message-Direction: received\r\n"
    b"\r\n"
    b"From: <tel:+33612345678>\r\n"
    b"To: <sip:anonymous@anonymous.invalid>\r\n"
    b"NS: imdn <urn:ietf:params:imdn>\r\n"
    b"imdn.Message-ID: GrpMsg0001\r\n"
    b"DateTime: 2015-09-29T09:12:00Z\r\n"
    b"imdn.Disposition-Notification: positive-delivery, display\r\n"
    b"\r\n"
    b"Content-type: text/plain;charset=utf-8\r\n"
    b"Content-length: 18\r\n"
    b"\r\n"
    b"See you on Sunday!\r\n"
)

# The Orange server's form (§3.3): one Application/X-CPM-Session body, not multipart.
GROUP_SESSION_INFO = (
    b"Date: Tue, 29 Sep 2015 11:11:00 +0200\r\n"
    b"From: tel:+33612345678\r\n"
    b"To: sip:Conference-Factory@example.com\r\n"
    b"Subject: Weekend plans\r\n"
    b"Message-ID: <session-info-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: Application/X-CPM-Session\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: 5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d\r\n"
    b"Contribution-ID: 5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d\r\n"
    b"InReplyTo-Contribution-ID: 11111111-2222-3333-4444-555555555555\r\n"
    b"IMDN-Message-ID: Session0001\r\n"
    b"Message-Direction: sent\r\n"
    b"\r\n"
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    b"<session><session-type>Group</session-type><sdp>v=0\r\n"
    b"o=- 3652683911 3652683911 IN IP4 192.0.2.1\r\n"
    b"m=message 9 TCP/MSRP *\r\n"
    b"a=accept-types:message/cpim\r\n"
    b"</sdp><invited-participants>tel:+33640332859;tel:+33687654321</invited-participants></session>\r\n"
)

GROUP_STATE = (
    b"Date: Tue, 29 Sep 2015 11:13:00 +0200\r\n"
    b"From: sip:anonymous@anonymous.invalid\r\n"
    b"To: tel:+33640332859\r\n"
    b"Subject: Weekend plans\r\n"
    b"Message-ID: <group-state-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: application/group-state-object+xml\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: 5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d\r\n"
    b"Contribution-ID: 5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d\r\n"
    b"IMDN-Message-ID: GroupState0001\r\n"
    b"Message-Direction: received\r\n"
    b"\r\n"
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    b"<groupstate timestamp=\"2015-09-29T09:13:00Z\" lastfocussessionid=\"sip:conf-42@example.com\" "
    b"group-type=\"Closed\">\r\n"
    b"<participant name=\"Alice\" comm-addr=\"tel:+33612345678\"/>\r\n"
    b"<participant name=\"\" comm-addr=\"tel:+33640332859\"/>\r\n"
    b"</groupstate>\r\n"
)

_FT_XML = (
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    b"<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">\r\n"
    b"<file-info type=\"thumbnail\"><file-size>1024</file-size><content-type>image/jpeg</content-type>"
    b"<data url=\"https://ft.example.com/t/abc\" until=\"2015-10-06T09:14:00Z\"/></file-info>\r\n"
    b"<file-info type=\"file\"><file-size>1572864</file-size><file-name>beach.jpg</file-name>"
    b"<content-type>image/jpeg</content-type>"
    b"<data url=\"https://ft.example.com/f/abc\" until=\"2015-10-06T09:14:00Z\"/></file-info>\r\n"
    b"</file>\r\n"
)

FT_HTTP = (
    b"Date: Tue, 29 Sep 2015 11:14:00 +0200\r\n"
    b"From: tel:+33642575779\r\n"
    b"To: tel:+33640332859\r\n"
    b"Message-ID: <ft-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: message/cpim\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: 0c1e2b6e-5f4a-4c59-9b2d-1f1d2c3b4a5e\r\n"
    b"Contribution-ID: 7f3e2d1c-0b9a-4877-a665-544332211000\r\n"
    b"IMDN-Message-ID: FtMsg0001\r\n"
    b"Message-Direction: sent\r\n"
    b"\r\n"
    b"From: <sip:anonymous@anonymous.invalid>\r\n"
    b"To: <sip:anonymous@anonymous.invalid>\r\n"
    b"NS: imdn <urn:ietf:params:imdn>\r\n"
    b"imdn.Message-ID: FtMsg0001\r\n"
    b"DateTime: 2015-09-29T09:14:00Z\r\n"
    b"imdn.Disposition-Notification: positive-delivery, display\r\n"
    b"\r\n"
    b"Content-type: application/vnd.gsma.rcs-ft-http+xml\r\n"
    b"Content-length: %d\r\n"
    b"\r\n" % len(_FT_XML) + _FT_XML
)

# A JPEG-like body: SOI, a JFIF APP0 segment, NULs, every other octet value, EOI.
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + bytes(range(256)) + b"\x00\x00\r\n\n\r\x00" + b"\xff\xd9")

# OMA file transfer history object (§3.4), its media part in binary.
OMA_FT_HISTORY = (
    b"From: John Doe <jdoe@machine.example>\r\n"
    b"To: Mary Smith <mary@example.net>\r\n"
    b"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
    b"Message-ID: <ft-history-1@machine.example>\r\n"
    b"Conversation-ID: f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n"
    b"Contribution-ID: abcdef-0123-4567-89ab-cdef01234567\r\n"
    b"InReplyTo-Contribution-ID: 01234567-89ab-cdef-0123-456789abcdef\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-type: multipart/related;boundary=cpm; type=\"Application/X-CPM-File-Transfer\"\r\n"
    b"\r\n"
    b"--cpm\r\n"
    b"Content-Type: Application/X-CPM-File-Transfer\r\n"
    b"\r\n"
    b"<file-transfer-type>1-1</file-transfer-type>"
    b"<file-object><cid>cid:<1234@example.com></cid><sdp>\r\n"
    b"i=This is my latest picture\r\n"
    b"a=sendonly\r\n"
    b"a=file-selector:name:\"My picture.jpg\" type:image/jpeg size:%d\r\n"
    b"a=file-disposition:render\r\n"
    b"a=file-date:creation:\"Mon, 15 May 2006 15:01:31 +0300\"\r\n"
    b"</sdp></file-object>\r\n"
    b"--cpm\r\n"
    b"Content-Type: image/jpeg\r\n"
    b"Content-Transfer-Encoding: binary\r\n"
    b"Content-ID: <1234@example.com>\r\n"
    b"\r\n" % len(JPEG) + JPEG + b"\r\n"
    b"--cpm--\r\n"
)

IMDN = (
    b"Date: Tue, 29 Sep 2015 11:15:00 +0200\r\n"
    b"From: tel:+33640332859\r\n"
    b"To: tel:+33642575779\r\n"
    b"Message-ID: <imdn-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: message/cpim\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Conversation-ID: 0c1e2b6e-5f4a-4c59-9b2d-1f1d2c3b4a5e\r\n"
    b"Contribution-ID: 0c1e2b6e-5f4a-4c59-9b2d-1f1d2c3b4a5e\r\n"
    b"IMDN-Message-ID: Imdn0001\r\n"
    b"Message-Direction: received\r\n"
    b"\r\n"
    b"From: <sip:anonymous@anonymous.invalid>\r\n"
    b"To: <sip:anonymous@anonymous.invalid>\r\n"
    b"NS: imdn <urn:ietf:params:imdn>\r\n"
    b"imdn.Message-ID: Imdn0001\r\n"
    b"DateTime: 2015-09-29T09:15:00Z\r\n"
    b"\r\n"
    b"Content-type: message/imdn+xml\r\n"
    b"Content-Disposition: notification\r\n"
    b"\r\n"
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    b"<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>Msg0001</message-id>"
    b"<datetime>2015-09-29T09:15:00Z</datetime>"
    b"<display-notification><status><displayed/></status></display-notification></imdn>\r\n"
)

# An older SMS payload (§3.6): no MIME-Version, Message-ID or CTE; bare E.164;
# the Correlator RFC 2047-encoded because the text is not ASCII.
SMS = (
    b"Date: Tue, 29 Sep 2015 11:16:00 +0200\r\n"
    b"From: +33642575779\r\n"
    b"To: +33640332859\r\n"
    b"Message-Context: pager-message\r\n"
    b"Message-Correlator: =?utf-8?b?w4AgZGVtYWluIMOgIDEwaA==?=\r\n"
    b"Message-Direction: sent\r\n"
    b"Content-Type: message/cpim\r\n"
    b"\r\n"
    b"From: <tel:+33642575779>\r\n"
    b"To: <tel:+33640332859>\r\n"
    b"DateTime: 2015-09-29T09:16:00Z\r\n"
    b"\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"\xc3\x80 demain \xc3\xa0 10h\r\n"
)
SMS_CORRELATOR = "\u00c0 demain \u00e0 10h"

MMS = (
    b"Date: Tue, 29 Sep 2015 11:17:00 +0200\r\n"
    b"From: +33640332859\r\n"
    b"To: +33642575779\r\n"
    b"Subject: Photos\r\n"
    b"Message-Context: multimedia-message\r\n"
    b"Message-Correlator: MMS-0a1b2c3d4e5f\r\n"
    b"Message-Direction: received\r\n"
    b"Content-Type: message/cpim\r\n"
    b"\r\n"
    b"From: <tel:+33640332859>\r\n"
    b"To: <tel:+33642575779>\r\n"
    b"DateTime: 2015-09-29T09:17:00Z\r\n"
    b"\r\n"
    b"Content-Type: multipart/related; boundary=\"mms-part\"\r\n"
    b"\r\n"
    b"--mms-part\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-ID: <text0>\r\n"
    b"\r\n"
    b"Look at this view\r\n"
    b"--mms-part\r\n"
    b"Content-Type: image/jpeg; name=\"view.jpg\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-ID: <image0>\r\n"
    b"\r\n"
    b"/9j/4AAQSkZJRgABAQAAAQABAAD/2Q==\r\n"
    b"--mms-part--\r\n"
)
