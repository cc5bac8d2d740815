"""Timeline, posting, profiles, follows, explore, search and pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from microblog.extensions import db
from microblog.models import Post, User, avatar_digest_of, followers, utcnow
from tests.harness.factories import make_post, make_user
from tests.harness.flask_app import AuthActions, count_queries, fresh

POSTS_PER_PAGE = 5  # from tests.harness.flask_app.app_config


def post_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Post)) or 0


def posts_shown(html: bytes) -> int:
    return html.count(b'class="post"')


def submit(client: FlaskClient, text: str, key: str = "key-0123456789abcdef"):
    return client.post("/", data={"post": text, "idempotency_key": key})


@pytest.fixture
def alice(auth: AuthActions) -> User:
    user = make_user("alice")
    auth.login("alice")
    return user


def test_home_requires_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_posting_shows_the_post_on_the_timeline(
    client: FlaskClient, alice: User
) -> None:
    response = submit(client, "Hello, world")
    assert response.status_code == 302
    assert b"Hello, world" in client.get("/").data


def test_a_resubmitted_form_posts_once(client: FlaskClient, alice: User) -> None:
    submit(client, "Only once", key="same-key-0123456789")
    submit(client, "Only once", key="same-key-0123456789")
    fresh()
    assert post_count() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", b"This field is required."),
        ("   ", b"This field is required."),
        ("x" * 281, b"Field must be between 1 and 280 characters long."),
    ],
)
def test_bad_posts_are_refused_with_a_message_and_not_stored(
    client: FlaskClient, alice: User, text: str, message: bytes
) -> None:
    response = submit(client, text)
    assert response.status_code == 200
    assert message in response.data
    fresh()
    assert post_count() == 0


def test_user_input_is_escaped_everywhere(client: FlaskClient, alice: User) -> None:
    submit(client, "<script>alert(1)</script>")
    for path in ("/", "/explore", "/user/alice", "/search?q=script"):
        body = client.get(path).data
        assert b"<script>alert(1)</script>" not in body
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_timeline_shows_followed_posts_newest_first(
    client: FlaskClient, alice: User
) -> None:
    bob, carol = make_user("bob"), make_user("carol")
    now = utcnow()
    make_post(bob, "bob older", timestamp=now - timedelta(minutes=5))
    make_post(alice, "alice newest", timestamp=now)
    make_post(carol, "carol not followed", timestamp=now)
    alice.follow(bob)
    db.session.commit()
    body = client.get("/").data.decode()
    assert body.index("alice newest") < body.index("bob older")
    assert "carol not followed" not in body


def test_follow_and_unfollow_change_the_timeline(
    client: FlaskClient, alice: User
) -> None:
    bob = make_user("bob")
    make_post(bob, "a post by bob")
    assert client.post("/follow/bob").status_code == 302
    assert b"a post by bob" in client.get("/").data
    profile = client.get("/user/bob").data
    assert b"1 follower" in profile
    assert b"Unfollow" in profile
    client.post("/unfollow/bob")
    assert b"a post by bob" not in client.get("/").data
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(followers)) == 0


def test_following_twice_stores_one_row(client: FlaskClient, alice: User) -> None:
    make_user("bob")
    client.post("/follow/bob")
    client.post("/follow/bob")
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(followers)) == 1


def test_following_oneself_is_refused(client: FlaskClient, alice: User) -> None:
    response = client.post("/follow/alice", follow_redirects=True)
    assert b"You cannot follow yourself." in response.data
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(followers)) == 0


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_actions_are_post_only_and_404_for_unknown_users(
    client: FlaskClient, alice: User, action: str
) -> None:
    assert client.get(f"/{action}/alice").status_code == 405
    assert client.post(f"/{action}/nobody").status_code == 404


def test_follow_requires_login(client: FlaskClient) -> None:
    make_user("bob")
    response = client.post("/follow/bob")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_profile_shows_about_me_counts_and_last_seen(client: FlaskClient) -> None:
    bob = make_user("bob", about_me="I like <b>bold</b> claims")
    carol = make_user("carol")
    carol.follow(bob)
    bob.follow(carol)
    db.session.commit()
    body = client.get("/user/bob").data
    assert b"I like &lt;b&gt;bold&lt;/b&gt; claims" in body
    assert b"1 follower" in body
    assert b"1 following" in body
    assert b"Last seen" in body


def test_unknown_user_is_a_404_with_a_message(client: FlaskClient) -> None:
    response = client.get("/user/nobody")
    assert response.status_code == 404
    assert b"There is no user called nobody." in response.data


def test_edit_profile_saves_username_and_about_me(
    client: FlaskClient, alice: User
) -> None:
    response = client.post(
        "/edit_profile", data={"username": "alice2", "about_me": "Hi there"}
    )
    assert response.headers["Location"] == "/user/alice2"
    assert b"Hi there" in client.get("/user/alice2").data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "BOB", "about_me": ""}, b"That username is taken."),
        (
            {"username": "alice", "about_me": "x" * 281},
            b"Field cannot be longer than 280 characters.",
        ),
        ({"username": "", "about_me": ""}, b"This field is required."),
    ],
)
def test_edit_profile_refuses_bad_input_and_changes_nothing(
    client: FlaskClient, alice: User, data: dict[str, str], message: bytes
) -> None:
    make_user("bob")
    response = client.post("/edit_profile", data=data)
    assert response.status_code == 200
    assert message in response.data
    fresh()
    stored = db.session.get(User, alice.id)
    assert (stored.username, stored.about_me) == ("alice", None)


def test_explore_lists_everyone_and_paginates(client: FlaskClient) -> None:
    bob = make_user("bob")
    now = utcnow()
    for number in range(POSTS_PER_PAGE + 2):
        make_post(
            bob, f"post number {number}", timestamp=now - timedelta(minutes=number)
        )
    first = client.get("/explore").data
    assert posts_shown(first) == POSTS_PER_PAGE
    assert b'rel="next" href="/explore?page=2"' in first
    second = client.get("/explore?page=2").data
    assert posts_shown(second) == 2
    assert b'rel="prev"' in second
    assert b'rel="next"' not in second


def test_page_past_the_end_shows_an_empty_state(client: FlaskClient) -> None:
    response = client.get("/explore?page=50")
    assert response.status_code == 200
    assert b"No one has posted yet." in response.data


@pytest.mark.parametrize("page", ["-1", "0", "abc", "1.5", "99999999999999999999"])
def test_bad_page_numbers_get_a_clear_400(client: FlaskClient, page: str) -> None:
    response = client.get(f"/explore?page={page}")
    assert response.status_code == 400
    assert b"page must be a whole number from 1 to 1000." in response.data


def test_search_finds_posts_by_text_case_insensitively(client: FlaskClient) -> None:
    bob = make_user("bob")
    make_post(bob, "Deploying Flask to Fly")
    make_post(bob, "Coffee time")
    body = client.get("/search?q=flask").data
    assert b"Deploying Flask to Fly" in body
    assert b"Coffee time" not in body


def test_search_treats_wildcards_literally(client: FlaskClient) -> None:
    make_post(make_user("bob"), "plain text")
    assert b"No posts match" in client.get("/search?q=%25").data
    assert b"No posts match" in client.get("/search?q=_").data


def test_search_refuses_an_overlong_query(client: FlaskClient) -> None:
    response = client.get("/search?q=" + "x" * 101)
    assert response.status_code == 200
    assert b"Field cannot be longer than 100 characters." in response.data


def test_avatar_is_a_generated_svg_cached_for_a_year(client: FlaskClient) -> None:
    bob = make_user("bob")
    response = client.get(f"/avatar/{avatar_digest_of(bob.username)}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get("/avatar/not-a-digest.svg").status_code == 404


def test_pages_make_no_third_party_requests(client: FlaskClient, alice: User) -> None:
    submit(client, "hello")
    for path in ("/", "/explore", "/user/alice", "/auth/login"):
        body = client.get(path).data
        assert b"https://" not in body
        assert b"http://" not in body.replace(b'xmlns="http://www.w3.org', b"")


def test_last_seen_is_written_at_most_once_per_interval(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    long_ago = utcnow() - timedelta(hours=1)
    db.session.execute(sa.update(User).values(last_seen=long_ago))
    db.session.commit()
    client.get("/explore")
    fresh()
    first = db.session.get(User, alice.id).last_seen
    assert first > long_ago
    with count_queries(app) as log:
        client.get("/explore")
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in log.statements)


def test_errors_are_json_for_clients_that_ask_for_json(client: FlaskClient) -> None:
    response = client.get("/user/nobody", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json == {
        "error": "Not Found",
        "message": "There is no user called nobody.",
    }


def test_unknown_page_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"404" in response.data


def seed_many_posts(authors: int, each: int) -> User:
    """alice follows ``authors`` users who each wrote ``each`` posts."""
    alice = db.session.scalars(sa.select(User).where(User.username == "alice")).one()
    now = utcnow()
    for number in range(authors):
        author = make_user(f"author{number}")
        alice.follow(author)
        db.session.add_all(
            Post(body=f"post {i}", author=author, timestamp=now - timedelta(seconds=i))
            for i in range(each)
        )
    db.session.commit()
    return alice


@pytest.mark.parametrize(
    ("path", "budget"),
    [("/", 2), ("/explore", 2), ("/user/author0", 3), ("/search?q=post", 2)],
)
@pytest.mark.parametrize("posts_per_page", [5, 25])
def test_page_query_budget_does_not_grow_with_posts_shown(
    app: Flask,
    client: FlaskClient,
    alice: User,
    path: str,
    budget: int,
    posts_per_page: int,
) -> None:
    app.config["POSTS_PER_PAGE"] = posts_per_page
    seed_many_posts(authors=6, each=6)
    client.get("/explore")  # the once-per-interval last_seen write happens here
    with count_queries(app) as log:
        response = client.get(path)
    assert response.status_code == 200
    assert posts_shown(response.data) == min(
        posts_per_page, 36 if path != "/user/author0" else 6
    )
    assert log.count == budget, log.statements


def test_anonymous_explore_needs_one_statement(app: Flask, client: FlaskClient) -> None:
    make_post(make_user("bob"), "hello")
    with count_queries(app) as log:
        client.get("/explore")
    assert log.count == 1


@pytest.mark.parametrize("path", ["/healthz", "/static/css/app.css"])
def test_health_and_static_requests_touch_no_database(
    app: Flask, client: FlaskClient, alice: User, path: str
) -> None:
    with count_queries(app) as log, client.get(path) as response:
        assert response.status_code == 200
    assert log.count == 0


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/", {"post": "nul\x00here", "idempotency_key": "key-0123456789abcdef"}),
        ("/edit_profile", {"username": "alice", "about_me": "bell\x07"}),
    ],
)
def test_control_characters_are_refused_with_a_message(
    client: FlaskClient, alice: User, path: str, data: dict[str, str]
) -> None:
    response = client.post(path, data=data)
    assert response.status_code == 200
    assert b"characters that are not allowed" in response.data
    fresh()
    assert post_count() == 0
    assert db.session.get(User, alice.id).about_me is None


def test_search_with_a_nul_is_refused_not_an_error(client: FlaskClient) -> None:
    response = client.get("/search", query_string={"q": "a\x00b"})
    assert response.status_code == 200
    assert b"characters that are not allowed" in response.data
