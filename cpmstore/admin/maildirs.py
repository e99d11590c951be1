"""``cpmstore-admin export`` and ``import``: a user's folders as a plain Maildir++ tree.

The tree (what export writes, what import reads besides any plain Maildir++):

- ``DIR/cur|new|tmp`` is INBOX; folder ``A/B`` is ``DIR/.A.B/cur|new|tmp``
  (Maildir++: ``.`` separates levels). Each level is spelled in modified
  UTF-7 (RFC 3501 §5.1.3), as Dovecot spells Maildir++ folder names, and a
  ``.`` or ``%`` inside a level is written ``%2E`` / ``%25`` (read back by
  import; another program shows it as it is). Every folder is written, empty
  ones too.
- One file per message in ``cur/``, its bytes exactly as stored (CRLF line
  ends), named ``<time>.M<uid>V<uidvalidity>.cpmstore,S=<size>:2,<flags>``
  (Maildir's ``:2,`` info): ``D`` \\Draft, ``F`` \\Flagged, ``R`` \\Answered,
  ``S`` \\Seen, ``T`` \\Deleted, and ``a``-``z`` for keywords. INTERNALDATE is
  the file's mtime (its timezone offset is not kept: import reads it back in
  the importing machine's local zone).
- ``dovecot-keywords`` in each folder maps those letters to keywords
  (``0 $Work`` is ``a``), as Dovecot does. Flags that are neither system
  flags nor keywords (the CPM ``\\read-report-sent``) are listed there too,
  backslash included; import reads them back as flags. Maildir has 26 letters:
  keywords beyond the 26th of a folder are not exported, and the summary says
  how many.
- Not exported: UIDs and UIDVALIDITY (import appends: new UIDs), MODSEQs,
  subscriptions, ACLs, METADATA and annotations.

Import reads ``new/`` (messages without flags) and ``cur/``, ignores names
beginning with ``.`` (Maildir's temporary and control files), appends each
folder's messages in file-name order (numbers compared as numbers), batch by
batch (each batch all or none), and creates missing folders. Export files are
written as the store writes its own (``tmp/``, fsync, rename into ``cur/``,
fsync of the directory). File work runs in the store's worker threads.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any

from ..errors import IMAPError
from ..imap import mutf7
from ..store.dovecot_import import flags_of, read_keywords
from ..store.maildir import fsync_dir
from ..store.names import DELIMITER, INBOX, SYSTEM_FLAGS, normalize_name, validate_flags
from ..store.store import MaildirStore
from .operations import OperationFailed, existing_account

__all__ = ["export_maildir", "folder_dir_name", "import_maildir", "name_of_folder_dir"]

KEYWORDS_FILE = "dovecot-keywords"
# Maildir's info letters (uppercase, ASCII order) for the IMAP system flags
# (import reads them, and ``dovecot-keywords``, as the Dovecot import does).
FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Messages per batch, and bytes at most (a batch is read into memory whole).
BATCH_MESSAGES = 200
BATCH_BYTES = 32 << 20


# -- names -------------------------------------------------------------------------

def folder_dir_name(name: str) -> str:
    """The directory, under the export root, of folder ``name`` ("" for INBOX)."""
    if name == INBOX:
        return ""
    levels = [mutf7.encode(level).decode("ascii").replace("%", "%25").replace(".", "%2E")
              for level in name.split(DELIMITER)]
    return "." + ".".join(levels)


def name_of_folder_dir(entry: str) -> str:
    """The folder a Maildir++ directory ``.A.B`` holds (``A/B``)."""
    levels = []
    for level in entry[1:].split("."):
        level = level.replace("%2E", ".").replace("%2e", ".").replace("%25", "%")
        try:
            level = mutf7.decode(level.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            pass  # not modified UTF-7 (another program's tree): the name as it is
        levels.append(level)
    return DELIMITER.join(levels)


def _natural(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


# -- export ----------------------------------------------------------------------------

def _prepare_export_dir(directory: str) -> None:
    if os.path.exists(directory):
        if not os.path.isdir(directory) or os.listdir(directory):
            raise OperationFailed(f"{directory} exists and is not an empty directory")
    else:
        os.makedirs(directory, mode=0o700)


def _make_folder(root: str, name: str) -> str:
    path = os.path.join(root, folder_dir_name(name))
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    return path


def _write_keywords(folder: str, keywords: list[str]) -> None:
    if keywords:
        _write_file(folder, KEYWORDS_FILE, "".join(f"{i} {kw}\n" for i, kw in enumerate(keywords)).encode())
        fsync_dir(folder)


def _write_file(folder: str, name: str, data: bytes, mtime: float | None = None, sub: str = "") -> None:
    """``data`` into ``folder/sub/name`` by way of ``folder/tmp``."""
    temporary = os.path.join(folder, "tmp", name)
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    final = os.path.join(folder, sub, name)
    os.rename(temporary, final)
    if mtime is not None:
        os.utime(final, (mtime, mtime))


def _copy_messages(folder: str, files: list[tuple[str, str, float]]) -> tuple[int, int]:
    """Copy (stored path, export name, mtime) into ``folder/cur``; a message
    expunged meanwhile is skipped. Returns (messages, bytes) written."""
    count = size = 0
    for source, name, mtime in files:
        try:
            with open(source, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        _write_file(folder, name, data, mtime, "cur")
        count, size = count + 1, size + len(data)
    fsync_dir(os.path.join(folder, "cur"))
    return count, size


def _info_letters(flags: frozenset[str], letters: dict[str, str]) -> str:
    found = [FLAG_LETTERS[f] if f in FLAG_LETTERS else letters.get(f, "") for f in flags]
    return "".join(sorted(found))


async def export_maildir(store: MaildirStore, user: str, directory: str, create: bool = False) -> dict[str, Any]:
    """Write every folder of ``user`` under ``directory`` (absolute; created,
    or empty), as described above. Returns counts and what could not be kept."""
    if not os.path.isabs(directory):
        raise OperationFailed(f"{directory}: an absolute path is needed")
    account = await existing_account(store, user, create)
    workers = store.workers
    await workers.run(_prepare_export_dir, directory)
    folders = messages = size = 0
    lost: list[str] = []
    for info in sorted(await account.list_mailboxes(), key=lambda info: info.name):
        try:
            mailbox = await account.open_mailbox(info.name)
        except IMAPError:
            continue  # deleted since it was listed
        folder = await workers.run(_make_folder, directory, info.name)
        folders += 1
        uids = list(mailbox.uids)
        metas = await mailbox.meta(uids, cached=False) if uids else []
        others = sorted({flag for meta in metas for flag in meta.flags if flag not in SYSTEM_FLAGS})
        kept, dropped = others[:len(KEYWORD_LETTERS)], others[len(KEYWORD_LETTERS):]
        if dropped:
            lost.append(f"{info.name}: {len(dropped)} keyword(s) beyond Maildir's 26 not exported: "
                        + " ".join(dropped))
        await workers.run(_write_keywords, folder, kept)
        letters = dict(zip(kept, KEYWORD_LETTERS))
        for start in range(0, len(metas), BATCH_MESSAGES):
            files = []
            for meta in metas[start:start + BATCH_MESSAGES]:
                if meta.uid not in mailbox:
                    continue  # expunged since the listing
                stamp = meta.internaldate.timestamp()
                name = (f"{int(stamp)}.M{meta.uid}V{mailbox.uid_validity}.cpmstore,S={meta.size}"
                        f":2,{_info_letters(meta.flags, letters)}")
                files.append((mailbox.path(meta.uid), name, stamp))
            count, written = await workers.run(_copy_messages, folder, files)
            messages, size = messages + count, size + written
    return {"folders": folders, "messages": messages, "bytes": size, "lost": lost}


# -- import ------------------------------------------------------------------------------

def _is_maildir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "cur")) or os.path.isdir(os.path.join(path, "new"))


def _scan(directory: str) -> list[tuple[str, str]]:
    """(folder name, folder path) of every Maildir++ folder under ``directory``."""
    if not os.path.isdir(directory):
        raise OperationFailed(f"{directory} is not a directory")
    found = [(INBOX, directory)] if _is_maildir(directory) else []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if entry.startswith(".") and entry not in (".", "..") and len(entry) > 1 and _is_maildir(path):
            found.append((name_of_folder_dir(entry), path))
    if not found:
        raise OperationFailed(f"{directory} holds no Maildir (no cur/ or new/ in it or in a .Folder under it)")
    return found


def _message_files(folder: str) -> list[tuple[str, tuple[str, ...]]]:
    """(path, flags) of the folder's messages, in file-name order."""
    keywords = read_keywords(folder)
    found = []
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(folder, sub))
        except FileNotFoundError:
            continue
        for name in names:
            path = os.path.join(folder, sub, name)
            if not name.startswith(".") and os.path.isfile(path):
                found.append((name, path, tuple(sorted(flags_of(name, keywords))) if sub == "cur" else ()))
    found.sort(key=lambda entry: _natural(entry[0]))
    return [(path, flags) for _, path, flags in found]


def _read_batch(files: list[tuple[str, tuple[str, ...]]]) -> list[tuple[bytes, tuple[str, ...], datetime]]:
    batch = []
    for path, flags in files:
        with open(path, "rb") as f:
            data = f.read()
            when = datetime.fromtimestamp(os.fstat(f.fileno()).st_mtime).astimezone()
        batch.append((data, flags, when))
    return batch


def _batches(files: list[tuple[str, tuple[str, ...]]], sizes: list[int]) -> list[list[tuple[str, tuple[str, ...]]]]:
    batches: list[list[tuple[str, tuple[str, ...]]]] = [[]]
    total = 0
    for entry, size in zip(files, sizes):
        if batches[-1] and (len(batches[-1]) >= BATCH_MESSAGES or total + size > BATCH_BYTES):
            batches.append([])
            total = 0
        batches[-1].append(entry)
        total += size
    return [batch for batch in batches if batch]


def _sizes(files: list[tuple[str, tuple[str, ...]]]) -> list[int]:
    return [os.path.getsize(path) for path, _ in files]


def _storable(flags: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """The flags the store accepts, and those it does not."""
    kept, refused = [], []
    for flag in flags:
        try:
            validate_flags((flag,))
            kept.append(flag)
        except IMAPError:
            refused.append(flag)
    return tuple(kept), refused


async def import_maildir(store: MaildirStore, user: str, directory: str, create: bool = False) -> dict[str, Any]:
    """Append every message of the Maildir++ tree ``directory`` (absolute) to
    ``user``'s folders of the same names, keeping flags, keywords and
    INTERNALDATE (mtime); missing folders are created. New UIDs are given."""
    if not os.path.isabs(directory):
        raise OperationFailed(f"{directory}: an absolute path is needed")
    account = await existing_account(store, user, create)
    workers = store.workers
    folders = messages = size = 0
    skipped: list[str] = []
    for name, path in await workers.run(_scan, directory):
        try:
            name = normalize_name(name)
        except IMAPError as e:
            skipped.append(f"{path}: folder name {name!r} refused: {e.text}")
            continue
        try:
            await account.create_mailbox(name)
        except IMAPError:
            pass  # it exists: messages are added to it
        folders += 1
        files = await workers.run(_message_files, path)
        for batch in _batches(files, await workers.run(_sizes, files)):
            prepared = []
            for data, flags, when in await workers.run(_read_batch, batch):
                flags, refused = _storable(flags)
                if refused:
                    skipped.append(f"{name}: flag(s) not storable, dropped: {' '.join(refused)}")
                prepared.append((data, flags, when))
            try:
                await account.append(name, prepared)
            except IMAPError as e:
                raise OperationFailed(f"{name}: {e.text} ({messages} message(s) imported before)") from None
            messages += len(prepared)
            size += sum(len(data) for data, _, _ in prepared)
    return {"folders": folders, "messages": messages, "bytes": size, "skipped": skipped}
