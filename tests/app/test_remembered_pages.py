"""Remembered pages (microblog/web/remembered_pages.py): fast, and never wrong.

A page rendered a moment ago is served from memory, but only to the same
reader, with this response's own CSRF token and idempotency key, and never
after its data changed, whichever instance changed it. Two apps on one
database stand for two instances; CSRF protection is on, as in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask, template_rendered
from flask.testing import FlaskClient

from microblog.extensions import db
from microblog.models import Post, User
from tests.harness.factories import PASSWORD, make_post, make_user

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
IDEMPOTENCY_KEY = re.compile(r'name="idempotency_key" type="hidden" value="([^"]+)"')
MARKER = re.compile(r"fresh[0-9a-f]{32}")


@contextmanager
def renders(app: Flask) -> Iterator[list[str]]:
    """The templates ``app`` renders inside the block (a remembered page: none)."""
    names: list[str] = []

    def record(sender: Flask, template: object, **extra: object) -> None:
        names.append(str(getattr(template, "name", "")))

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def text(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def csrf_token(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def idempotency_key(page: str) -> str:
    found = IDEMPOTENCY_KEY.search(page)
    assert found, "no idempotency key on the page"
    return found.group(1)


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_token(text(client, "/auth/login"))
    answer = client.post(
        "/auth/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302
    return client


def submit_form(client: FlaskClient, path: str, page: str, **fields: str) -> int:
    """Send a form of ``page`` with the page's own CSRF token; the status."""
    data = {"csrf_token": csrf_token(page), **fields}
    return int(client.post(path, data=data).status_code)


@pytest.fixture
def people(app: Flask) -> dict[str, User]:
    """alice follows bob; carol is followed by no one."""
    alice, bob, carol = (make_user(name) for name in ("alice", "bob", "carol"))
    alice.follow(bob)
    db.session.commit()
    make_post(bob, "bob's first post")
    make_post(carol, "carol's first post")
    return {"alice": alice, "bob": bob, "carol": carol}


@pytest.mark.usefixtures("people")
def test_a_repeated_page_comes_from_memory_with_its_own_token_and_key(
    first: Flask,
) -> None:
    alice = signed_in(first, "alice")
    with renders(first) as rendered:
        pages = [text(alice, "/") for _ in range(3)]
    assert rendered.count("main/index.html") == 1
    for page in pages:
        assert "bob&#39;s first post" in page
        assert not MARKER.search(page), "a marker reached the reader"
    keys = [idempotency_key(page) for page in pages]
    assert len(set(keys)) == 3, "each form must carry a key of its own"
    # The remembered page's form works: its token is this session's.
    status = submit_form(
        alice, "/", pages[-1], post="from memory", idempotency_key=keys[-1]
    )
    assert status == 302
    db.session.rollback()
    assert db.session.scalar(sa.select(Post.body).where(Post.body == "from memory"))


@pytest.mark.usefixtures("people")
def test_no_reader_is_shown_another_readers_page(first: Flask) -> None:
    alice, bob = signed_in(first, "alice"), signed_in(first, "bob")
    anonymous = first.test_client()
    for path in ("/explore", "/user/carol"):
        seen_by_alice = text(alice, path)
        seen_by_bob = text(bob, path)
        seen_by_nobody = text(anonymous, path)
        assert 'href="/user/alice"' in seen_by_alice
        assert 'href="/user/alice"' not in seen_by_bob
        assert 'href="/user/bob"' in seen_by_bob
        assert "Sign out" not in seen_by_nobody
        assert csrf_token(seen_by_alice) != csrf_token(seen_by_bob)
    # Sessions differ, so do tokens, even for pages served from memory.
    again = text(bob, "/explore")
    assert csrf_token(again) not in text(alice, "/explore")


def post_by_bob(other: Flask) -> str:
    bob = signed_in(other, "bob")
    page = text(bob, "/")
    key = idempotency_key(page)
    assert submit_form(bob, "/", page, post="bob again", idempotency_key=key) == 302
    return "bob again"


def carol_followed_by_alice(other: Flask) -> str:
    alice = signed_in(other, "alice")
    page = text(alice, "/user/carol")
    assert submit_form(alice, "/follow/carol", page) == 302
    return "carol&#39;s first post"


def bob_edits_his_profile(other: Flask) -> str:
    bob = signed_in(other, "bob")
    page = text(bob, "/edit_profile")
    fields = {"username": "robert", "about_me": "call me robert"}
    assert submit_form(bob, "/edit_profile", page, **fields) == 302
    return 'href="/user/robert"'


def bobs_post_deleted(other: Flask) -> str:
    with other.app_context():
        db.session.execute(sa.delete(Post).where(Post.body == "bob's first post"))
        db.session.commit()
    return "Nothing here yet"


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    "change",
    [post_by_bob, carol_followed_by_alice, bob_edits_his_profile, bobs_post_deleted],
    ids=["post", "follow", "profile edit", "delete"],
)
def test_no_page_is_stale_after_a_change_on_another_instance(
    first: Flask, second: Flask, change: Callable[[Flask], str]
) -> None:
    alice = signed_in(first, "alice")
    with renders(first) as rendered:
        before = text(alice, "/")
        text(alice, "/")
    assert rendered.count("main/index.html") == 1, "the second read is remembered"
    shown = change(second)
    assert shown not in before
    assert shown in text(alice, "/")


@pytest.mark.usefixtures("people")
def test_the_profile_page_follows_its_counts_and_the_readers_follow(
    first: Flask, second: Flask
) -> None:
    alice = signed_in(first, "alice")
    assert "0 followers" in text(alice, "/user/carol")
    carol_followed_by_alice(second)
    page = text(alice, "/user/carol")
    assert "1 follower" in page
    assert "Unfollow" in page


@pytest.mark.usefixtures("people")
def test_a_flashed_message_is_shown_once(first: Flask) -> None:
    bob = signed_in(first, "bob")
    page = text(bob, "/")
    key = idempotency_key(page)
    assert submit_form(bob, "/", page, post="hello", idempotency_key=key) == 302
    assert "Your post is now live!" in text(bob, "/")
    assert "Your post is now live!" not in text(bob, "/")


@pytest.mark.usefixtures("people")
def test_each_post_is_rendered_once_for_every_page_and_reader(first: Flask) -> None:
    alice, bob = signed_in(first, "alice"), signed_in(first, "bob")
    pages = [text(alice, "/explore"), text(bob, "/explore"), text(alice, "/user/bob")]
    articles = first.extensions["post_articles"]
    # bob's and carol's posts, each rendered once for three pages and two readers.
    assert len(articles) == 2
    assert all("bob&#39;s first post" in page for page in pages)
    # A Spanish reader sees the age in Spanish: an article of its own.
    spanish = first.test_client()
    page = spanish.get("/explore", headers={"Accept-Language": "es"})
    assert "ahora mismo" in page.get_data(as_text=True)
    assert len(articles) == 4
