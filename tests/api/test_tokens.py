"""Tokens: HTTP Basic gets one, it is stored hashed, it expires, it can be revoked."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import Token, utcnow
from tests.api.support import error_of
from tests.harness.factories import PASSWORD, bearer, make_user
from tests.harness.flask_app import fresh


def test_basic_credentials_get_a_token_that_is_stored_only_hashed(client):
    make_user("alice")
    response = client.post("/api/tokens", auth=("alice", PASSWORD))
    assert response.status_code == 200
    secret = response.get_json()["token"]
    assert len(secret) >= 43
    fresh()
    stored = db.session.scalars(sa.select(Token.token_hash)).all()
    assert stored == [Token.hash(secret)]
    assert secret not in stored


def test_token_expires_a_day_later_in_utc_iso_8601(client):
    make_user("alice")
    before = utcnow()
    body = client.post("/api/tokens", auth=("alice", PASSWORD)).get_json()
    expires = body["expires_at"]
    assert expires.endswith("+00:00")
    delta = datetime.fromisoformat(expires) - before
    assert timedelta(hours=23, minutes=59) < delta <= timedelta(hours=24, seconds=5)


def test_username_is_matched_without_regard_to_case(client):
    make_user("Alice")
    assert client.post("/api/tokens", auth=("alice", PASSWORD)).status_code == 200


def test_wrong_password_unknown_user_and_no_credentials_are_401_with_challenge(
    client,
):
    make_user("alice")
    for auth in (("alice", "wrong-password"), ("nobody", PASSWORD), None):
        response = client.post("/api/tokens", auth=auth)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        error_of(response)
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token)) == 0


def test_a_token_authenticates_requests(client):
    alice = make_user("alice")
    response = client.get(f"/api/users/{alice.id}", headers=bearer(alice))
    assert response.status_code == 200


def test_missing_or_bad_token_is_401_with_bearer_challenge(client):
    alice = make_user("alice")
    cases = [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Token abc"},
        {"Authorization": f"Basic {alice.id}"},
    ]
    for headers in cases:
        response = client.get("/api/posts", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert error_of(response)["error"] == "Unauthorized"
    bad = client.get("/api/posts", headers={"Authorization": "Bearer nope"})
    assert "invalid_token" in bad.headers["WWW-Authenticate"]


def test_expired_token_is_refused(client):
    alice = make_user("alice")
    headers = bearer(alice)
    db.session.execute(sa.update(Token).values(expires_at=utcnow()))
    db.session.commit()
    assert client.get("/api/posts", headers=headers).status_code == 401


def test_token_lifetime_is_configurable(app, client):
    app.config["API_TOKEN_LIFETIME"] = 60
    make_user("alice")
    body = client.post("/api/tokens", auth=("alice", PASSWORD)).get_json()
    delta = datetime.fromisoformat(body["expires_at"]) - utcnow()
    assert timedelta(seconds=50) < delta <= timedelta(seconds=60)


def test_a_new_token_clears_the_users_expired_ones(client):
    alice = make_user("alice")
    bearer(alice)
    db.session.execute(sa.update(Token).values(expires_at=utcnow()))
    db.session.commit()
    client.post("/api/tokens", auth=("alice", PASSWORD))
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Token)) == 1


def test_delete_revokes_only_the_token_used(client):
    alice = make_user("alice")
    first, second = bearer(alice), bearer(alice)
    response = client.delete("/api/tokens", headers=first)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get("/api/posts", headers=first).status_code == 401
    assert client.get("/api/posts", headers=second).status_code == 200


def test_delete_without_a_token_is_401(client):
    response = client.delete("/api/tokens")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_ending_all_sessions_revokes_every_token(client):
    alice = make_user("alice")
    headers = bearer(alice)
    alice.set_password("a-brand-new-password")
    db.session.commit()
    assert client.get("/api/posts", headers=headers).status_code == 401


def test_a_session_cookie_never_authenticates_the_api(client, auth):
    alice = make_user("alice")
    assert auth.login("alice").status_code == 302
    assert client.get("/").status_code == 200  # signed in for the HTML pages
    assert client.post("/api/posts", json={"body": "csrf?"}).status_code == 401
    assert client.get("/api/posts").status_code == 401
    assert (
        client.put(f"/api/users/{alice.id}", json={"about_me": "x"}).status_code == 401
    )
    assert client.delete("/api/tokens").status_code == 401


def test_credentials_no_database_could_store_are_just_wrong(client):
    make_user("alice")
    for username in ("ali\x00ce", "ålice", "alice\n", "a" * 300):
        response = client.post("/api/tokens", auth=(username, PASSWORD))
        assert response.status_code == 401, repr(username)
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
