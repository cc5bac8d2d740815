"""deploy/systemd: the unit passes ``systemd-analyze verify`` with no message at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy_support import DEPLOY, REPO, render
from tests.processes import require_program

UNIT = DEPLOY / "systemd" / "microblog.service"
VENV_BIN = Path(sys.executable).parent


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = require_program("systemd-analyze", "systemd")
    return subprocess.run(
        [analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        cwd=unit.parent,
    )


def rendered_unit(folder: Path, extra: str = "") -> Path:
    """The unit with its programs and env file at this machine's paths."""
    env_file = folder / "microblog.env"
    env_file.write_text("SECRET_KEY=x\n")
    text = render(
        UNIT,
        {
            "/srv/microblog/venv/bin/gunicorn": str(VENV_BIN / "gunicorn"),
            "/srv/microblog/app/gunicorn.conf.py": str(REPO / "gunicorn.conf.py"),
            "/etc/microblog/microblog.env": str(env_file),
            "WorkingDirectory=/srv/microblog/app": f"WorkingDirectory={REPO}",
        },
    )
    unit = folder / "microblog.service"
    unit.write_text(text + extra)
    return unit


def test_unit_verifies_without_errors_or_warnings(tmp_path: Path) -> None:
    result = verify(rendered_unit(tmp_path))
    # systemd-analyze exits 0 even for unknown keys: any output at all is a finding.
    assert result.stdout + result.stderr == ""
    assert result.returncode == 0


def test_verify_would_catch_a_misspelled_key(tmp_path: Path) -> None:
    """The check above is meaningful: a typo produces output, though exit status 0."""
    result = verify(rendered_unit(tmp_path, "ProtectSytem=strict\n"))
    assert "Unknown key 'ProtectSytem'" in result.stderr


def test_unit_is_hardened_and_reloads_with_hup() -> None:
    settings = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert settings["User"] == "microblog"
    assert settings["EnvironmentFile"] == "/etc/microblog/microblog.env"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"
    assert settings["Restart"] == "on-failure"
    assert settings["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert settings["KillMode"] == "mixed"
    # Longer than gunicorn's graceful_timeout, like supervisor's stopwaitsecs.
    assert settings["TimeoutStopSec"] == "35"
    assert "--bind 127.0.0.1:8000" in settings["ExecStart"]
