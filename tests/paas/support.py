"""Helpers for the PaaS tests: the repository's deployment files, and gunicorn
run the way the platforms run it (the Procfile's web command)."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from microblog.config import SETTINGS
from tests.harness.app_server import AppServer
from tests.harness.environment import environment
from tests.harness.paths import ROOT, VENV_BIN

STOP_TIMEOUT = 40


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


def gunicorn_settings(*options: str, **variables: str) -> dict[str, str]:
    """gunicorn's fully resolved settings for gunicorn.conf.py in an environment,
    with command-line ``options`` after the file as a user would add them."""
    env = environment(SECRET_KEY=secret_key(), **variables)
    command = [str(VENV_BIN / "gunicorn"), "--config", "gunicorn.conf.py", *options]
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


@contextmanager
def run_gunicorn(
    log_dir: Path,
    target: str | None = None,
    options: Sequence[str] = (),
    **variables: str,
) -> Iterator[AppServer]:
    """gunicorn as the Procfile starts it (optionally on another WSGI target,
    with command-line ``options`` before it)."""
    command = web_command()
    command[-1:] = [*options, command[-1] if target is None else target]
    env = environment(SECRET_KEY=secret_key(), **variables)
    env.setdefault("DATABASE_URL", f"sqlite:///{log_dir / 'app.sqlite'}")
    server = AppServer(env, command=command, root=log_dir, separate_stderr=True)
    with server.start():
        yield server
