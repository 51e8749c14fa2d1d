"""The shipped deployment files say what works: every app.py command in the systemd units and the Procfile parses
with the app's own settings, gunicorn accepts its command and the WSGI entry, and systemd reads the units."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_settings import CliApp

from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every command the deployment files run, systemd specifiers filled in."""
    out = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                text = line.removeprefix("ExecStart=").replace("%i", "1").replace("%H", "app-1")
                out.append((unit.name, shlex.split(text)))
    for line in (DEPLOY / "Procfile").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, text = line.split(":", 1)
            out.append((f"Procfile {name}", shlex.split(text)))
    return out


@pytest.mark.parametrize(("where", "argv"), commands(), ids=[w for w, _ in commands()])
def test_every_command_parses(where: str, argv: list[str], tmp_path: Path) -> None:
    exe = Path(argv[0]).name
    if exe == "python":
        assert argv[1] == "app.py", where
        settings = CliApp.run(Settings, cli_args=argv[2:])
        assert settings.active_roles() and "web" not in settings.active_roles(), where  # web runs under gunicorn
    else:
        assert exe == "gunicorn" and argv[-1] == "wsgi:app", where
        env = {**os.environ, "ZQ_DB": f"sqlite:///{tmp_path / 'check.sqlite3'}"}
        done = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", *argv[1:]], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (where, done.stdout[-2000:], done.stderr[-2000:])


def test_the_units_are_ones_systemd_reads() -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian systemd) reads the units"
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
        # The units name /opt/zq, which this machine has not: that, and only that, may be said.
        problems = [line for line in (done.stdout + done.stderr).splitlines()
                    if line.strip() and not re.search(r"Command /opt/zq/\S+ is not executable", line)]
        assert problems == [], (unit.name, problems)
