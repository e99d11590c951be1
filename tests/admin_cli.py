"""Running ``cpmstore-admin`` in-process for tests: its exit status and output."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from cpmstore.admin import main


def write_config(tmp_path: Path, users_file: Path | str) -> Path:
    """A configuration file for data in ``tmp_path/data`` (where the ``start``
    fixture's server keeps it) and the given users file."""
    path = tmp_path / "cpmstore.toml"
    path.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\nusers_file = "{users_file}"\n')
    return path


def admin(config_file: Path, *argv: str) -> tuple[int, str, str]:
    """(exit status, standard output, standard error) of ``cpmstore-admin --config config_file argv...``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config_file), *argv])
    return code, out.getvalue(), err.getvalue()
