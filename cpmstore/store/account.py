"""One user's store: folders, messages and changes (DESIGN §4, §5).

Owns every operation on one user's data: it runs the blocking part (index
transaction plus file work from ``maildir.py``) in a worker thread, one
operation at a time per user, then, back on the reactor thread and still in
the user's turn, updates the open folders' shared state and publishes the
change on the user's bus. Crash-safety order for new files: write ``tmp/``,
fsync, rename into ``cur/``, fsync the directory, then commit; files of
removed messages go only after the commit. It never formats IMAP responses.

RFC 3501 §6.3.3-6.3.6 (CREATE, DELETE, RENAME, SUBSCRIBE), §6.3.11 (APPEND),
§6.4.3 (EXPUNGE), §6.4.6-6.4.7 (STORE, COPY); RFC 3502 (MULTIAPPEND, all or
none); RFC 4315 (APPENDUID, COPYUID); RFC 6851 (MOVE); RFC 7162 §3.1 (MODSEQ).
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import implementer

from ..cpm.kinds import KIND_ENTRY
from ..auth.acl import ALL_RIGHTS, apply_deleteacl, apply_setacl, rights_of
from ..auth.urlauth import new_key as new_urlauth_key
from ..errors import IMAPError, InvalidMailboxName, MailboxExists, NoSuchMailbox
from ..imap.seqset import RangeSet, runs
from ..mime.analysis import Analysis, analyze, normalize_line_endings
from ..mime.binary import stored_form
from ..mime.preview import preview_text
from ..mime.text import search_keys
from . import maildir
from .changes import (
    AnnotationsChanged, ChangeBus, FlagsChanged, MailboxChanged, MessagesAdded, MessagesExpunged, MetadataChanged,
    SharesChanged,
)
from .index import Index, NeedsThread, NewRow
from .interfaces import AppendResult, CopyResult, IAccount, MailboxInfo, MailboxStatus, MessageMeta
from .mailbox import FolderState, Mailbox
from .names import (
    INBOX, apply_flags, flags_to_text, in_subtree, normalize_name, parents_of, text_to_flags, validate_flags,
)
from .schema import CPM_FIELDS
from .shares import Shares, lookup_identifiers
from .texts import TEXTS_FILE, TextIndex, encode_key
from .workers import UserQueue, Workers, disk_full

log = Logger()
T = TypeVar("T")

# With fsync = "optimized", a flag change or an expunge of at most this many
# messages commits its rows on the reactor thread (DESIGN §4): a write into
# the WAL in the page cache costs less than the round trip to a store thread.
LIGHT_WRITE_MESSAGES = 64

# Messages read and parsed per turn when a search fills the text index.
_TEXT_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class _Added:
    """What a commit added to one folder, for the in-memory update."""

    mailbox_id: int
    uid_validity: int
    uids: list[int]
    modseqs: list[int]
    uniques: list[int]
    sizes: list[int]
    uid_next: int
    bodies: tuple[bytes, ...] = ()  # the bytes written, when known (APPEND), for the body cache


@dataclass(frozen=True, slots=True)
class _Moved:
    source_id: int
    added: _Added
    source_uids: list[int]
    expunge_modseq: int  # 0 for a copy
    # (source UID, source file unique, target UID, target file unique): for the text index.
    texts: list[tuple[int, int, int, int]] = ()


@dataclass(frozen=True, slots=True)
class _Renamed:
    created: list[MailboxInfo]
    renamed: list[tuple[int, str, str]]  # (id, old name, new name)
    moved: _Moved | None  # INBOX's messages, for a rename of INBOX


def local_now() -> datetime:
    return datetime.now().astimezone().replace(microsecond=0)


@implementer(IAccount)
class Account:
    def __init__(self, username: str, user_dir: str, index: Index, workers: Workers,
                 shares: Shares | None = None) -> None:
        self.username = username
        self.shares = shares
        self.user_dir = user_dir
        self.index = index
        self.texts = TextIndex(os.path.join(user_dir, TEXTS_FILE))
        self.workers = workers
        self.queue = UserQueue(workers)
        self.bus = ChangeBus()
        # index.connection.total_changes at the last copy (store/backup.py).
        self.backed_up_changes = 0
        self._open: dict[int, Mailbox] = {}
        # UIDs added to folders nobody has open yet: \Recent once one is opened.
        self._pending_recent: dict[int, set[int]] = {}
        self._interned: dict[frozenset[str], frozenset[str]] = {}
        # Folder ids by name and stored ACLs, read once and kept current, so
        # that checking a right on every command costs no index query.
        self._ids: dict[str, int] | None = None
        self._acls: dict[int, dict[str, str]] = {}
        # rights_of results by (folder id, user), for the check every command
        # makes; emptied whenever an ACL changes.
        self._rights: dict[tuple[int, str], frozenset[str]] = {}
        self._special: dict[str, str] = {}
        self._usage: tuple[int, int] | None = None
        self._checkpoint_queued = False

    def close_files(self) -> None:
        """Close the index and the text index (in a worker thread, in the user's turn)."""
        self.index.close()
        self.texts.close()

    def intern(self, flags: frozenset[str]) -> frozenset[str]:
        return self._interned.setdefault(flags, flags)

    def _loaded(self, name: str) -> Mailbox | None:
        for mailbox in self._open.values():
            if mailbox.name == name:
                return mailbox
        return None

    # -- folders ---------------------------------------------------------------
    async def list_mailboxes(self) -> list[MailboxInfo]:
        return await self.queue.run(self.index.mailboxes)

    async def create_mailbox(self, name: str, special_use: str | None = None) -> MailboxInfo:
        """``special_use``: RFC 6154 attributes of the new folder, space-separated."""
        name = normalize_name(name)
        created = await self.queue.run(self._create_sync, name, special_use)
        self._ids = None
        for info in created:
            self.bus.publish(MailboxChanged("created", info.id, info.name))
        return created[-1]

    def _create_sync(self, name: str, special_use: str | None = None) -> list[MailboxInfo]:
        if self.index.mailbox(name) is not None:
            raise MailboxExists()
        with self._new_folders() as created:
            self._create_in_tx(name, created, special_use)
        return created

    def _new_folders(self):
        return _NewFolders(self)

    def _create_in_tx(self, name: str, created: list[MailboxInfo], special_use: str | None = None) -> MailboxInfo:
        return create_in_tx(self.index, self.user_dir, name, created, special_use)

    async def delete_mailbox(self, name: str) -> None:
        name = normalize_name(name)
        if name == INBOX:
            raise InvalidMailboxName("INBOX can't be deleted.")
        info = await self.queue.run(self._delete_sync, name)
        self._ids = None
        self._usage = None
        self._pending_recent.pop(info.id, None)
        mailbox = self._open.pop(info.id, None)
        if mailbox is not None:
            mailbox.deleted = True
        self.bus.publish(MailboxChanged("deleted", info.id, info.name))

    def _delete_sync(self, name: str) -> MailboxInfo:
        info = self.index.mailbox(name)
        if info is None:
            raise NoSuchMailbox()
        # Children stay (RFC 3501 §6.3.4): the name lives on only as their
        # parent, which LIST shows as \Noselect, as Dovecot does.
        # Out of the way first: a crash from here on completes the delete at
        # the next start instead of leaving a half folder a rebuild would revive.
        away = maildir.move_away(self.user_dir, info.id)
        try:
            with self.index.transaction():
                self.index.delete_mailbox(info.id)
        except BaseException:
            if away is not None:
                os.rename(away, maildir.mailbox_dir(self.user_dir, info.id))
            raise
        if away is not None:
            maildir.remove_tree(away)
        self.texts.drop(info.id)
        self._update_shares()
        return info

    async def rename_mailbox(self, old: str, new: str) -> None:
        old, new = normalize_name(old), normalize_name(new)
        async with self.queue:
            result = await self.workers.run(self._rename_sync, old, new)
            self._ids = None
            for info in result.created:
                self.bus.publish(MailboxChanged("created", info.id, info.name))
            for mailbox_id, old_name, new_name in result.renamed:
                mailbox = self._open.get(mailbox_id)
                if mailbox is not None:
                    mailbox.name = new_name
                self.bus.publish(MailboxChanged("renamed", mailbox_id, new_name, old_name))
            if result.moved is not None:
                # The new folder is not open yet: its flags are read when it is.
                self._apply_moved(result.moved, None, origin=None)

    def _rename_sync(self, old: str, new: str) -> _Renamed:
        source = self.index.mailbox(old)
        if source is None:
            raise NoSuchMailbox()
        if self.index.mailbox(new) is not None:
            raise MailboxExists()
        if old != INBOX and in_subtree(new, old):
            raise InvalidMailboxName("Can't rename mailbox under itself.")
        if old == INBOX:
            return self._rename_inbox_sync(source, new)
        renames = [(m, new + m.name[len(old):]) for m in self.index.subtree(old)]
        for _, target in renames:
            if self.index.mailbox(target) is not None:
                raise MailboxExists(f"Mailbox {target} already exists")
        subscribed = set(self.index.subscriptions())
        with self._new_folders() as created:
            for parent in parents_of(new):
                if self.index.mailbox(parent) is None:
                    self._create_in_tx(parent, created)
            for mailbox, target in renames:
                self.index.rename_mailbox(mailbox.id, target)
                # Subscriptions follow the folder, as in Dovecot.
                if mailbox.name in subscribed:
                    self.index.set_subscribed(mailbox.name, False)
                    self.index.set_subscribed(target, True)
        for mailbox, target in renames:
            maildir.write_mailbox_file(
                maildir.mailbox_dir(self.user_dir, mailbox.id),
                maildir.MailboxFile(target, mailbox.uid_validity, mailbox.special_use, mailbox.uid_next),
            )
        return _Renamed(created, [(m.id, m.name, target) for m, target in renames], None)

    def _rename_inbox_sync(self, inbox: MailboxInfo, new: str) -> _Renamed:
        """RFC 3501 §6.3.5: INBOX's messages move to a new folder; INBOX stays,
        empty, with its children (and its UIDVALIDITY: its UIDs are not reused)."""
        uids = [row[0] for row in self.index.load_state(inbox.id)]
        moved_files: list[str] = []
        staged: list[str] = []
        with self._new_folders() as created:
            target = self._create_in_tx(new, created)
            moved = self._copy_in_tx(inbox.id, uids, target, True, moved_files, staged) if uids else None
        maildir.publish(staged)
        maildir.remove_files(moved_files)
        if moved is not None:
            self._texts_moved(moved)
        return _Renamed(created, [], moved)

    async def set_subscribed(self, name: str, subscribed: bool) -> None:
        name = normalize_name(name)
        changed, info = await self.queue.run(self._subscribe_sync, name, subscribed)
        if changed:
            kind = "subscribed" if subscribed else "unsubscribed"
            self.bus.publish(MailboxChanged(kind, info.id if info else 0, name))

    def _subscribe_sync(self, name: str, subscribed: bool) -> tuple[bool, MailboxInfo | None]:
        with self.index.transaction(durable=False):
            changed = self.index.set_subscribed(name, subscribed)
        return changed, self.index.mailbox(name)

    async def subscriptions(self) -> list[str]:
        return await self.queue.run(self.index.subscriptions)

    async def status(self, name: str) -> MailboxStatus:
        name = normalize_name(name)
        mailbox = self._loaded(name)
        if mailbox is not None:
            return MailboxStatus(
                messages=len(mailbox.uids), recent=mailbox.count_recent(), uid_next=mailbox.uid_next,
                uid_validity=mailbox.uid_validity, unseen=mailbox.count_unseen(),
                highest_modseq=mailbox.highest_modseq, size=mailbox.total_size(),
            )
        info, (messages, unseen, size) = await self.queue.run(self._status_sync, name)
        return MailboxStatus(
            messages=messages, recent=len(self._pending_recent.get(info.id, ())), uid_next=info.uid_next,
            uid_validity=info.uid_validity, unseen=unseen, highest_modseq=info.highest_modseq, size=size,
        )

    def _status_sync(self, name: str) -> tuple[MailboxInfo, tuple[int, int, int]]:
        info = self._info(name)
        return info, self.index.status_counts(info.id)

    def _info(self, name: str) -> MailboxInfo:
        info = self.index.mailbox(name)
        if info is None:
            raise NoSuchMailbox()
        return info

    async def open_mailbox(self, name: str) -> Mailbox:
        name = normalize_name(name)
        mailbox = self._loaded(name)
        if mailbox is not None:
            return mailbox
        async with self.queue:
            # Another session may have loaded it while this one waited its turn.
            mailbox = self._loaded(name)
            if mailbox is None:
                info, state = await self.workers.run(self._load_sync, name)
                state.flags = [self.intern(flags) for flags in state.flags]
                directory = maildir.mailbox_dir(self.user_dir, info.id)
                mailbox = Mailbox(self, info, directory, state, self._pending_recent.pop(info.id, set()))
                self._open[info.id] = mailbox
        return mailbox

    def _load_sync(self, name: str) -> tuple[MailboxInfo, FolderState]:
        info = self._info(name)
        state = FolderState()
        parsed: dict[str, frozenset[str]] = {}
        for uid, modseq, flags, filename in self.index.load_state(info.id):
            state.uids.append(uid)
            state.modseqs.append(modseq)
            state.flags.append(parsed.get(flags) or parsed.setdefault(flags, text_to_flags(flags)))
            state.uniques.append(maildir.unique_of(filename))
            state.sizes.append(int(filename.rpartition("=")[2]))
        return info, state

    # -- access control (RFC 4314) ----------------------------------------------------
    async def load_access(self) -> None:
        """Read folder ids and ACLs once; afterwards ``rights_on`` answers from memory."""
        if self._ids is None:
            mailboxes, acls = await self.queue.run(self._access_sync)
            # Set here, on the reactor thread, all three from one read.
            self._ids = {m.name: m.id for m in mailboxes}
            self._special = {m.name: m.special_use for m in mailboxes if m.special_use}
            self._acls = acls
            self._rights = {}

    def _access_sync(self) -> tuple[list[MailboxInfo], dict[int, dict[str, str]]]:
        return self.index.mailboxes(), self.index.acls()

    def special_use(self, name: str) -> str | None:
        """RFC 6154 attributes of folder ``name`` (after ``load_access``)."""
        return self._special.get(name)

    def folder_id(self, name: str) -> int | None:
        """The id of folder ``name`` (after ``load_access``)."""
        return (self._ids or {}).get(name)

    def folder_names(self) -> list[str]:
        """Every folder name (after ``load_access``)."""
        return sorted(self._ids or ())

    def rights_on(self, name: str, user: str) -> frozenset[str] | None:
        """``user``'s rights on folder ``name``, None when there is no such
        folder (after ``load_access``)."""
        mailbox_id = (self._ids or {}).get(normalize_name(name))
        if mailbox_id is None:
            return None
        return self.rights_by_id(mailbox_id, user)

    def rights_by_id(self, mailbox_id: int, user: str) -> frozenset[str]:
        rights = self._rights.get((mailbox_id, user))
        if rights is None:
            rights = self._rights[mailbox_id, user] = rights_of(self._acls.get(mailbox_id, {}), self.username, user)
        return rights

    def stored_acl(self, name: str) -> dict[str, str]:
        mailbox_id = (self._ids or {}).get(normalize_name(name))
        if mailbox_id is None:
            raise NoSuchMailbox()
        return dict(self._acls.get(mailbox_id, {}))

    async def set_acl(self, name: str, identifier: str, mod_rights: str) -> None:
        def change(acl: dict[str, str]) -> dict[str, str]:
            if identifier == self.username and identifier not in acl:
                # "+x" or "-x" on the owner starts from the owner's implicit rights.
                acl = {**acl, identifier: ALL_RIGHTS}
            return apply_setacl(acl, identifier, mod_rights)
        await self._change_acl(name, change)

    async def delete_acl(self, name: str, identifier: str) -> None:
        await self._change_acl(name, lambda acl: apply_deleteacl(acl, identifier))

    async def _change_acl(self, name: str, change) -> None:
        name = normalize_name(name)
        async with self.queue:
            info, acl = await self.workers.run(self._change_acl_sync, name, change)
            self._acls[info.id] = acl
            self._rights = {}
            self.bus.publish(MailboxChanged("acl", info.id, info.name))
            if self.shares is not None:
                self.shares.bus.publish(SharesChanged(self.username))

    def _change_acl_sync(self, name: str, change) -> tuple[MailboxInfo, dict[str, str]]:
        with self.index.transaction():
            info = self._info(name)
            acl = change(self.index.acl(info.id))
            self.index.set_acl(info.id, acl)
        self._update_shares()
        return info, acl

    def _update_shares(self) -> None:
        """After the commit (worker thread): who may now find this user's folders."""
        if self.shares is not None:
            rows = [(identifier, rights) for acl in self.index.acls().values() for identifier, rights in acl.items()]
            self.shares.set(self.username, lookup_identifiers(self.username, rows))

    # -- metadata (RFC 5464) -------------------------------------------------------------
    async def get_metadata(self, name: str | None, user: str) -> dict[str, bytes]:
        """The /shared entries and ``user``'s /private entries of folder ``name``
        (of the server when None), by lower-case entry name."""
        return await self.queue.run(self._get_metadata_sync, name, user)

    def _get_metadata_sync(self, name: str | None, user: str) -> dict[str, bytes]:
        mailbox_id = 0 if name is None else self._info(normalize_name(name)).id
        rows = self.index.metadata(mailbox_id, ("", user))
        return {entry: value for (owner, entry), value in rows.items()
                if (owner == "") == entry.startswith("/shared")}

    async def set_metadata(self, name: str | None, user: str, changes: list[tuple[str, bytes | None]],
                           max_entries: int) -> None:
        """Set (or with a None value remove) entries, all or none. More than
        ``max_entries`` entries per folder and owner: ``[METADATA TOOMANY]``."""
        async with self.queue:
            mailbox_id, shown, owners = await self.workers.run(self._set_metadata_sync, name, user, changes, max_entries)
            for owner, entries in owners.items():
                self.bus.publish(MetadataChanged(mailbox_id, shown, tuple(entries), owner))

    def _set_metadata_sync(self, name: str | None, user: str, changes: list[tuple[str, bytes | None]],
                           max_entries: int) -> tuple[int, str, dict[str, list[str]]]:
        rows = [("" if entry.startswith("/shared") else user, entry, value) for entry, value in changes]
        with self.index.transaction(durable=False):
            info = None if name is None else self._info(normalize_name(name))
            mailbox_id = 0 if info is None else info.id
            self.index.set_metadata(mailbox_id, rows)
            for owner in {owner for owner, _, _ in rows}:
                if self.index.metadata_count(mailbox_id, owner) > max_entries:
                    raise IMAPError("Too many metadata entries.", b"METADATA TOOMANY")
        owners: dict[str, list[str]] = {}
        for owner, entry, _ in rows:
            owners.setdefault(owner, []).append(entry)
        return mailbox_id, "" if info is None else info.name, owners

    # -- URLAUTH mailbox access keys (RFC 4467 §7) ----------------------------------------
    async def urlauth_key(self, name: str, create: bool = False) -> bytes | None:
        """The mailbox access key of folder ``name``: None when it has none
        (never made, or reset), unless ``create`` makes one. NoSuchMailbox
        when there is no such folder."""
        return await self.queue.run(self._urlauth_key_sync, normalize_name(name), create)

    def _urlauth_key_sync(self, name: str, create: bool) -> bytes | None:
        info = self._info(name)
        key = self.index.urlauth_key(info.id)
        if key is None and create:
            with self.index.transaction():
                key = self.index.urlauth_key(info.id)
                if key is None:
                    key = new_urlauth_key()
                    self.index.set_urlauth_key(info.id, key)
        return key

    async def reset_urlauth_keys(self, name: str | None = None) -> None:
        """Revoke every URL signed with folder ``name``'s key (every folder's
        when None): the key goes, and the next GENURLAUTH makes a new one."""
        await self.queue.run(self._reset_urlauth_sync, None if name is None else normalize_name(name))

    def _reset_urlauth_sync(self, name: str | None) -> None:
        with self.index.transaction():
            self.index.delete_urlauth_keys(None if name is None else self._info(name).id)

    # -- messages ----------------------------------------------------------------
    async def append(self, name: str, messages: list[tuple], quota: tuple[int, int] | None = None) -> AppendResult:
        """``messages``: (bytes, flags, date) or (bytes, flags, date, annotations)
        where annotations are (owner, entry, value) rows (RFC 5257 §4.3), or
        (bytes, flags, date, annotations, as_sent): ``as_sent`` true keeps bare
        LFs, which in binary data are octets, not line ends, and stores a
        binary part holding NUL base64-encoded (RFC 3516 §4.4, ``stored_form``)."""
        name = normalize_name(name)
        prepared = [(data, validate_flags(flags), date, *rest) for data, flags, date, *rest in messages]
        loaded = self._loaded(name)
        if loaded is not None:
            prepared = [(data, tuple(loaded.spell(f) for f in flags), *rest) for data, flags, *rest in prepared]
        async with self.queue:
            if quota is not None:
                await self._check_quota(quota, len(prepared), sum(len(m[0]) for m in prepared))
            added, flags = await self.workers.run(self._append_sync, name, prepared, loaded is not None)
            self._apply_added(added, [self.intern(f) for f in flags])
        return AppendResult(added.uid_validity, tuple(added.uids))

    def _append_sync(self, name: str, messages: list[tuple], spelled: bool = False) -> tuple[_Added, list[frozenset[str]]]:
        # Analysis before the write lock: CPU work, nothing to undo.
        prepared = []
        annotations = []
        for data, flags, date, *rest in messages:
            annotations.append(rest[0] if rest else ())
            if rest[1:] and rest[1]:  # a literal8 (RFC 3516 §4.4): octets, not lines
                data = stored_form(data)
            else:
                data = normalize_line_endings(data)
            when = (date or local_now()).replace(microsecond=0)
            prepared.append((data, frozenset(flags), when, analyze(data)))
        delivered: list[str] = []
        try:
            with self.index.transaction():
                info = self._info(name)
                if not spelled and any(not f.startswith("\\") for _, flags, _, _ in prepared for f in flags):
                    # Keywords take the spelling the folder already has (RFC 3501 §2.3.2);
                    # an open folder's spelling was applied by the caller.
                    spelling = self.index.keyword_spellings(info.id)
                    prepared = [(data, frozenset(spelling.get(f.lower(), f) if not f.startswith("\\") else f
                                                 for f in flags), when, cache) for data, flags, when, cache in prepared]
                directory = maildir.mailbox_dir(self.user_dir, info.id)
                first_modseq = self.index.next_modseqs(len(prepared))
                saved = local_now()  # RFC 8514 SAVEDATE
                rows, uniques = deliver_rows(directory, [
                    (info.uid_next + i, data, flags_to_text(flags), first_modseq + i, when, cache, saved)
                    for i, (data, flags, when, cache) in enumerate(prepared)
                ], delivered, sync_dir=not self.index.relaxed)
                self.index.insert_messages(info.id, rows)
                self.index.set_annotations(info.id, [(row.uid, owner, entry, value)
                                                     for row, given in zip(rows, annotations)
                                                     for owner, entry, value in given])
                uid_next = info.uid_next + len(rows)
                self.index.set_counters(info.id, uid_next, first_modseq + len(rows) - 1)
        except BaseException:
            # All or none (RFC 3502 §6.3.11): nothing of a failed APPEND stays.
            maildir.remove_files(delivered)
            raise
        maildir.publish(delivered)  # committed: a crash before this is finished at the next start
        self.texts.add(info.id, [(row.uid, unique, *row.cache.search_keys) for row, unique in zip(rows, uniques)
                                 if row.cache.search_keys is not None])
        added = _Added(info.id, info.uid_validity, [r.uid for r in rows], [r.modseq for r in rows],
                       uniques, [r.size for r in rows], uid_next, tuple(data for data, _, _, _ in prepared))
        return added, [flags for _, flags, _, _ in prepared]

    # -- quota (RFC 9208) -------------------------------------------------------------
    async def usage(self) -> tuple[int, int]:
        """(messages, bytes) over every folder of this user."""
        async with self.queue:
            return await self._usage_now()

    async def _usage_now(self) -> tuple[int, int]:
        """Inside the user's turn: read once, then kept current as messages come and go."""
        if self._usage is None:
            self._usage = await self.workers.run(self.index.usage)
        return self._usage

    def _forget_usage(self, messages: int, size: int) -> None:
        """Messages left the store: the usage stays known without a new count
        (a full scan of the user's messages, which an APPEND would then wait for)."""
        if self._usage is not None:
            self._usage = (self._usage[0] - messages, self._usage[1] - size)

    async def _check_quota(self, quota: tuple[int, int], messages: int, size: int) -> None:
        max_bytes, max_messages = quota
        count, total = await self._usage_now()
        if (max_bytes and total + size > max_bytes) or (max_messages and count + messages > max_messages):
            raise IMAPError("Quota exceeded (mailbox for user is full).", b"OVERQUOTA")

    def _apply_added(self, added: _Added, flags: list[frozenset[str]] | None) -> None:
        """``flags`` may be None only when the target folder cannot be open."""
        if not added.uids:
            return
        if self._usage is not None:
            self._usage = (self._usage[0] + len(added.uids), self._usage[1] + sum(added.sizes))
        mailbox = self._open.get(added.mailbox_id)
        if mailbox is not None:
            assert flags is not None
            mailbox.apply_added(added.uids, flags, added.modseqs, added.uniques, added.sizes, added.uid_next,
                                added.bodies)
        else:
            self._pending_recent.setdefault(added.mailbox_id, set()).update(added.uids)
        self.bus.publish(MessagesAdded(added.mailbox_id, tuple(added.uids), max(added.modseqs)))

    async def copy(self, source: Mailbox, uids: list[int], target: str, move: bool = False, origin: object = None,
                   quota: tuple[int, int] | None = None) -> CopyResult:
        target = normalize_name(target)
        async with self.queue:
            present = sorted(uid for uid in set(uids) if uid in source)
            if source.deleted or not present:
                info = await self.workers.run(self._info, target)
                return CopyResult(info.uid_validity, (), ())
            if quota is not None and not move:
                # A MOVE within one user's store changes no usage (RFC 9208 §4.1.3).
                await self._check_quota(quota, len(present), sum(source.size_of(uid) for uid in present))
            flags = [source.flags_of(uid) for uid in present]
            moved = await self.workers.run(self._copy_sync, source.id, present, target, move)
            self._apply_moved(moved, flags, origin)
        return CopyResult(moved.added.uid_validity, tuple(present), tuple(moved.added.uids))

    def _copy_sync(self, source_id: int, uids: list[int], target: str, move: bool) -> _Moved:
        removed_files: list[str] = []
        staged: list[str] = []
        with self.index.transaction():
            moved = self._copy_in_tx(source_id, uids, self._info(target), move, removed_files, staged)
        maildir.publish(staged)
        maildir.remove_files(removed_files)
        self._texts_moved(moved)
        if move:
            floor = self._uid_floor(source_id, moved.source_uids)
            if floor is not None:
                maildir.write_mailbox_file(maildir.mailbox_dir(self.user_dir, source_id), floor)
        return moved

    def _texts_moved(self, moved: _Moved) -> None:
        """The text index after a committed COPY or MOVE: the rows go with the bytes."""
        self.texts.copy(moved.source_id, moved.added.mailbox_id, moved.texts)
        if moved.expunge_modseq:
            self.texts.remove(moved.source_id, moved.source_uids)

    def _copy_in_tx(self, source_id: int, uids: list[int], target: MailboxInfo, move: bool, removed_files: list[str],
                    staged: list[str]) -> _Moved:
        """Link ``uids`` (present ones, ascending) into ``target``'s ``tmp/``
        (listed in ``staged``, to ``maildir.publish`` after the commit) and add
        their rows; for a move also remove them from the source (files listed
        in ``removed_files`` for after the commit). A crash before the commit
        leaves only ``tmp/`` files, dropped at the next start: a MOVE is whole
        or not at all (RFC 6851 §3.3)."""
        filenames = self.index.filenames(source_id, uids)
        uids = [uid for uid in uids if uid in filenames]
        source_dir = maildir.mailbox_dir(self.user_dir, source_id)
        target_dir = maildir.mailbox_dir(self.user_dir, target.id)
        first_modseq = self.index.next_modseqs(len(uids) + (1 if move else 0))
        linked: list[str] = []
        copies, uniques, sizes = [], [], []
        try:
            for i, uid in enumerate(uids):
                size = int(filenames[uid].rpartition("=")[2])
                unique, filename = maildir.link(
                    os.path.join(source_dir, "cur", filenames[uid]), target_dir, target.uid_next + i, size
                )
                linked.append(os.path.join(target_dir, "tmp", filename))
                copies.append((uid, target.uid_next + i, filename, first_modseq + i))
                uniques.append(unique)
                sizes.append(size)
            maildir.fsync_dir(os.path.join(target_dir, "tmp"))
            self.index.copy_rows(source_id, target.id, copies, local_now())
            uid_next = target.uid_next + len(copies)
            self.index.set_counters(target.id, uid_next, first_modseq + len(copies) - 1 if copies else None)
            expunge_modseq = 0
            if move:
                expunge_modseq = first_modseq + len(copies)
                self.index.remove_messages(source_id, uids, expunge_modseq)
                self.index.set_counters(source_id, highest_modseq=expunge_modseq)
        except BaseException:
            maildir.remove_files(linked)
            raise
        staged.extend(linked)
        if move:
            removed_files.extend(os.path.join(source_dir, "cur", filenames[uid]) for uid in uids)
        added = _Added(target.id, target.uid_validity, [c[1] for c in copies], [c[3] for c in copies],
                       uniques, sizes, uid_next)
        texts = []
        for (uid, new_uid, _name, _modseq), unique in zip(copies, uniques):
            try:
                texts.append((uid, maildir.unique_of(filenames[uid]), new_uid, unique))
            except ValueError:
                pass  # not a name this store gave: its row, if any, is not trusted; computed again
        return _Moved(source_id, added, uids, expunge_modseq, texts)

    def _apply_moved(self, moved: _Moved, flags: list[frozenset[str]] | None, origin: object) -> None:
        if moved.expunge_modseq:
            # The same files left the source: what the target gained, the source lost.
            self._forget_usage(len(moved.source_uids), sum(moved.added.sizes))
            source = self._open.get(moved.source_id)
            if source is not None:
                source.apply_removed(moved.source_uids, moved.expunge_modseq)
            pending = self._pending_recent.get(moved.source_id)
            if pending:
                pending.difference_update(moved.source_uids)
        self._apply_added(moved.added, flags)
        if moved.expunge_modseq:
            self.bus.publish(MessagesExpunged(moved.source_id, tuple(moved.source_uids), moved.expunge_modseq, origin))

    async def store_flags(self, mailbox: Mailbox, uids: list[int], mode: str, flags: tuple[str, ...], origin: object = None,
                          unchanged_since: int | None = None, allowed=None) -> list[tuple[int, frozenset[str], int]]:
        flags = tuple(mailbox.spell(flag) for flag in validate_flags(flags))
        async with self.queue:
            plan: list[tuple[int, frozenset[str]]] = []
            outcome: dict[frozenset[str], frozenset[str]] = {}  # per distinct (interned) flag set
            for uid, current, modseq in mailbox.current(sorted(set(uids))):
                # RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left alone.
                if unchanged_since is None or modseq <= unchanged_since:
                    new = outcome.get(current)
                    if new is None:
                        new = apply_flags(current, mode, flags)
                        if allowed is not None:
                            # Flags the user has no right to change keep their value (RFC 4314 §4).
                            new = frozenset({f for f in new if allowed(f)} | {f for f in current if not allowed(f)})
                        new = outcome[current] = self.intern(new)
                    if new != current:
                        plan.append((uid, new))
            if not plan or mailbox.deleted:
                return []
            first = await self._index_write(len(plan) <= LIGHT_WRITE_MESSAGES, self._store_sync, mailbox.id,
                                            [(u, flags_to_text(f)) for u, f in plan])
            changes = [(uid, new, first + i) for i, (uid, new) in enumerate(plan)]
            mailbox.apply_flags(changes)
            self.bus.publish(FlagsChanged(mailbox.id, tuple(changes), origin))
        return changes

    async def _index_write(self, light: bool, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, a write of the index alone, by a caller holding the
        user's turn. ``light`` (small, no sync wanted) and fsync = "optimized":
        committed here on the reactor thread, a write into the WAL in the page
        cache, unless it turns out to need a store thread (``NeedsThread``:
        a new block of MODSEQs to sync, another connection's lock). Otherwise,
        and for every other write, in a store thread."""
        if light and self.index.relaxed:
            try:
                with disk_full(), self.index.on_this_thread():
                    result = fn(*args)
            except NeedsThread:
                pass
            else:
                if self.index.checkpoint_due and not self._checkpoint_queued:
                    self._checkpoint_queued = True
                    self._later(self._checkpoint_sync)
                return result
        return await self.workers.run(fn, *args)

    def _checkpoint_sync(self) -> None:
        self._checkpoint_queued = False
        if self.index.checkpoint_due:  # a store thread's commit may have done it meanwhile
            self.index.checkpoint()

    def _later(self, fn: Callable[..., Any], *args: Any) -> None:
        """``fn(*args)`` as the user's next store-thread operation, not waited
        for: work that no reply depends on."""
        Deferred.fromCoroutine(self.queue.run(fn, *args)).addErrback(
            lambda failure: log.failure("Store work after a reply failed", failure))

    def _store_sync(self, mailbox_id: int, plan: list[tuple[int, str]]) -> int:
        with self.index.transaction(durable=False):
            first = self.index.next_modseqs(len(plan))
            self.index.set_flags(mailbox_id, [(uid, text, first + i) for i, (uid, text) in enumerate(plan)])
            self.index.set_counters(mailbox_id, highest_modseq=first + len(plan) - 1)
        return first

    async def expunge(self, mailbox: Mailbox, uids: list[int] | None = None, origin: object = None,
                      deleted_before: str | None = None) -> list[int]:
        """``deleted_before`` (a ``deleted_stamp``, for retention): only messages
        whose \\Deleted was set at or before it, checked in the same transaction
        as the expunge, so one flagged again meanwhile starts its period anew."""
        async with self.queue:
            doomed = mailbox.deleted_uids(None if uids is None else sorted(set(uids)))
            if not doomed or mailbox.deleted:
                return []
            if self.index.relaxed and deleted_before is None and len(doomed) <= LIGHT_WRITE_MESSAGES:
                modseq, doomed, filenames, floor = await self._index_write(True, self._expunge_rows, mailbox.id, doomed)
                if doomed:
                    # Nobody waits for the files to go (see _remove_expunged).
                    self._later(self._remove_expunged, mailbox.id, doomed, filenames, floor)
            else:
                modseq, doomed = await self.workers.run(self._expunge_sync, mailbox.id, doomed, deleted_before)
            if not doomed:
                return []
            self._forget_usage(len(doomed), sum(mailbox.size_of(uid) for uid in doomed if uid in mailbox))
            mailbox.apply_removed(doomed, modseq)
            self.bus.publish(MessagesExpunged(mailbox.id, tuple(doomed), modseq, origin))
        return doomed

    def _expunge_sync(self, mailbox_id: int, uids: list[int], deleted_before: str | None = None) -> tuple[int, list[int]]:
        modseq, uids, filenames, floor = self._expunge_rows(mailbox_id, uids, deleted_before)
        if uids:
            self._remove_expunged(mailbox_id, uids, filenames, floor)
        return modseq, uids

    def _expunge_rows(self, mailbox_id: int, uids: list[int], deleted_before: str | None = None
                      ) -> tuple[int, list[int], dict[int, str], maildir.MailboxFile | None]:
        """The index side of an expunge: (its MODSEQ, the UIDs expunged, their
        file names, and the folder's file to write when the highest UIDs left:
        with UIDNEXT in it, a rebuild from the files alone cannot give those
        UIDs out again)."""
        with self.index.transaction(durable=False):
            if deleted_before is not None:
                uids = self.index.deleted_at_or_before(mailbox_id, uids, deleted_before)
                if not uids:
                    return 0, [], {}, None
            filenames = self.index.filenames(mailbox_id, uids)
            modseq = self.index.next_modseqs()
            self.index.remove_messages(mailbox_id, uids, modseq)
            self.index.set_counters(mailbox_id, highest_modseq=modseq)
            floor = self._uid_floor(mailbox_id, uids)
        return modseq, uids, filenames, floor

    def _remove_expunged(self, mailbox_id: int, uids: list[int], filenames: dict[int, str],
                         floor: maildir.MailboxFile | None) -> None:
        """The files of an expunge, after its commit: a crash in between leaves
        files whose UIDs are recorded as expunged, and the next start removes
        them. So no reply needs to wait for this, and after a light expunge
        (``_index_write``) none does."""
        directory = maildir.mailbox_dir(self.user_dir, mailbox_id)
        maildir.remove_files([os.path.join(directory, "cur", name) for name in filenames.values()])
        self.texts.remove(mailbox_id, uids)
        if floor is not None:
            maildir.write_mailbox_file(directory, floor)

    def _uid_floor(self, mailbox_id: int, removed: list[int]) -> maildir.MailboxFile | None:
        """Once ``removed`` left the folder: its mailbox file to write when they
        were its highest UIDs, so that the file keeps UIDNEXT and a rebuild
        from the files alone cannot give those UIDs out again; else None."""
        if not removed or max(removed) < self.index.highest_uid(mailbox_id):
            return None
        info = self.index.mailbox_by_id(mailbox_id)
        if info is None:
            return None
        return maildir.MailboxFile(info.name, info.uid_validity, info.special_use, info.uid_next)

    # -- message annotations (RFC 5257) ---------------------------------------------------
    async def annotations(self, mailbox: Mailbox, uids: list[int], user: str) -> dict[int, list[tuple[str, str, bytes]]]:
        """uid -> (entry, "shared" or "priv", value) of the /shared values and ``user``'s private ones."""
        rows, kinds = await self.queue.run(self._annotations_sync, mailbox.id, uids, user)
        result: dict[int, list[tuple[str, str, bytes]]] = {}
        for uid, owner, entry, value in rows:
            result.setdefault(uid, []).append((entry, "shared" if owner == "" else "priv", value))
        for uid, kind in kinds.items():
            # The object kind classified at APPEND, as a read-only shared annotation.
            result.setdefault(uid, []).append((KIND_ENTRY, "shared", kind.encode()))
        return result

    def _annotations_sync(self, mailbox_id: int, uids: list[int], user: str):
        return self.index.annotations(mailbox_id, uids, ("", user)), self.index.kinds(mailbox_id, uids)

    async def store_annotations(self, mailbox: Mailbox, uids: list[int], rows: list[tuple[str, str, bytes | None]],
                                origin: object = None, unchanged_since: int | None = None,
                                max_entries: int | None = None) -> list[tuple[int, frozenset[str], int]]:
        """Set (None: remove) (owner, entry, value) ``rows`` on every one of
        ``uids``; each message gets a new MODSEQ (RFC 5257 with RFC 7162),
        except those changed after ``unchanged_since``. More than
        ``max_entries`` per message and owner: ``[ANNOTATE TOOMANY]``, nothing stored."""
        async with self.queue:
            targets = [uid for uid in sorted(set(uids)) if uid in mailbox
                       and (unchanged_since is None or mailbox.modseq_of(uid) <= unchanged_since)]
            if not targets or mailbox.deleted:
                return []
            first = await self.workers.run(self._annotate_sync, mailbox.id, targets, rows, max_entries)
            changes = [(uid, mailbox.flags_of(uid), first + i) for i, uid in enumerate(targets)]
            mailbox.apply_flags(changes)
            self.bus.publish(AnnotationsChanged(mailbox.id, tuple(changes), origin))
        return changes

    def _annotate_sync(self, mailbox_id: int, uids: list[int], rows: list[tuple[str, str, bytes | None]],
                       max_entries: int | None) -> int:
        with self.index.transaction(durable=False):
            self.index.set_annotations(mailbox_id, [(uid, owner, entry, value) for uid in uids for owner, entry, value in rows])
            if max_entries is not None:
                owners = tuple({owner for owner, _, _ in rows})
                counts: dict[tuple[int, str], int] = {}
                for uid, owner, _entry, _value in self.index.annotations(mailbox_id, uids, owners):
                    counts[uid, owner] = counts.get((uid, owner), 0) + 1
                if any(count > max_entries for count in counts.values()):
                    raise IMAPError("Too many annotations.", b"ANNOTATE TOOMANY")
            first = self.index.next_modseqs(len(uids))
            self.index.set_modseqs(mailbox_id, [(uid, first + i) for i, uid in enumerate(uids)])
            self.index.set_counters(mailbox_id, highest_modseq=first + len(uids) - 1)
        return first

    async def meta(self, mailbox: Mailbox, uids: list[int], cached: bool = True) -> list[MessageMeta]:
        async with self.queue:
            rows = await self.workers.run(self.index.meta_rows, mailbox.id, uids, cached)
            by_uid = {}
            for row in rows:
                uid = row[0]
                if uid not in mailbox:
                    continue
                sent = datetime.fromisoformat(row[3]) if row[3] else None
                extra = {}
                if cached:
                    extra = dict(envelope=row[4] or b"", body=row[5] or b"", bodystructure=row[6] or b"", header=row[7] or b"")
                by_uid[uid] = MessageMeta(
                    uid=uid, flags=mailbox.flags_of(uid), modseq=mailbox.modseq_of(uid), size=row[1],
                    internaldate=datetime.fromisoformat(row[2]), sent_date=sent, **extra,
                    savedate=datetime.fromisoformat(row[-1]) if row[-1] else None,
                )
        return [by_uid[uid] for uid in uids if uid in by_uid]

    async def previews(self, mailbox: Mailbox, uids: list[int], compute: bool = True) -> dict[int, str | None]:
        """RFC 8970 PREVIEW texts from the index; rows stored before previews
        were kept are computed from their files once and stored."""
        async with self.queue:
            found = await self.workers.run(self.index.previews, mailbox.id, uids)
            missing = [uid for uid, text in found.items() if text is None and uid in mailbox]
            if compute and missing and not mailbox.deleted:
                paths = [(uid, mailbox.path(uid)) for uid in missing]
                found.update(await self.workers.run(self._previews_sync, mailbox.id, paths))
        return found

    def _previews_sync(self, mailbox_id: int, paths: list[tuple[int, str]]) -> dict[int, str]:
        computed = {uid: preview_text(data) for uid, data in maildir.read_present(paths)}
        with self.index.transaction(durable=False):
            self.index.set_previews(mailbox_id, computed)
        return computed

    async def search_header(self, mailbox: Mailbox, name: str, value: str) -> set[int] | None:
        column = CPM_FIELDS.get(name.lower())
        if column is None:
            return None
        return await self.queue.run(self.index.search_field, mailbox.id, column, value)

    async def search_texts(self, mailbox: Mailbox, uids: list[int], keys: list[tuple[str, bool]]) -> list[set[int]]:
        """For each (key, body only) of ``keys`` the UIDs among ``uids``
        (ascending) whose body key, or header key unless body only, holds the
        key (SEARCH BODY / TEXT, ``mime.text.search_keys``): from the text
        index, and from the files for messages it has no row for, which are
        then written to it. Chunked, so the user's other work goes on."""
        hits: list[set[int]] = [set() for _ in keys]
        if not uids or not keys:
            return hits
        expected = mailbox.file_uniques(uids)
        encoded = [(encode_key(key), body_only) for key, body_only in keys]
        found, missing = await self.queue.run(self._scan_texts_sync, mailbox.id, expected, encoded)
        for each, more in zip(hits, found):
            each.update(more)
        for i in range(0, len(missing), _TEXT_CHUNK):
            files = [(uid, expected[uid], mailbox.path(uid)) for uid in missing[i:i + _TEXT_CHUNK] if uid in mailbox]
            found = await self.queue.run(self._index_texts_sync, mailbox.id, files, keys)
            for each, more in zip(hits, found):
                each.update(more)
        return hits

    def _scan_texts_sync(self, mailbox_id: int, expected: dict[int, int], keys: list[tuple[bytes, bool]]
                         ) -> tuple[list[set[int]], list[int]]:
        """(hits per key, UIDs without a row that names their file) from the text index."""
        hits: list[set[int]] = [set() for _ in keys]
        if not expected:
            return hits, []
        rows = self.texts.scan(mailbox_id, min(expected), max(expected), keys)
        if rows is None:
            return hits, sorted(expected)
        indexed = set()
        for uid, unique, flags in rows:
            if expected.get(uid) != unique:
                continue  # a message no longer here, or a row from other bytes
            indexed.add(uid)
            for each, hit in zip(hits, flags):
                if hit:
                    each.add(uid)
        return hits, [uid for uid in expected if uid not in indexed]

    def _index_texts_sync(self, mailbox_id: int, files: list[tuple[int, int, str]], keys: list[tuple[str, bool]]
                          ) -> list[set[int]]:
        """Hits per key among ``files`` (uid, file unique, path), each read and
        parsed, its keys written to the text index for the next search."""
        hits: list[set[int]] = [set() for _ in keys]
        rows = []
        for (uid, unique), data in maildir.read_present(((uid, unique), path) for uid, unique, path in files):
            header, body = search_keys(data)
            rows.append((uid, unique, header, body))
            for each, (key, body_only) in zip(hits, keys):
                if key in body or (not body_only and key in header):
                    each.add(uid)
        self.texts.add(mailbox_id, rows)
        return hits

    async def expunged_since(self, mailbox: Mailbox, modseq: int) -> list[int]:
        return await self.queue.run(self.index.expunged_since, mailbox.id, modseq)

    async def vanished_since(self, mailbox: Mailbox, modseq: int,
                             within: list[tuple[int, int]]) -> list[tuple[int, int]]:
        history = await self.queue.run(self.index.expunge_history_since, mailbox.id, modseq)
        if history is not None:
            inside = RangeSet(within)
            return list(runs(uid for uid in history if uid in inside))
        # Pruned past ``modseq``: every UID of ``within`` that is not here now
        # (RFC 7162 §3.2.5.2 allows naming UIDs the client never had), up to
        # the last UID ever given: none above it can have vanished.
        top = mailbox.uid_next - 1
        return absent_ranges(mailbox.uids, [(lo, min(hi, top)) for lo, hi in within if lo <= top])


def create_in_tx(index: Index, user_dir: str, name: str, created: list[MailboxInfo],
                 special_use: str | None = None) -> MailboxInfo:
    """Create folder ``name`` and its missing parents inside the open
    transaction (directories included); each new one is appended to ``created``."""
    info = None
    for each in [*parents_of(name), name]:
        info = index.mailbox(each)
        if info is None:
            uid_validity = index.new_uid_validity()
            use = special_use if each == name else None
            mailbox_id = index.insert_mailbox(each, uid_validity, index.next_modseqs(), use)
            # A new folder starts with its parent's ACL, as in Dovecot, so
            # that a shared tree stays shared as it grows (RFC 4314 §3 leaves it open).
            parent = index.mailbox(each.rpartition("/")[0]) if "/" in each else None
            if parent is not None:
                index.set_acl(mailbox_id, index.acl(parent.id))
            # The directory before the commit: a crash leaves an empty
            # directory without a row, which the next start removes.
            maildir.make_mailbox_dir(user_dir, mailbox_id, maildir.MailboxFile(each, uid_validity, use))
            info = index.mailbox_by_id(mailbox_id)
            created.append(info)
    return info


def deliver_rows(directory: str, messages: list[tuple[int, bytes, str, int, datetime, Analysis, datetime | None]],
                 delivered: list[str], sync_dir: bool = True) -> tuple[list[NewRow], list[int]]:
    """Stage (uid, bytes, flags text, modseq, INTERNALDATE, analysis, SAVEDATE)
    each into the folder at ``directory`` (``tmp/``, fsync; ``tmp/`` fsynced
    once at the end unless not ``sync_dir``) and return their index rows and
    uniques, for the caller to insert in its open transaction. Each staged
    path is added to ``delivered`` as soon as it exists: the caller removes
    them all if its transaction fails, and ``maildir.publish``es them once it
    committed.

    ``sync_dir`` false (fsync = "optimized"): the names are left to the
    files' own fsyncs. On Linux's filesystems the fsync of a file just
    created makes its name durable too (ext4 syncs the new entry's
    directory, with a journal or without; XFS and btrfs log the creation
    with the inode), which is what Dovecot's mail_fsync = optimized relies
    on; the directory's own fsync is then one more cache flush of the disk
    per APPEND for nothing. POSIX alone promises less, so "always" keeps it."""
    rows: list[NewRow] = []
    uniques: list[int] = []
    for uid, data, flags, modseq, when, cache, saved in messages:
        unique, filename = maildir.deliver(directory, uid, data)
        delivered.append(os.path.join(directory, "tmp", filename))
        uniques.append(unique)
        rows.append(NewRow(uid, filename, flags, modseq, len(data), when, cache, saved))
    if sync_dir:
        maildir.fsync_dir(os.path.join(directory, "tmp"))
    return rows, uniques


class _NewFolders:
    """A transaction that may create folder directories: on failure the
    directories made for uncommitted rows are removed again."""

    def __init__(self, account: Account) -> None:
        self._account = account
        self._created: list[MailboxInfo] = []
        self._transaction = account.index.transaction()

    def __enter__(self) -> list[MailboxInfo]:
        self._transaction.__enter__()
        return self._created

    def __exit__(self, *exc_info) -> bool:
        try:
            suppressed = self._transaction.__exit__(*exc_info)
        except BaseException:
            self._remove_dirs()
            raise
        if exc_info[0] is not None and not suppressed:
            self._remove_dirs()
        return bool(suppressed)

    def _remove_dirs(self) -> None:
        for info in self._created:
            maildir.remove_tree(maildir.mailbox_dir(self._account.user_dir, info.id))


def absent_ranges(present: Sequence[int], within: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the sorted, merged ranges ``within`` that hold no UID of
    the ascending ``present``: one step per present UID, never per number."""
    gaps: list[tuple[int, int]] = []
    for lo, hi in within:
        start = lo
        for uid in present[bisect_left(present, lo):bisect_right(present, hi)]:
            if uid > start:
                gaps.append((start, uid - 1))
            start = uid + 1
        if start <= hi:
            gaps.append((start, hi))
    return gaps
