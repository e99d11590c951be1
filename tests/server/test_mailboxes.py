"""Folder commands: RFC 3501 §6.3.3-6.3.10, RFC 3348 CHILDREN, RFC 5530 codes, DESIGN §4."""

import os

import pytest_twisted
from conftest import in_thread
from imapclient import IMAPClient
from transcript import LOGIN, run


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_3_create_list_lsub_status(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Default/tel:+33612345678
            S: a1 OK Create completed.
            C: a2 CREATE Default
            S: a2 NO [ALREADYEXISTS] ...
            C: a3 CREATE INBOX
            S: a3 NO [ALREADYEXISTS] ...
            C: a4 LIST "" *
            S: * LIST (\\HasChildren) "/" Default
            S: * LIST (\\HasNoChildren) "/" Default/tel:+33612345678
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: a4 OK List completed.
            C: a5 LIST "" %
            S: * LIST (\\HasChildren) "/" Default
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: a5 OK List completed.
            C: a6 LIST "Default/" %
            S: * LIST (\\HasNoChildren) "/" Default/tel:+33612345678
            S: a6 OK List completed.
            C: a7 LIST "" ""
            S: * LIST (\\Noselect) "/" ""
            S: a7 OK List completed.
            C: a8 SUBSCRIBE Default
            S: a8 OK Subscribe completed.
            C: a9 LSUB "" *
            S: * LSUB () "/" Default
            S: a9 OK Lsub completed.
            C: b1 UNSUBSCRIBE Default
            S: b1 OK Unsubscribe completed.
            C: b2 LSUB "" *
            S: b2 OK Lsub completed.
            C: b3 STATUS Default/tel:+33612345678 (MESSAGES UIDNEXT UNSEEN RECENT)
            S: * STATUS Default/tel:+33612345678 (MESSAGES 0 UIDNEXT 1 UNSEEN 0 RECENT 0)
            S: b3 OK Status completed.
            C: b4 STATUS nosuch (MESSAGES)
            S: b4 NO [NONEXISTENT] ...
            C: b5 SELECT nosuch
            S: b5 NO [NONEXISTENT] ...
            C: b6 list "" inbox
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: b6 OK List completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_5_rename_moves_subtree_keeping_uids(server):
    def scenario():
        c = IMAPClient("127.0.0.1", server.port, ssl=False)
        c.login("user1", "pass")
        c.create_folder("conv/session")
        c.append("conv/session", b"Subject: a\r\n\r\nx\r\n")
        c.append("conv/session", b"Subject: b\r\n\r\ny\r\n")
        before = c.folder_status("conv/session", ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
        c.select_folder("conv/session")
        uids = c.search("ALL")
        c.unselect_folder()
        c.rename_folder("conv", "archive/conv")
        names = sorted(f[2] for f in c.list_folders())
        assert "archive/conv/session" in names and "conv" not in names and "conv/session" not in names
        after = c.folder_status("archive/conv/session", ["UIDVALIDITY", "UIDNEXT", "MESSAGES"])
        assert after == before
        c.select_folder("archive/conv/session")
        assert c.search("ALL") == uids
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_5_rename_inbox_moves_its_messages(server):
    def scenario():
        c = IMAPClient("127.0.0.1", server.port, ssl=False)
        c.login("user1", "pass")
        c.append("INBOX", b"Subject: a\r\n\r\nx\r\n")
        c.rename_folder("INBOX", "old-inbox")
        assert c.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 0
        assert c.folder_status("old-inbox", ["MESSAGES"])[b"MESSAGES"] == 1
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_4_delete(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE parent/child
            S: a1 OK ...
            C: a2 APPEND parent {1+}
            C: x
            S: a2 OK ...
            C: a3 DELETE parent
            S: a3 OK Delete completed.
            C: a4 LIST "" *
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: * LIST (\\Noselect \\HasChildren) "/" parent
            S: * LIST (\\HasNoChildren) "/" parent/child
            S: a4 OK List completed.
            C: a5 SELECT parent
            S: a5 NO [NONEXISTENT] ...
            C: a6 DELETE parent
            S: a6 NO [NONEXISTENT] ...
            C: a7 CREATE parent
            S: a7 OK ...
            C: a8 STATUS parent (MESSAGES)
            S: * STATUS parent (MESSAGES 0)
            S: a8 OK ...
            C: b1 DELETE parent/child
            S: b1 OK Delete completed.
            C: b2 DELETE parent
            S: b2 OK Delete completed.
            C: b3 DELETE INBOX
            S: b3 NO ...
            C: b4 RENAME nosuch other
            S: b4 NO [NONEXISTENT] ...
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_1_recreated_folder_gets_new_uidvalidity(server):
    def scenario():
        c = IMAPClient("127.0.0.1", server.port, ssl=False)
        c.login("user1", "pass")
        c.create_folder("again")
        first = c.folder_status("again", ["UIDVALIDITY"])[b"UIDVALIDITY"]
        c.delete_folder("again")
        c.create_folder("again")
        assert c.folder_status("again", ["UIDVALIDITY"])[b"UIDVALIDITY"] != first
        c.logout()

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_design_4_folder_names_never_touch_the_filesystem(server):
    hostile = ["../x", "a/../../b", "..", "x\\..\\y", "~root", ".", "a/./b", "/etc/passwd", "../../../tmp/evil"]
    outside = server.data_dir.parent
    before = set(os.listdir(outside))

    def scenario():
        c = IMAPClient("127.0.0.1", server.port, ssl=False)
        c.login("user1", "pass")
        accepted = []
        for name in hostile:
            try:
                c.create_folder(name)
                accepted.append(name)
            except c.Error:
                pass  # refusing a name is fine; escaping is not
        listed = {f[2] for f in c.list_folders()}
        c.logout()
        return accepted, listed

    accepted, listed = await in_thread(scenario)
    assert set(accepted) <= listed
    assert set(os.listdir(outside)) == before
    user_dirs = list((server.data_dir / "users").iterdir())
    assert len(user_dirs) == 1
    for mailbox_dir in (user_dirs[0] / "mail").iterdir():
        assert mailbox_dir.name.isdigit(), mailbox_dir
    for root, _dirs, _files in os.walk(server.data_dir):
        assert os.path.realpath(root).startswith(os.path.realpath(server.data_dir))


@pytest_twisted.ensureDeferred
async def test_design_4_nul_and_line_breaks_in_names_are_refused(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE {3+}
            C: a\x00b
            S: a1 ...
            C: a2 LIST "" *
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: a2 OK List completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_6_3_8_and_6_3_9_list_root_and_lsub_parents(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE news/comp/mail
            S: a1 OK ...
            C: a2 LIST "news/comp/mail" ""
            S: * LIST (\\Noselect) "/" news/
            S: a2 OK List completed.
            C: a3 SUBSCRIBE news/comp/mail
            S: a3 OK ...
            C: a4 LSUB "" "news/%"
            S: * LSUB (\\Noselect) "/" news/comp
            S: a4 OK Lsub completed.
            C: a5 LSUB "" "news/*"
            S: * LSUB () "/" news/comp/mail
            S: a5 OK Lsub completed.
        """)

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc6154_special_use_and_rfc8438_status_size(server):
    def scenario():
        run(server.port, LOGIN + """
            C: a1 CREATE Bin (USE (\\trash))
            S: a1 OK Create completed.
            C: a2 CREATE Sent/2026 (USE (\\Sent \\Archive))
            S: a2 OK Create completed.
            C: a3 CREATE Odd (USE (\\Important))
            S: a3 NO [USEATTR] ...
            C: a4 CREATE Odd2 (FOO (x))
            S: a4 BAD ...
            C: a5 LIST "" "*"
            S: * LIST (\\HasNoChildren \\Trash) "/" Bin
            S: * LIST (\\HasNoChildren) "/" INBOX
            S: * LIST (\\HasChildren) "/" Sent
            S: * LIST (\\HasNoChildren \\Sent \\Archive) "/" Sent/2026
            S: a5 OK List completed.
            C: a6 LIST (SPECIAL-USE) "" "*"
            S: * LIST (\\HasNoChildren \\Trash) "/" Bin
            S: * LIST (\\HasNoChildren \\Sent \\Archive) "/" Sent/2026
            S: a6 OK List completed.
            C: a7 RENAME Bin Trash
            S: a7 OK Rename completed.
            C: a8 LIST "" "Trash" RETURN (SPECIAL-USE)
            S: * LIST (\\HasNoChildren \\Trash) "/" Trash
            S: a8 OK List completed.
            C: a9 APPEND Trash {5+}
            C: hello
            S: a9 OK [APPENDUID ... 1] Append completed.
            C: b1 STATUS Trash (SIZE MESSAGES)
            S: * STATUS Trash (SIZE 5 MESSAGES 1)
            S: b1 OK Status completed.
            C: b2 LIST "" "Tr*" RETURN (STATUS (SIZE))
            S: * LIST (\\HasNoChildren \\Trash) "/" Trash
            S: * STATUS Trash (SIZE 5)
            S: b2 OK List completed.
        """)
    await in_thread(scenario)
