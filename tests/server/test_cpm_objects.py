"""Realistic CPM objects end to end (issue 8; shared/cpm-formats.md §2, §3).

One object of every kind as the message-store clients and servers write it
(chat, group chat, session info, group state, FT over HTTP, OMA FT history
with a binary JPEG part, IMDN, SMS, MMS, e-mail) goes through APPEND and
comes back byte for byte from ``BODY.PEEK[]``, with its kind as the
``/vendor/cpm/kind`` annotation, found by ``UID SEARCH HEADER`` on each CPM
identity field it carries, and with the preview a messaging app would show.
Also: the system folders (``[cpm] system_folders``), the folder names the
clients use, malformed dates and quoted header values.
"""

from __future__ import annotations

import base64
import re

import pytest
import pytest_twisted
from conftest import in_thread
from cpm_samples import (CHAT, FT_HTTP, GROUP_CHAT, GROUP_SESSION_INFO, GROUP_STATE, IMDN, JPEG, MMS,
                         OMA_FT_HISTORY, SESSION_HISTORY, SMS, SMS_CORRELATOR, email)
from transcript import LOGIN, Connection, run

from cpmstore.config import CpmConfig

ONE_TO_ONE = "Default/tel:+33640332859"
GROUP = "Default/5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d/5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d"
OMA_CONVERSATION = "Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
EMAIL = email("Lunch", "Shall we meet at noon?\r\n")

CONVERSATION = "0c1e2b6e-5f4a-4c59-9b2d-1f1d2c3b4a5e"
GROUP_ID = "5a8b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d"

# (name, folder, object as appended, kind, preview, {field: value} to search by).
OBJECTS = [
    ("chat", ONE_TO_ONE, CHAT, "chat", "Bonjour à toi",
     {"Conversation-ID": CONVERSATION, "Contribution-ID": CONVERSATION,
      "IMDN-Message-ID": "Msg0001", "Message-Direction": "received"}),
    ("group-chat", GROUP, GROUP_CHAT, "chat", "See you on Sunday!",
     {"Conversation-ID": GROUP_ID, "Contribution-ID": GROUP_ID,
      "IMDN-Message-ID": "GrpMsg0001", "Message-Direction": "received"}),
    ("group-session-info", GROUP, GROUP_SESSION_INFO, "session-info", "",
     {"Conversation-ID": GROUP_ID, "Contribution-ID": GROUP_ID,
      "InReplyTo-Contribution-ID": "11111111-2222-3333-4444-555555555555",
      "IMDN-Message-ID": "Session0001", "Message-Direction": "sent"}),
    ("oma-session-history", OMA_CONVERSATION, SESSION_HISTORY, "session-info", "Hello team",
     {"Conversation-ID": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "Contribution-ID": "abcdef-0123"}),
    ("group-state", GROUP, GROUP_STATE, "group-state", "",
     {"Conversation-ID": GROUP_ID, "Contribution-ID": GROUP_ID,
      "IMDN-Message-ID": "GroupState0001", "Message-Direction": "received"}),
    ("ft-http", ONE_TO_ONE, FT_HTTP, "file-transfer", "beach.jpg (1.5 MB)",
     {"Conversation-ID": CONVERSATION, "Contribution-ID": "7f3e2d1c-0b9a-4877-a665-544332211000",
      "IMDN-Message-ID": "FtMsg0001", "Message-Direction": "sent"}),
    ("oma-ft-history", OMA_CONVERSATION, OMA_FT_HISTORY, "file-transfer", f"My picture.jpg ({len(JPEG)} B)",
     {"Conversation-ID": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
      "Contribution-ID": "abcdef-0123-4567-89ab-cdef01234567",
      "InReplyTo-Contribution-ID": "01234567-89ab-cdef-0123-456789abcdef"}),
    ("imdn", ONE_TO_ONE, IMDN, "imdn", "displayed",
     {"Conversation-ID": CONVERSATION, "Contribution-ID": CONVERSATION,
      "IMDN-Message-ID": "Imdn0001", "Message-Direction": "received"}),
    ("sms", ONE_TO_ONE, SMS, "sms", "À demain à 10h",
     {"Message-Context": "pager-message", "Message-Correlator": SMS_CORRELATOR, "Message-Direction": "sent"}),
    ("mms", ONE_TO_ONE, MMS, "mms", "Look at this view",
     {"Message-Context": "multimedia-message", "Message-Correlator": "MMS-0a1b2c3d4e5f",
      "Message-Direction": "received"}),
    ("email", "RCSMessageStore/Mail", EMAIL, "email", "Shall we meet at noon?", {}),
    # The Orange client's integration tests APPEND with bare LF line ends.
    ("sms-bare-lf", ONE_TO_ONE, SMS.replace(b"\r\n", b"\n"), "sms", "À demain à 10h",
     {"Message-Correlator": SMS_CORRELATOR}),
]


def _login(port: int) -> Connection:
    conn = Connection(port)
    conn.read_line()
    assert conn.command(b"l", b"LOGIN user1 pass")[-1].startswith(b"l OK")
    return conn


def _ok(conn: Connection, line: bytes) -> list[bytes]:
    lines = conn.command(b"t", line)
    assert lines[-1].startswith(b"t OK"), lines
    return lines


def _append(conn: Connection, folder: str, message: bytes, binary: bool = False) -> None:
    """APPEND with a synchronizing literal, as the Orange client sends it
    (``~{n}``, RFC 3516 §4.4, for an object with binary parts)."""
    conn.send(b"a APPEND \"%s\" %s{%d}\r\n" % (folder.encode(), b"~" if binary else b"", len(message)))
    assert conn.read_line().startswith(b"+")
    conn.send(message + b"\r\n")
    assert conn.until(b"a")[-1].startswith(b"a OK [APPENDUID ")


def _literal_item(line: bytes, item: bytes) -> bytes:
    match = re.search(re.escape(item) + rb" ~?\{(\d+)\}\r\n", line)
    assert match, line
    start = match.end()
    return line[start:start + int(match.group(1))]


def _search(conn: Connection, criteria: bytes) -> list[int]:
    lines = _ok(conn, b"UID SEARCH " + criteria)
    found = [line for line in lines if line.startswith(b"* SEARCH")]
    assert len(found) == 1, lines
    return [int(n) for n in found[0].split()[2:]]


def _search_header(conn: Connection, field: str, value: str) -> list[int]:
    encoded = value.encode("utf-8")
    if encoded.isascii():
        return _search(conn, b'HEADER %s "%s"' % (field.encode(), encoded))
    conn.send(b"t UID SEARCH CHARSET UTF-8 HEADER %s {%d}\r\n" % (field.encode(), len(encoded)))
    assert conn.read_line().startswith(b"+")
    conn.send(encoded + b"\r\n")
    lines = conn.until(b"t")
    assert lines[-1].startswith(b"t OK"), lines
    return [int(n) for line in lines if line.startswith(b"* SEARCH") for n in line.split()[2:]]


@pytest.mark.parametrize("name, folder, message, kind, preview, fields", OBJECTS, ids=[o[0] for o in OBJECTS])
@pytest_twisted.ensureDeferred
async def test_cpm_object_stored_classified_searched_previewed(server, name, folder, message, kind, preview, fields):
    def scenario() -> None:
        conn = _login(server.port)
        _ok(conn, b'CREATE "%s"' % folder.encode())
        # A plain e-mail first, so that every search has something not to find.
        _append(conn, folder, email("Unrelated", "nothing to see\r\n"))
        _append(conn, folder, message, binary=b"\x00" in message)
        _ok(conn, b'SELECT "%s"' % folder.encode())

        fetched = _literal_item(_ok(conn, b"UID FETCH 2 (BODY.PEEK[])")[0], b"BODY[]")
        if b"\x00" in message:
            # RFC 3516 §4.4: the binary part is stored base64, since NUL cannot
            # go in BODY[]'s literal; BINARY[] gives the sent octets back.
            assert b"\x00" not in fetched
            assert _literal_item(_ok(conn, b"UID FETCH 2 (BINARY.PEEK[])")[0], b"BINARY[]") == message
        else:
            assert fetched == (message if b"\r\n" in message else message.replace(b"\n", b"\r\n"))

        annotation = _ok(conn, b"UID FETCH 2 (ANNOTATION (/vendor/cpm/kind value.shared))")[0]
        assert b'/vendor/cpm/kind (value.shared "%s")' % kind.encode() in annotation

        for field, value in fields.items():
            assert _search_header(conn, field, value) == [2], field
            assert _search_header(conn, field, value.upper()) == [2], field  # RFC 3501 §6.4.4: case-insensitive
        assert _search(conn, b'HEADER IMDN-Message-ID "NoSuchId"') == []

        line = _ok(conn, b"UID FETCH 2 (PREVIEW)")[0]
        quoted = re.search(rb'PREVIEW "([^"]*)"', line)
        got = quoted.group(1) if quoted else _literal_item(line, b"PREVIEW")
        assert got.decode("utf-8") == preview
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3516_oma_ft_binary_part_comes_back_whole(server):
    """The JPEG part (NULs, bare CR and LF) comes back whole, decoded or not."""
    def scenario() -> None:
        conn = _login(server.port)
        _ok(conn, b'CREATE "%s"' % OMA_CONVERSATION.encode())
        _append(conn, OMA_CONVERSATION, OMA_FT_HISTORY, binary=True)
        _ok(conn, b'SELECT "%s"' % OMA_CONVERSATION.encode())
        assert _literal_item(_ok(conn, b"FETCH 1 (BINARY.PEEK[2])")[0], b"BINARY[2]") == JPEG
        assert b"BINARY.SIZE[2] %d" % len(JPEG) in _ok(conn, b"FETCH 1 (BINARY.SIZE[2])")[0]
        stored = _literal_item(_ok(conn, b"FETCH 1 (BODY.PEEK[])")[0], b"BODY[]")
        assert b"RFC822.SIZE %d" % len(stored) in _ok(conn, b"FETCH 1 (RFC822.SIZE)")[0]
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_cpm_2_1_system_folders_exist_at_first_login(start):
    server = await start(cpm=CpmConfig())
    await in_thread(run, server.port, LOGIN + """
        C: a1 LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" Default
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: * LIST (\\HasNoChildren) "/" RCSMessageStore
        S: a1 OK ...
    """)


@pytest_twisted.ensureDeferred
async def test_cpm_2_1_deleted_system_folder_comes_back_at_next_login(start):
    """As Dovecot's ``auto = create``: the network relies on the roots."""
    server = await start(cpm=CpmConfig())
    await in_thread(run, server.port, LOGIN + """
        C: a1 DELETE RCSMessageStore
        S: a1 OK ...
        C: a2 CREATE RCSMessageStore/Keep
        S: a2 OK ...
        C: a3 DELETE Default
        S: a3 OK ...
        C: a4 LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: * LIST (\\HasChildren) "/" RCSMessageStore
        S: * LIST (\\HasNoChildren) "/" RCSMessageStore/Keep
        S: a4 OK ...
    """)
    await in_thread(run, server.port, LOGIN + """
        C: a1 LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" Default
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: * LIST (\\HasChildren) "/" RCSMessageStore
        S: * LIST (\\HasNoChildren) "/" RCSMessageStore/Keep
        S: a1 OK ...
    """)


@pytest_twisted.ensureDeferred
async def test_cpm_system_folders_are_configurable(start):
    server = await start(cpm=CpmConfig(system_folders=("cpmdefault", "Default/Archive", "inbox")))
    await in_thread(run, server.port, LOGIN + """
        C: a1 LIST "" "*"
        S: * LIST (\\HasChildren) "/" Default
        S: * LIST (\\HasNoChildren) "/" Default/Archive
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: * LIST (\\HasNoChildren) "/" cpmdefault
        S: a1 OK ...
    """)


@pytest_twisted.ensureDeferred
async def test_cpm_no_system_folders_but_inbox(start):
    server = await start(cpm=CpmConfig(system_folders=()))
    await in_thread(run, server.port, LOGIN + """
        C: a1 LIST "" "*"
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: a1 OK ...
    """)


@pytest_twisted.ensureDeferred
async def test_cpm_2_2_folder_names_the_clients_use(server):
    """``tel:+E164`` per contact, ``<conversation>/<contribution>`` per group
    session, SIP URIs with ``@ ; =``: atoms to RFC 3501 §9, no quoting needed."""
    await in_thread(run, server.port, LOGIN + """
        C: a1 CREATE Default/tel:+33612345678
        S: a1 OK ...
        C: a2 CREATE Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6/abcdef-0123-4567-89ab-cdef01234567
        S: a2 OK ...
        C: a3 CREATE Default/sip:alice@example.com;user=phone
        S: a3 OK ...
        C: a7 LIST "" "Default/*"
        S: * LIST (\\HasChildren) "/" Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6
        S: * LIST (\\HasNoChildren) "/" Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6/abcdef-0123-4567-89ab-cdef01234567
        S: * LIST (\\HasNoChildren) "/" Default/sip:alice@example.com;user=phone
        S: * LIST (\\HasNoChildren) "/" Default/tel:+33612345678
        S: a7 OK ...
        C: a8 LIST "" "Default/%"
        S: * LIST (\\HasChildren) "/" Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6
        S: * LIST (\\HasNoChildren) "/" Default/sip:alice@example.com;user=phone
        S: * LIST (\\HasNoChildren) "/" Default/tel:+33612345678
        S: a8 OK ...
    """)

    def select() -> None:
        conn = _login(server.port)
        for command in (b"SELECT Default/tel:+33612345678", b'SELECT "Default/sip:alice@example.com;user=phone"',
                        b"EXAMINE Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6/abcdef-0123-4567-89ab-cdef01234567"):
            assert b"* 0 EXISTS" in _ok(conn, command)
        _append(conn, "Default/sip:alice@example.com;user=phone", CHAT)
        assert b"MESSAGES 1" in _ok(conn, b'STATUS Default/sip:alice@example.com;user=phone (MESSAGES)')[0]
        conn.close()

    await in_thread(select)


@pytest.mark.parametrize("date", [
    b"mar., 29 09 2015 11:09:20.826 +0200",  # Locale.getDefault() on a French phone (§3.1)
    b"yesterday",
    b"Tue, 31 Feb 2015 25:61:99 +9999",
    b"",
])
@pytest_twisted.ensureDeferred
async def test_cpm_3_1_malformed_date_never_stops_a_store(server, date):
    message = CHAT.replace(b"Date: Tue, 29 Sep 2015 11:09:20 +0200", b"Date: " + date)

    def scenario() -> None:
        conn = _login(server.port)
        _append(conn, "INBOX", message)
        _ok(conn, b"SELECT INBOX")
        assert _literal_item(_ok(conn, b"FETCH 1 (BODY.PEEK[])")[0], b"BODY[]") == message
        _ok(conn, b"FETCH 1 (ENVELOPE INTERNALDATE BODYSTRUCTURE)")
        assert _search(conn, b"SENTBEFORE 1-Jan-2100") in ([], [1])
        assert _search(conn, b"HEADER IMDN-Message-ID Msg0001") == [1]
        assert _ok(conn, b"UID SORT (DATE) UTF-8 ALL")[0].startswith(b"* SORT 1")
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_cpm_3_1_quoted_message_context(server):
    """``Message-Context: "pager-message"`` (FetchHeaderCmdHandlerTest): an
    SMS all the same, found by the bare value."""
    message = SMS.replace(b"Message-Context: pager-message", b'Message-Context: "pager-message"')

    def scenario() -> None:
        conn = _login(server.port)
        _append(conn, "INBOX", message)
        _append(conn, "INBOX", CHAT)
        _ok(conn, b"SELECT INBOX")
        assert b'(value.shared "sms")' in _ok(conn, b"FETCH 1 (ANNOTATION (/vendor/cpm/kind value.shared))")[0]
        assert _search(conn, b"HEADER Message-Context pager-message") == [1]
        assert _search(conn, b'HEADER Message-Context "PAGER-MESSAGE"') == [1]
        assert _literal_item(_ok(conn, b"FETCH 1 (BODY.PEEK[])")[0], b"BODY[]") == message
        conn.close()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc4616_2_proxy_login_creates_the_users_system_folders(start, make_users_file):
    """The Participating Function may be the first to open a user's store:
    its deposit into ``Default/...`` finds the root there."""
    server = await start(users_file=make_users_file({"alice": "alice-pw", "cpm-pf": "pf-pw"}),
                         proxy_users=["cpm-pf"], cpm=CpmConfig())
    plain = base64.b64encode(b"alice\0cpm-pf\0pf-pw").decode()
    await in_thread(run, server.port, f"""
        S: * OK ...
        C: a1 AUTHENTICATE PLAIN {plain}
        S: a1 OK [CAPABILITY ...] Logged in
        C: a2 LIST "" "%"
        S: * LIST (\\HasNoChildren) "/" Default
        S: * LIST (\\HasNoChildren) "/" INBOX
        S: * LIST (\\HasNoChildren) "/" RCSMessageStore
        S: a2 OK ...
    """)
