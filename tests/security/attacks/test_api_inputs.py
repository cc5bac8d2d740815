"""The JSON API: malformed bodies, wrong content types and bad credentials."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from tests.harness.factories import PASSWORD
from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_token(live: LiveApp) -> tuple[str, int]:
    """A bearer token (and user id) for an account made through the API."""
    client = live.client()
    name = f"api{secrets.token_hex(3)}"
    made = client.request(
        "POST",
        "/api/users",
        body=json.dumps(
            {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        ),
        headers={"Content-Type": "application/json"},
    )
    assert made.status == 201, made.text
    basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
    issued = client.request(
        "POST", "/api/tokens", headers={"Authorization": f"Basic {basic}"}
    )
    assert issued.status in (200, 201), issued.text
    SENT["requests"] += client.sent
    return json.loads(issued.text)["token"], json.loads(made.text)["id"]


API_BODIES = [
    (b"{", "application/json"),
    (b'{"body": ', "application/json"),
    (b"[]", "application/json"),
    (b"null", "application/json"),
    (b'"just a string"', "application/json"),
    (b"1e999999", "application/json"),
    (b'{"body": 12}', "application/json"),
    (b'{"body": {"$ne": null}}', "application/json"),
    (b'{"body": ["a"]}', "application/json"),
    (b'{"body": "' + b"x" * 300 + b'"}', "application/json"),
    (b'{"body": "\\ud800"}', "application/json"),
    (b'{"body": "ok", "user_id": 1, "id": 1, "timestamp": "x"}', "application/json"),
    (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    (b"\xff\xfe{\x00}", "application/json"),
    (b'{"body": "hi"}', "text/plain"),
    (b"body=hi", "application/x-www-form-urlencoded"),
    (b'{"body": "hi"}', "application/xml"),
    (b'{"body": "hi"}', ""),
    (b'{"body": "hi"}', "multipart/form-data; boundary=x"),
    (b'{"body": "' + b"y" * 70_000 + b'"}', "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), API_BODIES)
def test_api_refuses_malformed_json_and_wrong_content_types(
    live: LiveApp, api_token: tuple[str, int], body: bytes, content_type: str
) -> None:
    token, user_id = api_token
    client = live.client()
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    posts_before = live.query("SELECT count(*) FROM post WHERE user_id = %s", user_id)
    for method, path in (
        ("POST", "/api/posts"),
        ("PUT", f"/api/users/{user_id}"),
        ("POST", "/api/users"),
    ):
        reply = client.request(method, path, body=body, headers=headers)
        assert reply.status in (400, 413, 415, 422), (path, reply.status, reply.text)
        assert reply.headers["Content-Type"].startswith("application/json")
        assert set(json.loads(reply.text)) >= {"error", "message"}
    SENT["requests"] += client.sent
    assert (
        live.query("SELECT count(*) FROM post WHERE user_id = %s", user_id)
        == posts_before
    )


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer x",
        "Bearer " + "A" * 5000,
        "Basic !!!",
        "Basic " + base64.b64encode(b"nobody:x").decode(),
        "Bearer ' OR 1=1 --",
        "Token abc",
    ],
)
def test_api_refuses_bad_credentials(client: LiveClient, authorization: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (
        ("GET", "/api/posts"),
        ("POST", "/api/tokens"),
        ("DELETE", "/api/tokens"),
    ):
        reply = client.request(method, path, headers=headers)
        assert reply.status in (400, 401), (method, path, reply.status)
        assert reply.headers["Content-Type"].startswith("application/json")
