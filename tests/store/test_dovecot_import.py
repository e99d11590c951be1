"""Moving a user in from Dovecot (issue 11): synthetic Dovecot Maildirs in
both layouts, imported, then read back over IMAP from the real server.

Every folder keeps its UIDVALIDITY, every message its UID, flags, keywords and
bytes (RFC 3501 §2.3.1.1, §2.3.2), UIDNEXT stays at least Dovecot's, and a
QRESYNC client that last synced against Dovecot resumes (RFC 7162 §3.2.5)."""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import sys
from pathlib import Path

import pytest
import pytest_twisted
from imapclient import IMAPClient

from cpmstore.store.dovecot_import import ImportRefused, import_dovecot_maildir
from cpmstore.store.store import MaildirStore

def _load(name: str):
    """A module of tests/server (its fixtures and transcript client), loaded by
    path: both test directories have a ``conftest`` of their own."""
    spec = importlib.util.spec_from_file_location(f"server_{name}", Path(__file__).parents[1] / "server" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


start = _load("conftest").start
in_thread = _load("conftest").in_thread
Connection = _load("transcript").Connection

USER = "user1"
INBOX_UIDVALIDITY = 1700000001
ARCHIVE_UIDVALIDITY = 4000000000  # above any clock value: a later CREATE must still not reuse it
ARCHIVE = "Archive/Été 2024"


def message(subject: str) -> bytes:
    # Dovecot's Maildir keeps bare LFs; the store keeps CRLF, as APPEND does.
    return f"From: a@example.org\nSubject: {subject}\nMessage-ID: <{subject}@x>\n\nbody of {subject}\n".encode()


def write(path: Path, data: bytes, mtime: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def dovecot_maildir(root: Path, layout: str) -> dict[str, dict[int, tuple[set[str], bytes]]]:
    """A Dovecot user's Maildir; returns folder -> uid -> (flags, bytes) as IMAP must show them."""
    inbox = maildir(root)
    # Version 3 list with extension fields; UID 3 never listed, UID 4 listed but its file gone (expunged).
    (inbox / "dovecot-uidlist").write_text(
        f"3 V{INBOX_UIDVALIDITY} N6 G0123456789abcdef0123456789abcdef\n"
        "1 :1700000000.M1P1.host,S=80,W=84\n"
        "2 W90 :1700000001.M2P1.host,S=85\n"
        "4 :1700000002.M3P1.host\n"
        "5 :1700000003.M4P1.host\n")
    (inbox / "dovecot-keywords").write_text("0 $Forwarded\n1 Work\n2 Unused\n")
    write(inbox / "cur" / "1700000000.M1P1.host,S=80,W=84:2,FSa", message("one"), 1700000000)
    write(inbox / "cur" / "1700000001.M2P1.host,S=85:2,RTb", message("two"), 1700000001)
    write(inbox / "new" / "1700000003.M4P1.host", message("five"))
    # Delivered after Dovecot's last look: not in the list, so UIDs 6 and 7 (N6 upward, oldest first).
    write(inbox / "new" / "1700000100.M6P1.host", message("seven"))
    write(inbox / "cur" / "1700000050.M5P1.host:2,D", message("six"))
    expected = {
        "INBOX": {1: ({"\\Flagged", "\\Seen", "$Forwarded"}, message("one")),
                  2: ({"\\Answered", "\\Deleted", "Work"}, message("two")),
                  5: (set(), message("five")),
                  6: ({"\\Draft"}, message("six")),
                  7: (set(), message("seven"))},
        ARCHIVE: {3: ({"\\Seen"}, message("a3")), 10: (set(), message("a10"))},
        "Sent": {},
    }
    if layout == "fs":
        archive = maildir(root / "Archive" / "&AMk-t&AOk- 2024")
        sent = maildir(root / "Sent")
    else:
        archive = maildir(root / ".Archive.&AMk-t&AOk- 2024")
        sent = maildir(root / ".Sent")
    # Version 1 (Courier) list: positional header, "<uid> <file name>" lines.
    (archive / "dovecot-uidlist").write_text(f"1 {ARCHIVE_UIDVALIDITY} 12\n3 1600000000.A.host\n10 1600000001.B.host\n")
    write(archive / "cur" / "1600000000.A.host:2,S", message("a3"))
    write(archive / "cur" / "1600000001.B.host:2,", message("a10"))
    (sent / "dovecot-uidlist").write_text("3 V1700000005 N1\n")
    (root / "subscriptions").write_text("V\t2\n\nArchive\t&AMk-t&AOk- 2024\nSent\n")
    return expected


def crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def read_back(port: int, folders: list[str]) -> dict:
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(USER, "pass")
    seen = {}
    for folder in folders:
        info = client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["FLAGS", "BODY.PEEK[]"]) if info[b"EXISTS"] else {}
        seen[folder] = (info[b"UIDVALIDITY"], info[b"UIDNEXT"],
                        {uid: ({f.decode() for f in data[b"FLAGS"]} - {"\\Recent"}, data[b"BODY[]"])
                         for uid, data in fetched.items()})
        if folder == "INBOX":
            # ENVELOPE and SEARCH answer from what the import derived once.
            assert client.search(["SUBJECT", "seven"]) == [7]
            assert client.fetch([1], ["ENVELOPE"])[1][b"ENVELOPE"].subject == b"one"
    seen["subscribed"] = sorted(name for _flags, _sep, name in client.list_sub_folders())
    seen["created"] = client.create_folder("Later") and client.select_folder("Later")[b"UIDVALIDITY"]
    client.logout()
    return seen


@pytest.mark.parametrize("layout", ["fs", "maildir++"])
@pytest_twisted.ensureDeferred
async def test_import_keeps_uidvalidity_uids_flags_keywords_and_bytes(start, tmp_path, layout):
    source = tmp_path / "Maildir"
    expected = dovecot_maildir(source, layout)
    data = tmp_path / "data"
    summary = import_dovecot_maildir(MaildirStore(str(data)).user_dir(USER), str(source))
    assert (summary.folders, summary.messages) == (3, 7)
    assert summary.bytes == sum(len(crlf(body)) for box in expected.values() for _f, body in box.values())
    assert "3 folders, 7 messages" in str(summary)
    server = await start(data_dir=data)
    seen = await in_thread(read_back, server.port, ["INBOX", ARCHIVE, "Sent"])
    assert seen["INBOX"][:2] == (INBOX_UIDVALIDITY, 8)
    assert seen[ARCHIVE][:2] == (ARCHIVE_UIDVALIDITY, 12)
    assert seen["Sent"][:2] == (1700000005, 1)
    for folder, messages in expected.items():
        assert seen[folder][2] == {uid: (flags, crlf(body)) for uid, (flags, body) in messages.items()}
    assert seen["subscribed"] == [ARCHIVE, "Sent"]
    # RFC 3501 §2.3.1.1: a folder created later never gets an imported UIDVALIDITY.
    assert seen["created"] > ARCHIVE_UIDVALIDITY


@pytest_twisted.ensureDeferred
async def test_internaldate_is_the_file_mtime(start, tmp_path):
    source = tmp_path / "Maildir"
    dovecot_maildir(source, "fs")
    data = tmp_path / "data"
    import_dovecot_maildir(MaildirStore(str(data)).user_dir(USER), str(source), folders=["INBOX"])
    server = await start(data_dir=data)

    def dates():
        client = IMAPClient("127.0.0.1", port=server.port, ssl=False)
        client.login(USER, "pass")
        client.select_folder("INBOX", readonly=True)
        found = {uid: d[b"INTERNALDATE"].timestamp() for uid, d in client.fetch([1, 2], ["INTERNALDATE"]).items()}
        listed = [name for _flags, _sep, name in client.list_folders()]
        client.logout()
        return found, listed

    found, listed = await in_thread(dates)
    assert found == {1: 1700000000, 2: 1700000001}
    assert listed == ["INBOX"]  # the folders filter kept the others out


def test_refuses_a_folder_that_holds_messages_and_a_non_maildir(tmp_path):
    source = tmp_path / "Maildir"
    dovecot_maildir(source, "fs")
    user_dir = MaildirStore(str(tmp_path / "data")).user_dir(USER)
    import_dovecot_maildir(user_dir, str(source))
    with pytest.raises(ImportRefused, match="INBOX"):
        import_dovecot_maildir(user_dir, str(source))
    (tmp_path / "plain").mkdir()
    with pytest.raises(ImportRefused, match="not a Maildir"):
        import_dovecot_maildir(user_dir, str(tmp_path / "plain"))


# -- MODSEQ from Dovecot's transaction log -------------------------------------------------

def _size(value: int) -> int:
    """Dovecot's record-size encoding (seven bits a byte, high bit set, most significant first)."""
    value >>= 2
    return int.from_bytes(bytes([0x80 | (value >> 21 & 0x7F), 0x80 | (value >> 14 & 0x7F),
                                 0x80 | (value >> 7 & 0x7F), 0x80 | (value & 0x7F)]), "little")


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<II", _size(8 + len(body)), kind) + body


def index_log(initial_modseq: int, records: list[bytes]) -> bytes:
    header = struct.pack("<BBHIIIIIQB3xI", 1, 3, 40, 1234, 1, 0, 0, 1700000000, initial_modseq, 1, 0)
    return header + b"".join(records)


APPEND, FLAG_UPDATE, EXPUNGE_GUID, EXTERNAL, PROT = 0x2, 0x4, 0x2000, 0x10000000, 0xCD90


def qresync(port: int, mark: tuple[int, int]) -> list[bytes]:
    conn = Connection(port)
    conn.read_line()
    assert conn.command(b"a", b"LOGIN user1 pass")[-1].startswith(b"a OK")
    assert conn.command(b"b", b"ENABLE QRESYNC")[-1].startswith(b"b OK")
    lines = conn.command(b"c", b"SELECT INBOX (QRESYNC (%d %d))" % mark)
    assert lines[-1].startswith(b"c OK"), lines
    conn.command(b"z", b"LOGOUT")
    return lines


def changes(lines: list[bytes]) -> tuple[list[bytes], dict[int, int]]:
    vanished = [line for line in lines if line.startswith(b"* VANISHED")]
    fetched = {int(m[1]): int(m[2]) for line in lines if (m := re.search(rb"UID (\d+) .*MODSEQ \((\d+)\)", line))}
    return vanished, fetched


def highest(lines: list[bytes]) -> int:
    return next(int(m[1]) for line in lines if (m := re.search(rb"HIGHESTMODSEQ (\d+)", line)))


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_5_qresync_client_resumes_with_dovecot_modseqs(start, tmp_path):
    source = maildir(tmp_path / "Maildir")
    (source / "dovecot-uidlist").write_text("3 V1700000001 N4\n1 :m1\n2 :m2\n3 :m3\n")
    write(source / "cur" / "m1:2,S", message("one"))
    write(source / "cur" / "m3:2,", message("three"))
    # Appends get MODSEQ 2, 3, 4; \Seen on UID 1 is 5; the expunge of UID 2 is 6.
    # A \Recent-only flag change (internal) and an expunge request take no MODSEQ.
    (source / "dovecot.index.log").write_bytes(index_log(1, [
        _record(APPEND | EXTERNAL, struct.pack("<IB3x", 1, 0)),
        _record(APPEND | EXTERNAL, struct.pack("<IB3x", 2, 0)),
        _record(APPEND | EXTERNAL, struct.pack("<IB3x", 3, 0)),
        _record(FLAG_UPDATE, struct.pack("<IIBBBx", 1, 1, 0x08, 0, 0)),
        _record(FLAG_UPDATE, struct.pack("<IIBBBx", 3, 3, 0x20, 0, 0)),
        _record(EXPUNGE_GUID | PROT, struct.pack("<I16x", 2)),
        _record(EXPUNGE_GUID | PROT | EXTERNAL, struct.pack("<I16x", 2)),
    ]))
    # A second folder with a higher HIGHESTMODSEQ: the user's one counter must pass it too.
    other = maildir(source / "Other")
    (other / "dovecot-uidlist").write_text("3 V1700000002 N2\n1 :o1\n")
    write(other / "cur" / "o1:2,", message("other"))
    (other / "dovecot.index.log").write_bytes(index_log(40, [_record(APPEND | EXTERNAL, struct.pack("<IB3x", 1, 0))]))
    data = tmp_path / "data"
    summary = import_dovecot_maildir(MaildirStore(str(data)).user_dir(USER), str(source))
    assert summary.highest_modseq >= 41 and not summary.fallback_folders
    server = await start(data_dir=data)

    def resume():
        # Synced at Dovecot's HIGHESTMODSEQ 6: nothing to tell.
        current = qresync(server.port, (1700000001, 6))
        assert highest(current) == 6
        assert changes(current) == ([], {})
        # Synced at 4: UID 1's \Seen (MODSEQ 5) and UID 2's expunge (6), nothing about UID 3.
        vanished, fetched = changes(qresync(server.port, (1700000001, 4)))
        assert vanished == [b"* VANISHED (EARLIER) 2"] and fetched == {1: 5}
        # A change made in cpmstore now gets a MODSEQ no Dovecot client has seen.
        client = IMAPClient("127.0.0.1", port=server.port, ssl=False)
        client.login(USER, "pass")
        client.select_folder("INBOX")
        client.add_flags([3], ["$Later"])
        client.logout()
        vanished, fetched = changes(qresync(server.port, (1700000001, 6)))
        assert vanished == [] and list(fetched) == [3] and fetched[3] > 41

    await in_thread(resume)


@pytest_twisted.ensureDeferred
async def test_without_index_log_modseqs_take_the_conservative_floor(start, tmp_path):
    source = tmp_path / "Maildir"
    dovecot_maildir(source, "fs")
    data = tmp_path / "data"
    summary = import_dovecot_maildir(MaildirStore(str(data)).user_dir(USER), str(source), folders=["INBOX"])
    assert summary.fallback_folders == ("INBOX",)
    server = await start(data_dir=data)

    def resume():
        # Any HIGHESTMODSEQ Dovecot could have reported lies below the floor:
        # the client re-reads every message's flags and is told of every gap.
        vanished, fetched = changes(qresync(server.port, (INBOX_UIDVALIDITY, 10**9)))
        assert vanished == [b"* VANISHED (EARLIER) 3:4"]
        assert sorted(fetched) == [1, 2, 5, 6, 7]

    await in_thread(resume)
