"""`make run` exactly as the README gives it, without and with PORT: it binds
that port (8000 by default) on loopback and serves the seeded app."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from tests.harness.checkout import checkout_with_venv
from tests.harness.docs import documented_command
from tests.harness.environment import environment
from tests.harness.http_client import request
from tests.harness.processes import port_open, require_program, wait_for_http
from tests.paas.support import STOP_TIMEOUT

# Installing, migrating and seeding come before gunicorn answers.
START_TIMEOUT = 240


PORT_GIVEN = re.compile(r"^PORT=(\d+) make run$")


def test_make_run_serves_on_port_8000_by_default(tmp_path: Path) -> None:
    make_run_serves(documented_command("README.md", "make run"), 8000, tmp_path)


def test_make_run_serves_on_the_port_given_in_port(tmp_path: Path) -> None:
    command = documented_command("README.md", "PORT=")
    given = PORT_GIVEN.match(command)
    assert given, command
    make_run_serves(command, int(given[1]), tmp_path)


def make_run_serves(command: str, port: int, tmp_path: Path) -> None:
    """Run ``command`` in a copy of the repository; it must serve on ``port``."""
    require_program("make", "make")
    assert not port_open(port), f"port {port} is busy on this machine"
    clone = checkout_with_venv(tmp_path)
    log = (tmp_path / "make-run.log").open("wb")
    # The command as a user types it, in a shell, in a process group of its own.
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=clone,
        # make run writes the clone's .env and the app must read it, as for a user.
        env=environment(FLASK_SKIP_DOTENV="0"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(
            f"http://127.0.0.1:{port}/healthz", timeout=START_TIMEOUT, process=process
        )
        login = request(port, "/auth/login")
        assert login.status == 200
        assert b"Sign In" in login.body or b"Sign in" in login.body
        # gunicorn's own start line: loopback only, on that port.
        listening = f"Listening at: http://127.0.0.1:{port} "
        assert listening in (tmp_path / "make-run.log").read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
