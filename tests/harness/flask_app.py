"""The app in-process: its test settings, clients and fixtures on every backend.

Database tests run on SQLite and, through the real servers of
``tests.harness.databases``, on PostgreSQL and MariaDB: every test that uses
``app`` runs once per backend. The fixture functions here are imported by the
``conftest.py`` of the areas that use them (app, api, security), so they are
loaded only there.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from microblog import create_app
from microblog.config import normalise_database_url
from microblog.extensions import db
from microblog.jobs.models import Task
from microblog.jobs.queue import ThreadBackend
from microblog.models import Post, Token, User, followers
from tests.harness.factories import PASSWORD

BACKENDS = ("sqlite", "postgresql", "mariadb")
SERVER_FIXTURES = {"postgresql": "postgres", "mariadb": "mariadb"}


def app_config(database_url: str, **extra: Any) -> dict[str, Any]:
    """The settings every test app starts from."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        # Rate limits have their own tests (tests/security/test_limits.py).
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        "POSTS_PER_PAGE": 5,
    }
    config.update(extra)
    return config


@contextmanager
def sqlite_app(
    tmp_path: Path, create_tables: bool = True, **overrides: Any
) -> Iterator[Flask]:
    """A fresh app on a new SQLite file, CSRF off and rate limits on, in context."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'security.sqlite'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        if create_tables:
            db.create_all()
        yield app
        wait_for_jobs(app)
        db.session.remove()
        db.engine.dispose()


def clear_tables() -> None:
    tables = (Task.__table__, Token.__table__, Post.__table__, followers)
    for table in (*tables, User.__table__):
        db.session.execute(sa.delete(table))
    db.session.commit()


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a real server does.

    Without this, requests would share the test's app context, and with it
    ``g`` (Flask-Login's cached user) and the database session.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@contextmanager
def another_instance(database_url: str) -> Iterator[Flask]:
    """One more app on the test's database, CSRF on: another instance of the
    app, as on a second dyno or Machine."""
    other = create_app(app_config(database_url, WTF_CSRF_ENABLED=True))
    other.test_client_class = IsolatedClient
    try:
        yield other
    finally:
        with other.app_context():
            db.engine.dispose()


def wait_for_jobs(app: Flask) -> None:
    """Let jobs running in the app's threads (no REDIS_URL in tests) end."""
    backend = app.extensions["jobs"]
    if isinstance(backend, ThreadBackend):
        backend.wait()


def fresh() -> None:
    """End the test's own transaction so it sees what requests committed."""
    db.session.rollback()


@dataclass
class AuthActions:
    """Sign in and out through the real forms."""

    client: FlaskClient

    def login(self, username: str, password: str = PASSWORD, **extra: Any) -> Any:
        data = {"username": username, "password": password, **extra}
        return self.client.post("/auth/login", data=data)

    def logout(self) -> Any:
        return self.client.post("/auth/logout")


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(app: Flask) -> Iterator[QueryLog]:
    """Record every SQL statement the app's engine runs inside the block."""
    log = QueryLog()
    engine = db.engine

    def record(*args: Any) -> None:
        log.statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: Any) -> str:
    """A migrated, empty database on each backend, shared by the session."""
    backend = request.param
    if backend == "sqlite":
        path = Path(tmp_path_factory.mktemp("sqlite")) / "test.sqlite"
        url = f"sqlite:///{path}"
    else:
        server = request.getfixturevalue(SERVER_FIXTURES[backend])
        url = normalise_database_url(server.new_database())
    app = create_app(app_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app on one backend, inside an app context, emptied after the test."""
    application = create_app(app_config(database_url))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        wait_for_jobs(application)
        db.session.rollback()
        clear_tables()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def first(app: Flask, database_url: str) -> Iterator[Flask]:
    """An instance of the app on the test's database, beside ``second``."""
    with another_instance(database_url) as made:
        yield made


@pytest.fixture
def second(app: Flask, database_url: str) -> Iterator[Flask]:
    """Another instance, on the same database as ``first``."""
    with another_instance(database_url) as made:
        yield made
