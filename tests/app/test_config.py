"""Configuration comes from the environment and is refused in one line when bad."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from microblog.config import (
    SETTINGS,
    ConfigError,
    load_config,
    markdown_table,
    normalise_database_url,
    server_settings,
)
from microblog.config_values import Context
from tests.harness.paths import ROOT
from tests.harness.processes import run_program

GOOD_KEY = "k" * 40


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


def test_pool_settings_are_small_by_default_and_never_ping() -> None:
    options = config_for(DATABASE_URL="postgres://u:p@h/d")["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 5
    assert options["max_overflow"] == 2
    assert options["pool_recycle"] <= 600
    # A ping per checkout is a round trip per request; a dropped connection
    # is a 503 instead (tests/resilience/test_database_restart.py).
    assert options["pool_pre_ping"] is False


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
        ({"API_TOKEN_LIFETIME": "10"}, "API_TOKEN_LIFETIME: must be between 60 and"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY: must be between 1 and 64"),
        (
            {"FORWARDED_ALLOW_IPS": "10.0.0.1/8"},
            "FORWARDED_ALLOW_IPS: '10.0.0.1/8' is not an IP address, network or",
        ),
        (
            {"MAIL_SERVER": "smtp.example.com", "MAIL_DEFAULT_SENDER": "me"},
            "MAIL_DEFAULT_SENDER: 'me' is not an e-mail address",
        ),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"SECRET_KEY": GOOD_KEY, "DATABASE_URL": "postgres://h/d", **env})


def test_every_bad_variable_is_reported_at_once_one_line_each() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config({"PORT": "eighty", "LOG_FORMAT": "xml", "DB_POOL_SIZE": "0"})
    assert str(refused.value).splitlines() == [
        "DB_POOL_SIZE: must be between 1 and 100, got 0",
        "SECRET_KEY: not set; generate one with: python -c "
        "'import secrets; print(secrets.token_hex(32))'",
        "PORT: expected a whole number, got 'eighty'",
        "LOG_FORMAT: expected one of text, json, got 'xml'",
    ]


def test_api_token_lifetime_is_a_setting_read_at_start_up() -> None:
    assert config_for()["API_TOKEN_LIFETIME"] == 24 * 3600
    assert config_for(API_TOKEN_LIFETIME="600")["API_TOKEN_LIFETIME"] == 600


def test_gunicorn_takes_its_settings_from_the_same_table() -> None:
    server = server_settings(
        {
            "SECRET_KEY": GOOD_KEY,
            "DATABASE_URL": "postgres://u:p@h/d",
            "PORT": "8123",
            "WEB_CONCURRENCY": "3",
            "DB_POOL_SIZE": "4",
            "FORWARDED_ALLOW_IPS": "10.0.0.0/8, *",
            "LOG_LEVEL": "warning",
        }
    )
    assert (server.port, server.workers, server.database_connections) == (8123, 3, 6)
    assert server.forwarded_allow_ips == "10.0.0.0/8,*"
    assert (server.log_level, server.log_format) == ("WARNING", "text")
    sqlite = server_settings({"SECRET_KEY": GOOD_KEY, "DYNO": "web.1"})
    assert (sqlite.database_connections, sqlite.log_format) == (None, "json")


def test_gunicorn_refuses_every_bad_variable_before_it_serves() -> None:
    with pytest.raises(ConfigError) as refused:
        server_settings({"SECRET_KEY": "short", "PORT": "0"})
    assert [line.split(":")[0] for line in str(refused.value).splitlines()] == [
        "SECRET_KEY",
        "PORT",
    ]


def test_each_setting_is_declared_with_a_meaning_and_a_valid_default() -> None:
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    context = Context(platform=None, lenient=False, instance_path="/tmp/inst")
    for setting in SETTINGS:
        assert setting.meaning.endswith("."), setting.name
        assert "|" not in setting.meaning + setting.default_shown, setting.name
        # Either a default text that the setting itself accepts, or words for
        # what applies while it is unset.
        assert (setting.default is None) != (setting.default_shown == ""), setting.name
        if setting.default is not None:
            setting.kind.parse(setting.default, context)


def docs_holding_the_settings_table() -> list[Path]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [page for page in pages if SETTINGS_TABLE_BEGINS in page.read_text()]


SETTINGS_TABLE_BEGINS = (
    "<!-- begin settings table: python -m microblog.config --markdown -->\n"
)
SETTINGS_TABLE_ENDS = "<!-- end settings table -->\n"


def test_the_docs_settings_table_is_the_one_the_table_prints() -> None:
    holders = docs_holding_the_settings_table()
    assert len(holders) == 1, holders
    page = holders[0].read_text()
    table = page.split(SETTINGS_TABLE_BEGINS, 1)[1].split(SETTINGS_TABLE_ENDS, 1)[0]
    assert table == markdown_table(), (
        f"{holders[0].name}: paste the output of python -m microblog.config --markdown"
    )


def test_the_settings_table_command_prints_it() -> None:
    command = [sys.executable, "-m", "microblog.config", "--markdown"]
    result = run_program(command, {"PYTHONPATH": str(ROOT), "FLASK_SKIP_DOTENV": "1"})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == markdown_table()


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
    env = {"PYTHONPATH": str(ROOT), "FLASK_SKIP_DOTENV": "1", **env}
    return run_program([sys.executable, "-c", code], env, tmp_path)


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
    env = {
        "PYTHONPATH": str(ROOT),
        "FLASK_SKIP_DOTENV": "1",
        "SECRET_KEY": GOOD_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = run_program([sys.executable, "-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "microblog"
