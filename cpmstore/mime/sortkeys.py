"""What SORT and THREAD read from a cached header block (RFC 5256, RFC 5957).

Owns turning the raw header block the index caches into sort values: the
base subject (RFC 5256 §2.1, via ``basesubject``), the addr-mailbox of the
first address (§3, FROM / TO / CC), the display value of the first address
(RFC 5957 §3, DISPLAYFROM / DISPLAYTO), and the message IDs that THREAD
links (§3 REFERENCES step 1: Message-ID, References, else the first of
In-Reply-To); and the collation all strings are compared with. Pure: never
touches sockets, the reactor or the disk, and never reads a message file.

Collation: RFC 5256 §1 requires I18NLEVEL=1 collation (RFC 5255 §4.2),
i.e. i;unicode-casemap (RFC 5051): simple titlecase, then full
decomposition (NFKD), compared as UTF-8 octets. On ASCII text that is exactly
i;ascii-casemap (letters folded to upper case), and it is what Dovecot does.
SEARCH matches substrings of the same keys (RFC 5255 §4.1).
"""

from __future__ import annotations

import re
import unicodedata

from .basesubject import BaseSubject, base_subject
from .envelope import parse_address_list
from .headers import decode_words, header_end, raw_value, split_fields


def casemap(text: str) -> str:
    """i;unicode-casemap key: equal keys are equal strings to SORT, THREAD
    and SEARCH, and ``str`` order of keys is the UTF-8 octet order RFC 5051
    compares. Titlecase comes first, decomposition after, as RFC 5051 §2
    orders them: "ﬁ" becomes "fi", which "FI" does not match (nor in Dovecot)."""
    if text.isascii():
        return text.upper()
    return unicodedata.normalize("NFKD", text.translate(_TITLES))


class _TitleTable(dict):
    """A ``str.translate`` table: code point -> simple titlecase, computed on
    first use so that long texts (SEARCH BODY) are mapped in C, not per
    character in Python. Bounded, since a client chooses the characters."""

    __slots__ = ()

    def __missing__(self, code: int) -> str:
        mapped = _title(chr(code))
        if len(self) < 65536:
            self[code] = mapped
        return mapped


_TITLES = _TitleTable()


def _title(char: str) -> str:
    # Simple (one-to-one) titlecase mapping: "ß".title() is "Ss", not a single character.
    mapped = char.title()
    if len(mapped) == 1:
        return mapped
    upper = char.upper()
    return upper if len(upper) == 1 else char


def first_values(header_block: bytes, names: frozenset[bytes]) -> dict[bytes, bytes]:
    """Lower-case name -> raw unfolded value of the first field of each of
    ``names`` (lower-case) present in ``header_block``."""
    found: dict[bytes, bytes] = {}
    for field in split_fields(header_block, 0, header_end(header_block)):
        name = field.name.lower()
        if name in names and name not in found:
            found[name] = raw_value(header_block, field)
    return found


def subject_key(raw: bytes | None) -> BaseSubject:
    """The base subject of a raw Subject value as a collation key; a missing
    Subject sorts as the empty string."""
    if raw is None:
        return BaseSubject("", False)
    subject = base_subject(decode_words(raw))
    return BaseSubject(casemap(subject.text), subject.reply_or_forward)


def address_key(raw: bytes | None) -> str:
    """RFC 5256 §3: the addr-mailbox of the first address, "" when none."""
    first = _first_address(raw)
    if first is None or first[2] is None:
        return ""
    return casemap(first[2].decode("utf-8", "replace"))


def display_key(raw: bytes | None) -> str:
    """RFC 5957 §3: the first address's decoded display name if not empty,
    else addr-mailbox@addr-host, else addr-mailbox, else ""."""
    first = _first_address(raw)
    if first is None:
        return ""
    name, _adl, mailbox, host = first
    if name:
        display = decode_words(name)
        if display:
            return casemap(display)
    if mailbox is None:
        return ""
    text = mailbox.decode("utf-8", "replace")
    if host:  # the envelope gives a tel: URI host "" rather than NIL
        text += "@" + host.decode("utf-8", "replace")
    return casemap(text)


def _first_address(raw: bytes | None):
    if raw is None:
        return None
    addresses = parse_address_list(raw)
    return addresses[0] if addresses else None


# msg-id = "<" id-left "@" id-right ">"; folding blanks inside are dropped.
_MSG_ID = re.compile(rb"<([^<>]*)>")
_WSP = re.compile(rb"[ \t\r\n]+")


def message_ids(raw: bytes | None) -> list[str]:
    """The valid message IDs in a Message-ID / References / In-Reply-To
    value, in order, without their angle brackets. An ID without "@" is not
    valid (RFC 5322 §3.6.4) and is skipped, as Dovecot does."""
    if raw is None:
        return []
    out = []
    for match in _MSG_ID.finditer(raw):
        text = _WSP.sub(b"", match.group(1))
        if b"@" in text:
            out.append(text.decode("utf-8", "replace"))
    return out


def thread_ids(values: dict[bytes, bytes]) -> tuple[str | None, tuple[str, ...]]:
    """(own Message-ID or None, references) as RFC 5256 §3 REFERENCES step
    1 reads them: the References IDs, or when there is none valid the first
    valid In-Reply-To ID."""
    own = message_ids(values.get(b"message-id"))
    references = message_ids(values.get(b"references"))
    if not references:
        references = message_ids(values.get(b"in-reply-to"))[:1]
    return (own[0] if own else None), tuple(references)
