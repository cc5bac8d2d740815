"""deploy/systemd: the unit passes ``systemd-analyze verify`` with no message at all."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness.paths import DEPLOY, ROOT, VENV_BIN
from tests.harness.processes import require_program
from tests.vm.support import render

UNIT = DEPLOY / "systemd" / "microblog.service"
WORKER_UNIT = DEPLOY / "systemd" / "microblog-worker.service"
WORKER_COMMAND = "flask --app microblog jobs work"


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = require_program("systemd-analyze", "systemd")
    return subprocess.run(
        [analyze, "verify", str(unit)],
        capture_output=True,
        text=True,
        check=False,
        cwd=unit.parent,
    )


def rendered_unit(folder: Path, extra: str = "", unit: Path = UNIT) -> Path:
    """A unit with its programs and env file at this machine's paths."""
    env_file = folder / "microblog.env"
    env_file.write_text("SECRET_KEY=x\n")
    replacements = {
        "/srv/microblog/venv/bin/": f"{VENV_BIN}/",
        "/etc/microblog/microblog.env": str(env_file),
        "WorkingDirectory=/srv/microblog/app": f"WorkingDirectory={ROOT}",
    }
    if unit == UNIT:
        replacements["/srv/microblog/app/gunicorn.conf.py"] = str(
            ROOT / "gunicorn.conf.py"
        )
    text = render(unit, replacements)
    rendered = folder / unit.name
    rendered.write_text(text + extra)
    return rendered


def unit_settings(unit: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in unit.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


@pytest.mark.parametrize("unit", [UNIT, WORKER_UNIT], ids=lambda unit: unit.name)
def test_unit_verifies_without_errors_or_warnings(tmp_path: Path, unit: Path) -> None:
    result = verify(rendered_unit(tmp_path, unit=unit))
    # systemd-analyze exits 0 even for unknown keys: any output at all is a finding.
    assert result.stdout + result.stderr == ""
    assert result.returncode == 0


def test_verify_would_catch_a_misspelled_key(tmp_path: Path) -> None:
    """The check above is meaningful: a typo produces output, though exit status 0."""
    result = verify(rendered_unit(tmp_path, "ProtectSytem=strict\n"))
    assert "Unknown key 'ProtectSytem'" in result.stderr


def test_unit_is_hardened_and_reloads_with_hup() -> None:
    settings = unit_settings(UNIT)
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


def test_worker_unit_stops_warm_and_restarts() -> None:
    settings = unit_settings(WORKER_UNIT)
    assert settings["ExecStart"] == f"/srv/microblog/venv/bin/{WORKER_COMMAND}"
    assert settings["User"] == "microblog"
    assert settings["EnvironmentFile"] == "/etc/microblog/microblog.env"
    # SIGTERM to the worker alone (RQ's warm shutdown), SIGKILL to all later.
    assert settings["KillMode"] == "mixed"
    assert int(settings["TimeoutStopSec"]) >= 30
    assert settings["Restart"] == "always"
    hardening = {key: settings[key] for key in ("NoNewPrivileges", "ProtectSystem")}
    assert hardening == {"NoNewPrivileges": "yes", "ProtectSystem": "strict"}
