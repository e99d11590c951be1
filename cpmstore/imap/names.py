"""Mailbox names on the wire, both ways (RFC 3501 §5.1.3, RFC 6855 §3).

Owns the one rule for how a mailbox name is spelled between client and
server: modified UTF-7 (``mutf7``) until the client has sent ``ENABLE
UTF8=ACCEPT``, UTF-8 from then on. Every mailbox name the parser reads goes
through ``decode`` and every name a response carries goes through
``encode``, each told the session's mode, so that raw UTF-8 never reaches a
client that did not ask for it. After ENABLE a name is taken as UTF-8 even
when it also happens to be valid modified UTF-7 (``&AOk-`` is then those
five characters): RFC 6855 §3 makes UTF-8 *the* spelling once enabled.
Never touches sockets, the reactor or the disk.
"""

from __future__ import annotations

import re

from . import mutf7

__all__ = ["BadName", "decode", "encode", "text"]


class BadName(ValueError):
    """Not a mailbox name in the session's spelling."""


# RFC 6855 §3: Net-Unicode (RFC 5198 §2) without the C0 and C1 controls,
# DEL, LINE SEPARATOR and PARAGRAPH SEPARATOR.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What a quoted string cannot carry even with UTF-8 allowed (RFC 6855 §3
# uQUOTED-CHAR is QUOTED-CHAR or UTF8-2/3/4): such names go as literals.
_UNQUOTABLE = re.compile(rb"[\x00\r\n]")
_MAX_QUOTED = 1024


# Names already spelled, each way: a client names the same few folders in
# command after command. Pure functions of their arguments, so the memo can
# never be stale; emptied when full, so a client inventing names bounds it.
_MEMO_SIZE = 4096
_decoded: dict[tuple[bytes, bool], str] = {}
_encoded: dict[tuple[str, bool, bool], bytes] = {}


def decode(raw: bytes, utf8: bool) -> str:
    """The name a client spelled as ``raw``; ``BadName`` if it is not valid
    modified UTF-7 (before ENABLE) or valid UTF-8 without forbidden
    characters (after)."""
    key = (raw, utf8)
    name = _decoded.get(key)
    if name is None:
        name = _decode(raw, utf8)  # BadName is raised, never kept
        if len(_decoded) >= _MEMO_SIZE:
            _decoded.clear()
        _decoded[key] = name
    return name


def _decode(raw: bytes, utf8: bool) -> str:
    if not utf8:
        try:
            return mutf7.decode(raw)
        except mutf7.MUTF7Error as exc:
            raise BadName(str(exc)) from None
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadName("not valid UTF-8") from None
    bad = _FORBIDDEN.search(name)
    if bad is not None:
        raise BadName(f"U+{ord(bad.group()):04X} is not allowed in a mailbox name")
    return name


def encode(name: str, utf8: bool, string: bool = False) -> bytes:
    """``name`` as an astring (a string, never an atom, with ``string``) in
    the session's spelling: modified UTF-7 before ENABLE UTF8=ACCEPT; after it
    UTF-8, quoted when it fits a quoted string (RFC 6855 §3 "UTF-8 quoted
    strings"), else a literal."""
    key = (name, utf8, string)
    spelled = _encoded.get(key)
    if spelled is None:
        spelled = _encode(name, utf8, string)
        if len(_encoded) >= _MEMO_SIZE:
            _encoded.clear()
        _encoded[key] = spelled
    return spelled


def _encode(name: str, utf8: bool, string: bool) -> bytes:
    # Imported here: response imports seqset, which imports reader, which imports this module.
    from . import response as wire
    as_ascii = wire.string if string else wire.astring
    if not utf8:
        return as_ascii(mutf7.encode(name))
    data = name.encode("utf-8")
    if data.isascii():
        return as_ascii(data)
    if len(data) <= _MAX_QUOTED and not _UNQUOTABLE.search(data):
        return wire.quoted(data)
    return wire.literal(data)


def text(name: str) -> str:
    """``name`` for human-readable response text, which stays 7-bit in every
    mode (RFC 3501 §9 TEXT-CHAR; RFC 6855 does not extend resp-text)."""
    try:
        return mutf7.encode(name).decode("ascii")
    except mutf7.MUTF7Error:
        return name.encode("ascii", "backslashreplace").decode("ascii")
