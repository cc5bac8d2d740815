"""Registration, sign-in, sign-out and password reset, with their refusals."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from microblog.auth.reset_tokens import make_reset_token
from microblog.extensions import db
from microblog.models import User
from tests.harness.factories import PASSWORD, make_user
from tests.harness.flask_app import AuthActions, fresh, wait_for_jobs


def register(client: FlaskClient, **fields: str):
    data = {
        "username": "alice",
        "email": "alice@example.com",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(fields)
    return client.post("/auth/register", data=data)


def user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def test_register_creates_an_account_with_a_hashed_password(
    client: FlaskClient,
) -> None:
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    user = db.session.scalar(sa.select(User))
    assert user.username == "alice"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": ""}, b"This field is required."),
        ({"username": "a"}, b"Field must be between 3 and 64 characters long."),
        ({"username": "bad name!"}, b"Use letters, digits, dots, dashes"),
        ({"username": "a" * 65}, b"Field must be between 3 and 64 characters long."),
        ({"email": "not-an-address"}, b"Enter a valid e-mail address"),
        ({"password": "short", "password2": "short"}, b"between 8 and 128 characters"),
        ({"password2": "something-else"}, b"The passwords do not match."),
    ],
)
def test_register_refuses_bad_fields_and_stores_nothing(
    client: FlaskClient, fields: dict[str, str], message: bytes
) -> None:
    response = register(client, **fields)
    assert response.status_code == 200
    assert message in response.data
    assert user_count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "ALICE", "email": "other@example.com"}, b"username is taken"),
        ({"username": "bob", "email": "Alice@Example.com"}, b"already registered"),
    ],
)
def test_register_refuses_duplicates_regardless_of_case(
    client: FlaskClient, fields: dict[str, str], message: bytes
) -> None:
    make_user("alice", "alice@example.com")
    response = register(client, **fields)
    assert message in response.data
    assert user_count() == 1


def test_login_with_right_password_starts_a_session(
    client: FlaskClient, auth: AuthActions
) -> None:
    make_user("alice")
    response = auth.login("alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert b"Hi, alice!" in client.get("/").data


def test_login_username_is_case_insensitive(auth: AuthActions) -> None:
    make_user("Alice")
    assert auth.login("alice").status_code == 302


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong"), ("nobody", PASSWORD)]
)
def test_login_failure_says_the_same_for_unknown_user_and_wrong_password(
    auth: AuthActions, username: str, password: str
) -> None:
    make_user("alice")
    response = auth.login(username, password)
    assert response.status_code == 200
    assert b"Invalid username or password." in response.data


def test_remember_me_sets_a_long_lived_http_only_cookie(
    client: FlaskClient, auth: AuthActions
) -> None:
    make_user("alice")
    auth.login("alice", remember_me="y")
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.expires is not None


def test_session_cookie_is_http_only_and_same_site_lax(
    client: FlaskClient, auth: AuthActions
) -> None:
    make_user("alice")
    response = auth.login("alice")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:///evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_login_next_only_follows_same_site_paths(
    client: FlaskClient, target: str
) -> None:
    make_user("alice")
    response = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"username": "alice", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_login_next_follows_a_relative_path(client: FlaskClient) -> None:
    make_user("alice")
    response = client.post(
        "/auth/login?next=/user/alice",
        data={"username": "alice", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/user/alice"


def test_logout_is_post_only(client: FlaskClient, auth: AuthActions) -> None:
    make_user("alice")
    auth.login("alice")
    assert client.get("/auth/logout").status_code == 405


def test_logout_ends_every_session_of_the_user(app: Flask, auth: AuthActions) -> None:
    make_user("alice")
    other_device = app.test_client()
    AuthActions(other_device).login("alice")
    auth.login("alice")
    auth.logout()
    response = other_device.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_replayed_cookie_after_logout_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    make_user("alice")
    auth.login("alice")
    stolen = client.get_cookie("session")
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", stolen.value)
    assert replay.get("/").status_code == 302


def test_login_required_pages_redirect_with_next(client: FlaskClient) -> None:
    response = client.get("/edit_profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=%2Fedit_profile"


def reset_link_from_log(app: Flask, caplog: pytest.LogCaptureFixture) -> str:
    wait_for_jobs(app)  # the mail is sent by a job, in a thread of the app
    match = re.search(r"http://localhost(/auth/reset_password/\S+)", caplog.text)
    assert match, caplog.text
    return match.group(1)


def test_password_reset_by_logged_email_link(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_user("alice", "alice@example.com")
    caplog.set_level("INFO", logger="microblog.email")
    response = client.post(
        "/auth/reset_password_request", data={"email": "ALICE@example.com"}
    )
    assert response.status_code == 302
    link = reset_link_from_log(app, caplog)
    response = client.post(
        link, data={"password": "a-brand-new-pass", "password2": "a-brand-new-pass"}
    )
    assert response.headers["Location"] == "/auth/login"
    assert auth.login("alice", "a-brand-new-pass").status_code == 302


# A CSRF token's signed part carries the second it was signed in, so two answers
# a moment apart may differ there and nowhere else.
CSRF_VALUE = re.compile(rb'(name="csrf_token" value=")[^"]+')


def without_csrf_token(page: bytes) -> bytes:
    return CSRF_VALUE.sub(rb"\1(token)", page)


def test_reset_request_answers_the_same_for_unknown_addresses(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("alice", "alice@example.com")
    known = client.post(
        "/auth/reset_password_request",
        data={"email": "alice@example.com"},
        follow_redirects=True,
    )
    unknown = client.post(
        "/auth/reset_password_request",
        data={"email": "nobody@example.com"},
        follow_redirects=True,
    )
    assert b'name="csrf_token"' in known.data
    assert without_csrf_token(known.data) == without_csrf_token(unknown.data)


def test_reset_token_works_only_once(app: Flask, client: FlaskClient) -> None:
    user = make_user("alice")
    token = make_reset_token(user)
    new = {"password": "first-new-pass", "password2": "first-new-pass"}
    assert client.post(f"/auth/reset_password/{token}", data=new).status_code == 302
    again = {"password": "second-new-pass", "password2": "second-new-pass"}
    response = client.post(f"/auth/reset_password/{token}", data=again)
    assert response.headers["Location"] == "/auth/reset_password_request"
    fresh()
    assert db.session.get(User, user.id).check_password("first-new-pass")


def test_reset_with_a_forged_token_changes_nothing(client: FlaskClient) -> None:
    user = make_user("alice")
    before = user.password_hash
    data = {"password": "hacked-pass-123", "password2": "hacked-pass-123"}
    response = client.post("/auth/reset_password/forged.token.value", data=data)
    assert response.headers["Location"] == "/auth/reset_password_request"
    fresh()
    assert db.session.get(User, user.id).password_hash == before


def test_password_reset_ends_existing_sessions(app: Flask, auth: AuthActions) -> None:
    user = make_user("alice")
    auth.login("alice")
    token = make_reset_token(user)
    app.test_client().post(
        f"/auth/reset_password/{token}",
        data={"password": "a-brand-new-pass", "password2": "a-brand-new-pass"},
    )
    assert auth.client.get("/").status_code == 302


def test_forms_refuse_a_missing_csrf_token(app: Flask, client: FlaskClient) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    make_user("alice")
    response = client.post(
        "/auth/login", data={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert b"The form expired" in response.data


def test_a_nul_in_the_username_never_signs_anyone_in(auth: AuthActions) -> None:
    make_user("alice")
    response = auth.login("ali\x00ce")
    assert response.status_code == 200
    assert b"characters that are not allowed" in response.data


def test_an_address_too_long_once_normalised_is_refused(client: FlaskClient) -> None:
    # "İ" lower-cases to two characters: 119 typed, 120+ stored.
    address = "İ" * 60 + "@" + "e" * 50 + ".com"
    response = register(client, email=address)
    assert response.status_code == 200
    assert user_count() == 0


def test_a_trailing_newline_does_not_make_a_second_username(
    client: FlaskClient,
) -> None:
    make_user("alice", "alice@example.com")
    response = register(client, username="alice\n", email="other@example.com")
    assert b"Use letters, digits, dots, dashes" in response.data
    assert user_count() == 1
