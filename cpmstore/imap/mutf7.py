"""Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).

Owns the conversion between the wire spelling of a mailbox name and the
``str`` the rest of the server uses. Decoding is strict: a name has exactly
one valid spelling, so anything ``encode`` would not produce (an unclosed
``&``, printable ASCII inside a base64 run, a null shift ``-&``, non-zero
padding bits, lone surrogates, 8-bit or control bytes) is rejected with
``MUTF7Error`` (a ``ValueError``). No sockets, no reactor, no disk.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["MUTF7Error", "decode", "encode"]


class MUTF7Error(ValueError):
    """Not a valid modified UTF-7 mailbox name."""


# Printable US-ASCII (0x20-0x7e) represents itself; everything else,
# control characters included, travels as base64 of UTF-16BE.
_RUNS = re.compile(r"[\x20-\x7e]+|[^\x20-\x7e]+")
_TOKEN = re.compile(rb"([\x20-\x25\x27-\x7e]+)|&-|&([A-Za-z0-9+,]+)-")


def encode(name: str) -> bytes:
    """The wire spelling of ``name``."""
    out = []
    for run in _RUNS.finditer(name):
        text = run.group()
        if "\x20" <= text[0] <= "\x7e":
            out.append(text.replace("&", "&-").encode("ascii"))
            continue
        try:
            utf16 = text.encode("utf-16-be")
        except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-16 form
            raise MUTF7Error(f"cannot encode {text!r}") from exc
        out.append(b"&" + base64.b64encode(utf16).rstrip(b"=").replace(b"/", b",") + b"-")
    return b"".join(out)


def decode(data: bytes) -> str:
    """The name spelled by ``data``; raises ``MUTF7Error`` unless canonical."""
    out = []
    pos = 0
    end = len(data)
    while pos < end:
        m = _TOKEN.match(data, pos)
        if m is None:
            raise MUTF7Error("invalid modified UTF-7 at offset %d" % pos)
        pos = m.end()
        if m.group(1) is not None:
            out.append(m.group(1).decode("ascii"))
        elif m.group(2) is None:
            out.append("&")
        else:
            out.append(_decode_run(m.group(2)))
    name = "".join(out)
    # One spelling per name: re-encoding catches every non-minimal form at once.
    if encode(name) != data:
        raise MUTF7Error("non-canonical modified UTF-7")
    return name


def _decode_run(run: bytes) -> str:
    padding = -len(run) % 4
    if padding == 3:
        raise MUTF7Error("truncated base64 in modified UTF-7")
    try:
        utf16 = base64.b64decode(run.replace(b",", b"/") + b"=" * padding, validate=True)
    except binascii.Error as exc:
        raise MUTF7Error("invalid base64 in modified UTF-7") from exc
    if len(utf16) % 2:
        raise MUTF7Error("odd number of UTF-16 bytes in modified UTF-7")
    try:
        return utf16.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise MUTF7Error("invalid UTF-16 in modified UTF-7") from exc
