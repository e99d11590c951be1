"""Command parser: one framed command's bytes -> a ``Command`` dataclass (RFC 3501 §6, §9).

Owns the syntax of every client command the server knows, each written once
below as a small function next to its grammar, plus the extension syntax of
RFC 2971 (ID), 3502 (MULTIAPPEND), 3691 (UNSELECT), 4314 §3 and §8 (ACL),
4315 (UID EXPUNGE), 4466 (raw select/fetch/store modifiers, literal8),
4959 (SASL-IR), 5161 (ENABLE), 6855 §4 (APPEND UTF8), 5257 §4.5, §4.7 and §5 (ANNOTATION in STORE
and APPEND), 5464 §3.2, §4.2, §4.3 and §5 (METADATA) and 6851 (MOVE). It
checks syntax only: whether a command is allowed in the session's state, or
whether a capability is enabled, is the session's job. It never reads a
socket or the disk and never waits: AUTHENTICATE continuation lines and
IDLE's ``DONE`` are not commands and never come here.
Every failure is ``ParseError`` (tagged BAD when the tag was readable).
"""

from __future__ import annotations

import re
from typing import Callable

from .commands import GetQuota, GetQuotaRoot
from .commands import Sort, SortCriterion, Thread
from .commands import CatPart
from .commands import GenUrlAuth, ResetKey, UrlFetch, UrlFetchArg
from .commands import (
    Annotations, Append, AppendMessage, Authenticate, Capability, Check, Close, Command, Copy,
    Create, Delete, DeleteAcl, Enable, Expunge, Fetch, GetAcl, GetMetadata, Id, Idle, List, ListRights,
    Login, Logout, MyRights, Namespace, Noop, Notify, NotifyGroup, Rename, Search, Select,
    SetAcl, SetMetadata, StartTLS, Status, Store, Subscribe, Unselect,
)
from .fetchatt import read_annotation_entry, read_fetch_att, read_fetch_atts
from .reader import TAG_CHARS, ParseError, Reader
from .searchkeys import read_search_keys
from .seqset import read_sequence_set

__all__ = ["ParseError", "parse_command", "parse_tag"]

_TAG = re.compile(b"[" + re.escape(TAG_CHARS) + b"]+")
_BASE64 = re.compile(rb"=|(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_STORE_ITEM = re.compile(rb"([+-]?)FLAGS(\.SILENT)?", re.IGNORECASE)
# RFC 4466 tagged-ext-label and tagged-ext-simple.
_EXT_LABEL = re.compile(rb"[A-Za-z_.-][A-Za-z0-9_.:-]*")
_EXT_SIMPLE = re.compile(rb"[0-9*:,$]+")
_USE_ATTR = re.compile(rb"\\[A-Za-z][A-Za-z0-9_-]*")  # RFC 6154 use-attr: "\" atom
# Entry names (RFC 5464 §3.2): printable ASCII without SP; §5 also forbids
# "*" and "%", checked apart to say which one was found.
_ENTRY_CHARS = re.compile(rb"[\x21-\x7e]*")
_ENTRY_ROOTS = ("/private", "/shared")
# The GETMETADATA options where RFC 5464's examples put them: after the mailbox.
_LATE_METADATA_OPTIONS = re.compile(rb"\((?:MAXSIZE|DEPTH) ", re.IGNORECASE)
_DEPTHS = frozenset({b"0", b"1", b"infinity"})
# RFC 5257 att-annotate, as a STORE item and an APPEND data item.
_ANNOTATION = re.compile(rb"ANNOTATION(?= |$)", re.IGNORECASE)
_STORE_ATTRIBS = frozenset({"value.priv", "value.shared"})

Parse = Callable[[Reader, bytes, str], Command]


def parse_tag(raw: bytes) -> bytes | None:
    """The tag of ``raw`` if it starts with one followed by SP or the end, else None."""
    m = _TAG.match(raw)
    if m is None or raw[m.end():m.end() + 1] not in (b"", b" "):
        return None
    return m.group()


def parse_command(raw: bytes, utf8: bool = False) -> Command:
    """Parse one whole command as the framer delivers it (no final CRLF).
    ``utf8``: the session has enabled UTF8=ACCEPT (mailbox names are UTF-8)."""
    reader = Reader(raw, utf8=utf8)
    tag = parse_tag(raw)
    if tag is None:
        raise ParseError("Invalid tag" if raw else "Empty command")
    reader.pos = len(tag)
    reader.tag = tag
    if reader.at_end():
        raise reader.error("Missing command")
    reader.sp()
    name = reader.keyword()
    parse = _COMMANDS.get(name)
    if parse is None:
        raise reader.error(f"Unknown command {name[:40]}")
    command = parse(reader, tag, name)
    reader.end()
    return command


# -- shared pieces -------------------------------------------------------------
def _ext_value(reader: Reader) -> bytes | tuple:
    """RFC 4466 tagged-ext-val, kept raw: a bytes token or nested tuples of them."""
    if reader.peek() == b"(":
        return tuple(reader.paren_list(_ext_value))
    if reader.peek() in (b'"', b"{"):
        return reader.astring()
    m = reader.match(_EXT_SIMPLE)
    return m.group() if m is not None else reader.astring()


def _ext_param(reader: Reader) -> tuple[str, bytes | tuple | None]:
    name = reader.read(_EXT_LABEL, "parameter name").group().upper().decode("ascii")
    after = reader.data[reader.pos + 1:reader.pos + 2]
    if reader.peek() == b" " and after and after in b"(0123456789*$":
        reader.pos += 1
        return name, _ext_value(reader)
    return name, None


def _ext_params(reader: Reader) -> tuple:
    """``"(" NAME [SP value] *(SP NAME [SP value]) ")"`` as (NAME, value) pairs."""
    return tuple(reader.paren_list(_ext_param, allow_empty=False))


def _annotations(reader: Reader) -> Annotations:
    """``"ANNOTATION" SP "(" entry-att *(SP entry-att) ")"`` (RFC 5257 §5), with
    ``entry-att = entry SP "(" attrib SP value *(SP attrib SP value) ")"``.
    Only value.priv and value.shared may be written: ``size`` is the server's
    (§3.2.2) and a bare ``value`` leaves open which one is meant (§3.3)."""
    reader.read(_ANNOTATION, "annotation item")
    reader.sp()

    def att_value(r: Reader) -> tuple[str, bytes | None]:
        raw = r.astring()
        attrib = raw.decode("latin-1").lower()
        if attrib not in _STORE_ATTRIBS:
            if attrib.split(".", 1)[0] == "size":
                raise r.error("Annotation attribute size is read-only")
            if attrib == "value":
                raise r.error("Annotation attribute must be value.priv or value.shared")
            raise r.error(f"Unknown annotation attribute {raw[:40].decode('latin-1')}")
        r.sp()
        return attrib, _metadata_value(r)

    def entry_att(r: Reader) -> tuple[str, tuple[tuple[str, bytes | None], ...]]:
        entry = read_annotation_entry(r)
        if entry == "/flags" or entry.startswith("/flags/"):
            raise r.error("Annotation entry /flags is reserved")  # RFC 5257 §3.5
        r.sp()
        return entry, tuple(r.paren_list(att_value, allow_empty=False))
    return tuple(reader.paren_list(entry_att, allow_empty=False))


def _at_annotation(reader: Reader) -> bool:
    return _ANNOTATION.match(reader.data, reader.pos) is not None


def _arguments(reader: Reader, *parts: Callable[[Reader], object]) -> list:
    """Each of ``parts`` read after a SP, in order."""
    values = []
    for part in parts:
        reader.sp()
        values.append(part(reader))
    return values


def _no_arguments(cls: type[Command]) -> Parse:
    return lambda reader, tag, name: cls(tag, name)


def _one_mailbox(cls: type[Command], **fixed: object) -> Parse:
    def parse(reader: Reader, tag: bytes, name: str) -> Command:
        reader.sp()
        return cls(tag, name, reader.mailbox(), **fixed)
    return parse


# -- any state -------------------------------------------------------------------
def _id(reader: Reader, tag: bytes, name: str) -> Id:
    """``ID SP ("(" string SP nstring *(SP string SP nstring) ")" / NIL)`` (RFC 2971)."""
    reader.sp()
    if reader.peek() != b"(":
        if reader.keyword() != "NIL":
            raise reader.error("Expected parameter list or NIL")
        return Id(tag, name, None)

    def pair(r: Reader) -> tuple[bytes, bytes | None]:
        key = r.string()
        r.sp()
        return key, r.nstring()
    return Id(tag, name, tuple(reader.paren_list(pair)))


# -- not authenticated -------------------------------------------------------------
def _login(reader: Reader, tag: bytes, name: str) -> Login:
    user, password = _arguments(reader, Reader.astring, Reader.astring)
    return Login(tag, name, user, password)


def _authenticate(reader: Reader, tag: bytes, name: str) -> Authenticate:
    """``AUTHENTICATE SP mechanism [SP (base64 / "=")]`` (RFC 3501 §6.2.2, RFC 4959)."""
    reader.sp()
    mechanism = reader.keyword()
    initial = None
    if not reader.at_end():
        reader.sp()
        m = reader.read(_BASE64, "initial response")
        if not m.group():
            raise reader.error("Invalid initial response")
        initial = m.group()
    return Authenticate(tag, name, mechanism, initial)


# -- authenticated -------------------------------------------------------------------
def _enable(reader: Reader, tag: bytes, name: str) -> Enable:
    capabilities = []
    while True:
        reader.sp()
        capabilities.append(reader.keyword())
        if reader.at_end():
            return Enable(tag, name, tuple(capabilities))


def _select(reader: Reader, tag: bytes, name: str) -> Select:
    reader.sp()
    mailbox = reader.mailbox()
    params: tuple = ()
    if not reader.at_end():
        reader.sp()
        params = _ext_params(reader)
    return Select(tag, name, mailbox, readonly=name == "EXAMINE", params=params)


def _create(reader: Reader, tag: bytes, name: str) -> Create:
    """``CREATE SP mailbox [SP "(" "USE" SP "(" [use-attr *(SP use-attr)] ")" ")"]``
    (RFC 3501 §6.3.3, RFC 4466 create-param, RFC 6154 §3)."""
    reader.sp()
    mailbox = reader.mailbox()
    if reader.at_end():
        return Create(tag, name, mailbox)
    reader.sp()
    use: list[str] = []

    def param(r: Reader) -> None:
        if r.keyword() != "USE":
            raise r.error("Unknown CREATE parameter")
        r.sp()
        use.extend(r.paren_list(lambda inner: inner.read(_USE_ATTR, "use-attr").group().decode("ascii")))
    reader.paren_list(param)
    return Create(tag, name, mailbox, tuple(use))


def _getquota(reader: Reader, tag: bytes, name: str) -> GetQuota:
    """``GETQUOTA SP quota-root`` (RFC 9208 §4.2): the root is an astring."""
    reader.sp()
    try:
        return GetQuota(tag, name, reader.astring().decode("utf-8"))
    except UnicodeDecodeError:
        raise reader.error("Quota root is not UTF-8") from None


def _rename(reader: Reader, tag: bytes, name: str) -> Rename:
    old, new = _arguments(reader, Reader.mailbox, Reader.mailbox)
    return Rename(tag, name, old, new)


_LIST_SELECT = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
_LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE"})


def _list(reader: Reader, tag: bytes, name: str) -> List:
    """``LIST [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]``
    (RFC 3501 §6.3.8, RFC 5258 §6, RFC 5819). Reference and patterns are
    decoded but not INBOX-normalized: they are patterns, matched by the handler
    (INBOX case-insensitively)."""
    lsub = name == "LSUB"
    reader.sp()
    select: list[str] = []
    extended = False
    if not lsub and reader.peek() == b"(":
        extended = True
        select = reader.paren_list(Reader.keyword)
        for option in select:
            if option not in _LIST_SELECT:
                raise reader.error(f"Unknown LIST selection option {option[:40]}")
        if "RECURSIVEMATCH" in select and len(select) == 1:
            raise reader.error("RECURSIVEMATCH needs another selection option")  # RFC 5258 §3
        reader.sp()
    reference = reader.mailbox_name(reader.astring())
    reader.sp()
    if not lsub and reader.peek() == b"(":
        extended = True
        patterns = reader.paren_list(Reader.list_mailbox, allow_empty=False)
    else:
        patterns = [reader.list_mailbox()]
    returns: list[str] = []
    status_items: list[str] = []
    if not lsub and not reader.at_end():
        reader.sp()
        if reader.keyword() != "RETURN":
            raise reader.error("Expected RETURN")
        reader.sp()
        extended = True
        returns, status_items = _list_return_options(reader)
    return List(tag, name, reference, patterns[0], lsub=lsub, patterns=tuple(patterns),
                select_options=tuple(select), return_options=tuple(returns),
                status_items=tuple(status_items), extended=extended)


_NOTIFY_FILTERS = frozenset({"selected", "selected-delayed", "inboxes", "personal", "subscribed",
                             "subtree", "mailboxes"})
_NOTIFY_EVENTS = {name.upper(): name for name in (
    "MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange", "MailboxName",
    "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange")}


def _notify(reader: Reader, tag: bytes, name: str) -> Notify:
    """``NOTIFY SP ("NONE" / "SET" [SP "STATUS"] 1*(SP event-group))`` (RFC 5465 §8)."""
    reader.sp()
    verb = reader.keyword()
    if verb == "NONE":
        return Notify(tag, name)
    if verb != "SET":
        raise reader.error("Expected NOTIFY SET or NOTIFY NONE")
    reader.sp()
    status = False
    if reader.peek() != b"(":
        if reader.keyword() != "STATUS":
            raise reader.error("Expected STATUS or an event group")
        status = True
        reader.sp()
    groups = [_notify_group(reader)]
    while not reader.at_end():
        reader.sp()
        groups.append(_notify_group(reader))
    return Notify(tag, name, status=status, groups=tuple(groups))


def _notify_group(reader: Reader) -> NotifyGroup:
    reader.expect(b"(")
    which = reader.keyword().lower()
    if which not in _NOTIFY_FILTERS:
        raise reader.error(f"Unknown NOTIFY mailbox filter {which[:40]}")
    mailboxes: tuple[str, ...] = ()
    if which in ("subtree", "mailboxes"):
        reader.sp()
        if reader.peek() == b"(":
            mailboxes = tuple(reader.paren_list(Reader.mailbox, allow_empty=False))
        else:
            mailboxes = (reader.mailbox(),)
    reader.sp()
    events: list[str] = []
    fetch_atts: tuple = ()
    # The ABNF wants "(" events ")", but RFC 5465's own examples also write the
    # events bare inside the group: both are read.
    bare = reader.peek() != b"("
    if not bare:
        reader.pos += 1
    while True:
        word = reader.keyword()
        event = _NOTIFY_EVENTS.get(word)
        if event is None:
            if bare and word == "NONE" and not events:
                break
            raise reader.error(f"Unknown NOTIFY event {word[:40]}")
        events.append(event)
        if event == "MessageNew" and reader.peek(2) == b" (":
            reader.sp()
            fetch_atts = tuple(reader.paren_list(read_fetch_att, allow_empty=False))
        if reader.peek() == b")":
            break
        reader.sp()
    if not bare:
        reader.expect(b")")
    reader.expect(b")")
    return NotifyGroup(which, mailboxes, tuple(events), fetch_atts)


def _list_return_options(reader: Reader) -> tuple[list[str], list[str]]:
    options: list[str] = []
    status_items: list[str] = []

    def option(r: Reader) -> str:
        word = r.keyword()
        if word == "STATUS":
            r.sp()
            status_items.extend(r.paren_list(Reader.keyword, allow_empty=False))
        elif word not in _LIST_RETURN:
            raise r.error(f"Unknown LIST return option {word[:40]}")
        return word

    options = reader.paren_list(option)
    return options, status_items


def _status(reader: Reader, tag: bytes, name: str) -> Status:
    reader.sp()
    mailbox = reader.mailbox()
    reader.sp()
    items = reader.paren_list(Reader.keyword, allow_empty=False)
    return Status(tag, name, mailbox, tuple(items))


def _append(reader: Reader, tag: bytes, name: str) -> Append:
    """``APPEND SP mailbox 1*(SP [flag-list SP] [date-time SP] [att-annotate SP] append-data)``
    (RFC 3501, 3502; the annotations are RFC 4466's append-ext from RFC 5257 §4.7;
    append-data a literal, a literal8 (RFC 3516 §4.4) or CATENATE (RFC 4469 §5))."""
    reader.sp()
    mailbox = reader.mailbox()
    messages = []
    while True:
        reader.sp()
        flags: tuple[str, ...] = ()
        date = None
        if reader.peek() == b"(":
            flags = reader.flag_list()
            reader.sp()
        if reader.peek() == b'"':
            date = reader.date_time()
            reader.sp()
        annotations: Annotations = ()
        if _at_annotation(reader):
            annotations = _annotations(reader)
            reader.sp()
        if reader.peek(9).upper() == b"CATENATE ":
            messages.append(AppendMessage(b"", flags, date, annotations, _catenate(reader)))
        elif _at_utf8(reader):
            messages.append(AppendMessage(_utf8_literal(reader), flags, date, annotations, utf8=True))
        else:
            binary = reader.peek() == b"~"
            messages.append(AppendMessage(_message_literal(reader), flags, date, annotations, binary=binary))
        if reader.at_end():
            return Append(tag, name, mailbox, tuple(messages))


def _message_literal(reader: Reader) -> bytes:
    """``literal / literal8``: a literal8 (``~{n}``, RFC 3516 §4.4) is framed
    like any literal and its bytes are stored as they are."""
    if reader.peek(2) == b"~{":
        reader.pos += 1
    elif reader.peek() != b"{":
        raise reader.error("Expected message literal")
    return reader.literal()


def _at_utf8(reader: Reader) -> bool:
    return reader.peek(6).upper() == b"UTF8 ("


def _utf8_literal(reader: Reader) -> bytes:
    """``utf8-literal = "UTF8" SP "(" literal8 ")"`` (RFC 6855 §4), in APPEND
    and as a CATENATE part."""
    if not _at_utf8(reader):
        raise reader.error("Expected UTF8 (literal8)")
    reader.pos += 6
    if reader.peek(2) != b"~{":
        raise reader.error("Expected literal8")
    data = _message_literal(reader)
    reader.expect(b")")
    return data


def _catenate(reader: Reader) -> tuple[CatPart, ...]:
    """``"CATENATE" SP "(" cat-part *(SP cat-part) ")"``, ``cat-part =
    "TEXT" SP literal / "URL" SP astring`` (RFC 4469 §5; literal8 also taken
    in TEXT, as Dovecot does, since BINARY allows it in APPEND)."""
    reader.pos += len(b"CATENATE ")

    def cat_part(r: Reader) -> CatPart:
        kind = r.keyword()
        r.sp()
        if kind == "TEXT":
            binary = r.peek() == b"~"
            return CatPart(text=_message_literal(r), binary=binary)
        if kind == "URL":
            return CatPart(url=r.astring())
        if kind == "UTF8":
            r.pos -= len(b"UTF8 ")
            return CatPart(text=_utf8_literal(r), utf8=True)
        raise r.error(f"Unknown CATENATE part {kind[:40]}")
    return tuple(reader.paren_list(cat_part, allow_empty=False))


# -- ACL (RFC 4314 §3, §8) and METADATA (RFC 5464 §4, §5) --------------------------
def _identifier(reader: Reader) -> str:
    """An ACL identifier: an astring in UTF-8. RFC 4314 §3 wants BAD for one
    that SASLprep rejects or makes empty; control characters are among those."""
    raw = reader.astring()
    if not raw:
        raise reader.error("Empty identifier")
    try:
        identifier = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise reader.error("Identifier is not valid UTF-8") from None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in identifier):
        raise reader.error("Identifier contains control characters")
    return identifier


def _rights(reader: Reader) -> str:
    """``mod-rights``: kept as sent; which letters are rights is the handler's check."""
    raw = reader.astring()
    if not raw.isascii():
        raise reader.error("Invalid rights")
    return raw.decode("ascii")


def _setacl(reader: Reader, tag: bytes, name: str) -> SetAcl:
    """``SETACL SP mailbox SP identifier SP mod-rights``."""
    mailbox, identifier, rights = _arguments(reader, Reader.mailbox, _identifier, _rights)
    return SetAcl(tag, name, mailbox, identifier, rights)


def _mailbox_identifier(cls: type[Command]) -> Parse:
    """``DELETEACL`` / ``LISTRIGHTS``: ``SP mailbox SP identifier``."""
    def parse(reader: Reader, tag: bytes, name: str) -> Command:
        mailbox, identifier = _arguments(reader, Reader.mailbox, _identifier)
        return cls(tag, name, mailbox, identifier)
    return parse


def _metadata_entry(reader: Reader, root_ok: bool = False) -> str:
    """An entry name (RFC 5464 §3.2), lower-cased since entry names are
    case-insensitive. ``root_ok`` lets ``/private`` and ``/shared`` themselves
    through: GETMETADATA with DEPTH may ask for everything below them."""
    raw = reader.astring()
    if not _ENTRY_CHARS.fullmatch(raw):
        raise reader.error("Entry name may contain only printable ASCII characters")
    entry = raw.decode("ascii").lower()
    for wildcard in "*%":
        if wildcard in entry:
            raise reader.error(f"Entry name can't contain '{wildcard}'")
    if "//" in entry:
        raise reader.error("Entry name can't contain consecutive '/'")
    if entry.endswith("/"):
        raise reader.error("Entry name can't end with '/'")
    if entry in _ENTRY_ROOTS:
        if not root_ok:
            raise reader.error("Entry name must name an entry below /private or /shared")
    elif not entry.startswith(tuple(root + "/" for root in _ENTRY_ROOTS)):
        raise reader.error("Entry name must begin with /private or /shared")
    return entry


def _metadata_value(reader: Reader) -> bytes | None:
    """``nstring / literal8``, the ``value`` of RFC 5464 and of RFC 5257. A
    literal8 (RFC 4466: ``~{n}`` or ``~{n+}``) is framed like any literal, so
    only its ``~`` is new here; its bytes may be any octets, NUL included."""
    if reader.peek(2) == b"~{":
        reader.pos += 1
        return reader.literal()
    return reader.nstring()


def _getmetadata_options(reader: Reader) -> tuple[int | None, str]:
    """``"(" option *(SP option) ")"``: (MAXSIZE or None, DEPTH), each given at most once."""
    maxsize: list[int] = []
    depth: list[str] = []

    def option(r: Reader) -> None:
        word = r.keyword()
        values = {"MAXSIZE": maxsize, "DEPTH": depth}.get(word)
        if values is None:
            raise r.error(f"Unknown GETMETADATA option {word[:40]}")
        if values:
            raise r.error(f"Duplicate GETMETADATA option {word}")
        r.sp()
        if word == "MAXSIZE":
            maxsize.append(r.number())
            return
        value = r.astring().lower()
        if value not in _DEPTHS:
            raise r.error("Invalid DEPTH: expected 0, 1 or infinity")
        depth.append(value.decode("ascii"))

    reader.paren_list(option, allow_empty=False)
    return (maxsize[0] if maxsize else None), (depth[0] if depth else "0")


def _getmetadata(reader: Reader, tag: bytes, name: str) -> GetMetadata:
    """``GETMETADATA [SP options] SP mailbox SP entries`` (RFC 5464 §5), entries
    one entry or a parenthesized list. The options are also read after the
    mailbox, where the examples of §4.2.1 and §4.2.2 put them (as Cyrus does)."""
    reader.sp()
    options: tuple[int | None, str] | None = None
    if reader.peek() == b"(":
        options = _getmetadata_options(reader)
        reader.sp()
    mailbox = reader.mailbox()
    reader.sp()
    if options is None and _LATE_METADATA_OPTIONS.match(reader.data, reader.pos):
        options = _getmetadata_options(reader)
        reader.sp()
    maxsize, depth = options or (None, "0")

    def entry(r: Reader) -> str:
        return _metadata_entry(r, root_ok=True)
    if reader.peek() == b"(":
        entries = reader.paren_list(entry, allow_empty=False)
    else:
        entries = [entry(reader)]
    return GetMetadata(tag, name, mailbox, tuple(dict.fromkeys(entries)), maxsize, depth)


def _setmetadata(reader: Reader, tag: bytes, name: str) -> SetMetadata:
    """``SETMETADATA SP mailbox SP "(" entry SP value *(SP entry SP value) ")"``."""
    reader.sp()
    mailbox = reader.mailbox()
    reader.sp()

    def entry_value(r: Reader) -> tuple[str, bytes | None]:
        entry = _metadata_entry(r)
        r.sp()
        return entry, _metadata_value(r)
    entries = reader.paren_list(entry_value, allow_empty=False)
    return SetMetadata(tag, name, mailbox, tuple(entries))


# -- selected ----------------------------------------------------------------------
def _expunge(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Expunge:
    if not uid:
        return Expunge(tag, name)
    reader.sp()
    return Expunge(tag, name, uid=True, uid_set=read_sequence_set(reader))


def _search(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Search:
    """``SEARCH [SP CHARSET SP astring] 1*(SP search-key)``, with RFC 4466's
    ``[SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"]``
    before the charset (RFC 4731 §3.1, RFC 5182 §3)."""
    reader.sp()
    returns = _optional_return_options(reader)
    charset = None
    if reader.peek(8).upper() == b"CHARSET ":
        reader.pos += 8
        raw = reader.astring()
        if not raw.isascii():
            raise reader.error("Invalid charset")
        charset = raw.decode("ascii").upper()
        reader.sp()
    return Search(tag, name, uid=uid, charset=charset, criteria=read_search_keys(reader),
                  return_options=returns)


_SEARCH_RETURN = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})


def _optional_return_options(reader: Reader) -> tuple[str, ...] | None:
    """``RETURN (...) SP`` if it comes next (its options), else None."""
    if reader.peek(8).upper() != b"RETURN (":
        return None
    reader.pos += 7
    returns = _search_return_options(reader)
    reader.sp()
    return returns


def _search_return_options(reader: Reader) -> tuple[str, ...]:
    """``"(" [option *(SP option)] ")"``; ``()`` means ALL (RFC 4731 §3.1),
    a repeated option counts once (as Dovecot)."""
    options = reader.paren_list(Reader.keyword)
    for option in options:
        if option not in _SEARCH_RETURN:
            raise reader.error(f"Unknown SEARCH return option {option[:40]}")
    return tuple(dict.fromkeys(options)) or ("ALL",)


def _fetch(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Fetch:
    reader.sp()
    sequence_set = read_sequence_set(reader)
    reader.sp()
    items = read_fetch_atts(reader)
    modifiers: tuple = ()
    if not reader.at_end():
        reader.sp()
        modifiers = _ext_params(reader)
    return Fetch(tag, name, uid=uid, sequence_set=sequence_set, items=items, modifiers=modifiers)


def _store(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Store:
    """``STORE SP seq [SP modifiers] SP [+-]FLAGS[.SILENT] SP (flag-list / flag *(SP flag))``,
    or ``... SP att-annotate`` (RFC 5257 §4.5), which is always silent."""
    reader.sp()
    sequence_set = read_sequence_set(reader)
    reader.sp()
    modifiers: tuple = ()
    if reader.peek() == b"(":
        modifiers = _ext_params(reader)
        reader.sp()
    if _at_annotation(reader):
        return Store(tag, name, uid=uid, sequence_set=sequence_set, mode="annotation", silent=True,
                     modifiers=modifiers, annotations=_annotations(reader))
    item = reader.read(_STORE_ITEM, "store item")
    reader.sp()
    if reader.peek() == b"(":
        flags = reader.flag_list()
    else:
        single = [reader.flag()]
        while not reader.at_end():
            reader.sp()
            single.append(reader.flag())
        flags = tuple(dict.fromkeys(single))
    return Store(tag, name, uid=uid, sequence_set=sequence_set, mode=item.group(1).decode("ascii"),
                 silent=item.group(2) is not None, flags=flags, modifiers=modifiers)


def _copy(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Copy:
    reader.sp()
    sequence_set = read_sequence_set(reader)
    reader.sp()
    return Copy(tag, name, uid=uid, sequence_set=sequence_set, mailbox=reader.mailbox(),
                move=name == "MOVE")


_UID_COMMANDS: dict[str, Callable[..., Command]] = {
    "FETCH": _fetch, "STORE": _store, "COPY": _copy, "MOVE": _copy, "SEARCH": _search,
    "EXPUNGE": _expunge,
}


def _uid(reader: Reader, tag: bytes, name: str) -> Command:
    """``UID SP (FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE) ...``: the command's
    ``name`` is the inner one with ``uid=True``."""
    reader.sp()
    inner = reader.keyword()
    parse = _UID_COMMANDS.get(inner)
    if parse is None:
        raise reader.error(f"Unknown command UID {inner[:40]}")
    return parse(reader, tag, inner, uid=True)


_COMMANDS: dict[str, Parse] = {
    "CAPABILITY": _no_arguments(Capability),
    "NOOP": _no_arguments(Noop),
    "LOGOUT": _no_arguments(Logout),
    "ID": _id,
    "STARTTLS": _no_arguments(StartTLS),
    "LOGIN": _login,
    "AUTHENTICATE": _authenticate,
    "ENABLE": _enable,
    "NAMESPACE": _no_arguments(Namespace),
    "SELECT": _select,
    "EXAMINE": _select,
    "CREATE": _create,
    "GETQUOTA": _getquota,
    "GETQUOTAROOT": _one_mailbox(GetQuotaRoot),
    "DELETE": _one_mailbox(Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _one_mailbox(Subscribe),
    "UNSUBSCRIBE": _one_mailbox(Subscribe, subscribe=False),
    "LIST": _list,
    "LSUB": _list,
    "NOTIFY": _notify,
    "STATUS": _status,
    "APPEND": _append,
    "SETACL": _setacl,
    "DELETEACL": _mailbox_identifier(DeleteAcl),
    "GETACL": _one_mailbox(GetAcl),
    "LISTRIGHTS": _mailbox_identifier(ListRights),
    "MYRIGHTS": _one_mailbox(MyRights),
    "GETMETADATA": _getmetadata,
    "SETMETADATA": _setmetadata,
    "IDLE": _no_arguments(Idle),
    "CHECK": _no_arguments(Check),
    "CLOSE": _no_arguments(Close),
    "UNSELECT": _no_arguments(Unselect),
    "EXPUNGE": _expunge,
    "SEARCH": _search,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "UID": _uid,
}


# -- SORT and THREAD (RFC 5256 §5, RFC 5957 §5, RFC 5267 §3.2) ----------------------
_SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"})
_THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES", "REFS"})


def _sort_charset(reader: Reader) -> str:
    """The mandatory ``charset`` of SORT and THREAD (an astring)."""
    raw = reader.astring()
    if not raw.isascii():
        raise reader.error("Invalid charset")
    return raw.decode("ascii").upper()


def _sort_criterion(reader: Reader) -> SortCriterion:
    """``["REVERSE" SP] sort-key``."""
    key = reader.keyword()
    reverse = key == "REVERSE"
    if reverse:
        reader.sp()
        key = reader.keyword()
    if key not in _SORT_KEYS:
        raise reader.error(f"Unknown sort criterion {key[:40]}")
    return SortCriterion(key, reverse)


def _sort(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Sort:
    """``SORT [SP "RETURN" SP "(" [return-opts] ")"] SP "(" sort-criterion
    *(SP sort-criterion) ")" SP charset 1*(SP search-key)``."""
    reader.sp()
    returns = None
    if reader.peek(8).upper() == b"RETURN (":
        reader.pos += 7
        returns = _search_return_options(reader)
        reader.sp()
    criteria = reader.paren_list(_sort_criterion, allow_empty=False)
    reader.sp()
    charset = _sort_charset(reader)
    reader.sp()
    return Sort(tag, name, uid=uid, criteria=tuple(criteria), charset=charset,
                search=read_search_keys(reader), return_options=returns)


def _thread(reader: Reader, tag: bytes, name: str, uid: bool = False) -> Thread:
    """``THREAD SP algorithm SP charset 1*(SP search-key)``."""
    reader.sp()
    algorithm = reader.keyword()
    if algorithm not in _THREAD_ALGORITHMS:
        raise reader.error(f"Unknown thread algorithm {algorithm[:40]}")
    reader.sp()
    charset = _sort_charset(reader)
    reader.sp()
    return Thread(tag, name, uid=uid, algorithm=algorithm, charset=charset, search=read_search_keys(reader))


_COMMANDS.update({"SORT": _sort, "THREAD": _thread})
_UID_COMMANDS.update({"SORT": _sort, "THREAD": _thread})


# -- URLAUTH (RFC 4467 §9), URLAUTH=BINARY (RFC 5524 §3) ----------------------------
_MECHANISM = re.compile(rb"[A-Za-z0-9.-]+")
_URLFETCH_PARAMS = frozenset({"BODY", "BINARY", "BODYPARTSTRUCTURE"})


def _mechanism(reader: Reader) -> str:
    """``mechanism = "INTERNAL" / 1*(ALPHA / DIGIT / "-" / ".")``, upper case (names are case-insensitive)."""
    return reader.read(_MECHANISM, "URLAUTH mechanism").group().decode("ascii").upper()


def _resetkey(reader: Reader, tag: bytes, name: str) -> ResetKey:
    """``RESETKEY [SP mailbox *(SP mechanism)]``."""
    if reader.at_end():
        return ResetKey(tag, name)
    reader.sp()
    mailbox = reader.mailbox()
    mechanisms = []
    while not reader.at_end():
        reader.sp()
        mechanisms.append(_mechanism(reader))
    return ResetKey(tag, name, mailbox, tuple(mechanisms))


def _genurlauth(reader: Reader, tag: bytes, name: str) -> GenUrlAuth:
    """``GENURLAUTH 1*(SP url-rump SP mechanism)``."""
    pairs = []
    while not pairs or not reader.at_end():
        url, mechanism = _arguments(reader, Reader.astring, _mechanism)
        pairs.append((url, mechanism))
    return GenUrlAuth(tag, name, tuple(pairs))


def _urlfetch_arg(reader: Reader) -> UrlFetchArg:
    """``url-full / "(" url-full *(SP url-fetch-param) ")"``; BODY and BINARY exclude each other."""
    if reader.peek() != b"(":
        return UrlFetchArg(reader.astring())
    reader.pos += 1
    url = reader.astring()
    params: list[str] = []
    while reader.peek() != b")":
        reader.sp()
        param = reader.keyword()
        if param not in _URLFETCH_PARAMS:
            raise reader.error(f"Unknown URL fetch parameter: {param[:40]}")
        params.append(param)
    reader.pos += 1
    if "BODY" in params and "BINARY" in params:
        raise reader.error("URL cannot have both BODY and BINARY fetch parameters")
    return UrlFetchArg(url, tuple(dict.fromkeys(params)) or ("BODY",))


def _urlfetch(reader: Reader, tag: bytes, name: str) -> UrlFetch:
    """``URLFETCH 1*(SP url-fetch-arg)``."""
    urls = []
    while not urls or not reader.at_end():
        reader.sp()
        urls.append(_urlfetch_arg(reader))
    return UrlFetch(tag, name, tuple(urls))


_COMMANDS.update({"RESETKEY": _resetkey, "GENURLAUTH": _genurlauth, "URLFETCH": _urlfetch})
