"""examples/cpm_device.py against the real server: the CPM "synchronize with
client" operation as the RCS clients run it (shared/cpm-formats.md §7:
LIST-STATUS over ``Default/*``, RFC 5819; ``SELECT (CONDSTORE)`` and
``FETCH (CHANGEDSINCE)``, RFC 7162 §3.1; headers, then bodies), plus object
store (APPEND with ``\\Seen``, RFC 4315 APPENDUID) and a read report
(``\\Seen``). The device's mirror is compared with a fresh read of every
``Default/*`` folder."""

import importlib.util
import sys
from pathlib import Path

import pytest_twisted
from conftest import in_thread
from cpm_samples import CHAT, SESSION_HISTORY

import test_example_sync as example_sync

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))  # cpm_device imports sync_device beside it
_spec = importlib.util.spec_from_file_location("cpm_device", EXAMPLES / "cpm_device.py")
cpm_device = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cpm_device)

ALICE, BOB, CAROL = "Default/tel:+33612345678", "Default/tel:+33687654321", "Default/tel:+33611111111"
GROUP = "Default/f81d4fae-7dec-11d0-a765-00a0c91e6bf6/abcdef-0123"


def chat(n: int) -> bytes:
    return CHAT.replace(b"Msg0001", b"Msg%04d" % n)


def server_view(port: int) -> dict:
    """Every folder under Default/, read afresh: test_example_sync's view."""
    return {name: folder for name, folder in example_sync.server_view(port).items() if name.startswith("Default/")}


def device(port: int, state_dir: Path, *extra: str) -> "cpm_device.CpmDevice":
    return cpm_device.main(["--port", str(port), "--user", "user1", "--password", "pass",
                            "--state", str(state_dir), "-v", *extra])


def seed(port: int) -> None:
    """What the network stored before the phone first connects."""
    client = example_sync.login(port)
    client.create_folder(ALICE)
    client.create_folder(GROUP)
    for n in (1, 2, 3):
        client.append(ALICE, chat(n), flags=[b"\\Seen"] if n == 1 else [])
    client.append(GROUP, SESSION_HISTORY)
    client.logout()


def second_device(port: int) -> None:
    """Another device of the same user, between the phone's two runs."""
    client = example_sync.login(port)
    client.select_folder(ALICE)
    client.add_flags([2], [b"\\Flagged"])
    client.add_flags([3], [b"\\Deleted"])  # the RCS way: flagged, not expunged
    client.append(ALICE, chat(4))
    client.append(ALICE, chat(5), flags=[b"\\read-report-sent"])
    client.append(BOB, chat(6))  # into the folder the phone created empty
    client.create_folder(CAROL)
    client.append(CAROL, chat(7))
    client.select_folder(GROUP)
    client.delete_messages([1])
    client.expunge()  # expunged anyway: the phone must drop it too
    client.logout()


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_1_rcs_client_flow_twice_second_run_fetches_only_changes(server, tmp_path, capsys):
    def scenario():
        seed(server.port)
        first = device(server.port, tmp_path, "--sms", "tel:+33612345678", "On my way",
                       "--contact", "tel:+33687654321", "--read", f"{ALICE}:2")
        log = capsys.readouterr().err
        assert first.bodies_fetched == {ALICE: [1, 2, 3], GROUP: [1]}
        assert 'C: LIST "" "Default/*" RETURN (STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ))' in log
        assert f'SELECT "{ALICE}" (CONDSTORE)' in log and "BODY.PEEK[HEADER]" in log
        assert "UID STORE 2 +FLAGS (\\Seen)" in log
        server_now = server_view(server.port)
        assert server_now[ALICE][1][4][0] == ["\\Seen"]  # the pushed SMS, APPENDUID 4
        assert server_now[ALICE][1][2][0] == ["\\Seen"]  # the read report
        assert example_sync.mirror_view(tmp_path) == server_now

        second_device(server.port)
        second = device(server.port, tmp_path)
        log = capsys.readouterr().err
        # Only the new objects' bodies; the pushed SMS (UID 4) is not fetched back.
        assert second.bodies_fetched == {ALICE: [5, 6], BOB: [1], CAROL: [1]}
        assert "UID FETCH 1:4 (UID FLAGS) (CHANGEDSINCE " in log
        assert example_sync.mirror_view(tmp_path) == server_view(server.port)
        assert example_sync.mirror_view(tmp_path)[ALICE][1][3][0] == ["\\Deleted"]
        assert example_sync.mirror_view(tmp_path)[GROUP][1] == {}

        third = device(server.port, tmp_path)  # nothing changed: no SELECT at all
        assert third.bodies_fetched == {} and "SELECT" not in capsys.readouterr().err

    await in_thread(scenario)


@pytest_twisted.ensureDeferred
async def test_rfc3501_2_3_1_1_uidvalidity_change_refetches_the_folder(server, tmp_path):
    def scenario():
        seed(server.port)
        device(server.port, tmp_path)
        client = example_sync.login(server.port)
        client.delete_folder(ALICE)  # the same name again: new UIDVALIDITY, old UIDs void
        client.create_folder(ALICE)
        client.append(ALICE, chat(9))
        client.logout()
        again = device(server.port, tmp_path)
        assert again.bodies_fetched == {ALICE: [1]}
        assert example_sync.mirror_view(tmp_path) == server_view(server.port)

    await in_thread(scenario)
