"""Rate limits answer API clients in the API's own terms: a documented JSON 429."""

from __future__ import annotations

from pathlib import Path

from tests.harness.factories import PASSWORD, make_user
from tests.harness.flask_app import sqlite_app


def new_user(number: int) -> dict[str, str]:
    name = f"bot{number}"
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD}


def test_token_requests_are_limited_with_json_429_and_retry_after(
    tmp_path: Path,
) -> None:
    with sqlite_app(tmp_path) as app:
        make_user("alice")
        client = app.test_client()
        statuses = [
            client.post("/api/tokens", auth=("alice", "wrong-password")).status_code
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        response = client.post("/api/tokens", auth=("alice", PASSWORD))
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        body = response.get_json()
        assert body["error"] == "Too Many Requests"
        assert body["message"]


def test_api_registration_is_limited_like_the_form(tmp_path: Path) -> None:
    with sqlite_app(tmp_path) as app:
        client = app.test_client()
        statuses = [
            client.post("/api/users", json=new_user(number)).status_code
            for number in range(6)
        ]
        assert statuses == [201] * 5 + [429]
        assert client.post("/api/users", json=new_user(9)).is_json


def test_one_inbox_cannot_be_registered_at_over_and_over(tmp_path: Path) -> None:
    with sqlite_app(tmp_path) as app:
        same_inbox = {**new_user(0), "email": "Target@Example.com"}
        statuses = []
        for number in range(4):
            client = app.test_client()
            statuses.append(
                client.post(
                    "/api/users",
                    json={**same_inbox, "username": f"try{number}"},
                    environ_base={"REMOTE_ADDR": f"127.0.0.{number + 2}"},
                ).status_code
            )
        # One account, then "taken" twice: all three count; the fourth is refused.
        assert statuses == [201, 409, 409, 429]
