"""Files, bodies and headers: traversal, oversized and malformed requests, uploads."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.harness.paths import ROOT
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


TRAVERSALS = [
    "/static/../microblog/config.py",
    "/static/../../requirements.txt",
    "/static/..%2f..%2frequirements.txt",
    "/static/%2e%2e/%2e%2e/requirements.txt",
    "/static/%252e%252e/%252e%252e/requirements.txt",
    "/static/..\\..\\requirements.txt",
    "/static/..%5c..%5crequirements.txt",
    "/static/css/../../config.py",
    "/static/css/..%2f..%2fconfig.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/....//....//requirements.txt",
    "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/requirements.txt",
    "/static/css/app.css%00.py",
    "/static/css/app.css/../../config.py",
    "/static/../.env",
    "/static/../instance/microblog.sqlite",
    "//etc/passwd",
    "/avatar/..%2f..%2fconfig.svg",
]
SECRETS = ("SECRET_KEY", "root:x:0", "Flask==", "SQLite format")


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_path_traversal_reveals_nothing(
    live: LiveApp, client: LiveClient, path: str
) -> None:
    reply = client.get(path)
    if reply.status == 308:  # Werkzeug merging slashes: follow it, on this site
        assert live.same_site(reply.location)
        reply = client.get(urlsplit(reply.location).path)
    assert reply.status in (400, 404), (path, reply.status)
    assert not any(secret in reply.text for secret in SECRETS)


def test_static_files_are_served_with_security_headers(client: LiveClient) -> None:
    reply = client.get("/static/css/app.css")
    assert reply.status == 200
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    # gunicorn names itself but no version; the app adds nothing.
    assert not re.search(r"\d", reply.headers.get("Server", ""))
    assert "X-Powered-By" not in reply.headers


def test_oversized_bodies_get_413_and_store_nothing(live: LiveApp) -> None:
    browser, username = live.new_account("big")
    token = browser.csrf_token("/index")
    big = {"post": "A" * 70_000, "idempotency_key": "b" * 20, "csrf_token": token}
    assert browser.request("POST", "/index", form=big).status == 413
    about = {"username": username, "about_me": "B" * 281, "csrf_token": token}
    assert browser.request("POST", "/edit_profile", form=about).status == 200
    long_post = {"post": "C" * 281, "idempotency_key": "c" * 20, "csrf_token": token}
    assert browser.request("POST", "/index", form=long_post).status == 200
    chunked = browser.request(
        "POST",
        "/auth/login",
        body=b"10000\r\n"
        + b"u" * 0x10000
        + b"\r\n10000\r\n"
        + b"u" * 0x10000
        + b"\r\n0\r\n\r\n",
        headers={
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert chunked.status in (400, 413)
    SENT["requests"] += browser.sent
    assert live.query(
        'SELECT count(*) FROM post p JOIN "user" u ON u.id = p.user_id '
        "WHERE u.username = %s",
        username,
    ) == [(0,)]
    assert live.query('SELECT about_me FROM "user" WHERE username = %s', username) == [
        (None,)
    ]


MALFORMED = [
    (
        "POST",
        "/auth/login",
        b"%%%&&&===",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "POST",
        "/auth/login",
        b"username=%ff%fe%00&password=%c3%28",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    (
        "POST",
        "/auth/login",
        b"--x\r\nbroken",
        {"Content-Type": "multipart/form-data; boundary=x"},
    ),
    ("POST", "/auth/login", b"abc", {"Content-Type": "multipart/form-data"}),
    ("POST", "/auth/login", b'{"username": ', {"Content-Type": "application/json"}),
    ("POST", "/auth/login", b"<xml/>", {"Content-Type": "text/xml"}),
    (
        "POST",
        "/auth/login",
        b"a=b",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-7"},
    ),
    (
        "POST",
        "/auth/register",
        b"\x00\x01\x02" * 100,
        {"Content-Type": "application/octet-stream"},
    ),
    ("PUT", "/auth/login", b"x", {}),
    ("DELETE", "/index", b"", {}),
    ("TRACE", "/", b"", {}),
    ("OPTIONS", "/auth/login", b"", {}),
    ("GET", "/search?q=" + "%ff" * 50, None, {}),
    ("GET", "/search?q=" + "x" * 101, None, {}),
    ("GET", "/explore?page=1001", None, {}),
    ("GET", "/explore?page=-1", None, {}),
    ("GET", "/explore?page=1e9", None, {}),
    ("GET", "/explore?page=99999999999999999999999", None, {}),
    ("GET", "/explore?page=%00", None, {}),
    ("GET", "/user/%00", None, {}),
    ("GET", "/user/" + "x" * 3000, None, {}),
    ("GET", "/explore", None, {"Cookie": "session=" + "A" * 4000}),
    (
        "GET",
        "/explore",
        None,
        {"Cookie": "session=.eJzzSM3JyVcozy_KSQEAGgQEXQ.bad.sig"},
    ),
    ("GET", "/explore", None, {"Accept-Language": "x" * 500 + ";q=abc, *;q=-1"}),
    ("GET", "/explore", None, {"Accept": "application/json;q=abc"}),
    ("GET", "/explore", None, {"X-Request-Id": "<script>x</script>\u00e9"}),
    ("GET", "/explore", None, {"Host": "127.0.0.1:99999"}),
    ("GET", "/explore", None, {"Host": "evil.example"}),
    ("GET", "/explore", None, {"Host": "127.0.0.1@evil.example"}),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), MALFORMED)
def test_malformed_requests_fail_safely(
    client: LiveClient,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    reply = client.request(method, path, body=body, headers=headers)
    assert 200 <= reply.status < 500, (method, path, reply.status)
    if headers.get("Host", "").endswith("evil.example"):
        assert reply.status == 400
    assert "<script>x" not in reply.text


def test_uploads_are_not_accepted_anywhere(live: LiveApp) -> None:
    browser, username = live.new_account("upload")
    token = browser.csrf_token("/edit_profile")
    boundary = "upload-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="username"\r\n\r\n{username}\r\n--{boundary}\r\n'
        'Content-Disposition: form-data; name="avatar"; filename="../../x.php"\r\n'
        "Content-Type: application/x-php\r\n\r\n<?php system($_GET['c']); ?>\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    reply = browser.request(
        "POST",
        "/edit_profile",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    SENT["requests"] += browser.sent
    assert reply.status in (200, 302, 400)
    assert not list(ROOT.rglob("x.php"))
    assert "<?php" not in browser.get(f"/user/{username}").text
