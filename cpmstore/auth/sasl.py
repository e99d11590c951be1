"""SASL mechanisms: PLAIN (RFC 4616) for AUTHENTICATE (RFC 3501 §6.2.2).

This module owns decoding the client's SASL message once base64 is undone.
It never checks passwords and never reads the wire: the command handler
does both.
"""

from __future__ import annotations


def decode_plain(data: bytes) -> tuple[str, str, str]:
    """RFC 4616 §2 ``[authzid] NUL authcid NUL passwd`` -> the three, as str.

    ``authzid`` is ``""`` when absent. ValueError when the message is not
    three NUL-separated fields, when authcid or passwd is empty, or when a
    field is not UTF-8.
    """
    fields = data.split(b"\0")
    if len(fields) != 3:
        raise ValueError(f"PLAIN message has {len(fields)} fields, expected 3")
    authzid, authcid, passwd = fields
    if not authcid or not passwd:
        raise ValueError("PLAIN authcid and passwd must not be empty")
    try:
        return authzid.decode("utf-8"), authcid.decode("utf-8"), passwd.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"PLAIN message is not UTF-8: {e}") from None
