"""PREVIEW text of a message (RFC 8970 §3.1), CPM-aware (DESIGN §2).

Owns choosing what a person would read first in a message and turning it
into at most ``MAX_CHARS`` characters of plain text: transfer-encodings and
charsets undone (RFC 2045 §6.7-6.8), HTML reduced to its text (tags,
scripts and styles dropped, entities decoded; the title kept, as Dovecot does),
multipart/alternative read from its text/plain part (RFC 2046 §5.1.4),
quoted lines of an e-mail reply skipped, whitespace collapsed, cut on a
character boundary. For CPM objects (shared/cpm-formats.md §3) the preview
is what a messaging app shows in its list: a chat message (message/cpim
around text/plain, RFC 3862) its text; a CPM Session History its first chat
message, never the session XML; a file transfer (RCS FT-over-HTTP XML, or an
OMA file-transfer history with its media part) "name (size)"; an IMDN its
status ("delivered", "displayed"). A message with nothing to show previews
as "" (RFC 8970 §3.1); this module never raises on any input. Computed once
at APPEND (``analysis.analyze``); never touches sockets, the reactor or the
disk.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes

from cpmstore.mime.headers import decode_charset, decode_words
from cpmstore.mime.parse import MAX_DEPTH, Entity, parse_entity, parse_message, parse_params
from cpmstore.mime.text import decode_transfer_encoding

# RFC 8970 §3.1: a server SHOULD keep the preview to 200 characters.
MAX_CHARS = 200
# Enough of one part's body to find 200 characters of text, even behind a
# long HTML head; a 20 MB attachment is never decoded whole for a preview.
_MAX_PART_BYTES = 256 * 1024

_WHITESPACE = re.compile(r"\s+")
# Control characters other than whitespace have no place in a preview.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SESSION_TYPE = "application/x-cpm-session"
_FILE_TRANSFER_TYPE = "application/x-cpm-file-transfer"
_FT_HTTP = ("application", "vnd.gsma.rcs-ft-http+xml")
_IMDN = ("message", "imdn+xml")


def preview_text(message: bytes, root: Entity | None = None) -> str:
    """The preview of ``message`` (``root``: its already parsed entity tree)."""
    try:
        if root is None:
            root = parse_message(message)
        text = _entity_text(message, root, 0, chat=False)
    except Exception:  # noqa: BLE001 - a preview is never worth a failed APPEND
        return ""
    return clip(text or "")


def clip(text: str) -> str:
    """Collapse whitespace and cut to ``MAX_CHARS`` characters (a Python
    ``str`` is cut between code points, so never inside a UTF-8 sequence)."""
    text = _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()
    return text[:MAX_CHARS].rstrip()


def _entity_text(data: bytes, entity: Entity, depth: int, chat: bool) -> str | None:
    """The text of ``entity``, or None when it holds nothing to preview."""
    if depth > MAX_DEPTH:
        return None
    kind = (entity.type, entity.subtype)
    if entity.is_multipart:
        return _multipart_text(data, entity, depth)
    if entity.message is not None:
        return _entity_text(data, entity.message, depth + 1, chat=False)
    if kind == ("message", "cpim"):
        return _cpim_text(data, entity, depth)
    if kind == _FT_HTTP:
        return _ft_http_text(_body(data, entity))
    if kind == _IMDN:
        return _imdn_text(_body(data, entity))
    if kind == ("text", "html"):
        return _html_text(_text(data, entity))
    if kind == ("text", "plain"):
        text = _text(data, entity)
        # A chat message is what the user typed; an e-mail reply's quoted
        # lines are what the reader has already seen.
        return text if chat else _without_quotes(text)
    return None


def _multipart_text(data: bytes, entity: Entity, depth: int) -> str | None:
    children = [c for c in entity.children if not _is_attachment(data, c)]
    related_type = (entity.param("type") or "").strip().lower()
    first_type = _type_of(entity.children[0]) if entity.children else ""
    if entity.subtype == "related" and _SESSION_TYPE in (related_type, first_type):
        # A CPM Session History: the first chat message, not the session XML.
        for child in entity.children:
            if (child.type, child.subtype) == ("message", "cpim"):
                text = _cpim_text(data, child, depth + 1, chat_only=True)
                if text:
                    return text
        return None
    if entity.subtype == "related" and _FILE_TRANSFER_TYPE in (related_type, first_type):
        return _oma_file_transfer_text(data, entity)
    if entity.subtype == "alternative":
        # RFC 2046 §5.1.4 orders parts by faithfulness; plain text is what a
        # preview wants, so it goes first whatever its place.
        children.sort(key=lambda c: (c.type, c.subtype) != ("text", "plain"))
    for child in children:
        text = _entity_text(data, child, depth + 1, chat=False)
        if text and text.strip():
            return text
    return None


def _cpim_text(data: bytes, entity: Entity, depth: int, chat_only: bool = False) -> str | None:
    """RFC 3862 §3: CPIM headers, a blank line, then one MIME entity."""
    body = _body(data, entity, limit=False)
    cpim = parse_entity(body, 0, len(body), ("text", "plain"), depth + 1)
    inner = parse_entity(body, cpim.body_start, len(body), ("text", "plain"), depth + 1)
    if chat_only and (inner.type, inner.subtype) != ("text", "plain"):
        return None
    return _entity_text(body, inner, depth + 1, chat=True)


# -- HTML -----------------------------------------------------------------------
class _VisibleText(HTMLParser):
    """Collects the text of a document, without what only a program reads."""

    _HIDDEN = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._HIDDEN:
            self._hidden.append(tag)
        # Elements separate words even where a browser puts no visible space
        # (<p>a</p><p>b</p> reads "a b").
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._hidden:
            while self._hidden and self._hidden.pop() != tag:
                pass
        self.parts.append(" ")

    def handle_data(self, text: str) -> None:
        if not self._hidden:
            self.parts.append(text)


def _html_text(markup: str) -> str:
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


# -- CPM file transfers and IMDNs ----------------------------------------------------
def _element(name: str) -> str:
    # Any namespace prefix, any attributes: ``<ft:file-name>`` and ``<file-name>``.
    return rf"<(?:[\w.-]+:)?{name}(?:\s[^>]*)?>(.*?)</(?:[\w.-]+:)?{name}\s*>"


_FILE_INFO = re.compile(_element("file-info"), re.S | re.I)
_FILE_NAME = re.compile(_element("file-name"), re.S | re.I)
_FILE_SIZE = re.compile(_element("file-size"), re.S | re.I)
_FILE_CONTENT_TYPE = re.compile(_element("content-type"), re.S | re.I)
_FILE_INFO_TYPE = re.compile(r"""<(?:[\w.-]+:)?file-info\s[^>]*type\s*=\s*["']([^"']*)["']""", re.I)
_IMDN_STATUS = re.compile(r"<(?:[\w.-]+:)?status(?:\s[^>]*)?>\s*<(?:[\w.-]+:)?([\w-]+)", re.I)
_FILE_SELECTOR = re.compile(r"""a=file-selector:(.*)""", re.I)
_SELECTOR_NAME = re.compile(r"""name:"([^"]*)"|name:(\S+)""", re.I)
_SELECTOR_SIZE = re.compile(r"size:(\d+)", re.I)


def _xml_text(value: str) -> str:
    return html.unescape(value).strip()


def _ft_http_text(body: bytes) -> str | None:
    """GSMA RCS FT over HTTP: ``<file><file-info type="file">`` (not the
    thumbnail) with ``<file-name>``, ``<file-size>``, ``<content-type>``."""
    xml = body.decode("utf-8", "replace")
    infos = [(m.group(0), m.group(1)) for m in _FILE_INFO.finditer(xml)]
    chosen = next((inner for whole, inner in infos if _info_type(whole) == "file"), None)
    if chosen is None:
        chosen = next((inner for whole, inner in infos if _info_type(whole) != "thumbnail"), xml)
    name = _first(_FILE_NAME, chosen)
    size = _first(_FILE_SIZE, chosen)
    return _file_label(name or _first(_FILE_CONTENT_TYPE, chosen), int(size) if size and size.isdigit() else None)


def _info_type(tag_text: str) -> str:
    match = _FILE_INFO_TYPE.match(tag_text)
    return match.group(1).strip().lower() if match else ""


def _first(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return _xml_text(match.group(1)) if match else None


def _oma_file_transfer_text(data: bytes, entity: Entity) -> str | None:
    """OMA file-transfer history: the SDP ``a=file-selector`` in the
    Application/X-CPM-File-Transfer part names the file; without it, the
    media part's own name and decoded size."""
    media = None
    for child in entity.children:
        if _type_of(child) == _FILE_TRANSFER_TYPE:
            selector = _FILE_SELECTOR.search(_text(data, child))
            if selector is not None:
                found = _SELECTOR_NAME.search(selector.group(1))
                size = _SELECTOR_SIZE.search(selector.group(1))
                name = html.unescape(found.group(1) or found.group(2)) if found else None
                if name:
                    return _file_label(name, int(size.group(1)) if size else None)
        elif media is None:
            media = child
    if media is None:
        return None
    encoding = media.value(data, b"content-transfer-encoding")
    size = len(decode_transfer_encoding(data[media.body_start:media.end], encoding))
    return _file_label(_part_file_name(data, media) or f"{media.type}/{media.subtype}", size)


def _imdn_text(body: bytes) -> str | None:
    """RFC 5438 §7: ``<status><delivered/>`` and the like: the status's name."""
    match = _IMDN_STATUS.search(body.decode("utf-8", "replace"))
    return match.group(1).lower() if match else None


def _file_label(name: str | None, size: int | None) -> str | None:
    if not name:
        return None
    return f"{name} ({_human_size(size)})" if size is not None else name


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    if unit == "B":
        return f"{size} B"
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def _part_file_name(data: bytes, entity: Entity) -> str | None:
    """RFC 2183 ``filename`` of Content-Disposition, else the ``name``
    parameter of Content-Type; RFC 2231 and RFC 2047 encodings undone."""
    raw = entity.value(data, b"content-disposition")
    params = parse_params(raw)[1] if raw is not None else ()
    for key, value in (*params, *entity.params):
        base = key.lower()
        if base in ("filename", "name"):
            return decode_words(value.encode("latin-1")).strip() or None
        if base in ("filename*", "name*"):
            charset, _, rest = value.partition("'")
            _language, _, encoded = rest.partition("'")
            return decode_charset(unquote_to_bytes(encoded), charset).strip() or None
    return None


# -- helpers ------------------------------------------------------------------------------
def _type_of(entity: Entity) -> str:
    return f"{entity.type}/{entity.subtype}"


def _is_attachment(data: bytes, entity: Entity) -> bool:
    raw = entity.value(data, b"content-disposition")
    return raw is not None and parse_params(raw)[0].strip().lower() == "attachment"


def _body(data: bytes, entity: Entity, limit: bool = True) -> bytes:
    end = min(entity.end, entity.body_start + _MAX_PART_BYTES) if limit else entity.end
    return decode_transfer_encoding(data[entity.body_start:end], entity.value(data, b"content-transfer-encoding"))


def _text(data: bytes, entity: Entity) -> str:
    return decode_charset(_body(data, entity), entity.param("charset"))


def _without_quotes(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
