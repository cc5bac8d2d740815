"""Helpers for the deployment tests: the repository's files, a clean environment
for the programs they start, and gunicorn run the way the platforms run it."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microblog.config import SETTINGS
from tests.processes import free_port, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
# The platforms' published schemas, kept unmodified beside the tests.
SCHEMAS = ROOT / "tests" / "schemas"
VENV_BIN = Path(sys.executable).parent
STOP_TIMEOUT = 40


def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    """One GET to a loopback port over a fresh connection: status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def read_toml(name: str) -> dict[str, Any]:
    """A TOML file of the repository, parsed."""
    with (ROOT / name).open("rb") as handle:
        return tomllib.load(handle)


def read_json(name: str) -> Any:
    """A JSON file of the repository, parsed."""
    return json.loads((ROOT / name).read_text())


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """Process types of a Procfile; a line Heroku would ignore is an error here."""
    processes: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(\S.*)", line)
        if match is None:
            raise ValueError(f"Procfile line {number} is not 'type: command': {line!r}")
        processes[match.group(1)] = match.group(2)
    return processes


def config_variables() -> frozenset[str]:
    """Every environment variable name in the settings table (microblog/config.py)."""
    return frozenset(setting.name for setting in SETTINGS)


def secret_key() -> str:
    """A production-grade SECRET_KEY (what app.json's generator makes)."""
    return secrets.token_hex(32)


def clean_env(**variables: str) -> dict[str, str]:
    """A minimal environment: nothing from the developer's shell leaks in."""
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(variables)
    return env


def gunicorn_settings(**variables: str) -> dict[str, str]:
    """gunicorn's fully resolved settings for gunicorn.conf.py in an environment."""
    env = clean_env(SECRET_KEY=secret_key(), **variables)
    command = [str(VENV_BIN / "gunicorn"), "--config", "gunicorn.conf.py"]
    command += ["--print-config", "microblog:create_app()"]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    settings = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        settings[name.strip()] = value.strip()
    return settings


def web_command() -> list[str]:
    """The Procfile's web command as an argument list."""
    return shlex.split(procfile()["web"])


@dataclass
class Gunicorn:
    """A running gunicorn master started from the Procfile's web command."""

    process: subprocess.Popen[bytes]
    port: int
    log_dir: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> tuple[int, dict[str, str], bytes]:
        """One GET over a fresh connection: status, headers, body."""
        return http_get(self.port, path, headers, timeout)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the master and wait for it to exit; return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def output(self) -> tuple[str, str]:
        """What gunicorn wrote to stdout (access log) and stderr (its own log)."""
        return (
            (self.log_dir / "stdout.log").read_text(errors="replace"),
            (self.log_dir / "stderr.log").read_text(errors="replace"),
        )


@contextmanager
def run_gunicorn(
    log_dir: Path, target: str | None = None, **variables: str
) -> Iterator[Gunicorn]:
    """gunicorn as the Procfile starts it (optionally on another WSGI target)."""
    port = free_port()
    command = web_command()
    if target is not None:
        command[-1] = target
    env = clean_env(PORT=str(port), SECRET_KEY=secret_key(), **variables)
    env.setdefault("DATABASE_URL", f"sqlite:///{log_dir / 'app.sqlite'}")
    stdout = (log_dir / "stdout.log").open("wb")
    stderr = (log_dir / "stderr.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
    server = Gunicorn(process, port, log_dir)
    try:
        wait_for_http(server.url("/healthz"), process=process)
        yield server
    finally:
        if process.poll() is None:
            server.stop()
        stdout.close()
        stderr.close()
