"""CSRF: every state-changing form refuses a missing, stale or foreign token."""

from __future__ import annotations

import pytest

from tests.harness.factories import PASSWORD
from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


def state_changing_forms(username: str, other: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/index", {"post": "csrf attack post", "idempotency_key": "k" * 20}),
        ("/edit_profile", {"username": username, "about_me": "csrf was here"}),
        (f"/follow/{other}", {"submit": "Follow"}),
        (f"/unfollow/{other}", {"submit": "Unfollow"}),
        ("/auth/logout", {}),
    ]


def assert_nothing_changed(live: LiveApp, username: str, other: str) -> None:
    assert live.query("SELECT count(*) FROM post WHERE body LIKE 'csrf%%'") == [(0,)]
    rows = live.query('SELECT about_me FROM "user" WHERE username = %s', username)
    assert rows == [(None,)]
    follows = live.query(
        'SELECT count(*) FROM followers f JOIN "user" u ON u.id = f.followed_id '
        "WHERE u.username = %s",
        other,
    )
    assert follows == [(0,)]


@pytest.mark.parametrize("token_kind", ["missing", "stale", "foreign", "garbage"])
def test_forms_refuse_a_missing_stale_or_foreign_csrf_token(
    live: LiveApp, token_kind: str
) -> None:
    victim, username = live.new_account("csrf")
    _, other = live.new_account("other")
    stale = victim.csrf_token("/explore")
    # Signing out and in again starts a new session: the old token is stale.
    victim.request("POST", "/auth/logout", form={"csrf_token": stale})
    assert victim.login(username, PASSWORD).status == 302
    attacker, _ = live.new_account("attacker")
    tokens = {
        "missing": None,
        "stale": stale,
        "foreign": attacker.csrf_token("/explore"),
        "garbage": "IjEyMyI.abc.def",
    }
    for path, data in state_changing_forms(username, other):
        form = dict(data)
        if tokens[token_kind] is not None:
            form["csrf_token"] = str(tokens[token_kind])
        reply = victim.request("POST", path, form=form)
        assert reply.status == 400, (path, reply.status)
    assert_nothing_changed(live, username, other)
    assert victim.get("/index").status == 200  # still signed in
    SENT["requests"] += victim.sent + attacker.sent


@pytest.mark.parametrize(
    "path", ["/auth/login", "/auth/register", "/auth/reset_password_request"]
)
def test_anonymous_forms_refuse_a_missing_csrf_token(
    live: LiveApp, client: LiveClient, path: str
) -> None:
    data = {
        "username": "csrfanon",
        "password": PASSWORD,
        "password2": PASSWORD,
        "email": "csrfanon@example.com",
    }
    assert client.request("POST", path, form=data).status == 400
    assert live.query("SELECT count(*) FROM \"user\" WHERE username = 'csrfanon'") == [
        (0,)
    ]
