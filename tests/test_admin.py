"""cpmstore-admin: users in the users file, exit codes, help texts of every command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_twisted
from admin_cli import write_config

from cpmstore.admin import main
from cpmstore.auth.passwd import PasswdFile, verify_password
from cpmstore.store.store import MaildirStore


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, tmp_path / "users")


def _admin(*argv: str) -> int:
    return main(list(argv))


def _stored(tmp_path: Path, name: str) -> str:
    entry = PasswdFile.load(tmp_path / "users").get(name)
    assert entry is not None
    return entry.password


def test_console_script_user_add_and_list(config_file: Path, tmp_path: Path) -> None:
    script = shutil.which("cpmstore-admin")
    assert script is not None, "cpmstore-admin is not installed: pip install -e '.[test]'"
    add = subprocess.run([script, "--config", str(config_file), "user", "add", "alice"],
                         input="s3cret\n", capture_output=True, text=True, timeout=30)
    assert (add.returncode, add.stdout, add.stderr) == (0, "user alice added\n", "")
    listed = subprocess.run([sys.executable, "-m", "cpmstore.admin", "--config", str(config_file), "user", "list"],
                            capture_output=True, text=True, timeout=30)
    assert (listed.returncode, listed.stdout) == (0, "alice\n")
    stored = _stored(tmp_path, "alice")
    assert stored.startswith("{PBKDF2}$1$")
    assert verify_password("s3cret", stored)


def test_user_add_passwd_del(config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _admin("--config", str(config_file), "user", "add", "bob", "--password", "one", "--scheme", "ssha512") == 0
    assert _stored(tmp_path, "bob").startswith("{SSHA512}")
    assert _admin("--config", str(config_file), "user", "add", "carol", "--password", "c", "--scheme", "PLAIN") == 0
    assert _admin("--config", str(config_file), "user", "passwd", "bob", "--password", "two") == 0
    assert verify_password("two", _stored(tmp_path, "bob"))
    assert not verify_password("one", _stored(tmp_path, "bob"))
    assert _admin("--config", str(config_file), "user", "del", "bob") == 0
    capsys.readouterr()
    assert _admin("--config", str(config_file), "user", "list") == 0
    assert capsys.readouterr().out == "carol\n"


@pytest.mark.parametrize("argv, message", [
    (["user", "add", "dup", "--password", "x"], "user dup already exists"),
    (["user", "passwd", "nobody", "--password", "x"], "no such user: nobody"),
    (["user", "del", "nobody"], "no such user: nobody"),
    (["user", "add", "a:b", "--password", "x"], "invalid user name"),
    (["user", "add", "plain", "--password", "a:b", "--scheme", "PLAIN"], "cannot contain ':'"),
    (["index", "check", "dup"], "no data for user dup"),
    (["index", "rebuild", "nobody"], "no data for user nobody"),
])
def test_failures_exit_1(config_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert _admin("--config", str(config_file), "user", "add", "dup", "--password", "x") == 0
    assert _admin("--config", str(config_file), *argv) == 1
    assert message in capsys.readouterr().err


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmax_line_bytes = \"big\"\n")
    assert _admin("--config", str(bad), "user", "list") == 2
    assert "limits.max_line_bytes: expected integer, got string" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["user"], ["user", "add"], ["index", "frobnicate", "x"], ["user", "add", "x", "--scheme", "MD5"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _admin(*argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("argv, text", [
    ([], "--config FILE"),
    ([], "{user,mailbox,index,expunge,export,import,who,kick}"),
    (["user"], "{add,passwd,del,list}"),
    (["user", "add"], "--password P"),
    (["user", "passwd"], "--scheme"),
    (["user", "del"], "mail stays on disk"),
    (["user", "list"], "one a line"),
    (["index"], "{check,rebuild}"),
    (["index", "check"], "exit 1 if not"),
    (["index", "rebuild"], "stop the server first: refused while it runs"),
    (["mailbox"], "{list,status,create,delete}"),
    (["mailbox", "list"], "one a line"),
    (["mailbox", "status"], "HIGHESTMODSEQ and size in bytes"),
    (["mailbox", "create"], "missing parents"),
    (["mailbox", "delete"], "subfolders stay"),
    (["expunge"], "--before DATE"),
    (["export"], "dovecot-keywords"),
    (["import"], "cpmstore-admin import [-h] dovecot-maildir USER PATH"),
    (["import"], "only with the server stopped"),
    (["who"], "IDLE/NOTIFY"),
    (["kick"], "* BYE"),
])
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], argv: list[str], text: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _admin(*argv, "--help")
    assert exit_info.value.code == 0
    assert text in " ".join(capsys.readouterr().out.split())  # as wrapped to the terminal


@pytest_twisted.ensureDeferred
async def test_index_check_and_rebuild(config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = MaildirStore(str(tmp_path / "data"))
    account = await store.account("al.ice/x")
    await account.append("INBOX", [(b"Subject: hi\r\n\r\nhello\r\n", (), None)])
    await store.close()
    assert _admin("--config", str(config_file), "index", "check", "al.ice/x") == 0
    assert capsys.readouterr().out == "index of al.ice/x is consistent\n"
    assert _admin("--config", str(config_file), "index", "rebuild", "al.ice/x") == 0
    assert "1 messages" in capsys.readouterr().out
    assert _admin("--config", str(config_file), "index", "check", "al.ice/x") == 0
    (message,) = (tmp_path / "data").glob("users/*/mail/*/cur/*")
    message.unlink()
    capsys.readouterr()
    assert _admin("--config", str(config_file), "index", "check", "al.ice/x") == 1
    captured = capsys.readouterr()
    assert "has no file" in captured.out
    assert "'index rebuild al.ice/x' repairs it" in captured.err
