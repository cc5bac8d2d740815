"""The Procfile run offline exactly as docs/heroku.md says, by the two runners it
names: the Heroku CLI's `heroku local` (npm `heroku`, no login) and honcho.
Each runs `release` to the end, then the long-running process types, against
a real PostgreSQL, with the variables from `.env`."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.harness.checkout import copy_checkout
from tests.harness.databases import PostgresServer, RedisServer
from tests.harness.docs import documented_command, documented_session, run_documented
from tests.harness.environment import environment
from tests.harness.http_client import request
from tests.harness.processes import free_port, wait_for_http
from tests.paas.node_tools import NODE_PROJECT, node_tools
from tests.paas.support import STOP_TIMEOUT, procfile, secret_key

PAGE = "docs/heroku.md"
RUNNERS = ("heroku", "honcho")
# What a clone has: no local state, no build output.
RELEASE_TIMEOUT = 180


@pytest.fixture
def checkout(tmp_path: Path, postgres: PostgresServer, redis: RedisServer) -> Path:
    """A built copy of the repository with a `.env` as a developer writes one
    (Redis for the worker process, which queues and runs the background jobs)."""
    app_dir = tmp_path / "app"
    copy_checkout(app_dir)
    subprocess.run(["bin/build"], cwd=app_dir, env=environment(), check=True)
    # The URL form Heroku hands out (postgres://), a free port, a real key.
    (app_dir / ".env").write_text(
        f"DATABASE_URL={postgres.new_database()}\n"
        f"SECRET_KEY={secret_key()}\n"
        f"PORT={free_port()}\n"
        f"REDIS_URL={redis.url}\n"
    )
    return app_dir


def documented_steps(runner: str) -> list[str]:
    """The page's block for ``runner``: the release command, then the serving one."""
    if runner == "heroku":
        return documented_session(PAGE, "heroku local release")
    return documented_session(PAGE, "honcho start release")


def env_port(app_dir: Path) -> int:
    for line in (app_dir / ".env").read_text().splitlines():
        if line.startswith("PORT="):
            return int(line.partition("=")[2])
    raise AssertionError("no PORT in .env")


def runner_env(home: Path) -> dict[str, str]:
    """The shell of a developer who followed the page: both runners on PATH,
    the CLI's telemetry and update check off, a home folder of its own (the
    CLI writes there)."""
    home.mkdir(exist_ok=True)
    env = environment(
        DISABLE_TELEMETRY="true",
        HEROKU_DISABLE_AUTOUPDATE="1",
        HOME=str(home),
        # A developer's shell: the app reads the checkout's .env itself too.
        FLASK_SKIP_DOTENV="0",
    )
    env["PATH"] = f"{node_tools()}{os.pathsep}{env['PATH']}"
    return env


def long_running_types() -> list[str]:
    return [name for name in procfile() if name != "release"]


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # After the command name: state, parent, process group, ...
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


def cli_processes() -> list[str]:
    """Command lines of any process still running from the installed tools."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(NODE_PROJECT) in command:
            found.append(command)
    return found


@contextmanager
def running(command: str, cwd: Path, env: dict[str, str], log: Path) -> Iterator[None]:
    """``command`` in a shell and a process group of its own; stopped as a
    terminal's Ctrl-C reaches it: SIGINT to the whole group, never by name.

    Only the whole group stops everything: the CLI alone, signalled, leaves
    foreman and gunicorn running."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", command],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield
        finally:
            os.killpg(process.pid, signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline:
                process.poll()  # reaps the leader, which would count as alive
                if not group_members(process.pid):
                    break
                time.sleep(0.1)
            leftover = group_members(process.pid)
            if leftover:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            assert not leftover, f"{command!r} left processes {leftover} after Ctrl-C"


@pytest.mark.slow
@pytest.mark.parametrize("runner", RUNNERS)
def test_release_then_the_processes_as_the_page_says(
    runner: str, checkout: Path, tmp_path: Path
) -> None:
    env = runner_env(tmp_path / "home")
    release, serve = documented_steps(runner)

    # Before the release phase the app serves but is not ready: it never
    # migrates by itself.
    with running(serve, checkout, env, tmp_path / "before.log"):
        base = f"http://127.0.0.1:{env_port(checkout)}"
        assert wait_for_http(f"{base}/readyz") == 503

    finished = run_documented(release, checkout, env, timeout=RELEASE_TIMEOUT)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    assert "Running upgrade" in output
    assert "deploy check:" in output
    # With telemetry and the update check off, nothing of the CLI outlives it.
    assert cli_processes() == []

    log = tmp_path / "serve.log"
    with running(serve, checkout, env, log):
        assert wait_for_http(f"{base}/healthz") == 200
        assert wait_for_http(f"{base}/readyz") == 200
        login = request(env_port(checkout), "/auth/login")
        assert login.status == 200
        assert login.headers["X-Request-Id"]
    # Every long-running process type of the Procfile ran (web.1, worker.1, ...).
    started = log.read_text(errors="replace")
    for name in long_running_types():
        assert f"{name}.1" in started, (name, started[-3000:])


@pytest.mark.slow
def test_local_run_needs_a_double_dash_before_the_commands_flags(
    checkout: Path, tmp_path: Path
) -> None:
    env = runner_env(tmp_path / "home")
    command = documented_command(PAGE, "heroku local:run -- ")
    result = run_documented(command, checkout, env)
    assert result.returncode == 0, result.stdout + result.stderr
    # The app's preflight ran with .env's settings: nothing about a missing key.
    assert "deploy check:" in result.stdout + result.stderr
    assert "SECRET_KEY" not in result.stdout + result.stderr
    # Without it the CLI takes --app for one of its own flags and refuses.
    without = run_documented(command.replace(" -- ", " ", 1), checkout, env)
    assert without.returncode != 0
    assert "--app" in without.stdout + without.stderr


@pytest.mark.slow
def test_signalling_the_cli_alone_leaves_the_app_running(
    checkout: Path, tmp_path: Path
) -> None:
    # Why the page says Ctrl-C (the whole group) and not `kill` of the CLI.
    env = runner_env(tmp_path / "home")
    _, serve = documented_steps("heroku")
    with (tmp_path / "cli.log").open("wb") as log:
        cli = subprocess.Popen(
            shlex.split(serve),
            cwd=checkout,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{env_port(checkout)}"
        wait_for_http(f"{base}/healthz", process=cli)
        cli.send_signal(signal.SIGINT)
        cli.wait(STOP_TIMEOUT)
        # The CLI is gone; foreman and gunicorn are not, and still serve.
        assert group_members(cli.pid)
        assert wait_for_http(f"{base}/healthz") == 200
    finally:
        with suppress(ProcessLookupError):
            os.killpg(cli.pid, signal.SIGKILL)
