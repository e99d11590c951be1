"""Convergence of N devices (examples/sync_device.py) under random changes,
disconnects and server restarts: RFC 7162 §3.2.5 QRESYNC resynchronization,
RFC 5819 LIST-STATUS and RFC 5465 NOTIFY, judged the way the issue states it:
at the end every device's mirror equals the server's folders, byte for byte
and flag for flag.

Every random choice comes from one seeded ``random.Random``; a failure message
carries the seed and the log of what happened, so a failing run can be
replayed. Nothing here asserts on a time.
"""

from __future__ import annotations

import imaplib
import importlib.util
import random
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest_twisted
from imapclient import IMAPClient
from twisted.internet.threads import deferToThread

# server_view / mirror_view (and the example itself) come from the server
# tests of the example, loaded under a name of their own: tests/stress must
# not import a module called ``conftest`` or ``test_example_sync`` directly.
_spec = importlib.util.spec_from_file_location(
    "cpmstore_stress_example_sync", Path(__file__).resolve().parents[1] / "server" / "test_example_sync.py")
example_sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example_sync)
sync_device = example_sync.sync_device
server_view, mirror_view, login = example_sync.server_view, example_sync.mirror_view, example_sync.login

SEED = 20261124
DEVICES = 3
ROUNDS = 12
RESTART_EVERY = 4  # rounds 4, 8 and 12 begin with a server restart
SYSTEM_FLAGS = ("\\Seen", "\\Flagged", "\\Answered", "\\Draft")
KEYWORDS = ("$CPMkeyword", "$Forwarded", "$label1")
# What a dropped connection looks like from imaplib: EOF (abort) or a socket error.
CONNECTION_LOST = (imaplib.IMAP4.abort, OSError)


# -- what a user does on a device ----------------------------------------------------------------
def selectable(client: IMAPClient) -> list[str]:
    return sorted(name for flags, _, name in client.list_folders() if b"\\Noselect" not in flags)


def created_by_us(client: IMAPClient) -> list[str]:
    """Leaf folders the scenario made; INBOX and Default itself are never renamed or deleted."""
    return [name for name in selectable(client) if name.startswith("Default/f")]


def new_folder_name(client: IMAPClient, rng: random.Random) -> str:
    taken = set(selectable(client))
    while (name := f"Default/f{rng.randrange(1000)}") in taken:
        pass
    return name


def some_messages(client: IMAPClient, rng: random.Random) -> tuple[str, list[int]]:
    """Select a random non-empty folder and pick 1-3 of its UIDs (none if every folder is empty)."""
    folders = selectable(client)
    filled = [name for name in folders if client.folder_status(name, ["MESSAGES"])[b"MESSAGES"]]
    folder = rng.choice(filled or folders)
    client.select_folder(folder)
    uids = sorted(client.search("ALL"))
    return folder, sorted(rng.sample(uids, rng.randint(1, min(3, len(uids))))) if uids else []


def random_message(rng: random.Random) -> bytes:
    lines = ["".join(rng.choice("abcdefghij klmnop\tqrstuvwxyz0123456789.,-") for _ in range(rng.randint(0, 120)))
             for _ in range(rng.randint(1, 8))]
    return (f"Subject: {rng.getrandbits(32):08x}\r\nFrom: <a@example.net>\r\n\r\n"
            + "\r\n".join(lines) + "\r\n").encode()


def op_append(client: IMAPClient, rng: random.Random) -> str:
    folder = rng.choice(selectable(client))
    flags = rng.sample(SYSTEM_FLAGS + KEYWORDS, rng.randint(0, 3))
    client.append(folder, random_message(rng), flags=flags)
    return f"APPEND {folder} {flags}"


def op_store(client: IMAPClient, rng: random.Random) -> str:
    folder, uids = some_messages(client, rng)
    if not uids:
        return f"STORE skipped, {folder} empty"
    flags = rng.sample(SYSTEM_FLAGS + KEYWORDS + ("\\Deleted",), rng.randint(1, 2))
    if rng.random() < 0.6:
        client.add_flags(uids, flags)
        return f"UID STORE {folder} {uids} +FLAGS {flags}"
    client.remove_flags(uids, flags)
    return f"UID STORE {folder} {uids} -FLAGS {flags}"


def op_expunge(client: IMAPClient, rng: random.Random) -> str:
    folder, uids = some_messages(client, rng)
    if not uids:
        return f"EXPUNGE skipped, {folder} empty"
    client.add_flags(uids, ["\\Deleted"])
    if rng.random() < 0.5:
        client.uid_expunge(uids)  # RFC 4315: only these
        return f"UID EXPUNGE {folder} {uids}"
    client.expunge()  # every \Deleted message, including ones an earlier STORE marked
    return f"EXPUNGE {folder} (after {uids} +\\Deleted)"


def op_move_or_copy(client: IMAPClient, rng: random.Random) -> str:
    folder, uids = some_messages(client, rng)
    targets = [name for name in selectable(client) if name != folder]
    if not uids or not targets:
        return f"MOVE/COPY skipped, {folder} empty"
    target = rng.choice(targets)
    if rng.random() < 0.5:
        client.move(uids, target)
        return f"UID MOVE {folder} {uids} -> {target}"
    client.copy(uids, target)
    return f"UID COPY {folder} {uids} -> {target}"


def op_create(client: IMAPClient, rng: random.Random) -> str:
    name = new_folder_name(client, rng)
    client.create_folder(name)
    return f"CREATE {name}"


def op_rename(client: IMAPClient, rng: random.Random) -> str:
    ours = created_by_us(client)
    if not ours:
        return op_create(client, rng)
    old, new = rng.choice(ours), new_folder_name(client, rng)
    client.rename_folder(old, new)
    return f"RENAME {old} -> {new}"


def op_delete(client: IMAPClient, rng: random.Random) -> str:
    ours = created_by_us(client)
    if len(ours) < 3:  # keep a few folders to move messages between
        return op_create(client, rng)
    name = rng.choice(ours)
    client.delete_folder(name)
    return f"DELETE {name}"


OPERATIONS: list[tuple[Callable[[IMAPClient, random.Random], str], int]] = [
    (op_append, 4), (op_store, 3), (op_expunge, 2), (op_move_or_copy, 2),
    (op_create, 1), (op_rename, 1), (op_delete, 1),
]


def random_change(client: IMAPClient, rng: random.Random) -> str:
    operation = rng.choices([op for op, _ in OPERATIONS], weights=[w for _, w in OPERATIONS])[0]
    return operation(client, rng)


def seed_account(port: int) -> None:
    client = login(port)
    for name in ("Default/f1", "Default/f2", "Default/f3"):
        client.create_folder(name)
    rng = random.Random(SEED)
    for folder in ("INBOX", "Default/f1", "Default/f2", "Default/f3") * 4:
        client.append(folder, random_message(rng), flags=rng.sample(SYSTEM_FLAGS + KEYWORDS, rng.randint(0, 2)))
    client.logout()


# -- a simulated device ----------------------------------------------------------------------------
@dataclass
class SimulatedDevice:
    """A state directory that outlives its connections, like a phone's storage."""

    name: str
    state_dir: Path
    log: list[str]  # shared by every device of a test, in the order things happened
    device: "sync_device.Device | None" = None
    disconnects: int = 0

    def connected(self, port: int) -> "sync_device.Device":
        if self.device is None:
            client = sync_device.connect("127.0.0.1", port, "user1", "pass")
            self.device = sync_device.Device(client, self.state_dir)  # reloads state.json
            self.log.append(f"{self.name}: connect")
        return self.device

    def act(self, port: int, action: Callable[["sync_device.Device"], object]) -> object:
        """Run ``action``; a connection the server dropped (restart) is reopened once, as a device would."""
        try:
            return action(self.connected(port))
        except CONNECTION_LOST as lost:
            self.log.append(f"{self.name}: connection lost ({type(lost).__name__}), reconnecting")
            self.forget()
            return action(self.connected(port))

    def disconnect(self, abruptly: bool) -> None:
        if self.device is None:
            return
        if abruptly:  # no LOGOUT: the radio went away
            self.forget()
        else:
            try:
                self.device.client.logout()
            except CONNECTION_LOST:
                pass  # already gone (server restarted)
            self.device = None
        self.log.append(f"{self.name}: disconnect{' (abrupt)' if abruptly else ''}")

    def forget(self) -> None:
        if self.device is not None:
            sock = self.device.imap.sock
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            self.device = None

    def sync(self, port: int) -> list[str]:
        changed = self.act(port, lambda device: device.sync_all())
        self.log.append(f"{self.name}: sync, changed {changed}")
        return changed


def check_mirror(sim: SimulatedDevice, port: int, seed: int, when: str) -> None:
    mirror, server = mirror_view(sim.state_dir), server_view(port)
    assert mirror == server, (
        f"seed {seed}: {sim.name}'s mirror differs from the server {when}\n"
        f"mirror folders {sorted(mirror)}, server folders {sorted(server)}\n"
        f"differing folders {sorted(n for n in set(mirror) | set(server) if mirror.get(n) != server.get(n))}\n"
        "log:\n  " + "\n  ".join(sim.log))


def play_round(round_number: int, rng: random.Random, devices: list[SimulatedDevice], port: int,
               log: list[str]) -> None:
    """Each device, in random order, changes things, synchronizes, or goes away (or stays away)."""
    for sim in rng.sample(devices, len(devices)):
        roll = rng.random()
        if sim.device is None and roll < 0.3:
            log.append(f"round {round_number}: {sim.name} stays offline")
        elif roll < 0.55:
            changes = rng.randint(1, 4)
            for _ in range(changes):
                done = sim.act(port, lambda device: random_change(device.client, rng))
                log.append(f"round {round_number}: {sim.name} {done}")
        elif roll < 0.85:
            sim.sync(port)
            log.append(f"round {round_number}: {sim.name} synced")
            # Nobody else is changing anything now: the mirror must be exact.
            check_mirror(sim, port, SEED, f"right after its sync in round {round_number}")
        else:
            sim.disconnects += 1
            sim.disconnect(abruptly=sim.disconnects % 2 == 1)  # abrupt first, then LOGOUT, in turn
            log.append(f"round {round_number}: {sim.name} disconnected")


@pytest_twisted.ensureDeferred
async def test_rfc7162_3_2_5_devices_converge_despite_disconnects_and_restarts(start, tmp_path):
    server = await start()
    rng, log = random.Random(SEED), []
    devices = [SimulatedDevice(f"device{i}", tmp_path / f"device{i}", log) for i in range(1, DEVICES + 1)]
    for sim in devices:
        sim.state_dir.mkdir()
    await deferToThread(seed_account, server.port)
    for round_number in range(1, ROUNDS + 1):
        if round_number % RESTART_EVERY == 0:
            # Connected devices find their connection closed at their next command.
            await server.running.stop()
            server = await start(data_dir=server.data_dir)
            log.append(f"round {round_number}: server restarted on port {server.port}")
        await deferToThread(play_round, round_number, rng, devices, server.port, log)

    def finish(port: int) -> None:
        for sim in devices:
            sim.disconnect(abruptly=False)
            sim.sync(port)
        for sim in devices:
            check_mirror(sim, port, SEED, "at the end")
        for sim in devices:
            sim.disconnect(abruptly=False)
        # The scenario must have done what it claims, or it proves little.
        text = "\n".join(log)
        for word in ("APPEND", "STORE", "EXPUNGE", "MOVE", "COPY", "CREATE", "RENAME", "DELETE",
                     "connection lost", "disconnect (abrupt)", "server restarted"):
            assert word in text, f"seed {SEED}: the scenario never did {word!r}; pick another seed\n{text}"

    await deferToThread(finish, server.port)


@pytest_twisted.ensureDeferred
async def test_rfc5465_follower_converges_while_another_device_changes(server, tmp_path):
    rng, log = random.Random(SEED + 1), []
    follower = SimulatedDevice("follower", tmp_path / "follower", log)
    changer = SimulatedDevice("changer", tmp_path / "changer", log)
    follower.state_dir.mkdir()
    changer.state_dir.mkdir()

    def scenario(port: int) -> None:
        seed_account(port)
        follower.sync(port)
        assert follower.connected(port).client.has_capability("NOTIFY")  # follow() takes the NOTIFY path
        # The follower learns of the changes only from NOTIFY pushes: nothing
        # else syncs it until it leaves on its own (follow has no other way out),
        # well after the 20 changes are done.
        thread = threading.Thread(target=follower.connected(port).follow, args=(3.0,))
        thread.start()
        time.sleep(0.3)  # its NOTIFY is in place by then (if not, its first pass sees the early changes)
        for _ in range(20):
            log.append("changer " + changer.act(port, lambda device: random_change(device.client, rng)))
        thread.join()
        changer.disconnect(abruptly=False)
        check_mirror(follower, port, SEED + 1, "after following with NOTIFY")
        follower.disconnect(abruptly=False)

    await deferToThread(scenario, server.port)
