"""Posts through the API: timeline, publish (idempotently), read."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import Post, utcnow
from tests.api.support import error_of
from tests.harness.factories import bearer, make_post, make_user
from tests.harness.flask_app import fresh


def test_timeline_shows_own_and_followed_posts_newest_first(client):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    alice.follow(bob)
    db.session.commit()
    start = utcnow()
    make_post(alice, "alice old", timestamp=start - timedelta(minutes=3))
    make_post(bob, "bob new", timestamp=start - timedelta(minutes=1))
    make_post(carol, "carol hidden", timestamp=start)
    body = client.get("/api/posts", headers=bearer(alice)).get_json()
    assert [post["body"] for post in body["items"]] == ["bob new", "alice old"]
    assert body["items"][0]["author"] == {"id": bob.id, "username": "bob"}
    assert body["items"][0]["_links"]["author"] == f"/api/users/{bob.id}"
    assert body["items"][0]["timestamp"].endswith("+00:00")


def test_timeline_pages(client):
    alice = make_user("alice")
    for number in range(7):
        make_post(alice, f"post {number}")
    first = client.get("/api/posts", headers=bearer(alice)).get_json()
    assert len(first["items"]) == 5
    assert first["_meta"] == {"page": 1, "per_page": 5, "has_next": True}
    second = client.get(first["_links"]["next"], headers=bearer(alice)).get_json()
    assert len(second["items"]) == 2
    assert second["_links"]["prev"] == "/api/posts?page=1&per_page=5"


def test_publish_returns_201_with_location(client):
    alice = make_user("alice")
    headers = bearer(alice)
    response = client.post("/api/posts", json={"body": "  Hello  "}, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["body"] == "Hello"
    assert response.headers["Location"] == f"/api/posts/{body['id']}"
    fetched = client.get(response.headers["Location"], headers=headers)
    assert fetched.get_json() == body


def test_repeated_idempotency_key_returns_the_first_post(client):
    alice = make_user("alice")
    headers = {**bearer(alice), "Idempotency-Key": "3f9c2a"}
    first = client.post("/api/posts", json={"body": "once"}, headers=headers)
    again = client.post("/api/posts", json={"body": "once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1


def test_idempotency_key_reused_for_other_text_is_409(client):
    alice = make_user("alice")
    headers = {**bearer(alice), "Idempotency-Key": "k-1"}
    client.post("/api/posts", json={"body": "once"}, headers=headers)
    response = client.post("/api/posts", json={"body": "twice"}, headers=headers)
    assert response.status_code == 409
    assert "Idempotency-Key" in error_of(response)["message"]


def test_same_idempotency_key_of_two_users_makes_two_posts(client):
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        headers = {**bearer(user), "Idempotency-Key": "same"}
        assert (
            client.post("/api/posts", json={"body": "hi"}, headers=headers).status_code
            == 201
        )


def test_bad_idempotency_key_is_422(client):
    alice = make_user("alice")
    headers = {**bearer(alice), "Idempotency-Key": "x" * 65}
    response = client.post("/api/posts", json={"body": "hi"}, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in error_of(response)["errors"]


def test_invalid_post_bodies_are_422_naming_body(client):
    alice = make_user("alice")
    headers = bearer(alice)
    for data in ({}, {"body": ""}, {"body": "   "}, {"body": "x" * 281}, {"body": 5}):
        response = client.post("/api/posts", json=data, headers=headers)
        assert response.status_code == 422, data
        assert "body" in error_of(response)["errors"]
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0


def test_publish_needs_json_and_a_token(client):
    alice = make_user("alice")
    response = client.post("/api/posts", data={"body": "x"}, headers=bearer(alice))
    assert response.status_code == 415
    assert client.post("/api/posts", json={"body": "x"}).status_code == 401


def test_get_unknown_post_is_404(client):
    alice = make_user("alice")
    response = client.get("/api/posts/999999", headers=bearer(alice))
    assert response.status_code == 404
    error_of(response)


def test_a_users_posts_newest_first(client):
    alice, bob = make_user("alice"), make_user("bob")
    start = utcnow()
    make_post(bob, "older", timestamp=start - timedelta(minutes=1))
    make_post(bob, "newer", timestamp=start)
    make_post(alice, "not bob's")
    body = client.get(f"/api/users/{bob.id}/posts", headers=bearer(alice)).get_json()
    assert [post["body"] for post in body["items"]] == ["newer", "older"]
    assert body["_links"]["self"] == f"/api/users/{bob.id}/posts?page=1&per_page=5"
