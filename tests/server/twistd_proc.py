"""Starting the server as ``twistd`` subprocesses, for tests that kill it."""

import random
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range (32768 and up by
    default): a port the kernel hands out as some client's source port could
    be taken again before twistd binds it."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def start_twistd(tmp_path: Path, port: int, extra_config: str = "",
                 users: dict[str, str] | None = None, more_ports: tuple[int, ...] = (),
                 server_config: str = "") -> subprocess.Popen:
    """twistd serving plaintext on ``port`` (``users``, by default user1 / pass);
    ``extra_config`` is appended to its TOML (more ``[[listener]]`` tables, ``[tls]``),
    ``server_config`` (``key = value`` lines) to its ``[server]`` table."""
    config = tmp_path / "server.toml"
    users_file = tmp_path / "users"
    users_file.write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in (users or {"user1": "pass"}).items()))
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\nusers_file = "{users_file}"\n{server_config}\n'
        f'[[listener]]\nendpoint = "tcp:{port}:interface=127.0.0.1"\ntls = "none"\nallow_plaintext_auth = true\n'
        + extra_config
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=", "--logfile", str(tmp_path / "twistd.log"),
         "cpmstore", "--config", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    waiting = [port, *more_ports]  # every listener's port, when the config adds some
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", waiting[0]), timeout=1).close()
            waiting.pop(0)
            if not waiting:
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("twistd did not start: " + (tmp_path / "twistd.log").read_text())
