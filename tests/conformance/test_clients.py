"""Real synchronizing clients, mbsync (isync) and offlineimap3, against both
servers: several folders of one user, two of them with non-ASCII names
(modified UTF-7 on the wire, RFC 3501 §5.1.3), are synced to a local Maildir;
then both sides change flags and delete messages, new messages arrive on both
sides, and the client syncs again. Afterwards, in every folder, the server and
the local Maildir hold the same messages (Message-ID) with the same flags, the
expected ones, and the whole run ends exactly as the same run against the
reference Dovecot. Whatever a client does that cpmstore answers differently
from Dovecot shows up here as a different end state.

How each client names the local folders and deletes a message locally, as its
documentation on this machine says:

- mbsync 1.4 (``man mbsync``) keeps the IMAP name verbatim, so a non-ASCII
  folder is the modified UTF-7 directory ``Path/<prefix>/&AMk-t&AOk-``
  (``SubFolders Verbatim``); a message is deleted locally by removing its file
  or by the Maildir ``T`` flag, which ``Expunge Both`` expunges on both sides.
- offlineimap3 (``/usr/share/doc/offlineimap3/examples/offlineimap.conf``)
  decodes names to UTF-8 with ``utf8foldernames`` and joins levels with the
  Maildir repository's ``sep`` (``.``): ``<prefix>.Été``. A message is deleted
  locally only by removing its file; a ``T`` flag would just become
  ``\\Deleted`` on the server.

The clients come with the reference Dovecot (.ci/dovecot/setup.sh)."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Callable

import pytest
import pytest_twisted
from imapclient import IMAPClient, imap_utf7
from twisted.internet import threads

import harness

USER = "user3"
FOLDERS = ("Chats", "Été", "日本")
SEEN, FLAGGED, ANSWERED, DELETED = "\\Seen", "\\Flagged", "\\Answered", "\\Deleted"

# Message number -> flags it is appended with. What then happens to each, in
# every folder (change_server, change_local): 1 removed locally (file), 2
# expunged on the server, 3 answered on the server and read locally, 4
# unflagged on the server, 5 unread and flagged locally, 6 deleted locally in
# the client's own way, 7 new locally, 8 new (flagged) on the server.
INITIAL = {1: {SEEN}, 2: {FLAGGED}, 3: set(), 4: {SEEN, FLAGGED}, 5: {SEEN}, 6: set()}
FINAL = {3: {SEEN, ANSWERED}, 4: {SEEN}, 5: {FLAGGED}, 7: set(), 8: {FLAGGED}}
_MAILDIR_FLAGS = {"S": SEEN, "F": FLAGGED, "R": ANSWERED, "T": DELETED, "D": "\\Draft"}

State = dict[str, list[tuple[str, frozenset[str]]]]


def message_id(number: int, folder: str) -> str:
    # ASCII only: a Message-ID names the folder by its index, not its name.
    return f"<{number}.{FOLDERS.index(folder)}@cpm.example>"


def message(number: int, folder: str) -> bytes:
    return (f"Subject: message {number}\r\nMessage-ID: {message_id(number, folder)}\r\n\r\n"
            f"body {number}\r\n").encode()


def expected(table: dict[int, set[str]]) -> State:
    return {folder: sorted((message_id(n, folder), frozenset(flags)) for n, flags in table.items())
            for folder in FOLDERS}


# -- the server side (IMAPClient encodes folder names to modified UTF-7) ----

def _imap(port: int) -> IMAPClient:
    client = IMAPClient(harness.DOVECOT[0], port, ssl=False, timeout=30)
    client.login(USER, harness.PASSWORD)
    return client


def fill(port: int, box: str) -> None:
    with _imap(port) as client:
        for folder in FOLDERS:
            client.create_folder(f"{box}/{folder}")
            for number, flags in INITIAL.items():
                client.append(f"{box}/{folder}", message(number, folder), flags=sorted(flags))


def server_state(port: int, box: str) -> State:
    """(Message-ID, flags) of every message of every folder, sorted: what a
    sync must preserve."""
    state = {}
    with _imap(port) as client:
        for folder in FOLDERS:
            client.select_folder(f"{box}/{folder}", readonly=True)
            # IMAPClient 4 keeps only the answers for the UIDs asked for: no "1:*".
            items = client.fetch(client.search(), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            state[folder] = sorted(
                (_header_message_id(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]),
                 frozenset(flag.decode() for flag in data[b"FLAGS"] if flag != b"\\Recent"))
                for data in items.values())
    return state


def _header_message_id(header: bytes) -> str:
    return re.search(rb"(?im)^Message-ID:\s*(\S+)", header).group(1).decode()


def change_server(port: int, box: str) -> None:
    """Another device answers 3, unflags 4, deletes 2 and stores a new 8."""
    with _imap(port) as client:
        for folder in FOLDERS:
            client.select_folder(f"{box}/{folder}")

            def uid(number: int) -> list[int]:
                found = client.search(["HEADER", "Message-ID", message_id(number, folder)])
                assert len(found) == 1, (folder, number, found)
                return found

            client.add_flags(uid(3), [ANSWERED])
            client.remove_flags(uid(4), [FLAGGED])
            client.delete_messages(uid(2))
            client.expunge()
            client.append(f"{box}/{folder}", message(8, folder), flags=[FLAGGED])


# -- the local side --------------------------------------------------------

def _message_files(folder: Path) -> list[Path]:
    return [*(folder / "cur").iterdir(), *(folder / "new").iterdir()]


def maildir_state(folder: Path) -> list[tuple[str, frozenset[str]]]:
    state = []
    for path in _message_files(folder):
        info = path.name.split(":2,", 1)[1] if ":2," in path.name else ""
        flags = frozenset(_MAILDIR_FLAGS[c] for c in info if c in _MAILDIR_FLAGS)
        header = path.read_bytes().split(b"\r\n\r\n", 1)[0]
        state.append((_header_message_id(header), flags))
    return sorted(state)


def local_state(home: Path, box: str, local_name: Callable[[str, str], str]) -> State:
    return {folder: maildir_state(home / "mail" / local_name(box, folder)) for folder in FOLDERS}


def _find(folder: Path, number: int, name: str) -> Path:
    mid = message_id(number, name).encode()
    found = [path for path in _message_files(folder) if mid in path.read_bytes()]
    assert len(found) == 1, (folder, number, found)
    return found[0]


def _set_maildir_flags(path: Path, add: str = "", remove: str = "") -> None:
    """Rename into cur/ with the new info (Maildir: flags sorted, ASCII)."""
    base, _, info = path.name.partition(":2,")
    letters = "".join(sorted((set(info) | set(add)) - set(remove)))
    path.rename(path.parent.parent / "cur" / f"{base}:2,{letters}")


def change_local(folder: Path, name: str, delete_6: Callable[[Path], None]) -> None:
    """The device removes 1, reads 3, unreads and flags 5, deletes 6 its
    client's way and writes a new 7."""
    _find(folder, 1, name).unlink()
    _set_maildir_flags(_find(folder, 3, name), add="S")
    _set_maildir_flags(_find(folder, 5, name), add="F", remove="S")
    delete_6(_find(folder, 6, name))
    (folder / "new" / "1700000000.local.host").write_bytes(message(7, name))


# -- the clients -----------------------------------------------------------

def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def mbsync(port: int, box: str, home: Path) -> None:
    rc = home / "mbsyncrc"
    rc.write_text(textwrap.dedent(f"""\
        IMAPAccount server
        Host 127.0.0.1
        Port {port}
        User {USER}
        Pass {harness.PASSWORD}
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
        Patterns "{box}/*"
        Create Both
        Expunge Both
        SyncState *
        """))
    _run(["mbsync", "-c", str(rc), "-a"])


def mbsync_local_name(box: str, folder: str) -> str:
    # mbsync 1.4 does not decode modified UTF-7: the wire name is the path.
    return f"{box}/{imap_utf7.encode(folder).decode()}"


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
        utf8foldernames = yes

        [Repository local]
        type = Maildir
        localfolders = {home}/mail

        [Repository remote]
        type = IMAP
        remotehost = 127.0.0.1
        remoteport = {port}
        remoteuser = {USER}
        remotepass = {harness.PASSWORD}
        ssl = no
        starttls = no
        folderfilter = lambda name: name.startswith({box + "/"!r})
        """))
    _run(["offlineimap", "-c", str(rc), "-o", "-u", "quiet"])


def offlineimap_local_name(box: str, folder: str) -> str:
    return f"{box}.{folder}"


def _trash_flag(path: Path) -> None:
    _set_maildir_flags(path, add="T")


# name -> (sync, local folder name, how the device deletes message 6)
CLIENTS = {
    "mbsync": (mbsync, mbsync_local_name, _trash_flag),
    "offlineimap": (offlineimap, offlineimap_local_name, Path.unlink),
}


def session(port: int, box: str, home: Path, name: str) -> tuple[State, State, State, State]:
    """Fill, sync, change both sides, sync again. Returns the server and
    local states after the first and after the second sync."""
    sync, local_name, delete_6 = CLIENTS[name]
    fill(port, box)
    sync(port, box, home)
    first = server_state(port, box), local_state(home, box, local_name)
    change_server(port, box)
    for folder in FOLDERS:
        change_local(home / "mail" / local_name(box, folder), folder, delete_6)
    sync(port, box, home)
    return (*first, server_state(port, box), local_state(home, box, local_name))


@pytest.mark.parametrize("name", sorted(CLIENTS))
@pytest_twisted.ensureDeferred
async def test_real_client_syncs_folders_like_against_dovecot(name, cpmstore_port, dovecot, run_id, tmp_path):
    if shutil.which(name) is None:
        pytest.fail(f"{name} is not installed: bash .ci/dovecot/setup.sh installs it", pytrace=False)
    box = f"{run_id}-{name}"

    def both():
        results = {}
        for server, port in (("dovecot", dovecot[1]), ("cpmstore", cpmstore_port)):
            home = tmp_path / server
            (home / "mail").mkdir(parents=True)
            try:
                results[server] = session(port, box, home, name)
            finally:
                harness.cleanup(("127.0.0.1", port), USER, box)
        return results

    results = await threads.deferToThread(both)
    ours, theirs = results["cpmstore"], results["dovecot"]
    server_before, local_before, server_after, local_after = ours
    # The first sync copies every folder; the second carries each side's changes over.
    assert server_before == local_before == expected(INITIAL)
    assert server_after == local_after == expected(FINAL)
    assert ours == theirs
