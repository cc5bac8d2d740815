"""Rate limits: per client address and per account, shared through Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from microblog.config import load_config
from microblog.extensions import db, limiter
from microblog.models import User
from microblog.security.limits import LIMITS, endpoint_for
from tests.harness.factories import PASSWORD, make_user
from tests.harness.flask_app import sqlite_app


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    with sqlite_app(tmp_path) as app:
        yield app


def login(client: FlaskClient, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        "/auth/login", data={"username": username, "password": password}, **extra
    )


def from_address(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_failed_logins_slow_the_account_with_retry_after(limited_app: Flask) -> None:
    make_user("alice")
    client = limited_app.test_client()
    for _ in range(5):
        assert login(client, "alice", "wrong-password").status_code == 200
    blocked = login(client, "ALICE", PASSWORD)  # case variants share the bucket
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert "Too many requests" in blocked.text
    # Another address gets no further with the same account...
    assert (
        login(client, "alice", PASSWORD, **from_address("10.9.9.9")).status_code == 429
    )
    # ...while other accounts are untouched.
    make_user("bob")
    assert login(client, "bob", PASSWORD).status_code == 302


def test_successful_logins_do_not_count_against_the_account(limited_app: Flask) -> None:
    make_user("alice")
    client = limited_app.test_client()
    for _ in range(8):
        assert login(client, "alice", PASSWORD).status_code == 302
        client.post("/auth/logout")


def test_unknown_accounts_are_limited_alike(limited_app: Flask) -> None:
    """A 429 that only real accounts got would tell which accounts exist."""
    client = limited_app.test_client()
    statuses = [
        login(client, "nobody-here", "guess-1234").status_code for _ in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_the_account_limit_expires(limited_app: Flask) -> None:
    """No permanent lockout: the failures count only inside their windows."""
    make_user("alice")
    client = limited_app.test_client()
    for _ in range(5):
        login(client, "alice", "wrong-password")
    assert login(client, "alice", PASSWORD).status_code == 429
    limiter.storage.reset()  # what the passing of the window does
    assert login(client, "alice", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_limited(limited_app: Flask) -> None:
    client = limited_app.test_client()
    statuses = [login(client, f"user{n}", "guess-1234").status_code for n in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


def test_forged_forwarded_for_does_not_change_the_address(limited_app: Flask) -> None:
    """With PROXY_COUNT=0 X-Forwarded-For is ignored, so it cannot dodge limits."""
    client = limited_app.test_client()
    statuses = [
        login(
            client,
            f"user{n}",
            "guess-1234",
            headers={
                "X-Forwarded-For": f"203.0.113.{n}",
                "X-Real-IP": f"198.51.100.{n}",
            },
        ).status_code
        for n in range(21)
    ]
    assert statuses[20] == 429


def test_behind_one_proxy_the_forwarded_address_is_used(tmp_path: Path) -> None:
    with sqlite_app(tmp_path, PROXY_COUNT=1) as app:
        client = app.test_client()
        statuses = [
            login(
                client,
                f"user{n}",
                "guess-1234",
                headers={"X-Forwarded-For": f"203.0.113.{n % 2}"},
            ).status_code
            for n in range(24)
        ]
    assert 429 not in statuses  # two clients, 12 attempts each


def register(client: FlaskClient, n: int, email: str | None = None) -> int:
    data = {
        "username": f"new{n}",
        "email": email or f"new{n}@example.com",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    return int(client.post("/auth/register", data=data).status_code)


def test_registration_is_limited_per_address(limited_app: Flask) -> None:
    client = limited_app.test_client()
    assert [register(client, n) for n in range(6)] == [302] * 5 + [429]
    assert db.session.query(User).count() == 5


def test_reset_requests_are_limited_per_address_and_per_inbox(
    limited_app: Flask,
) -> None:
    make_user("alice")
    client = limited_app.test_client()

    def ask(email: str, address: str) -> int:
        response = client.post(
            "/auth/reset_password_request",
            data={"email": email},
            **from_address(address),
        )
        return int(response.status_code)

    inbox = [ask("alice@example.com", f"10.0.0.{n}") for n in range(4)]
    assert inbox == [302, 302, 302, 429]
    address = [ask(f"x{n}@example.com", "10.1.1.1") for n in range(6)]
    assert address == [302] * 5 + [429]


def test_limits_only_apply_to_posts(limited_app: Flask) -> None:
    client = limited_app.test_client()
    assert {client.get("/auth/login").status_code for _ in range(30)} == {200}


def test_json_clients_get_a_json_429(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for _ in range(5):
        login(client, "alice", "wrong-password")
    response = login(client, "alice", "x", headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.json is not None
    assert response.json["error"] == "Too Many Requests"
    assert "Retry-After" in response.headers


def test_every_limit_names_an_existing_route_or_the_api(limited_app: Flask) -> None:
    for rule in LIMITS:
        found = endpoint_for(limited_app, rule.method, rule.path)
        assert found is not None or rule.path.startswith("/api/"), rule.path


def test_storage_follows_redis_url() -> None:
    assert load_config({"FLASK_DEBUG": "1"})["RATELIMIT_STORAGE_URI"] == "memory://"
    shared = load_config({"FLASK_DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert shared["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    socket = load_config({"FLASK_DEBUG": "1", "REDIS_URL": "unix:///run/redis.sock"})
    assert socket["RATELIMIT_STORAGE_URI"] == "redis+unix:///run/redis.sock"


def test_instances_share_limits_through_redis(tmp_path: Path, redis: Any) -> None:
    """Two app processes behind a load balancer count the same failures."""
    redis.command("FLUSHALL")
    settings = {"RATELIMIT_STORAGE_URI": redis.url}
    (tmp_path / "a").mkdir()
    with sqlite_app(tmp_path / "a", **settings) as first:
        make_user("alice")
        client = first.test_client()
        for _ in range(5):
            assert login(client, "alice", "wrong-password").status_code == 200
    (tmp_path / "b").mkdir()
    with sqlite_app(tmp_path / "b", **settings) as second:
        make_user("alice")
        assert login(second.test_client(), "alice", PASSWORD).status_code == 429
    redis.command("FLUSHALL")
