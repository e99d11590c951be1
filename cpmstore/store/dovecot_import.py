"""Moving a user in from Dovecot: one Dovecot Maildir into a cpmstore user's store.

Owns reading what Dovecot keeps on disk for a Maildir user, with Dovecot
stopped or not serving that user, and writing it into the user's store so that
devices that synced against Dovecot go on without a full resync:

- folders in both layouts: ``LAYOUT=fs`` (sub-directories, ``/``) and
  Maildir++ (``.Folder.Sub``, ``.``); names are modified UTF-7 on disk
  (RFC 3501 §5.1.3) and become the store's Unicode names;
- ``dovecot-uidlist`` (versions 1 and 3): UIDVALIDITY, the next UID and each
  file's UID; files in ``new/`` or ``cur/`` the list does not know yet get UIDs
  from the next UID upward, in file-name (delivery time) order, as Dovecot's
  next sync would give them;
- flags from the ``:2,`` file-name suffix (``DFRST``; ``P`` has no IMAP flag),
  keywords from its lower-case letters through ``dovecot-keywords``; ``\\Recent``
  is not carried over (RFC 3501 §2.3.2: it belongs to a session);
- INTERNALDATE from the file's mtime (what Dovecot's Maildir uses);
- ``subscriptions`` (Dovecot 2.3 writes ``V<TAB>2``, an empty line, then one name
  a line with the hierarchy levels separated by TAB; older files: one name a line);
- MODSEQ from Dovecot's transaction logs (``dovecot.index.log`` and the
  rotated ``.log.2``), replayed here with our own reader of the record layout
  (``src/lib-index/mail-transaction-log.h``).

Every folder keeps its UIDVALIDITY and every message its UID, flags and
keywords; UIDNEXT is at least Dovecot's next UID. Messages are stored as APPEND
stores them (bare LF made CRLF, written through ``deliver_rows``, ENVELOPE /
BODYSTRUCTURE / SEARCH fields analysed once), all in one index transaction: a
failed import leaves nothing behind. It never writes to the Dovecot directory,
never runs on the reactor (callers: the admin CLI, with the server not serving
the user) and never merges into a folder that already holds messages.

MODSEQ and QRESYNC (RFC 7162). A client that last synced against Dovecot holds
(UIDVALIDITY, HIGHESTMODSEQ h) per folder and will send ``SELECT box (QRESYNC
(uidvalidity h))``. §3.1 requires mod-sequences of a mailbox to only grow and
§3.2.5 lets the server answer with everything changed after h: FETCH for every
message whose MODSEQ is above h and VANISHED (EARLIER) for every UID expunged
above h. So the import must (1) never give a message or an expunged UID a
MODSEQ *below* the value it had in Dovecot (the client would miss the change),
(2) ideally give the same value (the client is told nothing it knows), and
(3) put the user's one MODSEQ counter (DESIGN §4) above every imported
folder's HIGHESTMODSEQ, so that each later change gets a value no client has
seen. The log replay gives each message the MODSEQ Dovecot gives it — the
MODSEQ of its last change, or, when Dovecot began keeping per-message MODSEQs
(the "modseq" extension) only after that change, the folder's HIGHESTMODSEQ of
that moment, as Dovecot answers — and each expunged UID the MODSEQ of its
expunge. A message or UID gap the retained logs do not cover gets the first
log's initial MODSEQ, an upper bound of its real one: harmless, since §3.2.5
lets the answer hold more than what changed (a FETCH of an unchanged message
only refreshes its flags; a VANISHED UID the client does not hold changes
nothing; DESIGN §4 answers the same way for lost expunge history). Files
Dovecot never indexed (``new/`` after the last sync) get the folder's
HIGHESTMODSEQ + 1: no client has seen them. Without readable logs the folder
falls back to ``conservative_floor()`` — microseconds since the epoch, far above
any count of changes Dovecot could have made — for the folder, every message
and every gap: a resuming client then re-reads flags and is told of every gap,
but never misses a change. That fallback is logged and named in the summary.
The client is told the folder's Dovecot HIGHESTMODSEQ (or the floor) at SELECT,
so a client that was up to date hears nothing at all.
"""

from __future__ import annotations

import bisect
import os
import re
import struct
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Collection

from twisted.logger import Logger

from ..imap import mutf7
from ..mime.analysis import analyze, normalize_line_endings
from . import maildir
from .account import create_in_tx, deliver_rows, local_now
from .index import Index
from .interfaces import MailboxInfo
from .names import DELIMITER, INBOX, flags_to_text, in_subtree, normalize_name
from .rebuild import open_index

log = Logger()

UIDLIST = "dovecot-uidlist"
KEYWORDS = "dovecot-keywords"
SUBSCRIPTIONS = "subscriptions"
LOG_FILES = ("dovecot.index.log.2", "dovecot.index.log")
_MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
_TIME_PREFIX = re.compile(r"^(\d+)")
_BATCH = 200  # messages read, written and inserted at a time


class ImportRefused(Exception):
    """The import would lose or merge data, or the source is no Dovecot Maildir: nothing was written."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    source: str
    folders: int
    messages: int
    bytes: int
    subscriptions: int = 0
    highest_modseq: int = 0  # the user's MODSEQ counter after the import
    fallback_folders: tuple[str, ...] = ()  # folders whose MODSEQs are the conservative floor

    def __str__(self) -> str:
        modseq = ("MODSEQ from Dovecot's index logs" if not self.fallback_folders else
                  f"MODSEQ of {len(self.fallback_folders)} folder(s) set to the conservative floor (no index log)")
        return (f"imported {self.folders} folders, {self.messages} messages, {self.bytes} bytes, "
                f"{self.subscriptions} subscriptions from {self.source}; {modseq}; "
                f"MODSEQ counter now {self.highest_modseq}")


# -- reading Dovecot's files ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UidList:
    uid_validity: int | None
    next_uid: int
    uids: dict[str, int]  # file name base (before ":") -> UID


def read_uidlist(path: str) -> UidList | None:
    """``dovecot-uidlist`` of a folder directory; None when there is none."""
    try:
        with open(os.path.join(path, UIDLIST), encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    if not lines:
        return None
    header = lines[0].split()
    version = header[0] if header else ""
    uid_validity: int | None = None
    next_uid = 1
    if version == "1" or version == "2":
        # "1 <uidvalidity> <next uid>" (the Courier-compatible format)
        if len(header) >= 3:
            uid_validity, next_uid = int(header[1]), int(header[2])
    elif version == "3":
        for item in header[1:]:
            if item.startswith("V") and item[1:].isdigit():
                uid_validity = int(item[1:])
            elif item.startswith("N") and item[1:].isdigit():
                next_uid = int(item[1:])
    else:
        raise ImportRefused(f"{os.path.join(path, UIDLIST)}: unknown dovecot-uidlist version {version!r}")
    uids: dict[str, int] = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        if " :" in line:
            # "<uid> [<key><value> ...] :<file name>" (version 2 and 3)
            fields, _, filename = line.partition(" :")
            uid_text = fields.split()[0]
        else:
            uid_text, _, filename = line.strip().partition(" ")
        if not uid_text.isdigit() or not filename:
            continue
        uids[filename.strip().partition(":")[0]] = int(uid_text)
    if uid_validity == 0:
        uid_validity = None
    return UidList(uid_validity, max(next_uid, 1), uids)


def read_keywords(path: str) -> dict[int, str]:
    """``dovecot-keywords``: letter index (a=0 ... z=25) -> keyword."""
    found: dict[int, str] = {}
    try:
        with open(os.path.join(path, KEYWORDS), encoding="utf-8", errors="replace") as f:
            for line in f:
                index, _, name = line.rstrip("\n").partition(" ")
                if index.isdigit() and name:
                    found[int(index)] = name
    except FileNotFoundError:
        pass
    return found


def flags_of(filename: str, keywords: dict[int, str]) -> frozenset[str]:
    """System flags and keywords of a Maildir file name's ``:2,`` info."""
    _, sep, info = filename.partition(":")
    if not sep or not info.startswith("2,"):
        return frozenset()
    flags = set()
    for letter in info[2:]:
        if letter in _MAILDIR_FLAGS:
            flags.add(_MAILDIR_FLAGS[letter])
        elif "a" <= letter <= "z":
            keyword = keywords.get(ord(letter) - ord("a"))
            if keyword is not None:
                flags.add(keyword)
    return frozenset(flags)


def _is_maildir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "cur")) and os.path.isdir(os.path.join(path, "new"))


def _decode(name: str) -> str:
    try:
        return mutf7.decode(name.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return name  # a UTF-8 storage name (mailbox_list_utf8): already what it means


def find_folders(source: str) -> tuple[str, list[tuple[str, str]]]:
    """(layout, [(folder name, directory)]) of a Dovecot Maildir root, INBOX
    first; a directory without ``cur/`` and ``new/`` (a parent only) is no folder."""
    folders = [(INBOX, source)]
    entries = sorted(os.listdir(source))
    dotted = [e for e in entries if e.startswith(".") and e not in (".", "..")
              and _is_maildir(os.path.join(source, e))]
    if dotted:
        for entry in dotted:
            levels = [_decode(level) for level in entry[1:].split(".")]
            folders.append((DELIMITER.join(levels), os.path.join(source, entry)))
        return "maildir++", folders
    for directory, subdirs, _files in os.walk(source):
        subdirs[:] = sorted(d for d in subdirs if d not in ("cur", "new", "tmp") and not d.startswith("."))
        if directory == source:
            continue
        relative = os.path.relpath(directory, source)
        if _is_maildir(directory):
            levels = [_decode(level) for level in relative.split(os.sep)]
            folders.append((DELIMITER.join(levels), directory))
    return "fs", folders


def read_subscriptions(source: str, layout: str) -> list[str]:
    """Subscribed folder names (decoded) from ``<root>/subscriptions``."""
    try:
        with open(os.path.join(source, SUBSCRIPTIONS), "rb") as f:
            data = f.read().decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return []
    separator = "." if layout == "maildir++" else "/"
    lines = data.split("\n")
    if data.startswith("V\t2\n\n"):
        lines, levels_of = data[len("V\t2\n\n"):].split("\n"), lambda line: [_untab(p) for p in line.split("\t")]
    else:
        levels_of = lambda line: line.split(separator)  # noqa: E731 - version 1: the list's own separator
    names = []
    for line in lines:
        if line:
            name = DELIMITER.join(_decode(level) for level in levels_of(line))
            names.append(INBOX if name.upper() == INBOX else name)
    return names


def _untab(text: str) -> str:
    """Undo Dovecot's tab escaping (\\001 followed by 1, t, r, n or 0)."""
    if "\x01" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\x01" and i + 1 < len(text):
            out.append({"1": "\x01", "t": "\t", "r": "\r", "n": "\n", "0": "\x00"}.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# -- MODSEQ from the transaction log ----------------------------------------------------------

_EXPUNGE, _APPEND, _FLAG_UPDATE = 0x1, 0x2, 0x4
_EXT_INTRO, _KEYWORD_UPDATE, _KEYWORD_RESET = 0x40, 0x400, 0x800
_EXPUNGE_GUID, _MODSEQ_UPDATE, _BOUNDARY, _ATTRIBUTE_UPDATE = 0x2000, 0x8000, 0x80000, 0x100000
_TYPE_MASK, _EXPUNGE_PROT, _EXTERNAL = 0x0FFFFFFF, 0x0000CD90, 0x10000000
_FLAGS_MASK = 0x1F  # \Answered \Flagged \Deleted \Seen \Draft: what a client sees


@dataclass(slots=True)
class LogModseqs:
    """What one folder's retained transaction logs say about MODSEQs."""

    initial: int  # the first retained log's initial MODSEQ: an upper bound for older changes
    base: int = 0  # the MODSEQ of a message with no change recorded since (``initial`` or the "modseq" start)
    highest: int = 0
    messages: dict[int, int] = field(default_factory=dict)  # uid -> MODSEQ of its last change
    expunged: dict[int, int] = field(default_factory=dict)  # uid -> MODSEQ of its expunge
    highest_appended: int = 0  # the highest UID an append record names


def _offset(raw: int) -> int:
    """A record size as Dovecot writes it (``mail_index_uint32_to_offset``):
    seven bits a byte, most significant first, high bit of each byte set."""
    b = raw.to_bytes(4, "little")
    return (((b[0] & 0x7F) << 21) | ((b[1] & 0x7F) << 14) | ((b[2] & 0x7F) << 7) | (b[3] & 0x7F)) << 2


def _log_header(data: bytes) -> tuple[int, int, int, int, int] | None:
    """(minor version, header size, file seq, prev file seq, initial modseq)."""
    if len(data) < 24 or data[0] != 1:
        return None
    minor, hdr_size = data[1], struct.unpack_from("<H", data, 2)[0]
    if hdr_size < 24 or hdr_size > len(data):
        return None
    file_seq, prev_seq = struct.unpack_from("<II", data, 8)
    initial = struct.unpack_from("<Q", data, 24)[0] if hdr_size >= 32 else 0
    return minor, hdr_size, file_seq, prev_seq, initial


def read_log_modseqs(path: str, present: list[int]) -> LogModseqs | None:
    """Replay the folder's transaction logs (oldest retained first) for the
    MODSEQ of each of the ``present`` UIDs (ascending) and of each expunge;
    None when there is no readable log."""
    files = []
    for name in LOG_FILES:
        try:
            with open(os.path.join(path, name), "rb") as f:
                data = f.read()
        except OSError:
            continue
        header = _log_header(data)
        if header is not None:
            files.append((header, data))
    if not files:
        return None
    files.sort(key=lambda item: item[0][2])
    newest = files[-1]
    # Only a chain without a hole: a change in a missing file would get too low a MODSEQ.
    chain = [newest]
    if len(files) == 2 and newest[0][3] == files[0][0][2]:
        chain.insert(0, files[0])
    initial = max(chain[0][0][4], 1)
    result = LogModseqs(initial=initial, base=initial)
    for (minor, hdr_size, _seq, _prev, initial), data in chain:
        _replay(data, hdr_size, minor, initial, present, result)
    return result


def _replay(data: bytes, offset: int, minor: int, modseq: int, present: list[int], result: LogModseqs) -> None:
    end = len(data)

    def touch(uid1: int, uid2: int, value: int) -> None:
        for uid in present[bisect.bisect_left(present, uid1):bisect.bisect_right(present, uid2)]:
            result.messages[uid] = value

    while offset + 8 <= end:
        raw_size, kind = struct.unpack_from("<II", data, offset)
        size = _offset(raw_size)
        if size < 8 or offset + size > end:
            break  # an unfinished write: Dovecot ignores it too
        body = data[offset + 8:offset + size]
        kind_masked = kind & _TYPE_MASK
        if kind_masked == _BOUNDARY and len(body) >= 4 and offset + struct.unpack_from("<I", body)[0] > end:
            break  # the transaction this boundary opens was never completed
        takes = _increases_modseq(kind, kind_masked, body, minor, modseq)
        if takes:
            modseq += 1
        if kind_masked == _EXT_INTRO and _introduces_modseq(body):
            # Per-message MODSEQs start here: Dovecot answers the folder's
            # HIGHESTMODSEQ of this moment for every message not changed since.
            result.messages.clear()
            result.base = modseq
        elif takes:
            if kind_masked == _APPEND:
                for (uid,) in struct.iter_unpack("<I4x", body[:len(body) // 8 * 8]):
                    result.highest_appended = max(result.highest_appended, uid)
                    touch(uid, uid, modseq)
            elif kind_masked == _FLAG_UPDATE:
                for uid1, uid2, add, remove, inc in struct.iter_unpack("<IIBBBx", body[:len(body) // 12 * 12]):
                    if (add | remove) & _FLAGS_MASK or inc or minor < 3:
                        touch(uid1, uid2, modseq)
            elif kind_masked in (_KEYWORD_UPDATE, _KEYWORD_RESET):
                start = 0
                if kind_masked == _KEYWORD_UPDATE and len(body) >= 4:
                    start = 4 + struct.unpack_from("<H", body, 2)[0]
                    start += -start % 4
                ranges = body[start:]
                for uid1, uid2 in struct.iter_unpack("<II", ranges[:len(ranges) // 8 * 8]):
                    touch(uid1, uid2, modseq)
            elif kind_masked == _EXPUNGE | _EXPUNGE_PROT:
                for uid1, uid2 in struct.iter_unpack("<II", body[:len(body) // 8 * 8]):
                    # Only gaps are looked up: a range past them needs no entries.
                    for uid in range(uid1, min(uid2, uid1 + 100_000) + 1):
                        result.expunged[uid] = modseq
            elif kind_masked == _EXPUNGE_GUID | _EXPUNGE_PROT:
                for uid, in struct.iter_unpack("<I16x", body[:len(body) // 20 * 20]):
                    result.expunged[uid] = modseq
        elif kind_masked == _MODSEQ_UPDATE:
            for uid, low, high in struct.iter_unpack("<III", body[:len(body) // 12 * 12]):
                value = (high << 32) | low
                modseq = max(modseq, value)
                touch(uid, uid, max(value, result.messages.get(uid, 0)))
        result.highest = max(result.highest, modseq)
        offset += size


def _increases_modseq(kind: int, kind_masked: int, body: bytes, minor: int, modseq: int) -> bool:
    """Whether a record takes a new MODSEQ, as Dovecot decides when it reads its log."""
    if modseq == 0:
        # Not tracked yet: the introduction of the "modseq" extension starts it.
        return kind_masked == _EXT_INTRO and _introduces_modseq(body)
    if kind_masked in (_EXPUNGE | _EXPUNGE_PROT, _EXPUNGE_GUID | _EXPUNGE_PROT):
        return bool(kind & _EXTERNAL)  # an internal one is only the request
    if kind_masked == _FLAG_UPDATE:
        if minor < 3:
            return True
        return any((add | remove) & _FLAGS_MASK or inc
                   for _u1, _u2, add, remove, inc in struct.iter_unpack("<IIBBBx", body[:len(body) // 12 * 12]))
    return kind_masked in (_APPEND, _KEYWORD_UPDATE, _KEYWORD_RESET, _ATTRIBUTE_UPDATE)


def _introduces_modseq(body: bytes) -> bool:
    """An ext-intro record creating the "modseq" extension (a new one: no ext id yet)."""
    if len(body) < 20:
        return False
    ext_id = struct.unpack_from("<I", body)[0]
    name_size = struct.unpack_from("<H", body, 18)[0]
    return ext_id == 0xFFFFFFFF and body[20:20 + name_size] == b"modseq"


def conservative_floor() -> int:
    """A MODSEQ above any Dovecot could have reached: microseconds since the epoch."""
    return time.time_ns() // 1000


# -- planning and writing -------------------------------------------------------------------

@dataclass(slots=True)
class _Message:
    uid: int
    path: str
    flags: frozenset[str]
    modseq: int = 0


@dataclass(slots=True)
class _Folder:
    name: str
    path: str
    uid_validity: int | None
    uid_next: int
    highest_modseq: int
    messages: list[_Message]
    expunged: list[tuple[int, int]]
    fallback: bool


def _file_order(filename: str) -> tuple[int, str]:
    match = _TIME_PREFIX.match(filename)
    return (int(match.group(1)) if match else 0, filename)


def _plan_folder(name: str, path: str, floor: int) -> _Folder:
    uidlist = read_uidlist(path)
    keywords = read_keywords(path)
    known = uidlist.uids if uidlist else {}
    found: dict[int, _Message] = {}
    unlisted: list[tuple[str, str]] = []
    for sub in ("cur", "new"):
        for filename in os.listdir(os.path.join(path, sub)):
            if filename.startswith("."):
                continue
            full = os.path.join(path, sub, filename)
            base = filename.partition(":")[0]
            uid = known.get(base)
            if uid is None or uid in found:
                unlisted.append((filename, full))
            else:
                found[uid] = _Message(uid, full, flags_of(filename, keywords))
    listed_next = max([uidlist.next_uid if uidlist else 1, *(uid + 1 for uid in known.values())])
    uid_next = max([listed_next, *(uid + 1 for uid in found)])
    for filename, full in sorted(unlisted, key=lambda item: _file_order(item[0])):
        # Dovecot's next sync would number these from the next UID, oldest first.
        found[uid_next] = _Message(uid_next, full, flags_of(filename, keywords))
        uid_next += 1
    present = sorted(found)
    modseqs = read_log_modseqs(path, present)
    fallback = modseqs is None
    if modseqs is None:
        log.warn("No readable Dovecot index log in {path}: MODSEQs of {name} set to the conservative floor {floor}",
                 path=path, name=name, floor=floor)
        highest = floor
        for message in found.values():
            message.modseq = floor
        gone_modseq: dict[int, int] = {}
        default = floor
    else:
        highest = max(modseqs.highest, modseqs.initial)
        fresh = highest + 1  # files Dovecot never indexed: no client has seen them
        # The index takes messages in UID order: above the highest UID an
        # append names (or, with no append retained, above the UID list) is
        # what it never saw.
        unindexed_from = modseqs.highest_appended + 1 if modseqs.highest_appended else listed_next
        for uid, message in found.items():
            if uid in modseqs.messages:
                message.modseq = modseqs.messages[uid]
            elif uid >= unindexed_from:
                message.modseq = fresh
            else:
                message.modseq = min(modseqs.base, highest)
        if any(m.modseq == fresh for m in found.values()):
            highest = fresh
        gone_modseq = modseqs.expunged
        default = min(modseqs.initial, highest)
    present_set = set(present)
    expunged = [(uid, gone_modseq.get(uid, default)) for uid in range(1, uid_next) if uid not in present_set]
    return _Folder(name, path, uidlist.uid_validity if uidlist else None, uid_next, highest,
                   [found[uid] for uid in present], expunged, fallback)


def _wanted(name: str, folders: Collection[str] | None) -> bool:
    return folders is None or any(in_subtree(name, root) for root in folders)


def import_dovecot_maildir(user_dir: str, source: str, *, subscriptions: bool = True,
                           folders: Collection[str] | None = None) -> ImportSummary:
    """Import the Dovecot Maildir at ``source`` into the store at ``user_dir``.

    ``folders``: only these folders and their subfolders (store names, INBOX
    included by naming it); None: all. Raises ``ImportRefused`` (nothing
    written) when ``source`` is no Maildir, a folder name is not valid here, or
    a folder of the same name already holds messages. Blocking: run it with the
    server not serving this user.
    """
    source = os.path.abspath(source)
    if not _is_maildir(source):
        raise ImportRefused(f"{source} is not a Maildir (no cur/ and new/)")
    wanted = None if folders is None else [normalize_name(name) for name in folders]
    layout, found = find_folders(source)
    selected = []
    for name, path in found:
        try:
            name = normalize_name(name)
        except Exception as error:  # noqa: BLE001 - any invalid name refuses the whole import
            raise ImportRefused(f"{path}: folder name {name!r} is not valid here ({error})") from error
        if _wanted(name, wanted):
            selected.append((name, path))
    floor = conservative_floor()
    plans = [_plan_folder(name, path, floor) for name, path in selected]
    subscribed = [name for name in read_subscriptions(source, layout) if _wanted(name, wanted)] if subscriptions else []
    index = open_index(user_dir)
    try:
        return _write(index, user_dir, source, plans, subscribed)
    finally:
        index.close()


def _write(index: Index, user_dir: str, source: str, plans: list[_Folder], subscribed: list[str]) -> ImportSummary:
    occupied = [plan.name for plan in plans
                if (info := index.mailbox(plan.name)) is not None and index.status_counts(info.id)[0] > 0]
    if occupied:
        raise ImportRefused("folders already holding messages: " + ", ".join(occupied))
    created: list[MailboxInfo] = []
    delivered: list[str] = []
    described: list[tuple[str, maildir.MailboxFile]] = []
    messages = size = 0
    saved = local_now()  # RFC 8514 SAVEDATE: the save into this store
    try:
        with index.transaction():
            for plan in plans:
                info = index.mailbox(plan.name) or create_in_tx(index, user_dir, plan.name, created)
                if index.status_counts(info.id)[0] > 0:
                    raise ImportRefused(f"folder {plan.name} already holds messages")
                uid_validity = plan.uid_validity
                if uid_validity is None:
                    log.warn("{path} has no dovecot-uidlist: {name} gets a new UIDVALIDITY", path=plan.path,
                             name=plan.name)
                    uid_validity = index.new_uid_validity()
                index.note_uid_validity(uid_validity)
                index.set_identity(info.id, uid_validity, plan.uid_next, plan.highest_modseq)
                directory = maildir.mailbox_dir(user_dir, info.id)
                for start in range(0, len(plan.messages), _BATCH):
                    # A batch at a time: memory stays bounded however large the folder.
                    batch = []
                    for message in plan.messages[start:start + _BATCH]:
                        with open(message.path, "rb") as f:
                            data = normalize_line_endings(f.read())
                        when = datetime.fromtimestamp(int(os.stat(message.path).st_mtime)).astimezone()
                        batch.append((message.uid, data, flags_to_text(message.flags), message.modseq, when,
                                      analyze(data), saved))
                        size += len(data)
                    rows, _uniques = deliver_rows(directory, batch, delivered)
                    index.insert_messages(info.id, rows)
                    messages += len(rows)
                index.record_expunged(info.id, plan.expunged)
                described.append((directory, maildir.MailboxFile(info.name, uid_validity, info.special_use,
                                                                 plan.uid_next)))
            # One counter per user (DESIGN §4): every later change must get a
            # MODSEQ above what any client saw in Dovecot (RFC 7162 §3.1).
            index.set_modseq_floor(max((plan.highest_modseq for plan in plans), default=0))
            for name in subscribed:
                index.set_subscribed(name, True)
            counter = index.modseq_counter()
    except BaseException:
        maildir.remove_files(delivered)
        for info in created:
            maildir.remove_tree(maildir.mailbox_dir(user_dir, info.id))
        raise
    # After the commit: a crash before these leaves staged files the next
    # start publishes, and mailbox files it rewrites from the index.
    maildir.publish(delivered)
    for directory, mailbox_file in described:
        maildir.write_mailbox_file(directory, mailbox_file)
    fallback = tuple(plan.name for plan in plans if plan.fallback)
    return ImportSummary(source, len(plans), messages, size, len(subscribed), counter, fallback)
