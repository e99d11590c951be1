"""The change bus (DESIGN §5): committed changes of one user, published in order.

The store publishes after the index commit; sessions subscribe and queue
what they may announce later. In-process only; the same shape can be backed
by a shared notification channel when one process is not enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from twisted.logger import Logger

log = Logger()


@dataclass(frozen=True, slots=True)
class MessagesAdded:
    mailbox_id: int
    uids: tuple[int, ...]
    modseq: int


@dataclass(frozen=True, slots=True)
class FlagsChanged:
    mailbox_id: int
    changes: tuple[tuple[int, frozenset[str], int], ...]  # (uid, flags, modseq)
    origin: object = None


@dataclass(frozen=True, slots=True)
class AnnotationsChanged:
    """Message annotations changed (RFC 5257): each message got a new MODSEQ,
    its flags as they are. Sessions announce it as they would a flag change."""

    mailbox_id: int
    changes: tuple[tuple[int, frozenset[str], int], ...]  # (uid, flags, modseq)
    origin: object = None


@dataclass(frozen=True, slots=True)
class MessagesExpunged:
    mailbox_id: int
    uids: tuple[int, ...]
    modseq: int
    origin: object = None


@dataclass(frozen=True, slots=True)
class MailboxChanged:
    """A folder was created, deleted or renamed (``kind``), or its subscription changed."""

    kind: str  # "created" | "deleted" | "renamed" | "subscribed" | "unsubscribed" | "acl"
    mailbox_id: int
    name: str
    old_name: str | None = None


@dataclass(frozen=True, slots=True)
class MetadataChanged:
    """METADATA entries were set or removed (RFC 5464): on a folder, or on the
    server when ``mailbox_id`` is 0. ``owner`` is the user whose /private
    entries changed, or "" for /shared entries."""

    mailbox_id: int
    name: str
    entries: tuple[str, ...]
    owner: str = ""


@dataclass(frozen=True, slots=True)
class SharesChanged:
    """``owner``'s ACLs changed whom they let find a folder (published on the
    store-wide ``Shares.bus``, not a user's own): a session of another user
    that listens for that owner's folders may have to start listening."""

    owner: str


Change = (MessagesAdded | FlagsChanged | AnnotationsChanged | MessagesExpunged | MailboxChanged
          | MetadataChanged | SharesChanged)


class ChangeBus:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[Change], None]] = []

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Register ``callback``; returns the function that unregisters it."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    @property
    def heard(self) -> bool:
        """Whether anyone listens: a selected folder, IDLE or NOTIFY."""
        return bool(self._subscribers)

    def publish(self, change: Change) -> None:
        # A copy: a subscriber may unsubscribe itself while being called.
        for callback in list(self._subscribers):
            try:
                callback(change)
            except Exception:
                # The change is committed; one session's failure to hear of it
                # must not fail the command that made it, nor the other sessions.
                log.failure("change subscriber failed")
