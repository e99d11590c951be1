"""Parsed commands: one frozen dataclass per IMAP command (RFC 3501 §6).

The parser produces these; the session dispatches on ``name`` (upper case,
``"UID FETCH"`` style names are not used: UID variants set ``uid=True``).
Mailbox names are already decoded from modified UTF-7 to ``str``; ``INBOX``
in any case is spelled ``"INBOX"``. Flags are ``str``; the system flags
(``\\Seen`` ...) in canonical case, other ``\\`` flag-extensions such as
``\\read-report-sent`` and keywords as sent. No sockets, no reactor, no disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .fetchatt import FetchAtt
from .searchkeys import SearchKey
from .seqset import SequenceSet


@dataclass(frozen=True, slots=True)
class Command:
    tag: bytes
    name: str


# -- any state ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Capability(Command):
    pass


@dataclass(frozen=True, slots=True)
class Noop(Command):
    pass


@dataclass(frozen=True, slots=True)
class Logout(Command):
    pass


@dataclass(frozen=True, slots=True)
class Id(Command):
    """RFC 2971: ``params`` is None for ``ID NIL``, else (key, value-or-None) pairs."""

    params: tuple[tuple[bytes, bytes | None], ...] | None = None


# -- not authenticated -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartTLS(Command):
    pass


@dataclass(frozen=True, slots=True)
class Login(Command):
    user: bytes = b""
    password: bytes = b""


@dataclass(frozen=True, slots=True)
class Authenticate(Command):
    """RFC 3501 §6.2.2 + SASL-IR (RFC 4959): ``initial_response`` is the raw
    base64 argument (``b"="`` for an empty one), or None when absent."""

    mechanism: str = ""
    initial_response: bytes | None = None


# -- authenticated -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Enable(Command):
    capabilities: tuple[str, ...] = ()  # upper-cased


@dataclass(frozen=True, slots=True)
class Namespace(Command):
    pass


@dataclass(frozen=True, slots=True)
class Select(Command):
    """SELECT, or EXAMINE when ``readonly``. ``params`` holds the raw
    select-param list (CONDSTORE/QRESYNC later) as (NAME, value) pairs."""

    mailbox: str = ""
    readonly: bool = False
    params: tuple = ()


@dataclass(frozen=True, slots=True)
class Create(Command):
    """``use``: special-use attributes of ``CREATE name (USE (...))`` (RFC 6154 §3)."""

    mailbox: str = ""
    use: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Delete(Command):
    mailbox: str = ""


@dataclass(frozen=True, slots=True)
class Rename(Command):
    old: str = ""
    new: str = ""


@dataclass(frozen=True, slots=True)
class Subscribe(Command):
    """SUBSCRIBE, or UNSUBSCRIBE when ``subscribe`` is False."""

    mailbox: str = ""
    subscribe: bool = True


@dataclass(frozen=True, slots=True)
class List(Command):
    """LIST, or LSUB when ``lsub``. Reference and patterns decoded from mUTF-7.

    LIST-EXTENDED (RFC 5258): ``patterns`` holds every pattern (``pattern``
    is the first); ``select_options`` and ``return_options`` are upper-cased
    option names; ``status_items`` the items of ``RETURN (STATUS (...))``
    (RFC 5819). ``extended`` is true when any of the extended syntax was used.
    """

    reference: str = ""
    pattern: str = ""
    lsub: bool = False
    patterns: tuple[str, ...] = ()
    select_options: tuple[str, ...] = ()
    return_options: tuple[str, ...] = ()
    status_items: tuple[str, ...] = ()
    extended: bool = False

    def __post_init__(self) -> None:
        if not self.patterns:  # plain LIST/LSUB: the one pattern
            object.__setattr__(self, "patterns", (self.pattern,))


@dataclass(frozen=True, slots=True)
class Status(Command):
    mailbox: str = ""
    items: tuple[str, ...] = ()  # upper-cased: MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN


# RFC 5257 att-annotate: (entry, ((attrib, value), ...)) in the order sent;
# entry case kept, attrib "value.priv" or "value.shared", value None is NIL
# (remove).
Annotations = tuple[tuple[str, tuple[tuple[str, bytes | None], ...]], ...]


@dataclass(frozen=True, slots=True)
class CatPart:
    """One ``cat-part`` of APPEND CATENATE (RFC 4469 §5): ``text`` from
    ``TEXT literal`` (``binary`` when sent as a literal8), or ``url``, the
    astring of ``URL`` as sent."""

    text: bytes | None = None
    url: bytes | None = None
    binary: bool = False
    utf8: bool = False  # ``UTF8 (literal8)`` (RFC 6855 §4)


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One message of APPEND; ``annotations`` from ``ANNOTATION (...)`` (RFC 5257 §4.7).
    With ``CATENATE (...)`` (RFC 4469) ``data`` is empty and ``catenate``
    lists the parts to join; ``binary`` when ``data`` came in a literal8
    (RFC 3516 §4.4), to be stored as sent."""

    data: bytes
    flags: tuple[str, ...] = ()
    date: datetime | None = None  # aware datetime from date-time, or None
    annotations: Annotations = ()
    catenate: tuple[CatPart, ...] = ()
    binary: bool = False
    utf8: bool = False  # sent as ``UTF8 (literal8)`` (RFC 6855 §4): allowed only after ENABLE UTF8=ACCEPT


@dataclass(frozen=True, slots=True)
class Append(Command):
    """APPEND with one message, or MULTIAPPEND (RFC 3502) with several."""

    mailbox: str = ""
    messages: tuple[AppendMessage, ...] = ()


@dataclass(frozen=True, slots=True)
class Idle(Command):
    pass


@dataclass(frozen=True, slots=True)
class NotifyGroup:
    """One ``(filter-mailboxes events)`` group of NOTIFY SET (RFC 5465 §6).

    ``filter`` is lower-case: selected, selected-delayed, inboxes, personal,
    subscribed, subtree or mailboxes (the last two name ``mailboxes``).
    ``events`` are canonical event names (``MessageNew`` ...), empty for NONE;
    ``fetch_atts`` are MessageNew's fetch attributes."""

    filter: str
    mailboxes: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    fetch_atts: tuple[FetchAtt, ...] = ()


@dataclass(frozen=True, slots=True)
class Notify(Command):
    """NOTIFY NONE (``groups`` empty) or NOTIFY SET [STATUS] groups (RFC 5465)."""

    status: bool = False
    groups: tuple[NotifyGroup, ...] = ()


# -- selected ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Check(Command):
    pass


@dataclass(frozen=True, slots=True)
class Close(Command):
    pass


@dataclass(frozen=True, slots=True)
class Unselect(Command):
    pass


@dataclass(frozen=True, slots=True)
class Expunge(Command):
    """EXPUNGE, or UID EXPUNGE (RFC 4315) with ``uid_set``."""

    uid: bool = False
    uid_set: SequenceSet | None = None


@dataclass(frozen=True, slots=True)
class Search(Command):
    """SEARCH / UID SEARCH. ``return_options`` is None without ``RETURN``
    (a classic ``* SEARCH`` answer); with it (RFC 4731 §3.1, RFC 5182 §2.1)
    the upper-cased options MIN MAX ALL COUNT SAVE in the order first sent,
    ``RETURN ()`` read as ``("ALL",)``."""

    uid: bool = False
    charset: str | None = None  # upper-cased
    criteria: SearchKey = field(default_factory=lambda: SearchKey("ALL"))
    return_options: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SortCriterion:
    """One RFC 5256 sort key (ARRIVAL CC DATE FROM SIZE SUBJECT TO, and RFC
    5957's DISPLAYFROM DISPLAYTO), upper-cased, and whether REVERSE preceded it."""

    key: str
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Sort(Command):
    """SORT / UID SORT (RFC 5256 §3). ``return_options`` as in ``Search``
    for ESORT's ``RETURN (...)`` (RFC 5267 §3.2), None without it."""

    uid: bool = False
    criteria: tuple[SortCriterion, ...] = ()
    charset: str = "US-ASCII"  # upper-cased; mandatory in SORT
    search: SearchKey = field(default_factory=lambda: SearchKey("ALL"))
    return_options: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Thread(Command):
    """THREAD / UID THREAD (RFC 5256 §3): ``algorithm`` upper-cased."""

    uid: bool = False
    algorithm: str = "REFERENCES"
    charset: str = "US-ASCII"
    search: SearchKey = field(default_factory=lambda: SearchKey("ALL"))


@dataclass(frozen=True, slots=True)
class Fetch(Command):
    uid: bool = False
    sequence_set: SequenceSet = field(default_factory=lambda: SequenceSet(()))
    items: tuple[FetchAtt, ...] = ()
    modifiers: tuple = ()  # raw (NAME, value) pairs; CHANGEDSINCE later


@dataclass(frozen=True, slots=True)
class Store(Command):
    """``mode`` is "+", "-" or "" (replace); ``silent`` for ``.SILENT``.

    ``STORE ... ANNOTATION (...)`` (RFC 5257 §4.5) has ``mode`` "annotation",
    ``flags`` (), ``silent`` True (§4.5: implicitly silent) and ``annotations``
    set; it is None for every flag STORE."""

    uid: bool = False
    sequence_set: SequenceSet = field(default_factory=lambda: SequenceSet(()))
    mode: str = ""
    silent: bool = False
    flags: tuple[str, ...] = ()
    modifiers: tuple = ()
    annotations: Annotations | None = None


@dataclass(frozen=True, slots=True)
class Copy(Command):
    """COPY, or MOVE (RFC 6851) when ``move``."""

    uid: bool = False
    sequence_set: SequenceSet = field(default_factory=lambda: SequenceSet(()))
    mailbox: str = ""
    move: bool = False


# -- ACL (RFC 4314 §3) and METADATA (RFC 5464 §4) ----------------------------
@dataclass(frozen=True, slots=True)
class SetAcl(Command):
    """``rights`` exactly as sent, with its "+" / "-" modifier if any; which
    letters are rights is the handler's check (RFC 4314 §3.1: BAD)."""

    mailbox: str = ""
    identifier: str = ""
    rights: str = ""


@dataclass(frozen=True, slots=True)
class DeleteAcl(Command):
    mailbox: str = ""
    identifier: str = ""


@dataclass(frozen=True, slots=True)
class GetAcl(Command):
    mailbox: str = ""


@dataclass(frozen=True, slots=True)
class ListRights(Command):
    mailbox: str = ""
    identifier: str = ""


@dataclass(frozen=True, slots=True)
class MyRights(Command):
    mailbox: str = ""


@dataclass(frozen=True, slots=True)
class GetMetadata(Command):
    """``mailbox`` "" means the server. ``entries`` lower-cased, in the order
    sent without repeats, each under ``/private`` or ``/shared`` (or one of
    those roots); ``depth`` is "0", "1" or "infinity"; ``maxsize`` None when
    not given."""

    mailbox: str = ""
    entries: tuple[str, ...] = ()
    maxsize: int | None = None
    depth: str = "0"


@dataclass(frozen=True, slots=True)
class SetMetadata(Command):
    """``mailbox`` "" means the server. ``entries`` are (lower-cased entry,
    value) pairs in the order sent; value None is NIL: remove the entry."""

    mailbox: str = ""
    entries: tuple[tuple[str, bytes | None], ...] = ()


# -- QUOTA (RFC 9208 §4.2-§4.3) -----------------------------------------------
@dataclass(frozen=True, slots=True)
class GetQuota(Command):
    root: str = ""


@dataclass(frozen=True, slots=True)
class GetQuotaRoot(Command):
    mailbox: str = ""


# -- URLAUTH (RFC 4467 §7, RFC 5524 §3) ------------------------------------------
@dataclass(frozen=True, slots=True)
class ResetKey(Command):
    """``mailbox`` None resets every key of the user; ``mechanisms`` upper case."""

    mailbox: str | None = None
    mechanisms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenUrlAuth(Command):
    """(url-rump as sent, mechanism upper case) pairs."""

    pairs: tuple[tuple[bytes, str], ...] = ()


@dataclass(frozen=True, slots=True)
class UrlFetchArg:
    """One URL of URLFETCH; ``params`` None for the plain form (RFC 4467),
    else the RFC 5524 items asked for (``BODY``, ``BINARY``,
    ``BODYPARTSTRUCTURE``), ``("BODY",)`` when the list named none."""

    url: bytes
    params: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class UrlFetch(Command):
    urls: tuple[UrlFetchArg, ...] = ()
