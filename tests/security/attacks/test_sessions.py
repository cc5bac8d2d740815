"""Sessions, tokens, enumeration and forged proxy headers."""

from __future__ import annotations

import quopri
import re
from pathlib import Path
from typing import Any

import pytest

from tests.harness.factories import PASSWORD
from tests.harness.live_app import LiveApp
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


def test_session_fixation_a_planted_cookie_gains_nothing(live: LiveApp) -> None:
    attacker = live.client()
    attacker.get("/auth/login")
    planted = dict(attacker.cookies)
    assert planted  # the anonymous session with its CSRF secret
    browser, username = live.new_account("fixate")
    victim = live.client()
    victim.cookies.update(planted)
    assert victim.login(username, PASSWORD).status == 302
    assert victim.cookies != planted  # a fresh session was issued
    assert victim.get("/index").status == 200
    attacker.cookies = dict(planted)
    assert attacker.get("/index").status == 302  # still anonymous
    SENT["requests"] += attacker.sent + browser.sent + victim.sent


def test_cookies_replayed_after_logout_are_dead(live: LiveApp) -> None:
    browser, username = live.new_account("replay")
    assert browser.submit("/auth/logout", {}, form_page="/explore").status == 302
    remembered = live.client()
    assert (
        remembered.submit(
            "/auth/login",
            {"username": username, "password": PASSWORD, "remember_me": "y"},
        ).status
        == 302
    )
    stolen = dict(remembered.cookies)
    assert "remember_token" in stolen
    assert remembered.submit("/auth/logout", {}, form_page="/explore").status == 302
    thief = live.client()
    thief.cookies = dict(stolen)
    assert thief.get("/index").status == 302
    only_remember = live.client()
    only_remember.cookies = {"remember_token": stolen["remember_token"]}
    assert only_remember.get("/index").status == 302
    SENT["requests"] += browser.sent + remembered.sent + thief.sent + only_remember.sent


def test_a_reset_link_works_once(live: LiveApp) -> None:
    browser, username = live.new_account("reset")
    anonymous = live.client()
    sent_before = len(live.reset_links(at_least=0))
    asked = anonymous.submit(
        "/auth/reset_password_request", {"email": f"{username}@example.com"}
    )
    assert asked.status == 302
    link = live.reset_links(at_least=sent_before + 1)[-1]
    first = "first-new-password"
    used = anonymous.submit(link, {"password": first, "password2": first})
    assert used.status == 302 and "/auth/login" in used.location
    again = anonymous.get(link)
    assert again.status == 302 and "reset_password_request" in again.location
    replay = anonymous.request(
        "POST",
        link,
        form={
            "password": "second-password",
            "password2": "second-password",
            "csrf_token": anonymous.csrf_token("/auth/login"),
        },
    )
    assert replay.status == 302
    assert live.client().login(username, "second-password").status == 200
    assert live.client().login(username, first).status == 302
    # The reset ended the session that was open before it.
    assert browser.get("/index").status == 302
    SENT["requests"] += browser.sent + anonymous.sent


def strip_tokens(page: str) -> str:
    return re.sub(r'value="[^"]{20,}"', 'value=""', page)


def test_no_user_enumeration_by_message(live: LiveApp, alice: str) -> None:
    client = live.client()
    unknown = client.submit(
        "/auth/login", {"username": "nobody-xyz", "password": "x" * 9}
    )
    wrong = client.submit("/auth/login", {"username": alice, "password": "x" * 9})
    assert unknown.status == wrong.status == 200
    assert strip_tokens(unknown.text).replace("nobody-xyz", alice) == strip_tokens(
        wrong.text
    )
    known = client.submit(
        "/auth/reset_password_request", {"email": "alice@example.com"}
    )
    nobody = client.submit(
        "/auth/reset_password_request", {"email": "nobody-xyz@example.com"}
    )
    assert (known.status, known.location) == (nobody.status, nobody.location)
    after_known = client.get(known.location).text
    assert "If that address has an account" in after_known
    SENT["requests"] += client.sent


def test_forged_forwarded_headers_are_ignored_without_a_proxy(
    live: LiveApp, alice: str
) -> None:
    client = live.client(source="127.0.0.2")  # not a proxy gunicorn trusts
    forged = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Prefix": "/evil",
        "Forwarded": "for=203.0.113.9;host=evil.example;proto=https",
    }
    page = client.get("/auth/login", headers=forged)
    assert page.status == 200
    assert "Strict-Transport-Security" not in page.headers  # still plain HTTP
    asked = client.request(
        "POST",
        "/auth/reset_password_request",
        headers=forged,
        form={
            "email": "alice@example.com",
            "csrf_token": client.csrf_token("/auth/login"),
        },
    )
    assert asked.status == 302 and live.same_site(asked.location)
    link_lines = [
        line
        for line in quopri.decodestring(live.log().encode())
        .decode(errors="replace")
        .splitlines()
        if line.startswith("http") and "/auth/reset_password/" in line
    ]
    assert link_lines and all("evil" not in line for line in link_lines)
    assert link_lines[-1].startswith(f"http://127.0.0.1:{live.port}/")
    SENT["requests"] += client.sent


def test_forged_forwarded_for_cannot_dodge_the_rate_limit(
    postgres: Any, redis: Any, tmp_path: Path
) -> None:
    """Rate limits on, counted in Redis across gunicorn's two workers."""
    redis.command("FLUSHALL")
    throttled = LiveApp(postgres.new_database(), tmp_path, REDIS_URL=redis.url)
    try:
        client = throttled.client(source="127.0.0.2")
        token = client.csrf_token("/auth/login")
        statuses = [
            client.request(
                "POST",
                "/auth/login",
                form={
                    "username": f"user{n}",
                    "password": "guess-1234",
                    "csrf_token": token,
                },
                headers={
                    "X-Forwarded-For": f"203.0.113.{n}",
                    "X-Real-IP": f"198.51.100.{n}",
                },
            ).status
            for n in range(21)
        ]
        limited = client.request(
            "POST",
            "/auth/login",
            form={"username": "x", "password": "y", "csrf_token": token},
        )
        SENT["requests"] += client.sent
    finally:
        throttled.stop()
    assert statuses == [200] * 20 + [429]
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
