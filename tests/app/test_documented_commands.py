"""The README's flask commands, run as written in the virtual environment."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.harness.docs import documented_session, run_documented
from tests.harness.paths import ROOT

PAGE = "README.md"


def test_migrate_seed_and_deploy_check_run_as_the_readme_shows(
    tmp_path: Path,
) -> None:
    database = tmp_path / "app.sqlite"
    # The environment of a fresh shell: the commands find flask only through
    # the activation line they start with.
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": secrets.token_hex(32),
    }
    session = documented_session(PAGE, ". .venv/bin/activate")
    result = run_documented(session, ROOT, env)

    assert "Running upgrade" in result.stderr
    assert "Seeded 20 users, 100 follows and 100 posts" in result.stdout
    # On a laptop the preflight has problems to name, so it ends the session
    # with status 1, one line each.
    assert result.returncode == 1, result.stderr
    checks = [line for line in result.stdout.splitlines() if "deploy check:" in line]
    assert checks
    assert all(line.startswith("deploy check: ") for line in checks)
    assert any(line.startswith("deploy check: mail: ") for line in checks)
    assert "Traceback" not in result.stdout + result.stderr
