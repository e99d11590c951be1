"""FETCH attributes (RFC 3501 §6.4.5, §9 ``fetch-att``, ``section``).

Owns the value types for what a client may ask of a message and the names
they carry in the response. Macros (ALL, FAST, FULL) are expanded by the
parser. No sockets, no reactor, no disk.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Section:
    """``BODY[<parts>.<text>]``: ``parts`` like (1, 2); ``text`` one of None,
    "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME";
    ``fields`` the upper-cased header names for HEADER.FIELDS[.NOT]."""

    parts: tuple[int, ...] = ()
    text: str | None = None
    fields: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchAtt:
    """One fetch attribute.

    ``name`` is one of ENVELOPE, FLAGS, INTERNALDATE, RFC822, RFC822.HEADER,
    RFC822.SIZE, RFC822.TEXT, BODY, BODYSTRUCTURE, UID. ``BODY`` with
    ``section`` None is the non-extensible body structure; ``BODY`` with a
    section is ``BODY[...]`` (``peek`` for BODY.PEEK). ``partial`` is
    ``(origin, count)`` from ``<origin.count>``.
    """

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None
