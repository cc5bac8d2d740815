"""The Procfile run by a real Procfile runner (honcho), as Heroku runs it.

The honcho commands are the ones docs/heroku.md tells a user to type.
"""

from __future__ import annotations

import http.client
import json
import shlex
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.harness.checkout import copy_checkout
from tests.harness.databases import PostgresServer
from tests.harness.docs import documented_command
from tests.harness.environment import environment
from tests.harness.paths import VENV_BIN
from tests.harness.processes import free_port, wait_for_http
from tests.paas.support import STOP_TIMEOUT, secret_key

HEROKU_PAGE = "docs/heroku.md"


def honcho(*args: str) -> list[str]:
    return [str(VENV_BIN / "honcho"), "--no-colour", *args]


@pytest.fixture
def checkout(tmp_path: Path, postgres: PostgresServer) -> Path:
    """A copy of the repository with a `.env` like `heroku local` reads."""
    app_dir = tmp_path / "app"
    copy_checkout(app_dir)
    # The classic buildpack's last build step: translations, gzip static files.
    subprocess.run(
        ["bin/post_compile"],
        cwd=app_dir,
        env=environment(FLASK_SKIP_DOTENV="0"),
        check=True,
        timeout=120,
    )
    # The URL form Heroku hands out (postgres://), a random port, a real key.
    (app_dir / ".env").write_text(
        f"DATABASE_URL={postgres.new_database()}\n"
        f"SECRET_KEY={secret_key()}\n"
        f"PORT={free_port()}\n"
        "LOG_FORMAT=json\n"
    )
    return app_dir


def env_port(app_dir: Path) -> int:
    for line in (app_dir / ".env").read_text().splitlines():
        if line.startswith("PORT="):
            return int(line.partition("=")[2])
    raise AssertionError("no PORT in .env")


@contextmanager
def honcho_web(app_dir: Path) -> Iterator[str]:
    """`honcho start web` in ``app_dir``; yields the base URL, stops with SIGTERM."""
    log = (app_dir.parent / "web.log").open("wb")
    process = subprocess.Popen(
        # Exactly as docs/heroku.md shows it: a simple command, no shell needed.
        shlex.split(documented_command(HEROKU_PAGE, "honcho start web")),
        cwd=app_dir,
        env=environment(FLASK_SKIP_DOTENV="0"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{env_port(app_dir)}"
    try:
        wait_for_http(f"{base}/healthz", process=process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def static_encoding(base: str, path: str) -> str | None:
    """The Content-Encoding a gzip-accepting browser gets for ``path``."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        return response.getheader("Content-Encoding")
    finally:
        connection.close()


@pytest.mark.slow
def run_release(checkout: Path) -> subprocess.CompletedProcess[str]:
    """Run the Procfile's release process through honcho; it must succeed."""
    release = subprocess.run(
        shlex.split(documented_command(HEROKU_PAGE, "honcho start release")),
        cwd=checkout,
        env=environment(FLASK_SKIP_DOTENV="0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert release.returncode == 0, release.stdout + release.stderr
    return release


def test_release_then_web_against_postgres_from_dotenv(checkout: Path) -> None:
    # Before the release phase the web process serves but is not ready: it
    # never migrates by itself.
    with honcho_web(checkout) as base:
        assert wait_for_http(f"{base}/readyz") == 503

    release = run_release(checkout)
    assert "Running upgrade" in release.stdout
    # The production preflight runs too, as warnings that never fail a release.
    assert "deploy check:" in release.stdout

    with honcho_web(checkout) as base:
        assert wait_for_http(f"{base}/healthz") == 200
        assert wait_for_http(f"{base}/readyz") == 200
        assert wait_for_http(f"{base}/auth/login") == 200
        assert static_encoding(base, "/static/css/app.css") == "gzip"
    web_log = (checkout.parent / "web.log").read_text()
    # gunicorn's access log through honcho: JSON (LOG_FORMAT=json), with the
    # request id the app generated and echoed.
    entries = [
        json.loads(line.partition("| ")[2])
        for line in web_log.splitlines()
        if '"logger": "gunicorn.access"' in line
    ]
    login = next(entry for entry in entries if entry["path"] == "/auth/login")
    assert login["status"] == 200
    assert len(login["request_id"]) >= 16


def test_release_phase_is_idempotent_and_procfile_parses_in_honcho(
    checkout: Path,
) -> None:
    for _ in range(2):
        run_release(checkout)
    checked = subprocess.run(
        honcho("check"), cwd=checkout, capture_output=True, text=True, check=True
    )
    # honcho's check prints the process types it found; ours must all be there.
    assert "(release, web, worker)" in checked.stdout + checked.stderr
