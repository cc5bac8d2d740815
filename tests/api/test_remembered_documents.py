"""Remembered API documents (microblog/api/remembered.py): fast, and never wrong.

A user document written a moment ago is answered from memory, but only with
what this caller may see, and never after its row changed, whichever instance
changed it. Two apps on one database stand for two instances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from microblog.extensions import db
from microblog.models import Post
from tests.harness.factories import bearer, make_post, make_user

MEMORY = "remembered_api_documents"


@pytest.fixture
def people(app: Flask) -> dict[str, Any]:
    """alice and bob, each with a token; bob has one post."""
    alice, bob = make_user("alice"), make_user("bob")
    make_post(bob, "bob's first post")
    return {
        "alice": bearer(alice),
        "bob": bearer(bob),
        "alice_id": alice.id,
        "bob_id": bob.id,
    }


def document(app: Flask, user_id: int, headers: dict[str, str]) -> dict[str, Any]:
    response = app.test_client().get(f"/api/users/{user_id}", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    found: dict[str, Any] = response.get_json()
    return found


def test_a_repeated_document_is_written_once(
    first: Flask, people: dict[str, Any]
) -> None:
    answers = [document(first, people["bob_id"], people["alice"]) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["post_count"] == 1
    assert len(first.extensions[MEMORY]) == 1


def test_only_the_caller_sees_their_own_email(
    first: Flask, people: dict[str, Any]
) -> None:
    alice_id = people["alice_id"]
    own = document(first, alice_id, people["alice"])
    seen_by_bob = document(first, alice_id, people["bob"])
    again = document(first, alice_id, people["alice"])
    assert own["email"] == again["email"] == "alice@example.com"
    assert seen_by_bob.get("email") is None
    assert {k: v for k, v in own.items() if k != "email"} == {
        k: v for k, v in seen_by_bob.items() if k != "email"
    }


def bob_posts(other: Flask, people: dict[str, Any]) -> tuple[str, Any]:
    answer = other.test_client().post(
        "/api/posts", json={"body": "bob again"}, headers=people["bob"]
    )
    assert answer.status_code == 201
    return "post_count", 2


def alice_follows_bob(other: Flask, people: dict[str, Any]) -> tuple[str, Any]:
    path = f"/api/users/{people['alice_id']}/following/{people['bob_id']}"
    answer = other.test_client().post(path, headers=people["alice"])
    assert answer.status_code in (200, 201, 204)
    return "follower_count", 1


def bob_edits_his_profile(other: Flask, people: dict[str, Any]) -> tuple[str, Any]:
    answer = other.test_client().put(
        f"/api/users/{people['bob_id']}",
        json={"username": "robert", "about_me": "call me robert"},
        headers=people["bob"],
    )
    assert answer.status_code == 200
    return "username", "robert"


def bobs_post_deleted(other: Flask, people: dict[str, Any]) -> tuple[str, Any]:
    with other.app_context():
        db.session.execute(sa.delete(Post).where(Post.body == "bob's first post"))
        db.session.commit()
    return "post_count", 0


@pytest.mark.parametrize(
    "change",
    [bob_posts, alice_follows_bob, bob_edits_his_profile, bobs_post_deleted],
    ids=["post", "follow", "profile edit", "post deleted"],
)
def test_no_document_is_stale_after_a_change_on_another_instance(
    first: Flask,
    second: Flask,
    people: dict[str, Any],
    change: Callable[[Flask, dict[str, Any]], tuple[str, Any]],
) -> None:
    before = document(first, people["bob_id"], people["alice"])
    assert document(first, people["bob_id"], people["alice"]) == before
    field, value = change(second, people)
    assert before[field] != value
    assert document(first, people["bob_id"], people["alice"])[field] == value
