"""The pages' structure: navigation, inline errors, flashes, pagination, empty states.

The browser suite (``tests/e2e``) checks the same pages in Chromium with axe-core;
these tests pin the markup that makes that pass, quickly and on every backend.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from microblog.models import utcnow
from microblog.web.templating import ago
from tests.harness.factories import make_post, make_user
from tests.harness.flask_app import AuthActions
from tests.harness.paths import ROOT

TEMPLATES = ROOT / "microblog" / "templates"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def page_of(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def page_for_susan(client: FlaskClient, auth: AuthActions, path: str) -> str:
    """``path`` as a newly registered user, susan, sees it once signed in."""
    make_user("susan")
    auth.login("susan")
    return page_of(client, path)


def susan_posts(count: int, text: str) -> None:
    """``count`` posts by a new user, susan: "<text> 0", "<text> 1", ..."""
    susan = make_user("susan")
    for number in range(count):
        make_post(susan, f"{text} {number}")


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name
)
def test_templates_have_no_inline_scripts_or_styles(template: Path):
    # The Content-Security-Policy forbids both; the page would break silently.
    html = template.read_text(encoding="utf-8")
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert not re.search(r"\son[a-z]+\s*=", html)


@sqlite_only
def test_navigation_marks_the_current_page(client: FlaskClient):
    page = page_of(client, "/explore")
    assert '<a href="/explore" aria-current="page">' in page
    assert '<a href="/search">' in page


@sqlite_only
def test_invalid_form_shows_inline_errors_tied_to_fields(client: FlaskClient):
    response = client.post("/auth/register", data={"username": "a b"})
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    username = re.search(r'<input[^>]*id="username"[^>]*>', page)
    assert username is not None
    assert 'aria-invalid="true"' in username.group(0)
    assert 'aria-describedby="username-hint username-errors"' in username.group(0)
    assert '<ul class="errors" id="username-errors">' in page


@sqlite_only
def test_every_field_has_a_label(client: FlaskClient):
    for path in ("/auth/login", "/auth/register", "/auth/reset_password_request"):
        page = page_of(client, path)
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
            if re.search(r'type="(?:hidden|submit)"', tag):
                continue
            field_id = re.search(r'\sid="([^"]+)"', tag)
            assert field_id is not None, (path, tag)
            assert f'for="{field_id.group(1)}"' in page, (path, tag)


@sqlite_only
def test_error_flash_is_announced_as_an_alert(client: FlaskClient):
    make_user("susan")
    response = client.post(
        "/auth/login",
        data={"username": "susan", "password": "wrong-password"},
    )
    page = response.get_data(as_text=True)
    assert '<p class="flash flash-error" role="alert">' in page


@sqlite_only
def test_empty_timeline_points_to_explore(client: FlaskClient, auth):
    page = page_for_susan(client, auth, "/")
    assert "Nothing here yet." in page
    assert 'href="/explore">Find people on Explore</a>' in page


@sqlite_only
def test_pager_links_both_ways_in_the_middle(client: FlaskClient):
    susan_posts(12, "post")
    page = page_of(client, "/explore?page=2")
    assert 'rel="prev" href="/explore?page=1"' in page
    assert 'rel="next" href="/explore?page=3"' in page
    assert "Page 2" in page
    last = page_of(client, "/explore?page=3")
    assert 'rel="next"' not in last


@sqlite_only
def test_search_keeps_the_query_in_pager_links(client: FlaskClient):
    susan_posts(6, "kittens")
    page = page_of(client, "/search?q=kittens")
    assert 'href="/search?page=2&amp;q=kittens"' in page


@sqlite_only
def test_profile_edit_page_offers_the_language_choice(client: FlaskClient, auth):
    page = page_for_susan(client, auth, "/edit_profile")
    assert '<label for="profile-language">Language</label>' in page
    assert '<label for="footer-language">Language</label>' in page


@sqlite_only
def test_relative_times_say_just_now_for_the_last_minute(app):
    with app.test_request_context():
        assert ago(utcnow()) == "just now"
        assert ago(utcnow() + timedelta(seconds=3)) == "just now"
        assert ago(utcnow() - timedelta(minutes=5)) == "5 minutes ago"
