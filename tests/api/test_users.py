"""``/api/users``: list, read, register, edit own account."""

from __future__ import annotations

import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from tests.api.support import error_of
from tests.harness.factories import PASSWORD, bearer, make_post, make_user
from tests.harness.flask_app import fresh

NEW_USER = {"username": "carol", "email": "Carol@Example.com", "password": PASSWORD}


def test_list_users_pages_with_meta_and_links(client):
    alice = make_user("alice")
    for number in range(6):
        make_user(f"user{number}")
    first = client.get("/api/users?per_page=4", headers=bearer(alice)).get_json()
    assert [item["username"] for item in first["items"]] == [
        "alice",
        "user0",
        "user1",
        "user2",
    ]
    assert first["_meta"] == {"page": 1, "per_page": 4, "has_next": True}
    assert first["_links"]["self"] == "/api/users?page=1&per_page=4"
    assert first["_links"]["prev"] is None
    second = client.get(first["_links"]["next"], headers=bearer(alice)).get_json()
    assert [item["username"] for item in second["items"]] == ["user3", "user4", "user5"]
    assert second["_meta"]["has_next"] is False
    assert second["_links"]["next"] is None
    assert second["_links"]["prev"] == "/api/users?page=1&per_page=4"


def test_page_size_defaults_to_posts_per_page(client):
    alice = make_user("alice")
    body = client.get("/api/users", headers=bearer(alice)).get_json()
    assert body["_meta"]["per_page"] == 5


def test_bad_page_arguments_are_422_naming_the_field(client):
    alice = make_user("alice")
    for query, field in [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=1001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
    ]:
        response = client.get(f"/api/users?{query}", headers=bearer(alice))
        assert response.status_code == 422, query
        body = error_of(response)
        assert field in body["errors"], body
        assert body["message"].startswith(f"{field}:")


def test_get_user_shows_counts_links_and_utc_timestamps(client):
    alice, bob = make_user("alice"), make_user("bob")
    bob.follow(alice)
    make_post(alice, "one")
    make_post(alice, "two")
    db.session.commit()
    body = client.get(f"/api/users/{alice.id}", headers=bearer(bob)).get_json()
    assert body["username"] == "alice"
    assert (body["post_count"], body["follower_count"], body["following_count"]) == (
        2,
        1,
        0,
    )
    assert body["_links"]["self"] == f"/api/users/{alice.id}"
    assert body["_links"]["followers"] == f"/api/users/{alice.id}/followers"
    assert body["_links"]["posts"] == f"/api/users/{alice.id}/posts"
    assert body["_links"]["avatar"].startswith("/avatar/")
    assert body["last_seen"].endswith("+00:00")
    assert body["created_at"].endswith("+00:00")


def test_email_is_shown_only_to_its_owner(client):
    alice, bob = make_user("alice"), make_user("bob")
    own = client.get(f"/api/users/{alice.id}", headers=bearer(alice)).get_json()
    other = client.get(f"/api/users/{alice.id}", headers=bearer(bob)).get_json()
    assert own["email"] == "alice@example.com"
    assert "email" not in other


def test_unknown_user_is_404(client):
    alice = make_user("alice")
    for path in ("/api/users/999999", "/api/users/99999999999"):
        response = client.get(path, headers=bearer(alice))
        assert response.status_code == 404
        error_of(response)


def test_register_creates_user_with_location(client):
    response = client.post("/api/users", json={**NEW_USER, "about_me": "Hi"})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == body["_links"]["self"]
    assert body["email"] == "carol@example.com"
    assert body["about_me"] == "Hi"
    assert "password" not in body
    fresh()
    carol = db.session.scalar(sa.select(User).where(User.username == "carol"))
    assert carol is not None and carol.check_password(PASSWORD)
    assert client.post("/api/tokens", auth=("carol", PASSWORD)).status_code == 200


def test_register_with_a_taken_name_or_address_is_409_naming_it(client):
    make_user("Carol", email="carol@example.com")
    taken_name = {**NEW_USER, "email": "other@example.com"}
    taken_email = {**NEW_USER, "username": "someone"}
    for data, field in [(taken_name, "username"), (taken_email, "email")]:
        response = client.post("/api/users", json=data)
        assert response.status_code == 409
        assert field in error_of(response)["errors"]


def test_register_refuses_a_username_with_a_trailing_newline(client):
    make_user("carol")
    data = {**NEW_USER, "username": "carol\n", "email": "other@example.com"}
    response = client.post("/api/users", json=data)
    assert response.status_code == 422
    assert set(error_of(response)["errors"]) == {"username"}


def test_register_validation_errors_name_every_field(client):
    data = {"username": "x!", "email": "not-an-address", "password": "short"}
    response = client.post("/api/users", json=data)
    assert response.status_code == 422
    body = error_of(response)
    assert set(body["errors"]) == {"username", "password"}
    response = client.post("/api/users", json={**NEW_USER, "email": "not-an-address"})
    assert response.status_code == 422
    assert set(error_of(response)["errors"]) == {"email"}


def test_register_requires_fields_and_refuses_unknown_ones(client):
    response = client.post("/api/users", json={"username": "carol", "admin": True})
    assert response.status_code == 422
    errors = error_of(response)["errors"]
    assert set(errors) == {"email", "password", "admin"}


def test_body_that_is_not_an_object_is_422(client):
    response = client.post("/api/users", json=["carol"])
    assert response.status_code == 422
    assert "body" in error_of(response)["errors"]


def test_text_no_database_stores_is_422(client):
    response = client.post("/api/users", json={**NEW_USER, "about_me": "a\x00b"})
    assert response.status_code == 422
    assert "about_me" in error_of(response)["errors"]


def test_body_must_be_json(client):
    response = client.post("/api/users", data=NEW_USER)
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


def test_malformed_json_is_400(client):
    for raw in ("{", "", "{'a': 1}"):
        response = client.post(
            "/api/users", data=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert error_of(response)["message"]


def test_too_large_body_is_413(client):
    big = {**NEW_USER, "about_me": "x" * (70 * 1024)}
    response = client.post("/api/users", json=big)
    assert response.status_code == 413
    error_of(response)


def test_update_own_account(client):
    alice = make_user("alice")
    data = {"username": "alicia", "email": "Alicia@Example.com", "about_me": "New"}
    response = client.put(f"/api/users/{alice.id}", json=data, headers=bearer(alice))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["username"], body["email"], body["about_me"]) == (
        "alicia",
        "alicia@example.com",
        "New",
    )
    fresh()
    assert db.session.get(User, alice.id).username == "alicia"


def test_update_keeps_fields_not_sent(client):
    alice = make_user("alice", about_me="Kept")
    response = client.put(
        f"/api/users/{alice.id}", json={"username": "alicia"}, headers=bearer(alice)
    )
    assert response.get_json()["about_me"] == "Kept"


def test_update_to_own_name_in_other_case_is_allowed(client):
    alice = make_user("alice")
    response = client.put(
        f"/api/users/{alice.id}", json={"username": "Alice"}, headers=bearer(alice)
    )
    assert response.status_code == 200


def test_update_someone_else_is_403_and_unknown_is_404(client):
    alice, bob = make_user("alice"), make_user("bob")
    headers = bearer(alice)
    response = client.put(
        f"/api/users/{bob.id}", json={"about_me": "x"}, headers=headers
    )
    assert response.status_code == 403
    error_of(response)
    response = client.put("/api/users/999999", json={"about_me": "x"}, headers=headers)
    assert response.status_code == 404
    fresh()
    assert db.session.get(User, bob.id).about_me is None


def test_update_to_a_taken_name_is_409(client):
    alice = make_user("alice")
    make_user("bob")
    response = client.put(
        f"/api/users/{alice.id}", json={"username": "BOB"}, headers=bearer(alice)
    )
    assert response.status_code == 409
    assert "username" in error_of(response)["errors"]


def test_update_needs_a_token(client):
    alice = make_user("alice")
    response = client.put(f"/api/users/{alice.id}", json={"about_me": "x"})
    assert response.status_code == 401


def test_unsupported_method_is_405_json_with_allow(client):
    alice = make_user("alice")
    response = client.patch(f"/api/users/{alice.id}", headers=bearer(alice))
    assert response.status_code == 405
    assert "PUT" in response.headers["Allow"]
    assert error_of(response)["error"] == "Method Not Allowed"


def test_unknown_api_path_is_404_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    error_of(response)


def test_an_address_that_grows_past_the_limit_when_normalised_is_422(client):
    # "İ" lower-cases to two characters: 120 characters in, 122 once normalised.
    address = "İİ" + "a" * 106 + "@example.com"
    assert (len(address), len(address.lower())) == (120, 122)
    response = client.post("/api/users", json={**NEW_USER, "email": address})
    assert response.status_code == 422
    assert error_of(response)["errors"] == {
        "email": ["Field cannot be longer than 120 characters."]
    }
