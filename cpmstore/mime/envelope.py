"""ENVELOPE: the RFC 3501 §7.4.2 envelope structure of a message header.

Owns reading RFC 5322 address lists (§3.4, groups, routes, comments,
quoted display names) into ``(name adl mailbox host)`` quadruples, leniently
enough for what CPM clients write (``tel:+33612345678``, ``sip:user@host``
without angle brackets). Values are kept raw as RFC 3501 asks: RFC 2047
encoded words are not decoded here. Produces Python values for
``cpmstore.imap.response.encode_value``; never touches sockets, the reactor
or the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from cpmstore.imap.response import TightList
from cpmstore.mime.headers import Field, first_value

Address = tuple[bytes | None, bytes | None, bytes | None, bytes | None]

_SPECIALS = frozenset(b"<>@,;:.[]")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "atom", "quoted", "comment", "literal" (domain literal) or the special char
    text: bytes  # unquoted content for quoted strings and comments, raw otherwise
    spaced: bool  # blank or comment before it


def envelope_value(data: bytes, index: dict[bytes, Field]) -> list[object]:
    """The ten ENVELOPE members, ready for ``encode_value``; ``index`` as
    built by ``headers.first_fields``."""

    def value(name: bytes) -> bytes | None:
        return first_value(data, index, name)

    def addresses(name: bytes) -> list[Address] | None:
        raw = value(name)
        found = parse_address_list(raw) if raw is not None else None
        return TightList(found) if found else None

    sender_from = addresses(b"from")
    return [
        value(b"date"),
        value(b"subject"),
        sender_from,
        addresses(b"sender") or sender_from,  # RFC 3501: absent or empty -> From
        addresses(b"reply-to") or sender_from,
        addresses(b"to"),
        addresses(b"cc"),
        addresses(b"bcc"),
        value(b"in-reply-to"),
        value(b"message-id"),
    ]


def parse_address_list(raw: bytes) -> list[Address]:
    """RFC 5322 ``address-list`` -> RFC 3501 address structures, group
    markers included (``(NIL NIL "group" NIL)`` ... ``(NIL NIL NIL NIL)``).
    A mailbox with no ``@`` (a tel: URI) gets host ``""``, not NIL, since NIL
    would make it a group marker."""
    tokens = _tokenize(raw)
    out: list[Address] = []
    i, count = 0, len(tokens)
    while i < count:
        if tokens[i].kind in (",", ";"):
            i += 1
            continue
        colon = _group_colon(tokens, i)
        if colon < 0:
            i, address = _mailbox(tokens, i, (",",))
            if address is not None:
                out.append(address)
            continue
        out.append((None, None, _phrase(tokens[i:colon]) or b"", None))
        i = colon + 1
        while i < count and tokens[i].kind != ";":
            if tokens[i].kind == ",":
                i += 1
                continue
            i, address = _mailbox(tokens, i, (",", ";"))
            if address is not None:
                out.append(address)
        i += 1
        out.append((None, None, None, None))
    return out


def _group_colon(tokens: list[_Token], i: int) -> int:
    """Index of the ``:`` that opens a group at ``i``, or -1.

    A ``scheme:rest`` written without blanks and never closed by ``;`` is a
    URI (``tel:+336...``, ``sip:a@b``) that CPM clients put where an address
    belongs, not a group."""
    k = i
    while k < len(tokens) and tokens[k].kind in ("atom", "quoted", "comment", "."):
        k += 1
    if k == i or k >= len(tokens) or tokens[k].kind != ":":
        return -1
    words = [t for t in tokens[i:k] if t.kind != "comment"]
    if not words:
        return -1
    after = tokens[k + 1] if k + 1 < len(tokens) else None
    looks_like_uri = (
        len(words) == 1
        and words[0].kind == "atom"
        and not tokens[k].spaced
        and after is not None
        and not after.spaced
        and after.kind not in (";", ",")
        and all(t.kind != ";" for t in tokens[k + 1:])
    )
    return -1 if looks_like_uri else k


def _mailbox(tokens: list[_Token], i: int, stops: tuple[str, ...]) -> tuple[int, Address | None]:
    """One mailbox starting at ``i``, up to a stop token outside ``<>``."""
    start = i
    depth = 0
    while i < len(tokens):
        kind = tokens[i].kind
        if kind == "<":
            depth += 1
        elif kind == ">" and depth:
            depth -= 1
        elif kind in stops and depth == 0:
            break
        i += 1
    part = tokens[start:i]
    if i == start:
        return i + 1, None  # a stray stop token: step over it
    return i, _interpret_mailbox(part)


def _interpret_mailbox(part: list[_Token]) -> Address | None:
    comments = [t.text for t in part if t.kind == "comment"]
    angle = next((n for n, t in enumerate(part) if t.kind == "<"), -1)
    if angle >= 0:
        name = _phrase(part[:angle])
        close = next((n for n in range(angle + 1, len(part)) if part[n].kind == ">"), len(part))
        spec = [t for t in part[angle + 1:close] if t.kind != "comment"]
    else:
        name = None
        spec = [t for t in part if t.kind != "comment"]
        if not spec:
            return None  # only a comment: no address at all
    adl = None
    if spec and spec[0].kind == "@":
        colon = next((n for n, t in enumerate(spec) if t.kind == ":"), -1)
        if colon >= 0:
            adl = _join(spec[:colon])
            spec = spec[colon + 1:]
    if name is None and comments:
        name = comments[-1]  # "user@host (Real Name)": the comment names the user
    at = max((n for n, t in enumerate(spec) if t.kind == "@"), default=-1)
    if at >= 0:
        mailbox, host = _join(spec[:at]), _join(spec[at + 1:])
    else:
        mailbox, host = _join(spec), b""
    return (name or None, adl, mailbox, host)


def _join(tokens: list[_Token]) -> bytes:
    out = []
    for token in tokens:
        if token.kind == "quoted":
            out.append(b'"' + token.text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
        else:
            out.append(token.text)
    return b"".join(out)


def _phrase(tokens: list[_Token]) -> bytes | None:
    """A display name: words joined by single blanks, quotes removed."""
    words: list[bytes] = []
    for token in tokens:
        if token.kind == "comment":
            continue
        if token.kind == "." and words and not token.spaced:
            words[-1] += b"."
            continue
        if words and token.kind == "atom" and words[-1].endswith(b".") and not token.spaced:
            words[-1] += token.text
            continue
        words.append(token.text)
    return b" ".join(words) if words else None


def _tokenize(raw: bytes) -> list[_Token]:
    tokens: list[_Token] = []
    i, size = 0, len(raw)
    spaced = False
    while i < size:
        char = raw[i]
        if char in b" \t\r\n":
            spaced = True
            i += 1
        elif char == 0x22:  # quoted string
            i, text = _delimited(raw, i + 1, 0x22, None)
            tokens.append(_Token("quoted", text, spaced))
            spaced = False
        elif char == 0x28:  # comment, may nest
            i, text = _delimited(raw, i + 1, 0x29, 0x28)
            tokens.append(_Token("comment", text.strip(), spaced))
            spaced = True
        elif char == 0x5B:  # domain literal
            close = raw.find(b"]", i)
            close = size - 1 if close < 0 else close
            tokens.append(_Token("literal", raw[i:close + 1], spaced))
            i = close + 1
            spaced = False
        elif char in _SPECIALS:
            tokens.append(_Token(chr(char), raw[i:i + 1], spaced))
            i += 1
            spaced = False
        elif char == 0x29:  # a ")" that closes no comment: ignore it
            i += 1
        else:
            start = i
            while i < size and raw[i] not in _SPECIALS and raw[i] not in b' \t\r\n"()':
                i += 1
            tokens.append(_Token("atom", raw[start:i], spaced))
            spaced = False
    return tokens


def _delimited(raw: bytes, i: int, close: int, nest: int | None) -> tuple[int, bytes]:
    """Content up to the matching ``close`` (backslash escapes honoured);
    an unterminated string runs to the end."""
    out = bytearray()
    depth = 0
    while i < len(raw):
        char = raw[i]
        if char == 0x5C and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
            continue
        if nest is not None and char == nest:
            depth += 1
        elif char == close:
            if depth == 0:
                return i + 1, bytes(out)
            depth -= 1
        out.append(char)
        i += 1
    return i, bytes(out)
