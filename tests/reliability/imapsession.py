"""A raw-socket session step the reliability tests share: an APPEND with a
LITERAL+ literal (logging in and commands that must succeed are
``transcript.logged_in`` and ``transcript.ok``)."""

from __future__ import annotations

from transcript import Connection


def append(conn: Connection, folder: bytes, message: bytes) -> bytes:
    """APPEND ``message`` to ``folder``; the tagged reply, whatever it says."""
    conn.send(b"ap APPEND " + folder + b" {%d+}\r\n" % len(message) + message + b"\r\n")
    return conn.until(b"ap")[-1]
