"""``flask deploy check``: one line per problem, non-zero exit, --warn exits 0."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask

from microblog.ops import deploy_check
from tests.harness.environment import environment
from tests.harness.flask_app import sqlite_app
from tests.harness.processes import run_program

STRONG_KEY = "9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1c3e5f7a9b1d3f5e7c9a0b2d4f6e8a1c3e"
# Everything a careful production deployment sets.
GOOD: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": STRONG_KEY,
    "SECRET_KEY_GENERATED": False,
    "FORCE_HTTPS": True,
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SECURE": True,
    "TRUSTED_HOSTS": ["blog.example"],
    "MAIL_SERVER": "smtp.example",
    "REDIS_URL": None,
    "DEPLOY_CHECK_SILENCE": frozenset({"rate-limit-storage"}),
}


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Any]:
    """Build an app on a migrated SQLite database with the given settings."""
    stack: list[Any] = []

    def build(**overrides: Any) -> Flask:
        context = sqlite_app(tmp_path, create_tables=False, **{**GOOD, **overrides})
        app = context.__enter__()
        stack.append(context)
        flask_migrate.upgrade()
        return app

    yield build
    for context in reversed(stack):
        context.__exit__(None, None, None)


def run_check(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["deploy", "check", *args])


def check_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("deploy check: ")]


def problem_names(output: str) -> list[str]:
    return [
        line.removeprefix("deploy check: ").split(":")[0]
        for line in output.splitlines()
        if line.startswith("deploy check: ") and "no problems" not in line
    ]


def test_a_careful_deployment_passes(migrated: Any) -> None:
    result = run_check(migrated())
    assert result.exit_code == 0, result.output
    assert result.output == "deploy check: no problems found\n"


@pytest.mark.parametrize(
    ("overrides", "name", "words"),
    [
        ({"DEBUG": True}, "debug", "FLASK_DEBUG is on"),
        ({"SECRET_KEY_GENERATED": True}, "secret-key", "not set"),
        ({"SECRET_KEY": "changeme"}, "secret-key", "placeholder"),
        ({"SECRET_KEY": "short-key-1234"}, "secret-key", "shorter than 32"),
        ({"SECRET_KEY": "ab" * 20}, "secret-key", "too few distinct"),
        ({"PLATFORM": "heroku"}, "sqlite-ephemeral", "SQLite on heroku"),
        ({"FORCE_HTTPS": False}, "https", "FORCE_HTTPS is off"),
        (
            {"PLATFORM": "fly", "PROXY_COUNT": 0},
            "proxy-count",
            "PROXY_COUNT is 0 on fly",
        ),
        ({"TRUSTED_HOSTS": None}, "hosts", "any Host header"),
        ({"MAIL_SERVER": None}, "mail", "MAIL_SERVER is not set"),
        ({"SESSION_COOKIE_SECURE": False}, "cookies", "SESSION_COOKIE_SECURE is off"),
        ({"REMEMBER_COOKIE_HTTPONLY": False}, "cookies", "REMEMBER_COOKIE_HTTPONLY"),
        ({"SESSION_COOKIE_SAMESITE": None}, "cookies", "not Lax or Strict"),
        ({"RATELIMIT_ENABLED": False}, "rate-limits", "RATELIMIT_ENABLED is off"),
        ({"DEPLOY_CHECK_SILENCE": frozenset()}, "rate-limit-storage", "REDIS_URL"),
        ({"PLATFORM": "fly"}, "jobs", "REDIS_URL is not set on fly"),
        ({"DATABASE_IS_POOLED": True}, "pooled-database", "set DATABASE_DIRECT_URL"),
    ],
)
def test_each_problem_is_one_line_and_fails(
    migrated: Any, overrides: dict[str, Any], name: str, words: str
) -> None:
    result = run_check(migrated(**overrides))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert name in problem_names(result.output)
    assert any(words in line for line in lines), result.output


def test_a_direct_url_that_is_pooled_too_is_reported(migrated: Any) -> None:
    app = migrated(DATABASE_IS_POOLED=True)
    # Set after migrating: this host exists only in Fly's private network.
    app.config["DATABASE_MIGRATION_URI"] = "postgres://u:p@pgbouncer.x.flympg.net/db"
    result = run_check(app)
    assert problem_names(result.output) == ["pooled-database"]
    assert "DATABASE_DIRECT_URL looks pooled too" in result.output


def test_warn_mode_prints_the_same_lines_and_exits_zero(migrated: Any) -> None:
    app = migrated(DEBUG=True, MAIL_SERVER=None)
    strict, warn = run_check(app), run_check(app, "--warn")
    assert (strict.exit_code, warn.exit_code) == (1, 0)
    assert strict.output == warn.output
    assert problem_names(warn.output) == ["debug", "mail"]


def test_pending_migrations_are_reported(tmp_path: Path) -> None:
    with sqlite_app(tmp_path, **GOOD) as app:  # tables made, no migration applied
        result = run_check(app)
    assert problem_names(result.output) == ["migrations"]
    assert "flask --app microblog db upgrade" in result.output


def test_unreachable_redis_is_reported(migrated: Any, redis: Any) -> None:
    app = migrated(
        REDIS_URL="redis://127.0.0.1:9/0",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0",
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1},
        DEPLOY_CHECK_SILENCE=frozenset(),
    )
    assert "cannot reach REDIS_URL" in run_check(app).output
    reachable = migrated(
        REDIS_URL=redis.url,
        RATELIMIT_STORAGE_URI=redis.url,
        DEPLOY_CHECK_SILENCE=frozenset(),
    )
    assert run_check(reachable).exit_code == 0


def test_dependencies_below_the_floors_are_reported(
    migrated: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = {"Flask": "3.1.2", "gunicorn": "22.0.0", "PyMySQL": "1.1.1"}

    def fake_version(package: str) -> str:
        if package in installed:
            return installed[package]
        raise PackageNotFoundError(package)

    monkeypatch.setattr(deploy_check, "version", fake_version)
    output = run_check(migrated()).output
    assert "dependencies: Flask 3.1.2 is below 3.1.3" in output
    assert "dependencies: gunicorn 22.0.0 is below 23.0.0" in output
    assert "PyMySQL" not in output


def test_installed_requirements_meet_the_floors() -> None:
    problems = list(deploy_check.check_dependencies(Flask(__name__)))
    assert problems == []


def test_silenced_checks_are_not_reported(migrated: Any) -> None:
    app = migrated(
        MAIL_SERVER=None, DEPLOY_CHECK_SILENCE=frozenset({"mail", "rate-limit-storage"})
    )
    assert run_check(app).exit_code == 0


def flask_cli(
    tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    flask = [sys.executable, "-m", "flask", "--app", "microblog", *args]
    return run_program(flask, environment(**env))


def test_flask_command_on_a_naive_heroku_setup(tmp_path: Path) -> None:
    """The real command, configured from the environment as in a release dyno."""
    env = {
        "DYNO": "release.1",
        "SECRET_KEY": STRONG_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'heroku.sqlite'}",
        "PROXY_COUNT": "0",
    }
    strict = flask_cli(tmp_path, "deploy", "check", **env)
    warn = flask_cli(tmp_path, "deploy", "check", "--warn", **env)
    assert strict.returncode == 1, strict.stderr
    assert warn.returncode == 0
    # On a platform the app logs JSON lines to stdout too; compare the report.
    assert check_lines(warn.stdout) == check_lines(strict.stdout)
    assert problem_names(strict.stdout) == [
        "sqlite-ephemeral",
        "proxy-count",
        "hosts",
        "mail",
        "rate-limit-storage",
        "jobs",
        "migrations",
    ]
    assert strict.stderr == ""


def test_flask_command_with_a_missing_secret_key_names_it(tmp_path: Path) -> None:
    result = flask_cli(tmp_path, "deploy", "check", DATABASE_URL="sqlite://")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("SECRET_KEY: not set")
