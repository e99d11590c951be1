"""Real synchronizing clients, mbsync (isync) and offlineimap3, against both
servers: the same folder is synced to a local Maildir, changed on both sides
and synced again; afterwards each server holds the same messages with the
same flags, and each local copy equals its server. Whatever a client does
that cpmstore answers differently from Dovecot shows up here as a different
end state. The clients come with the reference Dovecot (.ci/dovecot/setup.sh)."""

from __future__ import annotations

import imaplib
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import threads

import harness

USER = "user3"
MESSAGES = [
    (b"Subject: first\r\nMessage-ID: <1@cpm.example>\r\n\r\nhello\r\n", r"(\Seen)"),
    (b"Subject: second\r\nMessage-ID: <2@cpm.example>\r\n\r\nworld\r\n", r"(\Flagged)"),
    (b"Subject: third\r\nMessage-ID: <3@cpm.example>\r\n\r\nbye\r\n", "()"),
]
_MAILDIR_FLAGS = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "T": "\\Deleted", "D": "\\Draft"}


def _imap(port: int) -> imaplib.IMAP4:
    conn = imaplib.IMAP4(harness.DOVECOT[0], port)
    conn.login(USER, "pass")
    return conn


def fill(port: int, box: str) -> None:
    conn = _imap(port)
    try:
        conn.create(box)
        for data, flags in MESSAGES:
            conn.append(box, flags, None, data)
    finally:
        conn.logout()


def server_state(port: int, box: str) -> list[tuple[str, frozenset[str]]]:
    """(Message-ID, flags) of every message, sorted: what a sync must preserve."""
    conn = _imap(port)
    try:
        conn.select(box, readonly=True)
        typ, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        state = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
            mid = item[1].decode().split(":", 1)[1].strip()
            state.append((mid, frozenset(f for f in flags if f != "\\Recent")))
        return sorted(state)
    finally:
        conn.logout()


def change_server(port: int, box: str) -> None:
    """Another device flags the third message and deletes the second."""
    conn = _imap(port)
    try:
        conn.select(box)
        typ, data = conn.search(None, "HEADER", "Message-ID", "<3@cpm.example>")
        conn.store(data[0].decode(), "+FLAGS", r"(\Answered)")
        typ, data = conn.search(None, "HEADER", "Message-ID", "<2@cpm.example>")
        conn.store(data[0].decode(), "+FLAGS", r"(\Deleted)")
        conn.expunge()
    finally:
        conn.logout()


def maildir_state(folder: Path) -> list[tuple[str, frozenset[str]]]:
    state = []
    for sub in ("cur", "new"):
        for path in (folder / sub).iterdir():
            info = path.name.split(":2,", 1)[1] if ":2," in path.name else ""
            flags = frozenset(_MAILDIR_FLAGS[c] for c in info if c in _MAILDIR_FLAGS)
            header = path.read_bytes().split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
            mid = re.search(rb"(?im)^Message-ID:\s*(\S+)", header).group(1).decode()
            state.append((mid, flags))
    return sorted(state)


def change_local(folder: Path) -> None:
    """The device reads the third message and writes a new one."""
    for path in [*(folder / "cur").iterdir(), *(folder / "new").iterdir()]:
        if b"<3@cpm.example>" in path.read_bytes():
            base, _, info = path.name.partition(":2,")
            path.rename(folder / "cur" / (base + ":2," + "".join(sorted(set(info) | {"S"}))))
    new = folder / "new" / "1700000000.local.host"
    new.write_bytes(b"Subject: fourth\r\nMessage-ID: <4@cpm.example>\r\n\r\nfrom the device\r\n")


def mbsync(port: int, box: str, home: Path) -> None:
    rc = home / "mbsyncrc"
    rc.write_text(textwrap.dedent(f"""\
        IMAPAccount server
        Host 127.0.0.1
        Port {port}
        User {USER}
        Pass pass
        SSLType None
        AuthMechs LOGIN

        IMAPStore remote
        Account server

        MaildirStore local
        Path {home}/mail/
        Inbox {home}/mail/INBOX
        SubFolders Verbatim

        Channel sync
        Far :remote:
        Near :local:
        Patterns "{box}"
        Create Both
        Expunge Both
        SyncState *
        """))
    result = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def offlineimap(port: int, box: str, home: Path) -> None:
    rc = home / "offlineimaprc"
    rc.write_text(textwrap.dedent(f"""\
        [general]
        accounts = server
        metadata = {home}/meta
        ui = quiet

        [Account server]
        localrepository = local
        remoterepository = remote

        [Repository local]
        type = Maildir
        localfolders = {home}/mail

        [Repository remote]
        type = IMAP
        remotehost = 127.0.0.1
        remoteport = {port}
        remoteuser = {USER}
        remotepass = pass
        ssl = no
        starttls = no
        folderfilter = lambda name: name == {box!r}
        """))
    result = subprocess.run(["offlineimap", "-c", str(rc), "-o", "-u", "quiet"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


CLIENTS = {"mbsync": (mbsync, "mbsync"), "offlineimap": (offlineimap, "offlineimap")}


def session(port: int, box: str, home: Path, client) -> tuple[list, list, list, list]:
    """Fill, sync, change both sides, sync again. Returns the server and
    local states after the first and after the second sync."""
    fill(port, box)
    client(port, box, home)
    folder = home / "mail" / box
    first = server_state(port, box), maildir_state(folder)
    change_server(port, box)
    change_local(folder)
    client(port, box, home)
    return (*first, server_state(port, box), maildir_state(folder))


@pytest.mark.parametrize("name", sorted(CLIENTS))
@pytest_twisted.ensureDeferred
async def test_real_client_syncs_like_against_dovecot(name, cpmstore_port, dovecot, run_id, tmp_path):
    client, binary = CLIENTS[name]
    if shutil.which(binary) is None:
        pytest.fail(f"{binary} is not installed: bash .ci/dovecot/setup.sh installs it", pytrace=False)
    box = f"{run_id}-{name}"

    def both():
        results = {}
        for server, port in (("dovecot", dovecot[1]), ("cpmstore", cpmstore_port)):
            home = tmp_path / server
            (home / "mail").mkdir(parents=True)
            try:
                results[server] = session(port, box, home, client)
            finally:
                harness.cleanup(("127.0.0.1", port), USER, box)
        return results

    results = await threads.deferToThread(both)
    ours, theirs = results["cpmstore"], results["dovecot"]
    server_before, local_before, server_after, local_after = ours
    # The first sync copies everything; the second carries each side's changes over.
    assert server_before == local_before == sorted(
        [("<1@cpm.example>", frozenset({"\\Seen"})), ("<2@cpm.example>", frozenset({"\\Flagged"})),
         ("<3@cpm.example>", frozenset())])
    assert server_after == local_after == sorted(
        [("<1@cpm.example>", frozenset({"\\Seen"})), ("<3@cpm.example>", frozenset({"\\Seen", "\\Answered"})),
         ("<4@cpm.example>", frozenset())])
    assert ours == theirs
