"""examples/sync_device.py against the real server: the CPM "synchronize with
client" operation (RFC 5819 LIST-STATUS, RFC 7162 §3.2.5 QRESYNC) and the
"notification" operation (RFC 5465 NOTIFY, RFC 2177 IDLE), judged by comparing
the device's mirror with a fresh UID FETCH of every folder."""

import importlib.util
import json
import threading
import time
from pathlib import Path

import pytest_twisted
from conftest import in_thread
from imapclient import IMAPClient

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sync_device.py"
_spec = importlib.util.spec_from_file_location("sync_device", EXAMPLE)
sync_device = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_device)


def login(port: int) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
    client.login("user1", "pass")
    return client


def server_view(port: int) -> dict:
    """Folder -> (UIDVALIDITY, {uid: (flags, bytes)}), read afresh."""
    client, view = login(port), {}
    for flags, _, name in client.list_folders():
        if b"\\Noselect" in flags:
            continue
        uidvalidity = client.select_folder(name, readonly=True)[b"UIDVALIDITY"]
        fetched = client.fetch(client.search("ALL"), ["FLAGS", "BODY.PEEK[]"])
        view[name] = (uidvalidity, {
            uid: (sorted(f.decode() for f in data[b"FLAGS"] if f != b"\\Recent"), data[b"BODY[]"])
            for uid, data in fetched.items()})
    client.logout()
    return view


def mirror_view(state_dir: Path) -> dict:
    state = json.loads((state_dir / "state.json").read_text())
    return {name: (folder["uidvalidity"], {
        int(uid): (message["flags"], (state_dir / message["file"]).read_bytes())
        for uid, message in folder["messages"].items()})
        for name, folder in state["folders"].items()}


def device(port: int, state_dir: Path, *extra: str) -> "sync_device.Device":
    return sync_device.main(["--port", str(port), "--user", "user1", "--password", "pass",
                             "--state", str(state_dir), "-v", *extra])


def seed(port: int) -> None:
    client = login(port)
    for name in ("Default/a", "Default/b", "Default/old"):
        client.create_folder(name)
    for i in range(3):
        client.append("Default/a", b"Subject: a%d\r\n\r\nbody %d\r\n" % (i, i), flags=[b"\\Seen"] if i == 0 else [])
    client.append("Default/b", b"Subject: b\r\n\r\nbody b\r\n", flags=[b"$CPMkeyword"])
    client.append("Default/old", b"Subject: gone\r\n\r\nsoon\r\n")
    client.logout()


def change_everything(port: int) -> None:
    """What another device does while this one is away or listening."""
    client = login(port)
    client.append("Default/a", b"Subject: new\r\n\r\nnew body\r\n")
    client.select_folder("Default/a")
    client.add_flags([2], [b"\\Seen", b"\\Flagged"])
    client.delete_messages([1])
    client.expunge()
    client.create_folder("Default/c")
    client.append("Default/c", b"Subject: c\r\n\r\nin c\r\n", flags=[b"\\read-report-sent"])
    client.rename_folder("Default/b", "Default/b2")
    client.delete_folder("Default/old")
    client.logout()


@pytest_twisted.ensureDeferred
async def test_rfc5819_rfc7162_initial_sync_then_nothing_to_do(server, tmp_path, capsys):
    def scenario():
        seed(server.port)
        device(server.port, tmp_path)
        assert mirror_view(tmp_path) == server_view(server.port)
        assert set(mirror_view(tmp_path)) == {"INBOX", "Default", "Default/a", "Default/b", "Default/old"}
        capsys.readouterr()
        device(server.port, tmp_path)  # nothing changed: one LIST, no SELECT
        out = capsys.readouterr()
        assert "changed: -" in out.out and "SELECT" not in out.err

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_5_reconnect_applies_vanished_flags_new_and_folders(server, tmp_path, capsys):
    def scenario():
        seed(server.port)
        device(server.port, tmp_path)
        change_everything(server.port)
        capsys.readouterr()
        state = device(server.port, tmp_path).state
        transcript = capsys.readouterr().err
        assert mirror_view(tmp_path) == server_view(server.port)
        # Incremental: QRESYNC with the known UIDs, the expunge as VANISHED (EARLIER).
        assert 'SELECT "Default/a" (QRESYNC (' in transcript
        assert "* VANISHED (EARLIER) 1" in transcript
        # The renamed folder kept its UIDVALIDITY: moved locally, not fetched again.
        assert state["folders"]["Default/b2"]["messages"]["1"]["file"].startswith("messages/Default%2Fb/")
        assert "Default/old" not in state["folders"]
        assert not list((tmp_path / "messages" / "Default%2Fold").rglob("*.eml"))

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_5_uidvalidity_change_means_full_resync(server, tmp_path):
    def scenario():
        seed(server.port)
        device(server.port, tmp_path)
        client = login(server.port)
        client.delete_folder("Default/b")  # same name again: a new UIDVALIDITY, old UIDs void
        client.create_folder("Default/b")
        client.append("Default/b", b"Subject: other\r\n\r\nother\r\n")
        client.logout()
        device(server.port, tmp_path)
        assert mirror_view(tmp_path) == server_view(server.port)

    await in_thread(scenario)


FOLLOW_SECONDS = 8.0


def follow_while_changing(port: int, state_dir: Path, change, *extra: str) -> None:
    """Run ``--follow`` for FOLLOW_SECONDS and ``change`` things after 0.3 s;
    the mirror must match the server while the device still runs its follow
    loop, not only after it: the device's last pass starts at its deadline, so
    a match seen before that deadline was made live. (No speed is asserted:
    the window is wide so that a loaded machine still has seconds to spare.)"""
    device(port, state_dir)
    thread = threading.Thread(target=device, args=(port, state_dir, "--follow", "--seconds", str(FOLLOW_SECONDS), *extra))
    deadline = time.monotonic() + FOLLOW_SECONDS
    thread.start()
    time.sleep(0.3)  # connected and listening by then
    change(port)
    expected = server_view(port)
    while mirror_view(state_dir) != expected and thread.is_alive():
        time.sleep(0.02)
    assert time.monotonic() < deadline, "the mirror caught up only when the device stopped"
    thread.join()
    assert mirror_view(state_dir) == server_view(port)


@pytest_twisted.ensureDeferred
async def test_rfc5465_follow_with_notify_applies_changes_live(server, tmp_path):
    def scenario():
        seed(server.port)
        follow_while_changing(server.port, tmp_path, change_everything)

    await in_thread(scenario)


def change_inbox(port: int) -> None:
    client = login(port)
    client.append("INBOX", b"Subject: hi\r\n\r\nhello\r\n")
    client.select_folder("INBOX")
    client.add_flags([1], [b"\\Seen"])
    client.logout()


@pytest_twisted.ensureDeferred
async def test_rfc2177_follow_with_idle_when_notify_is_not_used(server, tmp_path):
    def scenario():
        seed(server.port)
        # IDLE reports only the selected folder (the device idles in INBOX);
        # the other folders are polled with LIST-STATUS every 5 s.
        follow_while_changing(server.port, tmp_path, change_inbox, "--idle")

    await in_thread(scenario)
