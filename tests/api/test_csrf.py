"""CSRF protection stays on for forms and does not apply to token requests."""

from __future__ import annotations

import pytest

from microblog import create_app
from microblog.extensions import db
from tests.harness.factories import PASSWORD, bearer, make_user
from tests.harness.flask_app import IsolatedClient, app_config


@pytest.fixture
def csrf_app(app):
    """The same database, with CSRF protection switched on as in production."""
    config = app_config(app.config["SQLALCHEMY_DATABASE_URI"], WTF_CSRF_ENABLED=True)
    protected = create_app(config)
    protected.test_client_class = IsolatedClient
    with protected.app_context():
        yield protected
        db.session.remove()
        db.engine.dispose()


def test_token_requests_need_no_csrf_token(csrf_app):
    client = csrf_app.test_client()
    alice = make_user("alice")
    response = client.post("/api/posts", json={"body": "hi"}, headers=bearer(alice))
    assert response.status_code == 201
    assert client.post("/api/tokens", auth=("alice", PASSWORD)).status_code == 200
    new_user = {"username": "bob", "email": "bob@example.com", "password": PASSWORD}
    assert client.post("/api/users", json=new_user).status_code == 201


def test_forms_still_need_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    make_user("alice")
    response = client.post(
        "/auth/login", data={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 400
