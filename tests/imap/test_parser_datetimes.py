"""INTERNALDATE date-time and SEARCH date (RFC 3501 §9)."""

from datetime import date, datetime, timedelta, timezone

import pytest

from cpmstore.imap.datetimes import format_internaldate, parse_date, parse_date_time


def test_rfc3501_7_4_2_internaldate_round_trip():
    when = parse_date_time(b"17-Jul-1996 02:44:25 -0700")
    assert when == datetime(1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7)))
    assert format_internaldate(when) == b'"17-Jul-1996 02:44:25 -0700"'


@pytest.mark.parametrize("text, expected", [
    (b" 1-Jan-2020 00:00:00 +0000", datetime(2020, 1, 1, tzinfo=timezone.utc)),
    (b"1-jan-2020 23:59:59 +0530", datetime(2020, 1, 1, 23, 59, 59,
                                            tzinfo=timezone(timedelta(hours=5, minutes=30)))),
])
def test_rfc3501_9_date_day_fixed(text, expected):
    assert parse_date_time(text) == expected


def test_format_internaldate_pads_day_and_takes_naive_as_utc():
    assert format_internaldate(datetime(2020, 3, 5, 6, 7, 8)) == b'"05-Mar-2020 06:07:08 +0000"'
    east = datetime(2020, 3, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30)))
    assert format_internaldate(east) == b'"05-Mar-2020 00:00:00 -0330"'


@pytest.mark.parametrize("text", [
    b"", b"17-Jul-1996 02:44:25", b"17-Jux-1996 02:44:25 -0700", b"32-Jul-1996 02:44:25 -0700",
    b"17-Jul-1996 24:00:00 -0700", b"17-Jul-1996 02:44:25 -0760", b"17-Jul-1996 02:44:25 +2400",
    b"17-Jul-96 02:44:25 -0700", b"17-Jul-1996 02:44:25 -0700 ",
])
def test_rfc3501_9_invalid_date_time(text):
    with pytest.raises(ValueError):
        parse_date_time(text)


def test_rfc3501_6_4_4_search_date():
    assert parse_date(b"1-Feb-1994") == date(1994, 2, 1)
    assert parse_date(b"29-feb-2000") == date(2000, 2, 29)
    for bad in (b"29-Feb-1999", b"1-Feb-94", b"001-Feb-1994", b"1 Feb 1994"):
        with pytest.raises(ValueError):
            parse_date(bad)
