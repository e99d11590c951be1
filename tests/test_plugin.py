"""Running the server: the twistd plugin (subprocess) and the service tree.

The twistd tests need the package installed (``pip install -e '.[test]'``):
they run from a temporary directory so that only the installed plugin can be
found.
"""

from __future__ import annotations

import imaplib
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_twisted
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twisted.internet.error import CannotListenError
from twisted.internet.threads import deferToThread

from cpmstore.auth.passwd import PasswdFile, verify_password
from cpmstore.config import ConfigError, LimitsConfig, ListenerConfig, TLSConfig, make_config
from cpmstore.service import load_tls_options, make_service, start_server

# twistd of this interpreter (``python -m twisted`` is the other runner, twist).
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


def _twistd(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWISTD, *argv], cwd=cwd, capture_output=True, text=True, timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _greeting(port: int, tls_context: ssl.SSLContext | None = None,
              server: subprocess.Popen[bytes] | None = None, deadline: float = 10.0) -> bytes:
    """The first line the server sends, retrying the connect while ``server`` starts."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except ConnectionRefusedError:
            if server is None or server.poll() is not None or time.monotonic() > give_up:
                raise
            time.sleep(0.05)
    with sock:
        if tls_context is not None:
            sock = tls_context.wrap_socket(sock, server_hostname="localhost")
        return sock.makefile("rb").readline()


def _login(port: int, user: str, password: str) -> str:
    """The status of LOGIN through the portal the service built."""
    with imaplib.IMAP4("127.0.0.1", port, timeout=5) as client:
        try:
            return client.login(user, password)[0]
        except imaplib.IMAP4.error:
            return "NO"


def test_twistd_help_lists_cpmstore(tmp_path: Path) -> None:
    result = _twistd("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert any(line.split()[:1] == ["cpmstore"] for line in result.stdout.splitlines()), result.stdout


def test_twistd_cpmstore_help_names_the_defaults(tmp_path: Path) -> None:
    result = _twistd("cpmstore", "--help", cwd=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for expected in ("--config=", "./cpmstore-data", "127.0.0.1:1143", "demo", "conf/cpmstore.toml"):
        assert expected in text


def test_twistd_bad_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[[listener]]\ntls = "tls"\n')
    result = _twistd("-n", "--pidfile=", "cpmstore", "--config", "bad.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert "listener[0].tls: expected one of none, starttls, implicit, got 'tls'" in result.stderr


def test_twistd_serves_imap_greeting(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "c.toml").write_text(
        f'[server]\ndata_dir = "data"\n[[listener]]\nendpoint = "tcp:{port}:interface=127.0.0.1"\n')
    server = subprocess.Popen([*TWISTD, "-n", "--pidfile=", "-l", "twistd.log", "cpmstore", "--config", "c.toml"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _greeting(port, server=server).startswith(b"* OK")
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=10)
    # twistd stops cleanly, then exits through the signal that stopped it.
    assert server.returncode == -signal.SIGTERM, stderr
    log = (tmp_path / "twistd.log").read_text()
    assert "Main loop terminated." in log
    assert "Traceback" not in log, log
    assert (tmp_path / "data").is_dir()


# -- the service tree, in the test's reactor ----------------------------------

@pytest_twisted.ensureDeferred
async def test_start_server_plaintext_and_implicit_tls(tmp_path: Path, tls_files: TLSConfig, users_file: str) -> None:
    config = make_config(tmp_path / "data", users_file=users_file, tls=tls_files,
                         limits=LimitsConfig(login_failure_delay=0), listeners=[
        ListenerConfig("tcp:0:interface=127.0.0.1", "none", allow_plaintext_auth=True),
        ListenerConfig("tcp:0:interface=127.0.0.1", "implicit"),
        ListenerConfig("tcp:0:interface=127.0.0.1", "starttls"),
    ])
    server = await start_server(config)
    try:
        assert server.context.config is config
        assert server.context.tls_options is not None
        plain, implicit, starttls = (port.getHost().port for port in server.ports)
        client_tls = ssl.create_default_context(cafile=tls_files.certificate)
        assert (await deferToThread(_greeting, plain)).startswith(b"* OK")
        assert (await deferToThread(_greeting, implicit, client_tls)).startswith(b"* OK")
        assert (await deferToThread(_greeting, starttls)).startswith(b"* OK")
        assert await deferToThread(_login, plain, "user1", "pass") == "OK"
        assert await deferToThread(_login, plain, "user1", "wrong") == "NO"
    finally:
        await server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", plain), timeout=5)


@pytest_twisted.ensureDeferred
async def test_demo_user_created_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(tmp_path, create_demo_user=True)
    server = await start_server(config)
    await server.stop()
    printed = capsys.readouterr().out
    assert printed.startswith("demo user created: demo / ")
    password = printed.split(" / ", 1)[1].strip()
    assert len(password) == 16
    assert verify_password(password, PasswdFile.load(config.server.users_file).get("demo").password)
    # Under twistd the terminal is the log: the password is in a file only the server's user reads.
    kept = tmp_path / "demo-password"
    assert kept.read_text() == password + "\n"
    assert kept.stat().st_mode & 0o777 == 0o600
    server = await start_server(config)
    await server.stop()
    assert "demo user created" not in capsys.readouterr().out


@pytest_twisted.ensureDeferred
async def test_port_in_use_fails_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = make_config(tmp_path, listeners=[ListenerConfig(f"tcp:{port}:interface=127.0.0.1")])
        with pytest.raises(CannotListenError):
            await start_server(config)


def test_unparsable_endpoint_names_the_listener(tmp_path: Path) -> None:
    config = make_config(tmp_path, listeners=[ListenerConfig("tcp:0"), ListenerConfig("nonsense:143")])
    with pytest.raises(ConfigError, match=r"^listener\[1\].endpoint: cannot use 'nonsense:143'"):
        make_service(config)


def test_tls_files_missing(tmp_path: Path, tls_files: TLSConfig) -> None:
    with pytest.raises(ConfigError, match="^tls.certificate: cannot read"):
        load_tls_options(TLSConfig(str(tmp_path / "none.pem"), tls_files.private_key))
    with pytest.raises(ConfigError, match="^tls.private_key: cannot read"):
        load_tls_options(TLSConfig(tls_files.certificate, str(tmp_path / "none.pem")))


def test_tls_key_not_matching_certificate(tmp_path: Path, tls_files: TLSConfig) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="^tls.private_key: does not match"):
        load_tls_options(TLSConfig(tls_files.certificate, str(other)))


def test_tls_certificate_and_key_in_one_file(tmp_path: Path, tls_files: TLSConfig) -> None:
    both = tmp_path / "both.pem"
    both.write_bytes(Path(tls_files.private_key).read_bytes() + Path(tls_files.certificate).read_bytes())
    options = load_tls_options(TLSConfig(str(both), str(both)))
    assert options.getContext() is not None


def test_tls_files_of_the_wrong_kind(tls_files: TLSConfig) -> None:
    with pytest.raises(ConfigError, match="^tls.certificate: no PEM certificate"):
        load_tls_options(TLSConfig(tls_files.private_key, tls_files.private_key))
    with pytest.raises(ConfigError, match="^tls.private_key: no usable unencrypted PEM key"):
        load_tls_options(TLSConfig(tls_files.certificate, tls_files.certificate))

