"""Health and readiness probes, request ids and logs."""

from __future__ import annotations

import json
import logging

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient

from microblog import create_app
from microblog.extensions import db
from microblog.ops.logs import JsonFormatter, RequestIdFilter
from tests.harness.flask_app import app_config


def test_healthz_answers_ok_without_redirecting(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_at_the_latest_migration(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.data) == (200, b"ready\n")


def test_readyz_is_503_when_migrations_are_pending(tmp_path) -> None:
    app = create_app(app_config(f"sqlite:///{tmp_path}/empty.db"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert b"database unavailable or not migrated" in response.data
    with app.app_context():
        flask_migrate.upgrade()
        migrate = app.extensions["migrate"]
        config = migrate.migrate.get_config(migrate.directory)
        head = ScriptDirectory.from_config(config).get_current_head()
        flask_migrate.downgrade(revision="base")
    # Asked outside the block: a request inside it would share the block's app
    # context, whose session keeps its connection checked out until the block
    # ends, after dispose() has closed only the connections in the pool. That
    # one would be left to the garbage collector (Python 3.13 warns).
    response = app.test_client().get("/readyz")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 503
    expected = f"migrations pending: database at none, code at {head}\n"
    assert response.data == expected.encode()


# Nothing listens on port 1, so every connection is refused at once.
UNREACHABLE_DATABASE = "postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2"


def unreachable_database_client() -> FlaskClient:
    """A test client of an app whose database cannot be reached."""
    return create_app(app_config(UNREACHABLE_DATABASE)).test_client()


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    response = unreachable_database_client().get("/readyz")
    assert response.status_code == 503
    assert b"database unavailable" in response.data


def test_pages_are_503_not_500_when_the_database_is_unreachable() -> None:
    client = unreachable_database_client()
    response = client.get("/explore")
    assert response.status_code == 503
    assert b"The database is unavailable" in response.data
    assert client.get("/healthz").status_code == 200


def test_request_id_is_taken_from_the_router_and_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    fly = client.get("/healthz", headers={"Fly-Request-Id": "01FLY"})
    assert fly.headers["X-Request-Id"] == "01FLY"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 201, "semi;colon"])
def test_unsafe_request_ids_are_replaced(client: FlaskClient, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": bad})
    generated = response.headers["X-Request-Id"]
    assert len(generated) == 32 and generated.isalnum()


def test_json_log_lines_carry_the_request_id(app: Flask) -> None:
    record = logging.LogRecord(
        "microblog.x", logging.INFO, "f", 1, "hi %s", ("you",), None
    )
    with app.test_request_context(headers={"X-Request-Id": "req-7"}):
        from microblog.ops.logs import assign_request_id

        assign_request_id()
        RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hi you"
    assert entry["request_id"] == "req-7"
    assert entry["level"] == "INFO"


def test_json_log_lines_keep_extra_fields_and_the_stack() -> None:
    record = logging.getLogger("microblog.x").makeRecord(
        "microblog.x",
        logging.WARNING,
        "f",
        1,
        "slow",
        (),
        None,
        extra={"duration_ms": 812},
        sinfo="Stack (most recent call last):",
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["duration_ms"] == 812
    assert entry["stack_info"].startswith("Stack")
    assert entry["request_id"] == "-"


@pytest.mark.parametrize(
    ("accept", "expected_type"),
    [("text/html", "text/html"), ("application/json", "application/json")],
)
def test_an_unexpected_error_is_a_500_page_or_json(
    app: Flask, accept: str, expected_type: str
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom() -> str:
        raise RuntimeError("bug")

    app.add_url_rule("/boom", view_func=boom)
    response = app.test_client().get("/boom", headers={"Accept": accept})
    assert response.status_code == 500
    assert response.mimetype == expected_type
