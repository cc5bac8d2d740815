"""Configuration comes from the environment and is refused in one line when bad."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from microblog.config import ConfigError, load_config, normalise_database_url

GOOD_KEY = "k" * 40
ROOT = Path(__file__).resolve().parent.parent


def config_for(**env: str) -> dict[str, Any]:
    return load_config({"SECRET_KEY": GOOD_KEY, **env}, instance_path="/tmp/inst")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg2://u:p@db:5432/app"),
        ("postgresql://u:p@db/app", "postgresql+psycopg2://u:p@db/app"),
        (
            "postgres://u:p@db/app?sslmode=disable",
            "postgresql+psycopg2://u:p@db/app?sslmode=disable",
        ),
        ("mysql://u:p@db/app", "mysql+pymysql://u:p@db/app?charset=utf8mb4"),
        ("mariadb://u:p@db/app", "mysql+pymysql://u:p@db/app?charset=utf8mb4"),
        ("sqlite:////data/app.db", "sqlite:////data/app.db"),
    ],
)
def test_platform_database_urls_are_mapped_to_installed_drivers(
    given: str, expected: str
) -> None:
    assert normalise_database_url(given) == expected


def test_heroku_postgres_gets_sslmode_require_unless_the_url_says_otherwise() -> None:
    assert normalise_database_url("postgres://u:p@h/d", heroku=True).endswith(
        "?sslmode=require"
    )
    kept = normalise_database_url("postgres://u:p@h/d?sslmode=disable", heroku=True)
    assert kept.endswith("?sslmode=disable")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://x/y", "DATABASE_URL: unsupported scheme 'foo'"),
        ("not a url", "DATABASE_URL: not a database URL"),
        ("postgres://u:p@host", "DATABASE_URL: names no database"),
    ],
)
def test_bad_database_url_is_refused_naming_the_variable(
    url: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_for(DATABASE_URL=url)


def test_default_database_is_sqlite_in_the_instance_folder() -> None:
    config = config_for()
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/inst/microblog.sqlite"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {}


def test_pool_settings_are_small_by_default_and_pre_ping_is_on() -> None:
    options = config_for(DATABASE_URL="postgres://u:p@h/d")["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 5
    assert options["max_overflow"] == 2
    assert options["pool_recycle"] <= 600
    assert options["pool_pre_ping"] is True


def test_pool_settings_come_from_the_environment() -> None:
    options = config_for(
        DATABASE_URL="postgres://u:p@h/d",
        DB_POOL_SIZE="3",
        DB_MAX_OVERFLOW="0",
        DB_POOL_RECYCLE="120",
    )["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"]) == (3, 0)
    assert options["pool_recycle"] == 120


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY: not set"),
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY: is a placeholder"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY: must be at least 32 bytes"),
        ({"PORT": "eighty"}, "PORT: expected a whole number, got 'eighty'"),
        ({"PORT": "70000"}, "PORT: must be between 1 and 65535"),
        ({"DB_POOL_RECYCLE": "3600"}, "DB_POOL_RECYCLE: must be between 1 and 600"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL: expected one of"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: expected one of text, json"),
        ({"FLASK_DEBUG": "maybe"}, "FLASK_DEBUG: expected true or false"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL: must start with redis://"),
        ({"POSTS_PER_PAGE": "0"}, "POSTS_PER_PAGE: must be between 1 and 100"),
        ({"TRUSTED_HOSTS": "a.com, b/c"}, "TRUSTED_HOSTS: 'b/c' is not a host name"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "postgres://h/d", **env})


def test_development_mode_runs_without_a_secret_key() -> None:
    config = load_config({"FLASK_DEBUG": "1"})
    assert config["DEBUG"] is True
    assert len(config["SECRET_KEY"]) >= 32


def test_platform_defaults_trust_one_proxy_and_log_json() -> None:
    heroku = config_for(DYNO="web.1")
    assert (heroku["PROXY_COUNT"], heroku["LOG_FORMAT"]) == (1, "json")
    local = config_for()
    assert (local["PROXY_COUNT"], local["LOG_FORMAT"]) == (0, "text")


def run_app_factory(
    env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Start the app as gunicorn would, in a clean environment without a .env."""
    code = "from microblog import create_app; create_app()"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "FLASK_SKIP_DOTENV": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_start_without_secret_key_refuses_in_one_line(
    tmp_path: Path,
) -> None:
    result = run_app_factory({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "SECRET_KEY: not set; generate one with: python -c "
        "'import secrets; print(secrets.token_hex(32))'"
    ]


def test_unsupported_database_scheme_refuses_in_one_line(tmp_path: Path) -> None:
    result = run_app_factory(
        {"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "foo://x/y"}, tmp_path
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "DATABASE_URL: unsupported scheme 'foo' (use postgresql, mysql or sqlite)"
    )


def test_tutorial_module_attribute_builds_the_app_lazily(tmp_path: Path) -> None:
    code = (
        "import microblog; assert 'app' not in vars(microblog); "
        "print(microblog.app.name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(ROOT),
            "FLASK_SKIP_DOTENV": "1",
            "SECRET_KEY": GOOD_KEY,
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "microblog"
