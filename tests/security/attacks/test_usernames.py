"""Usernames: look-alike, invisible and confusable names are refused."""

from __future__ import annotations

import secrets

import pytest

from tests.harness.live_app import LiveApp
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


UNICODE_USERNAMES = [
    "\u0430lice",  # Cyrillic a: looks like "alice"
    "alic\u0435",  # Cyrillic e
    "\uff41lice",  # fullwidth a
    "al\u200bice",  # zero-width space
    "al\u200dice",  # zero-width joiner
    "\ufeffalice",  # byte-order mark
    "alice\u0301",  # combining acute accent
    "\u202eecila",  # right-to-left override
    "alice\u2066",  # left-to-right isolate
    "al\u00adice",  # soft hyphen
    "ALICE",  # case variant of an existing name
    " alice",
    "alice ",
    "al ice",
    "al\tice",
    "alice\u3000",  # ideographic space
    "\U0001f600alice",  # emoji
    "a" * 65,
    "ab",
    ".alice",
    "-alice",
    "al/ice",
    "al%2Fice",
    "..",
    "\u0131lice",  # dotless i
    "alice\u0000",
]


@pytest.mark.parametrize("username", UNICODE_USERNAMES)
def test_confusable_or_invisible_usernames_are_refused(
    live: LiveApp, alice: str, username: str
) -> None:
    users_before = live.query('SELECT count(*) FROM "user"')
    browser = live.client()
    email = f"look{secrets.token_hex(3)}@example.com"
    registered = live.register(browser, username, email)
    assert registered.status in (200, 400)  # the form again, or a refused NUL
    renamer, _ = live.new_account("rename")
    renamed = renamer.submit("/edit_profile", {"username": username, "about_me": ""})
    assert renamed.status in (200, 400)
    SENT["requests"] += browser.sent + renamer.sent
    # Only the renamer's own account was added; no name outside [A-Za-z0-9_.-].
    assert live.query('SELECT count(*) FROM "user"')[0][0] == users_before[0][0] + 1
    odd = live.query(
        "SELECT username FROM \"user\" WHERE username !~ '^[A-Za-z0-9_.-]+$'"
    )
    assert odd == []
    lower = live.query(
        'SELECT count(*) FROM "user" WHERE lower(username) = %s', "alice"
    )
    assert lower == [(1,)]
