"""IMAP dates: ``date-time`` (INTERNALDATE, APPEND) and search ``date``.

Owns the textual forms of RFC 3501 §9 ``date-time`` (``"dd-Mon-yyyy
hh:mm:ss +zzzz"``) and ``date`` (``d-Mon-yyyy``). Month names are always
English whatever the locale, which is why ``strftime`` is not used. Parse
functions take the text without its quotes and raise ``ValueError``; the
reader turns that into a tagged BAD. No sockets, no reactor, no disk.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

__all__ = ["MONTHS", "format_internaldate", "parse_date", "parse_date_time"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.upper().encode("ascii"): i for i, m in enumerate(MONTHS, 1)}

# date-day-fixed is SP DIGIT or 2DIGIT; a bare single digit is accepted too
# because clients send it (as Dovecot does). ABNF literals are
# case-insensitive, so "jul" is as good as "Jul".
_DATE_TIME = re.compile(
    rb"([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\Z"
)
_DATE = re.compile(rb"(\d{1,2})-([A-Za-z]{3})-(\d{4})\Z")


def _month(name: bytes) -> int:
    try:
        return _MONTH_NUMBER[name.upper()]
    except KeyError:
        raise ValueError(f"unknown month {name!r}") from None


def parse_date_time(text: bytes) -> datetime:
    """An aware datetime from ``dd-Mon-yyyy hh:mm:ss +zzzz`` (no quotes)."""
    m = _DATE_TIME.match(text)
    if m is None:
        raise ValueError("invalid date-time")
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    if int(zm) >= 60:
        raise ValueError("invalid time zone")
    offset = timedelta(hours=int(zh), minutes=int(zm))
    if offset >= timedelta(hours=24):
        raise ValueError("invalid time zone")
    tz = timezone(-offset if sign == b"-" else offset)
    return datetime(int(year), _month(mon), int(day), int(hh), int(mm), int(ss), tzinfo=tz)


def parse_date(text: bytes) -> date:
    """A date from ``d-Mon-yyyy`` (no quotes), as SEARCH uses it."""
    m = _DATE.match(text)
    if m is None:
        raise ValueError("invalid date")
    day, mon, year = m.groups()
    return date(int(year), _month(mon), int(day))


def format_internaldate(dt: datetime) -> bytes:
    """The quoted ``date-time`` for INTERNALDATE; a naive ``dt`` is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    offset = dt.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = b"-" if minutes < 0 else b"+"
    minutes = abs(minutes)
    return b'"%02d-%s-%04d %02d:%02d:%02d %s%02d%02d"' % (
        dt.day, MONTHS[dt.month - 1].encode("ascii"), dt.year,
        dt.hour, dt.minute, dt.second, sign, minutes // 60, minutes % 60,
    )
