"""Starting the server as ``twistd`` subprocesses, for tests that kill it."""

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_twistd(tmp_path: Path, port: int, extra_config: str = "",
                 users: dict[str, str] | None = None) -> subprocess.Popen:
    """twistd serving plaintext on ``port`` (``users``, by default user1 / pass);
    ``extra_config`` is appended to its TOML (more ``[[listener]]`` tables, ``[tls]``)."""
    config = tmp_path / "server.toml"
    users_file = tmp_path / "users"
    users_file.write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in (users or {"user1": "pass"}).items()))
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\nusers_file = "{users_file}"\n'
        f'[[listener]]\nendpoint = "tcp:{port}:interface=127.0.0.1"\ntls = "none"\nallow_plaintext_auth = true\n'
        + extra_config
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n", "--pidfile=", "--logfile", str(tmp_path / "twistd.log"),
         "cpmstore", "--config", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("twistd did not start: " + (tmp_path / "twistd.log").read_text())
