"""Users file, password schemes, the cred checker and portal, SASL PLAIN."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_twisted
from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin

from cpmstore.auth.checker import PasswdFileChecker
from cpmstore.auth.passwd import (
    DEFAULT_SCHEME,
    PasswdEntry,
    PasswdFile,
    hash_password,
    parse_passwd,
    verify_password,
)
from cpmstore.auth.portal import build_portal
from cpmstore.auth.realm import IUser, User
from cpmstore.auth.sasl import decode_plain

# Made by Dovecot 2.3's `doveadm pw -s SCHEME -p pencil`: our verifier must
# accept what Dovecot writes (and doveadm accepts what we write).
DOVECOT_HASHES = [
    "{PBKDF2}$1$C.1EiP9ywey2kPHX$5000$ca7e6f47d7bb4230c962d0ae22487cc621549a88",
    "{PBKDF2}$1$I/.O2nfWsrQZTCdl$1000$0e7c79528109c386d7bcb040ff05e72afe3ebae5",
    "{SSHA256}Kw1+xRgQrwSmDkFas6+8vMRN/PScmAi19FaERrAqdwNDRe0I",
    "{SSHA512}P4TXgLLoMXKWRlOaD1Ks5G+ihdLGJKv9cx65fV4iga8I+E8P9BvBjoIoUxlLmGiv8rpX9d9zOLqa61MsjvBoRhW7iMc=",
    "{PLAIN}pencil",
    "{CLEARTEXT}pencil",
    "{plain}pencil",
]


@pytest.mark.parametrize("stored", DOVECOT_HASHES)
def test_dovecot_hash_verifies_right_password_only(stored: str) -> None:
    assert verify_password("pencil", stored)
    assert verify_password(b"pencil", stored)
    assert not verify_password("pencil ", stored)
    assert not verify_password("Pencil", stored)
    assert not verify_password("", stored)


@pytest.mark.parametrize("scheme", ["PBKDF2", "SSHA256", "SSHA512", "PLAIN"])
def test_hash_password_round_trip(scheme: str) -> None:
    stored = hash_password("gr\u00fcn w\u00f6rd", scheme, rounds=1000)
    assert stored.startswith("{%s}" % scheme)
    assert verify_password("gr\u00fcn w\u00f6rd", stored)
    assert not verify_password("gr\u00fcn w\u00f6rd!", stored)


@pytest.mark.parametrize("scheme", ["PBKDF2", "SSHA256", "SSHA512"])
def test_salted_schemes_salt_every_hash(scheme: str) -> None:
    assert hash_password("same", scheme, rounds=1000) != hash_password("same", scheme, rounds=1000)


def test_default_scheme_is_iterated_pbkdf2() -> None:
    stored = hash_password("x")
    assert DEFAULT_SCHEME == "PBKDF2"
    _, one, salt, rounds, digest = stored.split("$")
    assert (one, len(salt), int(rounds) >= 100_000, len(digest)) == ("1", 16, True, 40)


@pytest.mark.parametrize("stored", [
    "", "pencil", "{PLAIN}", "{MD5}pencil", "{SHA512-CRYPT}$6$abc$def",
    "{PBKDF2}$1$salt$5000$nothex", "{PBKDF2}$1$salt$0$" + "00" * 20,
    "{PBKDF2}$2$salt$5000$" + "00" * 20, "{PBKDF2}$1$salt$5000$" + "00" * 19,
    "{SSHA256}not base64!", "{SSHA256}AAAA",
])
def test_unknown_or_malformed_hash_never_matches(stored: str) -> None:
    assert not verify_password("pencil", stored)
    assert not verify_password("", stored)


def test_plain_password_with_colon_is_refused() -> None:
    with pytest.raises(ValueError, match="':'"):
        hash_password("a:b", "PLAIN")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown password scheme 'MD5'"):
        hash_password("x", "MD5")


PASSWD_TEXT = """\
# cpmstore users
alice:{PLAIN}wonderland:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G

   # indented comment
bob:{SSHA256}Kw1+xRgQrwSmDkFas6+8vMRN/PScmAi19FaERrAqdwNDRe0I
nopass
alice:{PLAIN}second-line-ignored
"""


def test_parse_passwd_with_comments_and_extra_fields() -> None:
    entries = parse_passwd(PASSWD_TEXT)
    assert list(entries) == ["alice", "bob", "nopass"]
    assert entries["alice"] == PasswdEntry(
        "alice", "{PLAIN}wonderland",
        ("1000", "1000", "", "/home/alice", "", "userdb_quota_rule=*", "storage=1G"))
    assert verify_password("pencil", entries["bob"].password)
    assert entries["nopass"] == PasswdEntry("nopass", "", ())
    assert not verify_password("", entries["nopass"].password)


def test_passwd_file_rewrite_keeps_comments_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text(PASSWD_TEXT)
    users = PasswdFile.load(path)
    users.set_password("alice", "looking-glass", "PLAIN")
    users.set(PasswdEntry("carol", "{PLAIN}c"))
    assert users.remove("bob")
    assert not users.remove("nobody")
    users.save()
    assert path.read_text() == PASSWD_TEXT.replace("{PLAIN}wonderland", "{PLAIN}looking-glass").replace(
        "bob:{SSHA256}Kw1+xRgQrwSmDkFas6+8vMRN/PScmAi19FaERrAqdwNDRe0I\n", "") + "carol:{PLAIN}c\n"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["passwd"]


def test_passwd_file_missing_is_empty_and_created_on_save(tmp_path: Path) -> None:
    users = PasswdFile.load(tmp_path / "sub" / "passwd")
    assert list(users) == []
    users.set_password("demo", "x", "PLAIN")
    users.save()
    assert (tmp_path / "sub" / "passwd").read_text() == "demo:{PLAIN}x\n"


@pytest.mark.parametrize("name", ["", "a:b", "a\nb", "#x", " x", "x\0"])
def test_invalid_user_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid user name"):
        PasswdFile(tmp_path / "passwd").set(PasswdEntry(name, "{PLAIN}x"))


async def _login(portal, name: bytes, password: bytes) -> User:
    interface, avatar, logout = await portal.login(UsernamePassword(name, password), None, IUser)
    assert interface is IUser
    logout()
    return avatar


@pytest_twisted.ensureDeferred
async def test_portal_login_right_and_wrong(users_file: str) -> None:
    portal = build_portal(users_file)
    assert await _login(portal, b"user1", b"pass") == User("user1")
    assert IUser.providedBy(await _login(portal, b"user5", b"pass"))
    for name, password in [(b"user1", b"wrong"), (b"user6", b"pass"), (b"USER1", b"pass"),
                           (b"\xff", b"pass"), (b"user1", b"")]:
        with pytest.raises(UnauthorizedLogin):
            await _login(portal, name, password)


@pytest_twisted.ensureDeferred
async def test_checker_accepts_str_and_utf8_names(make_users_file) -> None:
    checker = PasswdFileChecker(make_users_file({"j\u00fcrgen": "gr\u00fcn"}))
    assert await checker.requestAvatarId(UsernamePassword("j\u00fcrgen".encode(), "gr\u00fcn".encode())) == "j\u00fcrgen"
    assert await checker.requestAvatarId(UsernamePassword("j\u00fcrgen", "gr\u00fcn")) == "j\u00fcrgen"


@pytest_twisted.ensureDeferred
async def test_checker_reloads_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    checker = PasswdFileChecker(path)
    with pytest.raises(UnauthorizedLogin):
        await checker.requestAvatarId(UsernamePassword(b"alice", b"one"))
    users = PasswdFile.load(path)
    users.set_password("alice", "one", "SSHA512")
    users.save()
    assert await checker.requestAvatarId(UsernamePassword(b"alice", b"one")) == "alice"
    users.set_password("alice", "two", "PBKDF2")
    users.save()
    with pytest.raises(UnauthorizedLogin):
        await checker.requestAvatarId(UsernamePassword(b"alice", b"one"))
    assert await checker.requestAvatarId(UsernamePassword(b"alice", b"two")) == "alice"
    path.unlink()
    with pytest.raises(UnauthorizedLogin):
        await checker.requestAvatarId(UsernamePassword(b"alice", b"two"))


@pytest.mark.parametrize("message, expected", [
    # RFC 4616 §4 examples.
    (b"\0tim\0tanstaaftanstaaf", ("", "tim", "tanstaaftanstaaf")),
    (b"Ursel\0Kurt\0xipj3plmq", ("Ursel", "Kurt", "xipj3plmq")),
    (b"\0j\xc3\xbcrgen\0p\xc3\xa4ss word", ("", "j\u00fcrgen", "p\u00e4ss word")),
])
def test_rfc4616_4_plain_examples(message: bytes, expected: tuple[str, str, str]) -> None:
    assert decode_plain(message) == expected


@pytest.mark.parametrize("message", [
    b"", b"tim", b"\0tim", b"\0tim\0pass\0", b"\0\0pass", b"\0tim\0", b"\0tim\xff\0pass", b"\xff\0tim\0pass",
])
def test_rfc4616_2_plain_malformed(message: bytes) -> None:
    with pytest.raises(ValueError):
        decode_plain(message)
