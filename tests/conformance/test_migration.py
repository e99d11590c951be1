"""Moving a user in from the reference Dovecot (issue 11): fill user4 over
IMAP (folders with non-ASCII names, flags, keywords, expunges so that UIDs have
gaps, messages Dovecot still keeps in ``new/``), import its Maildir
(``/opt/dovecot-ref/home/user4/Maildir``, ``LAYOUT=fs``) into a fresh cpmstore
data directory, and compare both servers over IMAP: ``STATUS (MESSAGES
UIDNEXT UIDVALIDITY)`` and ``UID FETCH 1:* (UID FLAGS BODY.PEEK[])`` must be
identical (RFC 3501 §2.3.1.1: same UIDVALIDITY, same UIDs). Then a QRESYNC
client that last synced against Dovecot resumes against cpmstore and is told
exactly what Dovecot would tell it (RFC 7162 §3.2.5), and a change made in
cpmstore afterwards reaches it on the next resume.

Only this run's folders (a unique prefix) and INBOX are imported; the folders
are deleted from Dovecot at the end."""

from __future__ import annotations

import re
import socket

import pytest_twisted
from imapclient import IMAPClient
from twisted.internet import threads

import harness
from cpmstore.imap import mutf7
from cpmstore.store.dovecot_import import import_dovecot_maildir
from cpmstore.store.store import MaildirStore

USER = harness.SECOND_USER  # user4: its Maildir is the one imported
SOURCE = "/opt/dovecot-ref/home/user4/Maildir"


def connect(port: int) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(USER, harness.PASSWORD)
    return client


def message(folder: str, n: int) -> bytes:
    return (f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {folder} {n}\r\n"
            f"Message-ID: <{n}.{len(folder)}@example.org>\r\n\r\nbody {n}\r\n").encode()


def fill(folders: list[str], condstore: bool) -> None:
    """Each folder: 8 messages with flags and keywords, some changed and some
    expunged afterwards (UID 8 too, so UIDNEXT is above the highest UID).
    With ``condstore`` (a syncing client) Dovecot keeps a MODSEQ per message
    from the start; without, only from the first CONDSTORE session on."""
    client = connect(harness.DOVECOT[1])
    if condstore:
        client.enable("CONDSTORE")
    try:
        for index, folder in enumerate(folders):
            client.create_folder(folder)
            client.subscribe_folder(folder)
            for n in range(1, 9):
                flags = [("\\Seen", "\\Answered", "$Forwarded", "Work", "\\Flagged", "\\Draft", "", "$Junk")[n - 1]]
                client.append(folder, message(folder, n), flags=[f for f in flags if f])
            client.select_folder(folder)
            client.add_flags([2, 3], ["\\Seen", "Later"])
            client.remove_flags([1], ["\\Seen"])
            client.add_flags([4, 6, 8], ["\\Deleted"])
            if index % 2 == 0:
                client.uid_expunge([4, 8])  # UID EXPUNGE (RFC 4315) leaves UID 6 \Deleted
            else:
                client.expunge()
            client.unselect_folder()
            # Appended with no session looking afterwards: Dovecot may keep these in new/.
            client.append(folder, message(folder, 9))
            client.append(folder, message(folder, 10), flags=["\\Seen", "Final"])
    finally:
        client.logout()


def snapshot(port: int, folders: list[str]) -> dict:
    client = connect(port)
    try:
        seen = {}
        for folder in folders:
            status = client.folder_status(folder, ["MESSAGES", "UIDNEXT", "UIDVALIDITY"])
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["UID", "FLAGS", "BODY.PEEK[]"]) if uids else {}
            seen[folder] = (
                {key: status[key] for key in (b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY")},
                {uid: (frozenset(data[b"FLAGS"]) - {b"\\Recent"}, data[b"BODY[]"]) for uid, data in fetched.items()},
            )
        return seen
    finally:
        client.logout()


def delete(prefix: str) -> None:
    """Every folder of this run, deepest first: a parent Dovecot made on its
    own (``<prefix>/Sub``) stays behind as ``\\Noselect`` unless deleted too."""
    client = connect(harness.DOVECOT[1])
    try:
        names = [name for _flags, _sep, name in client.list_folders("", prefix)]
        names += [name for _flags, _sep, name in client.list_folders("", prefix + "/*")]
        for folder in sorted(set(names), key=lambda name: name.count("/"), reverse=True):
            client.unsubscribe_folder(folder)
            client.delete_folder(folder)
    finally:
        client.logout()


class RawSession:
    """A plain socket session for what imapclient does not speak (SELECT ... QRESYNC)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")
        self.file.readline()
        self.counter = 0
        self.command(f"LOGIN {USER} {harness.PASSWORD}")
        self.command("ENABLE QRESYNC")

    def command(self, line: str) -> list[bytes]:
        self.counter += 1
        tag = b"m%d" % self.counter
        self.sock.sendall(tag + b" " + line.encode() + b"\r\n")
        lines = []
        while True:
            got = self.file.readline().rstrip(b"\r\n")
            match = re.search(rb"\{(\d+)\}$", got)
            if match:
                got += self.file.read(int(match[1])) + self.file.readline().rstrip(b"\r\n")
            lines.append(got)
            if got.startswith(tag + b" "):
                assert got.startswith(tag + b" OK"), lines
                return lines

    def close(self) -> None:
        self.command("LOGOUT")
        self.sock.close()


Answer = tuple[set[int], dict[int, tuple[frozenset, int]], int, int]


def resume(port: int, folder: str, uid_validity: int, modseq: int) -> Answer:
    """SELECT with QRESYNC: (vanished UIDs, uid -> (flags, modseq) fetched, UIDVALIDITY, HIGHESTMODSEQ)."""
    session = RawSession(port)
    try:
        lines = session.command(f'SELECT "{mutf7.encode(folder).decode()}" (QRESYNC ({uid_validity} {modseq}))')
    finally:
        session.close()
    vanished: set[int] = set()
    fetched = {}
    for line in lines:
        if line.startswith(b"* VANISHED (EARLIER) "):
            for part in line.split()[-1].split(b","):
                low, _, high = part.partition(b":")
                vanished.update(range(int(low), int(high or low) + 1))
        match = re.search(rb"FETCH \(.*UID (\d+)", line)
        if match:
            flags = re.search(rb"FLAGS \(([^)]*)\)", line)[1].split()
            modseq_of = int(re.search(rb"MODSEQ \((\d+)\)", line)[1])
            fetched[int(match[1])] = (frozenset(flags) - {b"\\Recent"}, modseq_of)
    validity = int(next(re.search(rb"UIDVALIDITY (\d+)", l)[1] for l in lines if b"UIDVALIDITY" in l))
    highest = int(next(re.search(rb"HIGHESTMODSEQ (\d+)", l)[1] for l in lines if b"HIGHESTMODSEQ" in l))
    return vanished, fetched, validity, highest


def mark(port: int, folder: str) -> tuple[int, int]:
    """What a syncing client keeps after a sync: (UIDVALIDITY, HIGHESTMODSEQ)."""
    client = connect(port)
    try:
        status = client.folder_status(folder, ["UIDVALIDITY", "HIGHESTMODSEQ"])
        return status[b"UIDVALIDITY"], status[b"HIGHESTMODSEQ"]
    finally:
        client.logout()


def change_after_mark(port: int, folder: str) -> None:
    client = connect(port)
    try:
        client.select_folder(folder)
        client.add_flags([1], ["\\Flagged", "Moved"])
        client.add_flags([3], ["\\Deleted"])
        client.uid_expunge([3])
    finally:
        client.logout()


@pytest_twisted.ensureDeferred
async def test_migration_keeps_uids_flags_bodies_and_qresync_state(dovecot, run_id, cpmstore_port, tmp_path):
    prefix = f"mig{run_id}"
    folders = [prefix, f"{prefix}/Été", f"{prefix}/Sub/ünï 日本"]
    try:
        await threads.deferToThread(fill, folders[:2], True)
        await threads.deferToThread(fill, folders[2:], False)
        phones, dovecot_answers, latest = {}, {}, {}
        for folder in folders[1:]:
            phones[folder] = await threads.deferToThread(mark, harness.DOVECOT[1], folder)
            # The phone goes away; Dovecot sees more changes before the move.
            await threads.deferToThread(change_after_mark, harness.DOVECOT[1], folder)
            dovecot_answers[folder] = await threads.deferToThread(resume, harness.DOVECOT[1], folder, *phones[folder])
            latest[folder] = await threads.deferToThread(mark, harness.DOVECOT[1], folder)
        before = await threads.deferToThread(snapshot, harness.DOVECOT[1], ["INBOX", *folders])

        user_dir = MaildirStore(str(tmp_path / "data")).user_dir(USER)
        summary = await threads.deferToThread(import_dovecot_maildir, user_dir, SOURCE, folders=["INBOX", prefix])
        assert summary.folders == 1 + len(folders) and not summary.fallback_folders

        after = await threads.deferToThread(snapshot, cpmstore_port, folders)
        for folder in folders:
            assert after[folder] == before[folder], folder
            uids = sorted(after[folder][1])
            assert uids[-1] == 10 and 4 not in uids  # the gaps are kept, and UIDs 9 and 10 too
        assert (await threads.deferToThread(mark, cpmstore_port, "INBOX"))[0] == before["INBOX"][0][b"UIDVALIDITY"]
        subscribed = await threads.deferToThread(lambda: connect(cpmstore_port).list_sub_folders())
        assert set(folders) <= {name for _flags, _sep, name in subscribed}

        # RFC 7162 §3.2.5: the phone resumes from its Dovecot state and hears
        # exactly what Dovecot would have told it ...
        for folder in folders[1:]:
            answer = await threads.deferToThread(resume, cpmstore_port, folder, *phones[folder])
            assert answer == dovecot_answers[folder], folder
            assert answer[0] == {3} and 1 in answer[1]
        # ... which, with MODSEQs kept from the start, is only what changed.
        assert set(dovecot_answers[folders[1]][1]) == {1}
        first = folders[1]
        # Up to date with Dovecot: nothing to tell.
        current = await threads.deferToThread(resume, cpmstore_port, first, *latest[first])
        assert current == (set(), {}, latest[first][0], latest[first][1])
        # A change made in cpmstore reaches the phone on its next resume.
        await threads.deferToThread(change_in_cpmstore, cpmstore_port, first)
        answer = await threads.deferToThread(resume, cpmstore_port, first, *latest[first])
        vanished, fetched, _validity, highest = answer
        assert vanished == set() and list(fetched) == [2]
        assert fetched[2][0] >= {b"Resumed"} and fetched[2][1] > latest[first][1] and highest == fetched[2][1]
    finally:
        await threads.deferToThread(delete, prefix)


def change_in_cpmstore(port: int, folder: str) -> None:
    client = connect(port)
    try:
        client.select_folder(folder)
        client.add_flags([2], ["Resumed"])
    finally:
        client.logout()
