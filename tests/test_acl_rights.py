"""Rights logic of RFC 4314: parsing, printing, SETACL/DELETEACL, evaluation, LISTRIGHTS.

Tables come from the RFC's own examples and from what the reference Dovecot
answers; the section is in each test's name.
"""

import pytest
from hypothesis import given, settings, strategies as st

from cpmstore.auth.acl import (
    ALL_RIGHTS, InvalidRights, apply_deleteacl, apply_setacl, check_identifier,
    effective_acl, format_rights, listrights, normalize_identifier, parse_rights,
    rights_of,
)


LISTRIGHTS_ALL = ["l", "r", "w", "s", "t", "p", "i", "e", "k", "x", "a", "c", "d"]


# Each standard right alone: how it parses and how it prints (c/d per §2.1.1).
@pytest.mark.parametrize("letter, printed", [
    ("l", "l"), ("r", "r"), ("s", "s"), ("w", "w"), ("i", "i"), ("p", "p"),
    ("k", "kc"), ("x", "xc"), ("t", "td"), ("e", "ed"), ("a", "a"),
])
def test_rfc4314_2_1_every_standard_right(letter, printed):
    assert parse_rights(letter) == {letter}
    assert format_rights({letter}) == printed


def test_rfc4314_2_1_all_rights_print_in_dovecot_order():
    assert set(ALL_RIGHTS) == set("lrswipkxtea")
    assert format_rights(frozenset(ALL_RIGHTS)) == "lrwstipekxacd"
    assert format_rights(set()) == ""


@pytest.mark.parametrize("text, expected", [
    ("c", "kx"),
    ("d", "et"),
    ("cd", "kxet"),
    ("ck", "kx"),               # "not an error to specify both"
    ("dte", "et"),
    ("lrswida", "lrswieta"),    # §2.1.1 example: David lrswida, "d" expands to "et"
    ("lrswikda", "lrswiketa"),  # §2.1.1 example: Byron lrswikda
    ("", ""),
])
def test_rfc4314_2_1_1_obsolete_rights_expand_on_input(text, expected):
    assert parse_rights(text) == frozenset(expected)


@pytest.mark.parametrize("rights, printed", [
    ("k", "kc"),                    # any one "create" member brings "c"
    ("x", "xc"),
    ("kx", "kxc"),
    ("e", "ed"),                    # any one "delete" member brings "d"
    ("t", "td"),
    ("et", "ted"),
    ("lrswiketa", "lrwstiekacd"),   # §2.1.1: Byron shown as lrswikcdeta
    ("lrswieta", "lrwstiead"),      # §2.1.1: David shown as lrswideta
    ("lr", "lr"),
    ("ikxlr", "lrikxc"),            # Dovecot: SETACL box user2 +ic over lr shows kxilrc
])
def test_rfc4314_2_1_1_obsolete_rights_added_on_output(rights, printed):
    assert format_rights(set(rights)) == printed


def test_rfc4314_2_1_1_format_accepts_obsolete_letters_in_its_input():
    assert format_rights({"c"}) == "kxc"
    assert format_rights({"d", "l"}) == "lted"


@pytest.mark.parametrize("text, letter", [
    ("lrQswicda", "Q"),   # §3.1: uppercase rights are not allowed
    ("lrqswicda", "q"),   # §3.1: the q right is not supported
    ("z", "z"),           # Dovecot: "Invalid ACL right: z"
    ("L", "L"),
    ("l0", "0"),          # digits are site-defined rights; we define none
    ("+l", "+"),          # a modifier is SETACL's business, not a right
    ("l r", " "),
])
def test_rfc4314_3_1_unrecognized_right_is_an_error(text, letter):
    with pytest.raises(InvalidRights) as raised:
        parse_rights(text)
    assert str(raised.value) == f"Invalid ACL right: {letter}"


@pytest.mark.parametrize("acl, identifier, mod, expected", [
    # replace
    ({}, "user2", "lr", {"user2": "lr"}),
    ({"user2": "lrwi"}, "user2", "r", {"user2": "r"}),
    # add
    ({"user2": "lr"}, "user2", "+ic", {"user2": "lrikx"}),          # Dovecot: +ic -> i k x
    ({}, "user2", "+lr", {"user2": "lr"}),
    ({"Chris": "lrswi"}, "Chris", "+cda", {"Chris": "lrwstiekxa"}),  # §3.1 example
    # remove
    ({"user2": "lrwi"}, "user2", "-wi", {"user2": "lr"}),
    ({"user2": "lrkx"}, "user2", "-c", {"user2": "lr"}),
    ({}, "-user3", "d", {"-user3": "te"}),                           # Dovecot: -user3 etd
    # an entry left with no rights goes away
    ({"user2": "lr"}, "user2", "-lr", {}),
    ({"user2": "lr"}, "user2", "", {}),
    ({"user2": "lr", "user3": "r"}, "user2", "-lrw", {"user3": "r"}),
    # no-ops do not create entries
    ({}, "user2", "-lr", {}),
    ({}, "user2", "+", {}),
    ({"user2": "lr"}, "user2", "-", {"user2": "lr"}),
    ({"user2": "lr"}, "user2", "+", {"user2": "lr"}),
    # other entries untouched, negative and positive entries are separate
    ({"fred": "lrw"}, "-fred", "w", {"fred": "lrw", "-fred": "w"}),
    # stored in canonical order whatever order the client used
    ({}, "user2", "axetlr", {"user2": "lrtexa"}),
])
def test_rfc4314_3_1_setacl_modifiers(acl, identifier, mod, expected):
    before = dict(acl)
    assert apply_setacl(acl, identifier, mod) == expected
    assert acl == before   # a new dict, the caller's is untouched


def test_rfc4314_3_1_setacl_invalid_right_names_the_letter():
    with pytest.raises(InvalidRights, match="Invalid ACL right: z"):
        apply_setacl({}, "user2", "+lz")
    with pytest.raises(InvalidRights, match="Invalid ACL right: Q"):
        apply_setacl({}, "John", "lrQswicda")


def test_rfc4314_3_1_setacl_over_default_keeps_the_owner_entry():
    acl = apply_setacl(effective_acl({}, "user1"), "user2", "lr")
    assert acl == {"user1": "lrwstipekxa", "user2": "lr"}
    assert rights_of(acl, "user1", "user1") == frozenset(ALL_RIGHTS)


@pytest.mark.parametrize("identifier, stored", [
    ("anyone", "anyone"),
    ("AnyOne", "anyone"),
    ("-ANYONE", "-anyone"),
    ("Authenticated", "authenticated"),
    ("-authenticated", "-authenticated"),
    ("Fred", "Fred"),          # user names are case-sensitive
    ("-Fred", "-Fred"),
    ("$team", "$team"),
])
def test_rfc4314_2_identifier_forms(identifier, stored):
    assert normalize_identifier(identifier) == stored
    assert apply_setacl({}, identifier, "l") == {stored: "l"}


def test_rfc4314_2_user_names_are_case_sensitive():
    acl = apply_setacl({"fred": "lr"}, "Fred", "w")
    assert acl == {"fred": "lr", "Fred": "w"}
    assert rights_of(acl, "owner", "fred") == frozenset("lr")
    assert rights_of(acl, "owner", "Fred") == frozenset("w")


@pytest.mark.parametrize("identifier", ["", "-", "user\x00", "a\r\nb", "tab\there", "del\x7f"])
def test_rfc4314_3_invalid_identifiers(identifier):
    with pytest.raises(InvalidRights, match="Invalid ACL identifier"):
        check_identifier(identifier)
    with pytest.raises(InvalidRights):
        apply_setacl({}, identifier, "lr")
    with pytest.raises(InvalidRights):
        apply_deleteacl({}, identifier)
    with pytest.raises(InvalidRights):
        listrights("user1", identifier)


@pytest.mark.parametrize("identifier", ["user2", "-anyone", "$team", "Fred Smith", "ünïcode"])
def test_rfc4314_3_valid_identifiers(identifier):
    assert check_identifier(identifier) is None


def test_rfc4314_3_2_deleteacl_example():
    # "Fred rwipslxetad -Fred wetd $team w", in storage form
    acl = {"Fred": "lrwstipexa", "-Fred": "wte", "$team": "w"}
    assert apply_deleteacl(acl, "Fred") == {"-Fred": "wte", "$team": "w"}
    assert acl == {"Fred": "lrwstipexa", "-Fred": "wte", "$team": "w"}


@pytest.mark.parametrize("acl, identifier, expected", [
    ({"-Fred": "w"}, "-Fred", {}),
    ({"anyone": "l"}, "ANYONE", {}),
    ({"anyone": "l"}, "user2", {"anyone": "l"}),   # deleting nothing is not an error
])
def test_rfc4314_3_2_deleteacl(acl, identifier, expected):
    assert apply_deleteacl(acl, identifier) == expected


@pytest.mark.parametrize("stored, expected", [
    ({}, {"user1": "lrwstipekxacd"}),                    # default ACL
    ({"user1": "lr"}, {"user1": "lra"}),                 # Dovecot: owner sets lr, GETACL "alr"
    ({"user1": "lr", "user2": "lrikx"}, {"user1": "lra", "user2": "lrikxc"}),
    # Without an entry the owner has every right: Dovecot shows
    # "user2 ilr -user3 etd user1 lrwstipekxacd" after DELETEACL of the owner.
    ({"user2": "lr"}, {"user2": "lr", "user1": "lrwstipekxacd"}),
    ({"-user3": "te"}, {"-user3": "ted", "user1": "lrwstipekxacd"}),  # Dovecot prints "etd" (stored order)
    ({"-user1": "a", "user1": "lr"}, {"-user1": "a", "user1": "lra"}),
])
def test_rfc4314_3_6_getacl_shows_effective_acl(stored, expected):
    shown = effective_acl(stored, "user1")
    assert shown == expected
    assert list(shown) == list(expected)   # stored order kept


# (acl, user, authenticated, expected rights) with owner "owner".
@pytest.mark.parametrize("acl, user, authenticated, expected", [
    # §2: "-fred" granted "w" removes "w" that "fred" gets from another entry
    ({"anyone": "lrw", "-fred": "w"}, "fred", True, "lr"),
    ({"anyone": "lrw", "-fred": "w"}, "bob", True, "lrw"),
    ({"fred": "lrw", "-fred": "w"}, "fred", True, "lr"),
    # "-anyone" removes from everybody, whatever grants it
    ({"user2": "lrw", "-anyone": "w"}, "user2", True, "lr"),
    ({"user2": "lrw", "-anyone": "w"}, "user3", True, ""),
    ({"anyone": "lr", "-anyone": "r"}, "anon", False, "l"),
    # "authenticated" is every logged-in user, never the anonymous session
    ({"authenticated": "lr"}, "user2", True, "lr"),
    ({"authenticated": "lr"}, "user2", False, ""),
    ({"anyone": "l"}, "user2", False, "l"),
    ({"anyone": "lr", "-authenticated": "r"}, "user2", True, "l"),
    ({"anyone": "lr", "-authenticated": "r"}, "anon", False, "lr"),
    ({"user2": "lr", "-authenticated": "l"}, "user2", True, "r"),
    # an anonymous session has no identity of its own
    ({"user2": "lr"}, "user2", False, ""),
    # union of every matching positive entry
    ({"anyone": "l", "authenticated": "r", "user2": "w"}, "user2", True, "lrw"),
    # negative entries of other identifiers do not apply
    ({"anyone": "lr", "-user3": "lr"}, "user2", True, "lr"),
    # "c"/"d" stored by hand still count as their members
    ({"user2": "lc"}, "user2", True, "lkx"),
    ({"AnyOne": "l"}, "user2", True, "l"),
])
def test_rfc4314_2_negative_rights_subtract(acl, user, authenticated, expected):
    assert rights_of(acl, "owner", user, authenticated) == frozenset(expected)


@pytest.mark.parametrize("acl, expected", [
    ({}, ALL_RIGHTS),                        # default ACL: owner has everything
    ({"owner": "lr"}, "lra"),                # Dovecot MYRIGHTS "lra"
    ({"owner": "lrw", "-owner": "wa"}, "lra"),
    ({"-anyone": "lrswipkxtea"}, "a"),
    ({"user2": "lr"}, ALL_RIGHTS),           # no owner entry: the owner's default stands
    ({"anyone": "lr"}, ALL_RIGHTS),
])
def test_rfc4314_2_owner_keeps_administer(acl, expected):
    assert rights_of(acl, "owner", "owner") == frozenset(expected)


def test_rfc4314_2_default_acl_grants_nobody_else():
    assert rights_of({}, "owner", "user2") == frozenset()
    assert rights_of({}, "owner", "owner", authenticated=False) == frozenset()


def test_rfc4314_3_8_myrights_output_form():
    assert format_rights(rights_of({}, "owner", "owner")) == "lrwstipekxacd"
    assert format_rights(rights_of({"owner": "lr"}, "owner", "owner")) == "lra"


@pytest.mark.parametrize("identifier, always, optional", [
    ("user2", "", LISTRIGHTS_ALL),     # Dovecot: "" l r w s t p i e k x a c d
    ("anyone", "", LISTRIGHTS_ALL),
    ("-user1", "", LISTRIGHTS_ALL),
    ("user1", "a", [g for g in LISTRIGHTS_ALL if g != "a"]),
])
def test_rfc4314_3_7_listrights(identifier, always, optional):
    assert listrights("user1", identifier) == (always, optional)


def test_rfc4314_3_7_listrights_lists_every_right_once():
    for identifier in ("user1", "user2"):
        always, optional = listrights("user1", identifier)
        letters = always + "".join(optional)
        assert sorted(letters) == sorted(ALL_RIGHTS + "cd")


# Sets an RFC 2086 client can name: k/x together, e/t together ("c", "d").
_RFC2086_SETS = st.builds(
    lambda plain, create, delete: plain | (frozenset("kx") if create else frozenset())
    | (frozenset("et") if delete else frozenset()),
    st.frozensets(st.sampled_from("lrswipa")), st.booleans(), st.booleans())


@settings(max_examples=100)
@given(_RFC2086_SETS)
def test_rfc4314_2_1_1_format_parse_round_trip(rights):
    printed = format_rights(rights)
    assert format_rights(parse_rights(printed)) == printed
    assert parse_rights(printed) == rights


@settings(max_examples=100)
@given(st.frozensets(st.sampled_from(ALL_RIGHTS + "cd")))
def test_rfc4314_2_1_1_conforming_client_ignores_c_and_d(rights):
    # §2.1.1 (*): a client that drops the virtual rights reads back exactly the set.
    printed = format_rights(rights)
    assert parse_rights(printed.rstrip("cd")) == parse_rights("".join(rights))
    # and printing is stable after one re-read, even for clients that keep c/d
    reread = format_rights(parse_rights(printed))
    assert format_rights(parse_rights(reread)) == reread


def test_rfc4314_2_1_1_lone_create_member_does_not_round_trip():
    # "c" is printed for k alone, but "c" read back means k and x: the RFC's
    # own rule, which is why §2.1.1 (*) tells clients to ignore c and d.
    assert format_rights({"k"}) == "kc"
    assert parse_rights("kc") == frozenset("kx")


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["anyone", "authenticated", "owner", "user2",
                                        "-anyone", "-authenticated", "-owner", "-user2"]),
                       st.text(alphabet=ALL_RIGHTS, max_size=11)),
       st.sampled_from(["owner", "user2", "user3"]))
def test_rfc4314_2_rights_stay_within_the_granted(acl, user):
    rights = rights_of(acl, "owner", user)
    granted = set().union(*(set(v) for k, v in acl.items() if not k.startswith("-")))
    if user == "owner":
        assert "a" in rights
        rights = rights - {"a"}
        if "owner" not in acl:
            return  # the implicit owner entry grants everything
    assert rights <= granted
