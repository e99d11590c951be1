"""``BODY[section]`` extraction (RFC 3501 §6.4.5).

Owns resolving a section specifier (part numbers, then HEADER,
HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME) to the exact bytes of the
stored message: no re-encoding, no line ending changes; HEADER.FIELDS keeps
the original (folded) lines in message order. A part that does not exist is
None, never an exception; the FETCH handler decides what to send. Never
touches sockets, the reactor or the disk.
"""

from __future__ import annotations

from cpmstore.mime.parse import Entity, parse_message

_MESSAGE_TEXTS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT")


def find_part(root: Entity, parts: tuple[int, ...]) -> Entity | None:
    """The entity that part numbers ``parts`` name, or None.

    Part numbers count the parts of a multipart; a message/rfc822 part is
    entered (its ``1`` is the embedded message's first part, or its body when
    that message is not multipart), and a non-multipart message's only part
    ``1`` is the message itself (its body)."""
    current = root
    is_message = True  # the root, or an embedded message reached through message/rfc822
    for number in parts:
        if not is_message and current.message is not None:
            current, is_message = current.message, True
        if current.is_multipart:
            if not 1 <= number <= len(current.children):
                return None
            current, is_message = current.children[number - 1], False
        elif is_message and number == 1:
            is_message = False  # the same entity, now seen as its own body part
        else:
            return None
    return current


def fetch_section(
    message: bytes,
    parts: tuple[int, ...],
    text: str | None,
    fields: tuple[bytes, ...] = (),
) -> bytes | None:
    """The bytes of ``BODY[parts.text]``, or None when the section does not
    exist (a part out of range, HEADER/TEXT on a part that is not
    message/rfc822, MIME on the whole message)."""
    root = parse_message(message)
    entity = find_part(root, parts)
    if entity is None:
        return None
    if text is None:
        return message if not parts else message[entity.body_start:entity.end]
    text = text.upper()
    if text == "MIME":
        return message[entity.start:entity.body_start] if parts else None
    if text not in _MESSAGE_TEXTS:
        return None
    if parts:
        # HEADER and TEXT after part numbers address an embedded message.
        if entity.message is None:
            return None
        entity = entity.message
    if text == "HEADER":
        return message[entity.start:entity.body_start]
    if text == "TEXT":
        return message[entity.body_start:entity.end]
    return header_fields(message, entity, fields, text == "HEADER.FIELDS.NOT")


def header_fields(message: bytes, entity: Entity, names: tuple[bytes, ...], exclude: bool) -> bytes:
    """HEADER.FIELDS / HEADER.FIELDS.NOT: the matching fields as written,
    then the blank line that ends a header (RFC 3501 §6.4.5)."""
    wanted = {name.lower() for name in names}
    lines = []
    for field in entity.fields:
        if (field.name.lower() in wanted) != exclude:
            line = message[field.start:field.end]
            lines.append(line if line.endswith(b"\n") else line + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)
