"""Index recovery, checking and rebuilding from the files (DESIGN §4).

Owns what makes the index and the Maildir files agree again: at every start
(``open_index``: finish interrupted deletes, publish staged ``tmp/`` files
whose rows committed and drop the others, adopt files in ``cur/`` the index
does not know, drop rows whose file is gone),
and for the admin with the server stopped (``check_index``, ``rebuild_index``).
The files are the truth for which messages exist; the index for flags and
MODSEQ. Nothing acknowledged is ever dropped: an unknown file is adopted,
keeping its UID when that UID was never handed out (RFC 3501 §2.3.1.1), and
only files whose UID the index records as expunged are removed.
Synchronous and blocking: a worker thread or a stopped server only.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import time
from datetime import datetime

from twisted.logger import Logger

from ..mime.analysis import analyze
from . import maildir
from .backup import backup_path, usable_copy
from .index import Index, NewRow
from .interfaces import MailboxInfo
from .names import INBOX, flags_to_text

log = Logger()
INDEX_FILE = "index.sqlite3"


def index_path(user_dir: str) -> str:
    return os.path.join(user_dir, INDEX_FILE)


def open_index(user_dir: str, recover_files: bool = True, relaxed: bool = False) -> Index:
    """The user's index, recovered after a crash, INBOX present. A missing
    index (with folders on disk) or one SQLite cannot read is rebuilt,
    from its backup when there is one. ``recover_files=False`` skips
    reading every folder's directories, for a store this process closed
    cleanly itself (nothing else writes a user's files while it runs).
    ``relaxed``: fsync = "optimized" (``Index.relax``)."""
    os.makedirs(maildir.mail_root(user_dir), exist_ok=True)
    path = index_path(user_dir)
    if not os.path.exists(path) and _mailbox_dirs(user_dir):
        log.error("Index of {user_dir} missing with folders present: rebuilding", user_dir=user_dir)
        log.warn("{summary}", summary=rebuild_index(user_dir))
    try:
        index = Index(path, relaxed=relaxed)
        index.skip_reserved_modseqs()
        if recover_files:
            recover(user_dir, index)
    except sqlite3.DatabaseError as e:
        # Truncated or overwritten: SQLite says "malformed" or "not a database".
        log.error("Index of {user_dir} is damaged ({error}): rebuilding", user_dir=user_dir, error=str(e))
        log.warn("{summary}", summary=rebuild_index(user_dir))
        index = Index(path, relaxed=relaxed)
        recover(user_dir, index)
    if index.mailbox(INBOX) is None:
        with index.transaction():
            uid_validity = index.new_uid_validity()
            mailbox_id = index.insert_mailbox(INBOX, uid_validity, index.next_modseqs())
            maildir.make_mailbox_dir(user_dir, mailbox_id, maildir.MailboxFile(INBOX, uid_validity))
    return index


def recover(user_dir: str, index: Index) -> None:
    root = maildir.mail_root(user_dir)
    known = {info.id: info for info in index.mailboxes()}
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry.startswith(maildir.DELETING_PREFIX):
            mailbox_id = _int(entry[len(maildir.DELETING_PREFIX):])
            if mailbox_id in known:
                log.warn("Completing the interrupted delete of {name}", name=known.pop(mailbox_id).name)
                with index.transaction():
                    index.delete_mailbox(mailbox_id)
            maildir.remove_tree(path)
        elif entry.isdigit() and int(entry) not in known:
            if _message_files(path):
                log.warn("{path} holds messages but no folder: left for rebuild_index", path=path)
            else:
                maildir.remove_tree(path)  # a CREATE that never committed
    for info in known.values():
        _recover_mailbox(user_dir, index, info)


def _recover_mailbox(user_dir: str, index: Index, info: MailboxInfo) -> None:
    path = maildir.mailbox_dir(user_dir, info.id)
    described = maildir.MailboxFile(info.name, info.uid_validity, info.special_use, info.uid_next)
    complete = all(os.path.isdir(os.path.join(path, sub)) for sub in ("tmp", "new", "cur"))
    if not complete:
        log.warn("Directory of {name} missing: recreated", name=info.name)
    found = maildir.read_mailbox_file(path)
    if not complete or found is None or not found.describes(info.name, info.uid_validity, info.special_use,
                                                            info.uid_next):
        # Missing, or a RENAME committed before its file was rewritten.
        maildir.make_mailbox_dir(user_dir, info.id, described)
    rows = {filename: uid for uid, _, _, filename in index.load_state(info.id)}
    # A staged file whose row committed is published (the commit is what was
    # acknowledged); one whose row never committed is dropped, so that an
    # unacknowledged APPEND, COPY or MOVE leaves nothing (maildir.publish).
    finished, unfinished = [], []
    for leftover in os.listdir(os.path.join(path, "tmp")):
        (finished if leftover in rows else unfinished).append(os.path.join(path, "tmp", leftover))
    if finished:
        log.info("Finishing {count} committed deliveries into {name}", count=len(finished), name=info.name)
        maildir.publish(finished)
    if unfinished:
        log.info("Dropping {count} deliveries that never committed in {name}", count=len(unfinished), name=info.name)
        maildir.remove_files(unfinished)
    on_disk = set(os.listdir(os.path.join(path, "cur")))
    missing = sorted(uid for filename, uid in rows.items() if filename not in on_disk)
    orphans = [os.path.join("cur", f) for f in on_disk if f not in rows]
    orphans += [os.path.join("new", f) for f in os.listdir(os.path.join(path, "new"))]
    if not missing and not orphans:
        return
    expunged = index.expunged_uids(info.id)
    finished_expunges: list[str] = []
    with index.transaction():
        if missing:
            log.error("{count} message files of {name} are missing: expunged", count=len(missing), name=info.name)
            modseq = index.next_modseqs()
            index.remove_messages(info.id, missing, modseq)
            index.set_counters(info.id, highest_modseq=modseq)
        uid_next = max([info.uid_next, *(uid + 1 for uid in rows.values())])
        new_rows = []
        for relative in sorted(orphans, key=_uid_order):
            parsed = maildir.parse_name(os.path.basename(relative))
            if parsed.uid is not None and parsed.uid < uid_next and parsed.uid in expunged:
                finished_expunges.append(os.path.join(path, relative))
                continue
            uid = parsed.uid if parsed.uid is not None and parsed.uid >= uid_next else uid_next
            log.warn("Adopting {file} into {name} as UID {uid}", file=relative, name=info.name, uid=uid)
            new_rows.append(_adopt(path, relative, uid, parsed.flags, index.next_modseqs()))
            uid_next = uid + 1
        if new_rows:
            maildir.fsync_dir(os.path.join(path, "cur"))
            index.insert_messages(info.id, new_rows)
            index.set_counters(info.id, uid_next, max(r.modseq for r in new_rows))
    maildir.remove_files(finished_expunges)


def _adopt(path: str, relative: str, uid: int, flags: frozenset[str], modseq: int) -> NewRow:
    """An index row for a file found on disk, renamed to its canonical name
    in ``cur/`` unless it already has it."""
    full = os.path.join(path, relative)
    with open(full, "rb") as f:
        data = f.read()
    status = os.stat(full)
    when = datetime.fromtimestamp(int(status.st_mtime)).astimezone()
    # SAVEDATE (RFC 8514): the last link or rename of the file into a folder
    # is the nearest trace of its save the files keep.
    saved = datetime.fromtimestamp(int(status.st_ctime)).astimezone()
    filename = os.path.basename(relative)
    parsed = maildir.parse_name(filename)
    in_place = relative == os.path.join("cur", filename) and parsed.canonical
    if not (in_place and parsed.uid == uid and parsed.size == len(data)):
        _, filename = maildir.rename_into_cur(path, relative, uid, len(data))
    return NewRow(uid, filename, flags_to_text(flags), modseq, len(data), when, analyze(data), saved)


def _uid_order(relative: str) -> tuple[int, str]:
    uid = maildir.parse_name(os.path.basename(relative)).uid
    return (uid if uid is not None else 1 << 62, relative)


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _mailbox_dirs(user_dir: str) -> list[int]:
    root = maildir.mail_root(user_dir)
    if not os.path.isdir(root):
        return []
    return sorted(int(e) for e in os.listdir(root) if e.isdigit() and os.path.isdir(os.path.join(root, e)))


def _message_files(path: str) -> list[str]:
    found = []
    for sub in ("cur", "new"):
        if os.path.isdir(os.path.join(path, sub)):
            found += [os.path.join(sub, f) for f in os.listdir(os.path.join(path, sub))]
    return found


def check_index(user_dir: str) -> list[str]:
    """Problems between the index and the files, one sentence each (none: [])."""
    path = index_path(user_dir)
    if not os.path.exists(path):
        return [f"{path} is missing"]
    problems = []
    index = Index.open_readonly(path)
    try:
        known = {info.id: info for info in index.mailboxes()}
        for mailbox_id in _mailbox_dirs(user_dir):
            if mailbox_id not in known:
                problems.append(f"directory {mailbox_id} has no folder in the index")
        for info in known.values():
            directory = maildir.mailbox_dir(user_dir, info.id)
            found = maildir.read_mailbox_file(directory)
            if found is None or not found.describes(info.name, info.uid_validity, info.special_use, info.uid_next):
                problems.append(f"{info.name}: mailbox file missing or out of date")
            rows = {filename: uid for uid, _, _, filename in index.load_state(info.id)}
            files = set(_message_files(directory))
            for filename, uid in sorted(rows.items(), key=lambda item: item[1]):
                if os.path.join("cur", filename) not in files:
                    problems.append(f"{info.name}: UID {uid} has no file ({filename})")
            for relative in sorted(files - {os.path.join("cur", f) for f in rows}):
                problems.append(f"{info.name}: file {relative} has no index row")
            if rows and info.uid_next <= max(rows.values()):
                problems.append(f"{info.name}: UIDNEXT {info.uid_next} is not above UID {max(rows.values())}")
    finally:
        index.close()
    return problems


def rebuild_index(user_dir: str) -> str:
    """A new index that agrees with the files.

    Its starting point is the first readable of: the index itself (moved
    aside first, so a half-readable one is never written to), and its backup
    (``backup.write_backup``). That copy is reconciled with the files as at
    a start after a crash (``recover``: files it lacks are adopted, rows
    whose file is gone are expunged), so flags, ACLs, METADATA, annotations,
    subscriptions and URLAUTH keys come back as of the copy. Every message
    then gets a new MODSEQ above a microsecond clock, so that no client's
    cached state looks current and each device resynchronizes its flags
    (RFC 7162 §3.1.2): what changed after the copy is lost, never hidden.

    With no readable copy it is built from the ``mailbox`` files and the
    message files alone: folder ids, names, UIDVALIDITY and UIDs (file
    names) are kept, sizes and cached columns recomputed, flags taken from a
    Maildir ``:2,`` suffix if any; subscriptions, ACLs and metadata are lost.
    A previous index is kept beside as ``index.sqlite3.old-<time>``.
    """
    path = index_path(user_dir)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.rename(path + suffix, f"{path}.old-{stamp}{suffix}")
    for source, what in ((f"{path}.old-{stamp}", "the damaged index's readable content"),
                         (backup_path(path), "its backup")):
        if _restore(source, path):
            index = Index(path)
            try:
                with index.transaction():
                    _align_with_files(user_dir, index)
                recover(user_dir, index)
                with index.transaction():
                    index.renumber_modseqs(time.time_ns() // 1000)
                folders = len(index.mailboxes())
                messages = index.connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
            finally:
                index.close()
            return f"rebuilt {path} from {what} and the files: {folders} folders, {messages} messages"
    index = Index(path)
    folders = messages = 0
    try:
        with index.transaction():
            index.set_modseq_floor(time.time_ns() // 1000)
            for mailbox_id in _mailbox_dirs(user_dir):
                folders += 1
                messages += _rebuild_mailbox(user_dir, index, mailbox_id)
    finally:
        index.close()
    return f"rebuilt {path}: {folders} folders, {messages} messages"


def _align_with_files(user_dir: str, index: Index) -> None:
    """Folder changes made after an older copy was taken, as the files show
    them: a folder whose directory is gone was deleted, a ``mailbox`` file
    naming another name was renamed, a directory the copy lacks was created
    (and is rebuilt from its files)."""
    on_disk = set(_mailbox_dirs(user_dir))
    for info in index.mailboxes():
        if info.id not in on_disk:
            log.warn("Folder {name} has no directory: deleted after the copy", name=info.name)
            index.delete_mailbox(info.id)
            continue
        described = maildir.read_mailbox_file(maildir.mailbox_dir(user_dir, info.id))
        if described is not None and described.name != info.name and index.mailbox(described.name) is None:
            log.warn("Folder {old} is {new} in its files: renamed after the copy", old=info.name, new=described.name)
            index.rename_mailbox(info.id, described.name)
    known = {info.id for info in index.mailboxes()}
    for mailbox_id in sorted(on_disk - known):
        log.warn("Directory {id} has no folder in the copy: created after it, rebuilt", id=mailbox_id)
        _rebuild_mailbox(user_dir, index, mailbox_id)


def _restore(source: str, path: str) -> bool:
    """Copy ``source`` (an index file, with its ``-wal`` if any) to ``path``
    when SQLite reads it whole; False otherwise."""
    if not os.path.isfile(source):
        return False
    staging = path + ".restore"
    for suffix in ("", "-wal"):
        if os.path.exists(source + suffix):
            shutil.copyfile(source + suffix, staging + suffix)
    if not usable_copy(staging):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(staging + suffix):
                os.unlink(staging + suffix)
        return False
    # Folds the copied -wal into the file, so nothing is left beside it.
    conn = sqlite3.connect(staging, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    os.rename(staging, path)
    maildir.fsync_dir(os.path.dirname(path))
    return True


def _rebuild_mailbox(user_dir: str, index: Index, mailbox_id: int) -> int:
    directory = maildir.mailbox_dir(user_dir, mailbox_id)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    described = maildir.read_mailbox_file(directory)
    if described is None:
        described = maildir.MailboxFile(f"recovered-{mailbox_id}", index.new_uid_validity())
        log.warn("{dir} has no mailbox file: named {name}", dir=directory, name=described.name)
    name = described.name if index.mailbox(described.name) is None else f"{described.name}-{mailbox_id}"
    index.note_uid_validity(described.uid_validity)
    index.insert_mailbox(name, described.uid_validity, index.next_modseqs(), described.special_use, mailbox_id)
    if name != described.name:
        described = dataclasses.replace(described, name=name)
    maildir.write_mailbox_file(directory, described)
    for leftover in os.listdir(os.path.join(directory, "tmp")):
        maildir.remove_files([os.path.join(directory, "tmp", leftover)])
    rows: list[NewRow] = []
    uid_next = 1
    for relative in sorted(_message_files(directory), key=_uid_order):
        parsed = maildir.parse_name(os.path.basename(relative))
        uid = parsed.uid if parsed.uid is not None and parsed.uid >= uid_next else uid_next
        rows.append(_adopt(directory, relative, uid, parsed.flags, index.next_modseqs()))
        uid_next = uid + 1
    maildir.fsync_dir(os.path.join(directory, "cur"))
    index.insert_messages(mailbox_id, rows)
    # Expunged top UIDs left no file: the mailbox file remembers how far UIDs went.
    uid_next = max(uid_next, described.uid_next)
    index.set_counters(mailbox_id, uid_next, max((r.modseq for r in rows), default=None))
    return len(rows)
