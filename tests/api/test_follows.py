"""Followers, following, follow and unfollow through the API."""

from __future__ import annotations

from microblog.extensions import db
from tests.api.support import error_of
from tests.harness.factories import bearer, make_user


def test_follow_then_lists_show_it(client):
    alice, bob = make_user("alice"), make_user("bob")
    headers = bearer(alice)
    response = client.post(f"/api/users/{alice.id}/following/{bob.id}", headers=headers)
    assert response.status_code == 204
    following = client.get(f"/api/users/{alice.id}/following", headers=headers)
    assert [u["username"] for u in following.get_json()["items"]] == ["bob"]
    followers = client.get(f"/api/users/{bob.id}/followers", headers=headers)
    items = followers.get_json()["items"]
    assert [u["username"] for u in items] == ["alice"]
    assert items[0]["following_count"] == 1


def test_follow_twice_changes_nothing(client):
    alice, bob = make_user("alice"), make_user("bob")
    headers = bearer(alice)
    path = f"/api/users/{alice.id}/following/{bob.id}"
    assert client.post(path, headers=headers).status_code == 204
    assert client.post(path, headers=headers).status_code == 204
    body = client.get(f"/api/users/{bob.id}", headers=headers).get_json()
    assert body["follower_count"] == 1


def test_unfollow(client):
    alice, bob = make_user("alice"), make_user("bob")
    alice.follow(bob)
    db.session.commit()
    headers = bearer(alice)
    path = f"/api/users/{alice.id}/following/{bob.id}"
    assert client.delete(path, headers=headers).status_code == 204
    assert client.delete(path, headers=headers).status_code == 204
    following = client.get(f"/api/users/{alice.id}/following", headers=headers)
    assert following.get_json()["items"] == []


def test_follow_yourself_is_422(client):
    alice = make_user("alice")
    response = client.post(
        f"/api/users/{alice.id}/following/{alice.id}", headers=bearer(alice)
    )
    assert response.status_code == 422
    assert "target_id" in error_of(response)["errors"]


def test_follow_for_someone_else_is_403(client):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    headers = bearer(alice)
    for method in (client.post, client.delete):
        response = method(f"/api/users/{bob.id}/following/{carol.id}", headers=headers)
        assert response.status_code == 403
        error_of(response)


def test_follow_unknown_users_is_404(client):
    alice = make_user("alice")
    headers = bearer(alice)
    for path in (
        f"/api/users/{alice.id}/following/999999",
        f"/api/users/999999/following/{alice.id}",
    ):
        assert client.post(path, headers=headers).status_code == 404
        assert client.delete(path, headers=headers).status_code == 404


def test_lists_of_unknown_user_are_404(client):
    alice = make_user("alice")
    for kind in ("followers", "following", "posts"):
        response = client.get(f"/api/users/999999/{kind}", headers=bearer(alice))
        assert response.status_code == 404


def test_follow_needs_a_token(client):
    alice, bob = make_user("alice"), make_user("bob")
    path = f"/api/users/{alice.id}/following/{bob.id}"
    assert client.post(path).status_code == 401
    assert client.delete(path).status_code == 401
    assert client.get(f"/api/users/{alice.id}/followers").status_code == 401


def test_follower_list_pages_carry_user_id_in_links(client):
    alice = make_user("alice")
    for number in range(3):
        fan = make_user(f"fan{number}")
        fan.follow(alice)
    db.session.commit()
    body = client.get(
        f"/api/users/{alice.id}/followers?per_page=2", headers=bearer(alice)
    ).get_json()
    assert (
        body["_links"]["next"] == f"/api/users/{alice.id}/followers?page=2&per_page=2"
    )
    assert len(body["items"]) == 2
