"""With Redis down, pages and the API still answer, say why, and store nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from microblog import create_app
from microblog.extensions import db
from microblog.jobs.models import Task
from microblog.jobs.queue import RedisBackend
from tests.api.support import error_of
from tests.harness.factories import bearer, make_user
from tests.harness.flask_app import (
    AuthActions,
    IsolatedClient,
    app_config,
    clear_tables,
)
from tests.harness.processes import free_port

UNAVAILABLE = "our background service is unavailable"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app with REDIS_URL on a port where nothing listens."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    application = create_app(app_config(database_url, REDIS_URL=dead_redis))
    application.test_client_class = IsolatedClient
    assert isinstance(application.extensions["jobs"], RedisBackend)
    with application.app_context():
        yield application
        db.session.rollback()
        clear_tables()
        db.session.remove()
        db.engine.dispose()


def task_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Task)) or 0


def test_reset_request_says_the_service_is_down(client: FlaskClient) -> None:
    make_user("alice", "alice@example.com")
    response = client.post(
        "/auth/reset_password_request", data={"email": "alice@example.com"}
    )
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert task_count() == 0


def test_export_from_the_profile_says_the_service_is_down(
    client: FlaskClient, auth: AuthActions
) -> None:
    make_user("alice")
    auth.login("alice")
    page = client.post("/export_posts", follow_redirects=True)
    assert page.status_code == 200
    assert UNAVAILABLE in page.get_data(as_text=True)
    assert task_count() == 0


def test_export_through_the_api_is_503_and_stores_nothing(client: FlaskClient) -> None:
    alice = make_user("alice")
    response = client.post("/api/exports", headers=bearer(alice))
    assert response.status_code == 503
    assert "nothing was started" in error_of(response)["message"]
    assert task_count() == 0
