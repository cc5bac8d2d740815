"""``flask jobs``: the operator's answers when there is nothing to do or no queue."""

from __future__ import annotations

import pytest
from flask import Flask

from microblog import create_app
from tests.harness.databases import RedisServer
from tests.harness.flask_app import app_config


@pytest.fixture
def queued_app(redis: RedisServer) -> Flask:
    return create_app(app_config("sqlite://", REDIS_URL=redis.url))


def test_failed_and_retry_need_redis() -> None:
    runner = create_app(app_config("sqlite://")).test_cli_runner()
    for args in (["jobs", "failed"], ["jobs", "retry", "--all"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert "REDIS_URL is not set" in result.output


def test_work_without_redis_in_burst_mode_has_nothing_to_do() -> None:
    runner = create_app(app_config("sqlite://")).test_cli_runner()
    result = runner.invoke(args=["jobs", "work", "--burst"])
    assert result.exit_code == 0, result.output


def test_an_empty_failed_registry(queued_app: Flask) -> None:
    result = queued_app.test_cli_runner().invoke(args=["jobs", "failed"])
    assert result.exit_code == 0
    assert result.output.endswith("0 failed job(s)\n")


def test_retry_names_what_to_retry(queued_app: Flask) -> None:
    runner = queued_app.test_cli_runner()
    assert runner.invoke(args=["jobs", "retry"]).exit_code == 2
    unknown = runner.invoke(args=["jobs", "retry", "0" * 32])
    assert unknown.exit_code == 1
    assert f"{'0' * 32}: not a failed job" in unknown.output
