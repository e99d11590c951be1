"""NOTIFY (RFC 5465): a device hears of every change as it commits, for the
selected mailbox and for the others it named, without IDLE and without polling."""


import pytest_twisted
from conftest import in_thread
from transcript import Connection, LOGIN, run


def settle(conn: Connection, tag: bytes = b"z") -> list[bytes]:
    """Everything the server pushed before a NOOP's tagged reply."""
    return conn.command(tag, b"NOOP")[:-1]


def read_pushed(conn: Connection, count: int) -> list[bytes]:
    """``count`` unsolicited lines, with no command sent to provoke them."""
    return [conn.read_line() for _ in range(count)]


@pytest_twisted.ensureDeferred
async def test_rfc5465_other_mailboxes_get_status_and_list(server):
    def scenario():
        phone = run(server.port, LOGIN + """
            C: a1 CREATE Default/tel:+331
            S: a1 OK ...
            C: a2 CREATE Archive
            S: a2 OK ...
            C: n1 NOTIFY SET STATUS (subtree Default (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))
            S: * STATUS Default (MESSAGES 0 UIDNEXT 1 UNSEEN 0)
            S: * STATUS Default/tel:+331 (MESSAGES 0 UIDNEXT 1 UNSEEN 0)
            S: n1 OK NOTIFY completed.
        """)
        network = run(server.port, LOGIN + """
            C: b1 APPEND Default/tel:+331 {1+}
            C: x
            S: b1 OK ...
        """)
        # Pushed with no command in progress on the phone's connection.
        assert read_pushed(phone, 1) == [b"* STATUS Default/tel:+331 (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]
        network.command(b"b2", b"APPEND Archive {1+}\r\ny")  # not covered: nothing pushed
        network.command(b"b3", b"CREATE Default/tel:+332")
        assert read_pushed(phone, 1) == [b'* LIST () "/" Default/tel:+332']
        network.command(b"b4", b"RENAME Default/tel:+332 Default/tel:+333")
        assert read_pushed(phone, 1) == [b'* LIST () "/" Default/tel:+333 ("OLDNAME" ("Default/tel:+332"))']
        network.command(b"b5", b"SUBSCRIBE Default/tel:+333")
        assert read_pushed(phone, 1) == [b'* LIST (\\Subscribed) "/" Default/tel:+333']
        network.command(b"b6", b"DELETE Default/tel:+333")
        assert read_pushed(phone, 1) == [b'* LIST (\\NonExistent) "/" Default/tel:+333']
        network.command(b"b7", b"SELECT Default/tel:+331")
        network.command(b"b8", b"STORE 1 +FLAGS (\\Seen)")
        assert read_pushed(phone, 1) == [b"* STATUS Default/tel:+331 (MESSAGES 1 UIDNEXT 2 UNSEEN 0)"]
        assert settle(phone) == []  # nothing about Archive, nothing twice
        assert phone.command(b"n2", b"NOTIFY NONE") == [b"n2 OK NOTIFY completed."]
        network.command(b"b9", b"APPEND Default/tel:+331 {1+}\r\nz")
        assert settle(phone) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_selected_mailbox_changes_pushed_with_fetch_attributes(server):
    def scenario():
        phone = run(server.port, LOGIN + """
            C: a1 APPEND INBOX {1+}
            C: x
            S: a1 OK ...
            C: s1 SELECT INBOX
            S: * FLAGS ...
            S: * OK ...
            S: * 1 EXISTS
            S: * 1 RECENT
            S: * OK ...
            S: * OK ...
            S: * OK ...
            S: * OK [HIGHESTMODSEQ ...] ...
            S: s1 OK ...
            C: n1 NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))
            S: n1 OK NOTIFY completed.
        """)
        other = run(server.port, LOGIN)
        other.command(b"b1", b"APPEND INBOX {21+}\r\nSubject: ping\r\n\r\nhi\r\n")
        pushed = read_pushed(phone, 3)
        assert pushed[0] == b"* 2 EXISTS"
        assert pushed[1] == b"* 2 RECENT"
        assert pushed[2] == b"* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {17}\r\nSubject: ping\r\n\r\n)"
        other.command(b"b2", b"SELECT INBOX")
        other.command(b"b3", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
        assert read_pushed(phone, 1) == [b"* 1 FETCH (FLAGS (\\Deleted \\Recent))"]
        other.command(b"b4", b"EXPUNGE")
        # "selected" (not selected-delayed): the expunge comes at once, between commands.
        assert read_pushed(phone, 2) == [b"* 1 EXPUNGE", b"* 1 RECENT"]
        assert settle(phone) == []

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_notify_errors(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 NOTIFY SET (personal (MessageNew))
            S: a1 BAD ...
            C: a2 NOTIFY SET (personal (FlagChange))
            S: a2 BAD ...
            C: a3 NOTIFY SET (personal (AnnotationChange))
            S: a3 BAD ...
            C: a4 NOTIFY SET (personal (MessageNew (UID) MessageExpunge))
            S: a4 BAD ...
            C: a5 NOTIFY SET (selected (MailboxName))
            S: a5 BAD ...
            C: a6 NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))
            S: a6 BAD ...
            C: a7 NOTIFY FROB
            S: a7 BAD ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc5465_5_9_metadata_and_acl_changes_are_pushed(server):
    """MailboxMetadataChange and ServerMetadataChange name the entries that
    changed (RFC 5464 §4.4.2 unsolicited form); another user's /private
    entries are never told. An ACL change is a MailboxName event for the
    owner (RFC 5465 §5.4): the folder as the user now sees it."""
    def scenario():
        phone = run(server.port, LOGIN + """
            C: a1 CREATE Default/tel:+331
            S: a1 OK ...
            C: a2 SETACL Default/tel:+331 user2 lrw
            S: a2 OK ...
            C: n1 NOTIFY SET (personal (MailboxName MailboxMetadataChange ServerMetadataChange))
            S: n1 OK NOTIFY completed.
        """)
        tablet = run(server.port, LOGIN + """
            C: b1 SETMETADATA Default/tel:+331 (/shared/comment "muted" /private/vendor/cpm/x "1")
            S: b1 OK ...
        """)
        # One response per owner of the entries: /shared, then user1's /private.
        assert read_pushed(phone, 2) == [b"* METADATA Default/tel:+331 /shared/comment",
                                         b"* METADATA Default/tel:+331 /private/vendor/cpm/x"]
        tablet.command(b"b2", b'SETMETADATA "" (/private/vendor/cpm/theme "dark")')
        assert read_pushed(phone, 1) == [b'* METADATA "" /private/vendor/cpm/theme']
        friend = run(server.port, LOGIN.replace("user1", "user2") + """
            C: c1 SETMETADATA "Other Users/user1/Default/tel:+331" (/private/comment "mine")
            S: c1 OK ...
            C: c2 SETMETADATA "Other Users/user1/Default/tel:+331" (/shared/comment NIL)
            S: c2 OK ...
        """)
        assert read_pushed(phone, 1) == [b"* METADATA Default/tel:+331 /shared/comment"]
        tablet.command(b"b3", b"SETACL Default/tel:+331 user1 -l")
        assert read_pushed(phone, 1) == [b'* LIST (\\NonExistent) "/" Default/tel:+331']
        tablet.command(b"b4", b"DELETEACL Default/tel:+331 user1")
        assert read_pushed(phone, 1) == [b'* LIST () "/" Default/tel:+331']
        assert settle(phone) == []
        friend.close()

    await in_thread(scenario)
