"""What the store derives from a message once, at APPEND (DESIGN §2, §4).

Owns bare-LF normalization and the ``Analysis`` of a message: wire-ready
ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 §7.4.2), the raw header block
that ``BODY[HEADER]`` returns, the sent date for SEARCH SENTBEFORE/ON/SINCE
(RFC 3501 §6.4.4, parsed leniently: CPM clients write locale-dependent
dates), the CPM identity fields (``cpmstore.cpm.fields``) and the PREVIEW
text (RFC 8970, ``cpmstore.mime.preview``) and the SEARCH TEXT/BODY keys
(``cpmstore.mime.text.search_keys``, kept by the text index). ``analyze``
accepts any bytes: a message that cannot be read gets the RFC 3501 default
structure rather than an error, since a store must never refuse what a
client appends. Never touches sockets, the reactor or the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from cpmstore.cpm.fields import fields_of
from cpmstore.cpm.kinds import classify
from cpmstore.imap.response import encode_value
from cpmstore.mime.bodystructure import body_value
from cpmstore.mime.envelope import envelope_value
from cpmstore.mime.parse import Entity, parse_message
from cpmstore.mime.preview import preview_text
from cpmstore.mime.text import search_keys


def normalize_line_endings(data: bytes) -> bytes:
    """Bare LF -> CRLF; CRLF and a lone CR stay as they are."""
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    # Collapsing CRLF first makes every LF bare, so one replace fixes all.
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@dataclass(frozen=True, slots=True)
class Analysis:
    """``envelope``, ``body`` and ``bodystructure`` are the wire form that
    follows the item name in FETCH; ``header`` is BODY[HEADER] exactly."""

    envelope: bytes
    body: bytes
    bodystructure: bytes
    header: bytes
    sent_date: datetime | None
    fields: dict[str, str]
    preview: str = ""  # RFC 8970 PREVIEW text (cpmstore.mime.preview)
    kind: str = "email"  # the CPM object kind (cpmstore.cpm.kinds)
    # (header key, body key) for SEARCH TEXT/BODY; None when the message could not be parsed.
    search_keys: tuple[str, str] | None = None


_DEFAULT_BODY = b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" %d %d)'
_DEFAULT_BODYSTRUCTURE = b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" %d %d NIL NIL NIL NIL)'
_NIL_ENVELOPE = b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"


def analyze(message: bytes) -> Analysis:
    """Everything FETCH and SEARCH need from ``message``, computed once."""
    try:
        root = parse_message(message)
        return _analysis(message, root)
    except Exception:  # noqa: BLE001 - see the fallback's docstring
        return _fallback(message)


def _analysis(message: bytes, root: Entity) -> Analysis:
    header = message[root.start:root.body_start]
    date = root.value(message, b"date")
    return Analysis(
        envelope=encode_value(envelope_value(message, root.index)),
        body=encode_value(body_value(message, root, extended=False)),
        bodystructure=encode_value(body_value(message, root, extended=True)),
        header=header,
        sent_date=parse_date(date) if date is not None else None,
        fields=fields_of(message, root.fields),
        preview=preview_text(message, root),
        kind=classify(message, root.index),
        search_keys=search_keys(message, root),
    )


def _fallback(message: bytes) -> Analysis:
    """The last resort if the parser meets input it was never tested on: the
    whole message as one text/plain body (RFC 3501 §7.4.2 defaults), so the
    APPEND still succeeds and FETCH still answers something valid."""
    size, lines = len(message), message.count(b"\n")
    return Analysis(_NIL_ENVELOPE, _DEFAULT_BODY % (size, lines), _DEFAULT_BODYSTRUCTURE % (size, lines), b"", None, {})


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "janv", "janvier"),
            ("feb", "fev", "févr", "fevr", "février"),
            ("mar", "mars"),
            ("apr", "avr", "avril"),
            ("may", "mai"),
            ("jun", "juin"),
            ("jul", "juil", "juillet"),
            ("aug", "aou", "août", "aout"),
            ("sep", "sept", "septembre"),
            ("oct", "octobre"),
            ("nov", "novembre"),
            ("dec", "déc", "décembre"),
        ),
        start=1,
    )
    for name in names
}
# day month year hour:minute[:second[.fraction]] [zone], month as a number or
# a (possibly French) name: what Java's SimpleDateFormat writes in any locale.
_LENIENT_DATE = re.compile(
    r"(\d{1,2})[\s./-]+(\d{1,2}|[^\W\d_]{3,9})\.?[\s./-]+(\d{2,4})[\sT,]+"
    r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([+-]\d{2}:?\d{2}|Z|UT|GMT|UTC)?",
    re.IGNORECASE,
)


def parse_date(value: bytes) -> datetime | None:
    """An RFC 5322 date (§3.3, obsolete forms included), else a lenient
    reading of locale-formatted or ISO 8601 dates; aware (UTC when no zone
    is given); None when nothing date-like is found."""
    text = value.decode("utf-8", "replace").strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is None:
        parsed = _iso_date(text) or _lenient_date(text)
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _iso_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _lenient_date(text: str) -> datetime | None:
    match = _LENIENT_DATE.search(text)
    if match is None:
        return None
    day, month_text, year_text, hour, minute, second, zone = match.groups()
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.lower())
    year = int(year_text)
    if len(year_text) == 2:
        year += 2000 if year < 50 else 1900
    try:
        return datetime(year, month or 0, int(day), int(hour), int(minute), int(second or 0), tzinfo=_zone(zone))
    except ValueError:
        return None


def _zone(zone: str | None) -> timezone:
    if not zone or zone.upper() in ("Z", "UT", "GMT", "UTC"):
        return timezone.utc
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if offset >= timedelta(hours=24):
        return timezone.utc
    return timezone(-offset if zone[0] == "-" else offset)
