"""cpmstore-admin on a stopped server: mailbox, expunge, export and import work
on the store under server.lock, usage errors exit 2, help for every command.
(With a running server: tests/server/test_admin_live.py.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from admin_cli import admin, write_config

from cpmstore.admin import main
from cpmstore.server.control import DataDirLock


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, tmp_path / "users")


def status_table(text: str) -> dict[str, tuple[int, ...]]:
    """MAILBOX -> (MESSAGES, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, SIZE) of a status table."""
    lines = text.splitlines()
    assert lines[0].split() == ["MAILBOX", "MESSAGES", "UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ", "SIZE"]
    rows = {}
    for line in lines[1:]:
        name, *numbers = re.split(r"\s{2,}", line.strip())
        rows[name] = tuple(int(n) for n in numbers)
    return rows


def write_message(folder: Path, sub: str, name: str, data: bytes, when: str) -> Path:
    path = folder / sub / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = datetime.fromisoformat(when).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def maildir_tree(root: Path) -> Path:
    """A Maildir++ tree as another program writes it: LF line ends, flags and
    keywords in names, a non-ASCII folder name in modified UTF-7, new/ messages."""
    for folder in (root, root / ".Chats", root / ".Chats.Caf&AOk-"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    (root / "dovecot-keywords").write_text("0 $Work\n1 $CPM-Chat\n")
    write_message(root, "cur", "1577934000.M1P1.host,S=24:2,FSa", b"Subject: one\n\nfirst\n", "2020-01-02T03:00:00+00:00")
    write_message(root, "cur", "1600000000.M2P1.host,S=24:2,Tb", b"Subject: two\n\nsecond\n", "2020-09-13T12:26:40+00:00")
    write_message(root, "new", "1700000000.M3P1.host", b"Subject: three\n\nthird\n", "2023-11-14T22:13:20+00:00")
    write_message(root / ".Chats.Caf&AOk-", "cur", "1650000000.M4P1.host,S=20:2,RS",
                  b"Subject: caf\n\ncafe\n", "2022-04-15T05:20:00+00:00")
    return root


@pytest.fixture
def alice(config_file: Path) -> str:
    assert admin(config_file, "user", "add", "alice", "--password", "pw")[0] == 0
    return "alice"


def test_import_then_mailbox_list_and_status(config_file: Path, tmp_path: Path, alice: str) -> None:
    code, out, err = admin(config_file, "import", alice, str(maildir_tree(tmp_path / "md")))
    assert (code, err) == (0, "")
    assert out == f"imported 4 message(s), 82 bytes, into 3 folder(s) of alice from {tmp_path / 'md'}\n"
    assert admin(config_file, "mailbox", "list", alice) == (0, "Chats\nChats/Café\nINBOX\n", "")
    code, out, _ = admin(config_file, "mailbox", "status", alice)
    assert code == 0
    rows = status_table(out)
    assert list(rows) == ["Chats", "Chats/Café", "INBOX"]
    # Bytes as stored: bare LF became CRLF (one more byte a line).
    assert rows["INBOX"][0] == 3 and rows["INBOX"][2] == 4 and rows["INBOX"][4] == 23 + 24 + 25
    assert rows["Chats/Café"][0] == 1 and rows["Chats/Café"][4] == 22
    assert rows["Chats"][0] == 0 and rows["Chats"][2] == 1
    code, out, _ = admin(config_file, "mailbox", "status", alice, "Chats/Café")
    assert status_table(out) == {"Chats/Café": rows["Chats/Café"]}


def test_mailbox_create_and_delete(config_file: Path, alice: str) -> None:
    code, out, _ = admin(config_file, "mailbox", "create", alice, "Default/tel:+33612345678/Sessions")
    assert code == 0 and out.startswith("mailbox Default/tel:+33612345678/Sessions of alice created (UIDVALIDITY ")
    assert admin(config_file, "mailbox", "list", alice)[1] == (
        "Default\nDefault/tel:+33612345678\nDefault/tel:+33612345678/Sessions\nINBOX\n")
    assert admin(config_file, "mailbox", "create", alice, "Default") == (
        1, "", "cpmstore-admin: Default: Mailbox already exists\n")
    assert admin(config_file, "mailbox", "delete", alice, "Default/tel:+33612345678") == (
        0, "mailbox Default/tel:+33612345678 of alice deleted\n", "")
    # RFC 3501 §6.3.4: the children stay.
    assert admin(config_file, "mailbox", "list", alice)[1] == "Default\nDefault/tel:+33612345678/Sessions\nINBOX\n"
    assert admin(config_file, "mailbox", "delete", alice, "Nothing")[0] == 1
    assert admin(config_file, "mailbox", "delete", alice, "INBOX") == (
        1, "", "cpmstore-admin: INBOX: INBOX can't be deleted.\n")
    assert admin(config_file, "mailbox", "status", alice, "Nothing") == (
        1, "", "cpmstore-admin: Nothing: Mailbox doesn't exist\n")


def test_expunge_deleted_and_before(config_file: Path, tmp_path: Path, alice: str) -> None:
    admin(config_file, "import", alice, str(maildir_tree(tmp_path / "md")))
    assert admin(config_file, "expunge", alice, "INBOX", "--deleted") == (
        0, "expunged 1 message(s) from INBOX of alice\n", "")
    before = status_table(admin(config_file, "mailbox", "status", alice, "INBOX")[1])["INBOX"]
    assert before[0] == 2
    # INTERNALDATEs left: 2020-01-02 and 2023-11-14; "before" disregards the time of day.
    assert admin(config_file, "expunge", alice, "INBOX", "--before", "2020-01-02")[1] == (
        "expunged 0 message(s) from INBOX of alice\n")
    assert admin(config_file, "expunge", alice, "INBOX", "--before", "2020-01-03")[1] == (
        "expunged 1 message(s) from INBOX of alice\n")
    after = status_table(admin(config_file, "mailbox", "status", alice, "INBOX")[1])["INBOX"]
    assert after[0] == 1 and after[3] > before[3]  # a new HIGHESTMODSEQ
    assert admin(config_file, "expunge", alice, "Nothing", "--deleted")[0] == 1
    assert admin(config_file, "expunge", "nobody", "INBOX", "--deleted") == (
        1, "", "cpmstore-admin: no data for user nobody\n")


def test_export_writes_maildir_with_flags_keywords_and_mtime(config_file: Path, tmp_path: Path, alice: str) -> None:
    admin(config_file, "import", alice, str(maildir_tree(tmp_path / "md")))
    assert admin(config_file, "mailbox", "create", alice, "Odd.Name")[0] == 0
    out_dir = tmp_path / "export"
    code, out, err = admin(config_file, "export", alice, str(out_dir))
    assert (code, err) == (0, "")
    assert out == f"exported 4 message(s), 94 bytes, in 4 folder(s) of alice to {out_dir}\n"
    assert sorted(p.name for p in out_dir.iterdir()) == [
        ".Chats", ".Chats.Caf&AOk-", ".Odd%2EName", "cur", "dovecot-keywords", "new", "tmp"]
    keywords = (out_dir / "dovecot-keywords").read_text().splitlines()
    assert sorted(keywords) == ["0 $CPM-Chat", "1 $Work"]
    files = {p.name.split(",S=")[1]: p for p in (out_dir / "cur").iterdir()}
    # S=size as stored; FS + $Work (b); T + $CPM-Chat (a); nothing for the new/ one.
    assert sorted(files) == ["23:2,FSb", "24:2,Ta", "25:2,"]
    assert files["23:2,FSb"].read_bytes() == b"Subject: one\r\n\r\nfirst\r\n"
    assert files["23:2,FSb"].stat().st_mtime == datetime.fromisoformat("2020-01-02T03:00:00+00:00").timestamp()
    (cafe,) = (out_dir / ".Chats.Caf&AOk-" / "cur").iterdir()
    assert cafe.name.endswith(":2,RS") and cafe.read_bytes() == b"Subject: caf\r\n\r\ncafe\r\n"
    assert list((out_dir / ".Odd%2EName" / "cur").iterdir()) == []
    assert admin(config_file, "export", alice, str(out_dir)) == (
        1, "", f"cpmstore-admin: {out_dir} exists and is not an empty directory\n")


def test_export_import_round_trip(config_file: Path, tmp_path: Path, alice: str) -> None:
    admin(config_file, "import", alice, str(maildir_tree(tmp_path / "md")))
    assert admin(config_file, "mailbox", "create", alice, "Odd.Name")[0] == 0
    admin(config_file, "export", alice, str(tmp_path / "export"))
    assert admin(config_file, "user", "add", "bob", "--password", "pw")[0] == 0
    code, out, _ = admin(config_file, "import", "bob", str(tmp_path / "export"))
    assert code == 0 and out.startswith("imported 4 message(s), 94 bytes, into 4 folder(s) of bob")
    admin(config_file, "export", "bob", str(tmp_path / "again"))
    for folder in ("", ".Chats.Caf&AOk-", ".Odd%2EName"):
        first = sorted((p.name.split(".", 1)[0], p.name.split(",S=")[1], p.read_bytes())
                       for p in (tmp_path / "export" / folder / "cur").iterdir())
        second = sorted((p.name.split(".", 1)[0], p.name.split(",S=")[1], p.read_bytes())
                        for p in (tmp_path / "again" / folder / "cur").iterdir())
        assert first == second


def test_import_refuses_unknown_user_and_non_maildir(config_file: Path, tmp_path: Path, alice: str) -> None:
    assert admin(config_file, "import", "nobody", str(tmp_path)) == (
        1, "", "cpmstore-admin: no such user: nobody (add it with 'user add nobody' first)\n")
    (tmp_path / "empty").mkdir()
    assert admin(config_file, "import", alice, str(tmp_path / "empty"))[2] == (
        f"cpmstore-admin: {tmp_path / 'empty'} holds no Maildir (no cur/ or new/ in it or in a .Folder under it)\n")


def test_import_dovecot_maildir_keeps_uidvalidity_and_uids(config_file: Path, tmp_path: Path, alice: str) -> None:
    source = tmp_path / "dovecot"
    for sub in ("cur", "new", "tmp"):
        (source / sub).mkdir(parents=True)
    (source / "dovecot-uidlist").write_text("3 V1234567 N8 G0123\n5 :1600000000.M1P1.host,S=14\n")
    write_message(source, "cur", "1600000000.M1P1.host,S=14:2,S", b"Subject: x\n\nx\n", "2020-09-13T12:26:40+00:00")
    code, out, err = admin(config_file, "import", "dovecot-maildir", alice, str(source))
    assert (code, err) == (0, "")
    assert out.startswith("imported 1 folders, 1 messages, ") and str(source) in out
    messages, uid_validity, uid_next, *_ = status_table(admin(config_file, "mailbox", "status", alice, "INBOX")[1])["INBOX"]
    assert (messages, uid_validity) == (1, 1234567) and uid_next >= 8
    # The export names each file by UID and UIDVALIDITY: UID 5 was kept.
    admin(config_file, "export", alice, str(tmp_path / "export"))
    assert [p.name.split(",")[0] for p in (tmp_path / "export" / "cur").iterdir()] == ["1600000000.M5V1234567.cpmstore"]
    # The importer refuses to merge into a folder that holds messages: exit 1, nothing written.
    code, out, err = admin(config_file, "import", "dovecot-maildir", alice, str(source))
    assert (code, out) == (1, "") and err.startswith("cpmstore-admin: ")
    assert admin(config_file, "import", "dovecot-maildir", "nobody", str(source))[0] == 1


def test_offline_work_refused_while_the_lock_is_held(config_file: Path, tmp_path: Path, alice: str) -> None:
    """A server that holds server.lock but does not answer on its control
    socket: nothing writes behind its back."""
    assert admin(config_file, "mailbox", "create", alice, "Chats")[0] == 0
    lock = DataDirLock.try_take(str(tmp_path / "data"))
    assert lock is not None
    try:
        for argv in (["mailbox", "create", alice, "Other"], ["expunge", alice, "INBOX", "--deleted"],
                     ["mailbox", "status", alice], ["index", "rebuild", alice],
                     ["import", "dovecot-maildir", alice, str(tmp_path)]):
            code, out, err = admin(config_file, *argv)
            assert (code, out) == (1, ""), argv
            assert f"is using {tmp_path / 'data'} (it holds server.lock)" in err
        assert "control socket" in admin(config_file, "mailbox", "create", alice, "Other")[2]
        assert "stop the server first" in admin(config_file, "index", "rebuild", alice)[2]
    finally:
        lock.release()
    assert admin(config_file, "mailbox", "list", alice)[1] == "Chats\nINBOX\n"
    assert admin(config_file, "index", "rebuild", alice)[0] == 0


def test_who_and_kick_need_a_running_server(config_file: Path, tmp_path: Path) -> None:
    socket_path = tmp_path / "data" / "control.sock"
    assert admin(config_file, "who") == (1, "", f"cpmstore-admin: no cpmstore server answers on {socket_path}\n")
    assert admin(config_file, "kick", "alice")[0] == 1
    disabled = tmp_path / "disabled.toml"
    disabled.write_text(config_file.read_text() + 'control_socket = ""\n')
    assert "server.control_socket is disabled" in admin(disabled, "who")[2]


def test_console_script_mailbox_status(config_file: Path, alice: str) -> None:
    script = shutil.which("cpmstore-admin")
    assert script is not None, "cpmstore-admin is not installed: pip install -e '.[test]'"
    done = subprocess.run([script, "--config", str(config_file), "mailbox", "status", alice],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert status_table(done.stdout)["INBOX"][0] == 0


@pytest.mark.parametrize("argv", [
    ["mailbox"], ["mailbox", "status"], ["mailbox", "create", "alice"], ["expunge", "alice", "INBOX"],
    ["expunge", "alice", "INBOX", "--deleted", "--before", "2024-01-01"],
    ["expunge", "alice", "INBOX", "--before", "2024-13-01"], ["export", "alice"], ["import"], ["import", "alice"],
    ["import", "alice", "a", "b"], ["import", "dovecot-maildir", "alice"], ["kick"],
])
def test_store_command_usage_errors_exit_2(config_file: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config_file), *argv])
    assert exit_info.value.code == 2
    assert "usage: cpmstore-admin" in capsys.readouterr().err


def test_control_socket_defaults_to_the_data_dir(tmp_path: Path) -> None:
    from cpmstore.config import load_config, make_config

    assert make_config(tmp_path / "d").server.control_socket == str(tmp_path / "d" / "control.sock")
    assert load_config(None).server.control_socket == "./cpmstore-data/control.sock"
    assert make_config(tmp_path, control_socket="").server.control_socket == ""
    assert make_config(tmp_path, control_socket="/run/x.sock").server.control_socket == "/run/x.sock"
