"""The storage boundary (DESIGN §4): what the protocol side may ask of a store.

Every method that may touch the disk is awaitable (``async def`` in the
implementation) so that a networked backend can be plugged in later. The
in-memory attributes of ``IMailbox`` (``uids`` and friends) are the shared,
always-current state of one folder, loaded once per process and kept up to
date by the store itself as changes commit.

Names are Unicode ``str`` with ``/`` as the hierarchy delimiter and ``INBOX``
spelled upper-case; they are never used as file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from zope.interface import Attribute, Interface


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    id: int
    name: str
    uid_validity: int
    uid_next: int
    highest_modseq: int
    subscribed: bool
    special_use: str | None = None


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    messages: int
    recent: int
    uid_next: int
    uid_validity: int
    unseen: int
    highest_modseq: int
    size: int


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """What the index caches for one message (computed once at APPEND).

    ``envelope``, ``body`` and ``bodystructure`` are wire-encoded (ready to
    send); ``header`` is the raw header block including the blank line.
    """

    uid: int
    flags: frozenset[str]
    modseq: int
    size: int
    internaldate: datetime
    envelope: bytes = b""
    body: bytes = b""
    bodystructure: bytes = b""
    header: bytes = b""
    sent_date: datetime | None = None
    savedate: datetime | None = None  # RFC 8514: saved into this folder; None for rows from before


@dataclass(frozen=True, slots=True)
class AppendResult:
    uid_validity: int
    uids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CopyResult:
    """UIDPLUS ``[COPYUID uid_validity src_uids dst_uids]``, both in the same order."""

    uid_validity: int
    src_uids: tuple[int, ...]
    dst_uids: tuple[int, ...]


class IStore(Interface):
    """All users' stores under one data directory."""

    async def account(username: str) -> "IAccount":
        """The store of one user, created on first use."""

    async def close() -> None:
        """Flush and close every open index (server shutdown)."""


class IAccount(Interface):
    username = Attribute("str")
    bus = Attribute("ChangeBus: every committed change of this user is published here")

    async def list_mailboxes() -> list[MailboxInfo]:
        """Every folder, INBOX included (INBOX exists always)."""

    async def create_mailbox(name: str) -> MailboxInfo:
        """Creates missing parents too. MailboxExists, InvalidMailboxName."""

    async def delete_mailbox(name: str) -> None:
        """Remove a folder and its messages, never its children (RFC 3501 §6.3.4:
        the name then shows in LIST only as their \\Noselect parent).
        NoSuchMailbox; InvalidMailboxName for INBOX."""

    async def rename_mailbox(old: str, new: str) -> None:
        """The whole subtree moves, UIDVALIDITY and UIDs kept; INBOX rename moves
        its messages to a new folder and leaves INBOX empty (RFC 3501 §6.3.5)."""

    async def set_subscribed(name: str, subscribed: bool) -> None:
        """Subscriptions may name folders that do not exist."""

    async def subscriptions() -> list[str]:
        """Subscribed names (existing or not)."""

    async def status(name: str) -> MailboxStatus:
        """Without loading the folder's messages into memory. NoSuchMailbox."""

    async def open_mailbox(name: str) -> "IMailbox":
        """The shared in-memory state of a folder (loaded once). NoSuchMailbox."""

    async def append(name: str, messages: list[tuple[bytes, tuple[str, ...], datetime | None]]) -> AppendResult:
        """Store messages atomically (all or none) and durably before returning.
        NoSuchMailbox (the handler adds TRYCREATE)."""

    async def copy(source: "IMailbox", uids: list[int], target: str, move: bool = False, origin: object = None) -> CopyResult:
        """Copy (hard links) or move ``uids`` of ``source`` into ``target``; a move
        expunges them from the source in the same transaction."""


class IMailbox(Interface):
    """One open folder: in-memory state shared by every session that selects it."""

    id = Attribute("int")
    name = Attribute("str: current name (changes on RENAME)")
    uid_validity = Attribute("int")
    uid_next = Attribute("int")
    highest_modseq = Attribute("int")
    deleted = Attribute("bool: the folder was deleted while open")
    uids = Attribute("sorted sequence of int: the UIDs now in the folder")

    def flags_of(uid: int) -> frozenset[str]:
        """Current flags of ``uid`` (KeyError when gone)."""

    def modseq_of(uid: int) -> int:
        """Current MODSEQ of ``uid``."""

    def size_of(uid: int) -> int:
        """RFC822.SIZE of ``uid``, from memory."""

    def __contains__(uid: int) -> bool:
        """Whether ``uid`` is in the folder now."""

    def claim_recent(uids: list[int]) -> set[int]:
        """\\Recent goes to exactly one session: returns those of ``uids`` no
        session has claimed yet, and marks them claimed."""

    def peek_recent(uids: list[int]) -> set[int]:
        """Which of ``uids`` are unclaimed \\Recent, without claiming them."""

    async def meta(uids: list[int], cached: bool = True) -> list[MessageMeta]:
        """Index rows for ``uids`` (those still present), in ``uids`` order.
        ``cached`` False skips ENVELOPE/BODYSTRUCTURE/header columns."""

    async def previews(uids: list[int], compute: bool = True) -> dict[int, str | None]:
        """uid -> RFC 8970 PREVIEW text of those of ``uids`` present, from the
        index. A row without one (stored before previews were kept) is
        computed from its file and stored when ``compute``, else None (LAZY)."""

    async def read(uid: int) -> bytes:
        """The message bytes as stored (off the reactor thread)."""

    def path(uid: int) -> str:
        """The message file, for streaming; valid while ``uid`` is present."""

    async def store_flags(uids: list[int], mode: str, flags: tuple[str, ...], origin: object = None,
                          unchanged_since: int | None = None, allowed=None) -> list[tuple[int, frozenset[str], int]]:
        """mode "+", "-" or "": change flags, one new MODSEQ per changed message.
        ``allowed(flag)`` False keeps that flag as it is (ACL rights, RFC 4314 §4).
        With ``unchanged_since``, messages whose MODSEQ is above it are left
        alone (checked under the same lock as the write, RFC 7162 §3.1.3).
        Returns (uid, new flags, modseq) for every message that changed."""

    async def annotations(uids: list[int], user: str) -> dict[int, list[tuple[str, str, bytes]]]:
        """uid -> (entry, "shared" | "priv", value): the /shared annotations and
        ``user``'s private ones (RFC 5257)."""

    async def store_annotations(uids: list[int], rows: list[tuple[str, str, bytes | None]], origin: object = None,
                                unchanged_since: int | None = None, max_entries: int | None = None):
        """Set or remove (owner, entry, value) annotation rows ("" owner for
        value.shared); one new MODSEQ per message, like ``store_flags``."""

    async def expunge(uids: list[int] | None = None, origin: object = None) -> list[int]:
        """Remove the \\Deleted messages (only those in ``uids`` when given).
        Returns the expunged UIDs, ascending."""

    async def expunged_since(modseq: int) -> list[int]:
        """UIDs expunged with a MODSEQ above ``modseq`` (QRESYNC VANISHED)."""

    async def vanished_since(modseq: int, within: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The parts of the UID ranges ``within`` expunged with a MODSEQ above
        ``modseq``; when the history no longer reaches back that far, every
        part with no message now (RFC 7162 §3.2.5.2)."""

    async def search_header(name: str, value: str) -> set[int] | None:
        """UIDs whose indexed header ``name`` contains ``value`` (case-insensitive),
        from the index alone; None when ``name`` is not an indexed field."""

    async def search_texts(uids: list[int], keys: list[tuple[str, bool]]) -> list[set[int]]:
        """For each (casemap key, body only) the UIDs of ``uids`` whose text
        holds it (SEARCH BODY, or TEXT: header too), from the text index."""
