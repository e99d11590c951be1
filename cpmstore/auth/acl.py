"""Rights of RFC 4314 (IMAP ACL): parsing, printing, SETACL arithmetic, evaluation.

Owns the pure logic over access control lists: what a rights string means,
how SETACL/DELETEACL change a list, what GETACL, MYRIGHTS and LISTRIGHTS
print, and which rights a user ends up with. An ACL is a plain
``dict[str, str]``: identifier -> rights. Nothing here touches sockets, the
reactor, the disk or the store; the store keeps the dicts and the command
handlers call these functions. RFC 4314 §2 (identifiers, negative rights),
§2.1 (standard rights), §2.1.1 (obsolete ``c``/``d``), §3.1-§3.8 (commands
and responses).

Storage form: each value is the rights in canonical order without ``c``/``d``
(``"lrwstipekxa"`` for everything). Output form (what we print): the same,
followed by ``c`` and/or ``d``.

Obsolete rights, the rule (RFC 4314 §2.1.1). The RFC offers two groupings
and we take the one Dovecot uses: "create" = ``k`` + ``x``, "delete" =
``e`` + ``t``. On input ``c`` means ``kx`` and ``d`` means ``et`` ("it MUST be
treated as if the client had included every member"). On output the RFC
leaves no choice: "When any of the 'create' member rights is set in a list of
rights, the server MUST also include the 'c' right when returning the list in
a MYRIGHTS or ACL response", and likewise for "delete" and ``d``. So ``c`` is
printed when ``k`` *or* ``x`` is present, ``d`` when ``e`` *or* ``t`` is. For
LISTRIGHTS, "If the member rights aren't tied to non-member rights, then the
'c' right is returned by itself", so ``c`` and ``d`` are groups of their own.

Identifiers (RFC 4314 §2): a user name (case-sensitive), ``anyone`` (every
session, anonymous included), ``authenticated`` (every logged-in user); those
two are matched in any case and stored lower-case. A leading ``-`` makes a
negative entry. A user's rights are the union of the positive entries that
match them minus the union of the negative entries that match them.

The owner: an owner without an entry of their own has every right (an empty
ACL means ``{owner: every right}``; DELETEACL of the owner restores that, as
in Dovecot), and the owner keeps ``a`` whatever the entries say, so nobody can lock the owner
out of administering their own folder (RFC 4314 §2: an implementation "MAY
force rights to always ... be granted to particular identifiers").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ALL_RIGHTS: str = "lrswipkxtea"

_CANONICAL = "lrwstipekxa"  # Dovecot's print order, kept for conformance diffs
_LISTRIGHTS_ORDER = "lrwstpiekxa"  # Dovecot's LISTRIGHTS order (p before i)
_CREATE = frozenset("kx")  # obsolete "c"
_DELETE = frozenset("et")  # obsolete "d"
_OBSOLETE = {"c": _CREATE, "d": _DELETE}
_ANYONE = "anyone"
_AUTHENTICATED = "authenticated"
_SPECIAL = (_ANYONE, _AUTHENTICATED)


class InvalidRights(ValueError):
    """A rights string or identifier the client sent is not acceptable.

    ``str(error)`` is the client-facing text; RFC 4314 §3.1 wants a tagged
    BAD for an unrecognized right.
    """


def parse_rights(text: str) -> frozenset[str]:
    """Rights letters (no +/- prefix) -> the set of RFC 4314 rights, ``c``/``d`` expanded."""
    rights: set[str] = set()
    for letter in text:
        if letter in _OBSOLETE:
            rights |= _OBSOLETE[letter]
        elif letter in _CANONICAL:
            rights.add(letter)
        else:
            # Uppercase and digits included: RFC 4314 §2 reserves digits for
            # site-defined rights, and we define none.
            raise InvalidRights(f"Invalid ACL right: {letter}")
    return frozenset(rights)


def _storage_form(rights: Iterable[str]) -> str:
    present = parse_rights("".join(rights))
    return "".join(letter for letter in _CANONICAL if letter in present)


def format_rights(rights: frozenset[str] | set[str]) -> str:
    """Rights -> the string GETACL/MYRIGHTS print: canonical order, then ``c``, ``d``."""
    stored = _storage_form(rights)
    present = frozenset(stored)
    return stored + ("c" if present & _CREATE else "") + ("d" if present & _DELETE else "")


def normalize_identifier(identifier: str) -> str:
    """The stored form of an identifier: ``anyone``/``authenticated`` lower-cased, others as given."""
    check_identifier(identifier)
    negative = identifier.startswith("-")
    name = identifier[1:] if negative else identifier
    if name.lower() in _SPECIAL:
        name = name.lower()
    return ("-" if negative else "") + name


def check_identifier(identifier: str) -> None:
    """Raise ``InvalidRights`` for an identifier no ACL entry may have."""
    if identifier in ("", "-"):
        raise InvalidRights("Invalid ACL identifier")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in identifier):
        raise InvalidRights("Invalid ACL identifier")


def apply_setacl(acl: Mapping[str, str], identifier: str, mod_rights: str) -> dict[str, str]:
    """SETACL (RFC 4314 §3.1) on ``acl``: a new dict in storage form.

    ``+xyz`` adds to the identifier's entry, ``-xyz`` removes from it, plain
    ``xyz`` replaces it; an entry left empty is dropped. To keep the default
    owner entry when the folder has no ACL yet, pass
    ``effective_acl(stored, owner)`` as ``acl``: output-form values are accepted.
    """
    key = normalize_identifier(identifier)
    if mod_rights[:1] in ("+", "-"):
        mode, letters = mod_rights[0], mod_rights[1:]
    else:
        mode, letters = "", mod_rights
    change = parse_rights(letters)
    result = _normalized(acl)
    current = parse_rights(result.get(key, ""))
    if mode == "+":
        new = current | change
    elif mode == "-":
        new = current - change
    else:
        new = change
    if new:
        result[key] = _storage_form(new)
    else:
        result.pop(key, None)
    return result


def apply_deleteacl(acl: Mapping[str, str], identifier: str) -> dict[str, str]:
    """DELETEACL (RFC 4314 §3.2): a new dict without ``identifier``'s entry.

    ``-fred`` and ``fred`` are different entries; deleting one leaves the other.
    """
    key = normalize_identifier(identifier)
    result = _normalized(acl)
    result.pop(key, None)
    return result


def _normalized(acl: Mapping[str, str]) -> dict[str, str]:
    # Merging keys that differ only by the case of "anyone" keeps one entry
    # per identifier even if a stored list was written by hand.
    result: dict[str, str] = {}
    for identifier, rights in acl.items():
        key = normalize_identifier(identifier)
        result[key] = _storage_form(result.get(key, "") + rights)
    return result


def effective_acl(acl: Mapping[str, str], owner: str) -> dict[str, str]:
    """Stored ACL -> the entries GETACL prints (output form, with ``c``/``d``).

    An owner without an entry of their own has every right (so DELETEACL of
    the owner restores the default, as in Dovecot); an owner entry always
    shows ``a``. Entries keep their stored order, the implicit owner last.
    """
    entries = _normalized(acl)
    if owner in entries:
        entries[owner] += "a"
    else:
        entries[owner] = ALL_RIGHTS
    return {identifier: format_rights(set(rights)) for identifier, rights in entries.items()}


def rights_of(acl: Mapping[str, str], owner: str, user: str,
              authenticated: bool = True) -> frozenset[str]:
    """The rights ``user`` has on a folder with stored ``acl`` (RFC 4314 §2; MYRIGHTS).

    ``authenticated=False`` is an anonymous session: only ``anyone`` and
    ``-anyone`` apply to it, and it is never the owner.
    """
    entries = _normalized(acl)
    is_owner = authenticated and user == owner
    if is_owner and owner not in entries:
        entries[owner] = ALL_RIGHTS
    matching = (_ANYONE, _AUTHENTICATED, user) if authenticated else (_ANYONE,)
    granted: set[str] = set()
    denied: set[str] = set()
    for identifier in matching:
        granted.update(entries.get(identifier, ""))
        denied.update(entries.get("-" + identifier, ""))
    rights = granted - denied
    if is_owner:
        rights.add("a")
    return frozenset(rights)


def listrights(owner: str, identifier: str) -> tuple[str, list[str]]:
    """LISTRIGHTS (RFC 4314 §3.7): (rights always granted, groups that may be granted).

    No rights are tied, so each right is its own group, ``c`` and ``d``
    included (§2.1.1); the owner is always granted ``a``.
    """
    key = normalize_identifier(identifier)
    always = "a" if key == owner else ""
    optional = [letter for letter in _LISTRIGHTS_ORDER if letter not in always]
    return always, optional + ["c", "d"]
