"""Security headers, HTTPS enforcement, cookies and host checking."""

from __future__ import annotations

import quopri
from pathlib import Path
from typing import Any

import pytest

from microblog.config import load_config
from microblog.security.headers import CONTENT_SECURITY_POLICY
from tests.harness.factories import make_user
from tests.harness.flask_app import sqlite_app
from tests.harness.paths import ROOT

PAGES = ["/auth/login", "/explore", "/search?q=x", "/no-such-page", "/healthz"]
STATIC = "/static/css/app.css"


def csp_directives(policy: str) -> dict[str, str]:
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


def test_csp_allows_only_own_files_and_no_inline_code() -> None:
    directives = csp_directives(CONTENT_SECURITY_POLICY)
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", [*PAGES, STATIC, "/avatar/0123456789abcdef.svg"])
def test_every_response_carries_the_security_headers(tmp_path: Path, path: str) -> None:
    with sqlite_app(tmp_path) as app:
        response = app.test_client().get(path)
        response.close()  # static files are streamed from an open file
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP
    assert "Server" not in headers and "X-Powered-By" not in headers


def test_hsts_only_over_https(tmp_path: Path) -> None:
    with sqlite_app(tmp_path) as app:
        client = app.test_client()
        secure = client.get("/explore", base_url="https://localhost")
        plain = client.get("/explore")
    assert secure.headers["Strict-Transport-Security"] == (
        "max-age=63072000; includeSubDomains"
    )
    assert "Strict-Transport-Security" not in plain.headers


def test_templates_hold_no_inline_script_or_style() -> None:
    templates = ROOT / "microblog" / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text().lower()
        assert "<script>" not in text and "<style" not in text, template
        assert " style=" not in text and " on" + "click=" not in text, template


def test_https_settings_follow_force_https() -> None:
    local = load_config({"FLASK_DEBUG": "1"})
    heroku = load_config({"DYNO": "web.1", "SECRET_KEY": "k" * 20 + "0123456789abcdef"})
    assert (local["FORCE_HTTPS"], local["SESSION_COOKIE_NAME"]) == (False, "session")
    assert heroku["FORCE_HTTPS"] and heroku["SESSION_COOKIE_SECURE"]
    assert heroku["SESSION_COOKIE_NAME"] == "__Host-session"
    assert heroku["REMEMBER_COOKIE_NAME"] == "__Host-remember_token"
    assert (
        heroku["REMEMBER_COOKIE_SECURE"] and heroku["PREFERRED_URL_SCHEME"] == "https"
    )
    off = load_config({"DYNO": "web.1", "FORCE_HTTPS": "0", "FLASK_DEBUG": "1"})
    assert not off["SESSION_COOKIE_SECURE"]


def test_force_https_redirects_but_not_the_probes(tmp_path: Path) -> None:
    with sqlite_app(tmp_path, FORCE_HTTPS=True) as app:
        client = app.test_client()
        page = client.get("/explore?page=2")
        form = client.post("/auth/login", data={"username": "x"})
        probe = client.get("/healthz")
        secure = client.get("/explore", base_url="https://localhost")
    assert page.status_code == 301
    assert page.headers["Location"] == "https://localhost/explore?page=2"
    assert form.status_code == 308
    assert probe.status_code == 200 and secure.status_code == 200


def test_cookies_over_https_are_host_prefixed_secure_httponly_lax(
    tmp_path: Path,
) -> None:
    overrides: dict[str, Any] = {
        "FORCE_HTTPS": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_NAME": "__Host-session",
        "REMEMBER_COOKIE_SECURE": True,
        "REMEMBER_COOKIE_NAME": "__Host-remember_token",
    }
    with sqlite_app(tmp_path, **overrides) as app:
        make_user("carol")
        client = app.test_client()
        response = client.post(
            "/auth/login",
            data={
                "username": "carol",
                "password": "correct-horse-battery",
                "remember_me": "y",
            },
            base_url="https://localhost",
        )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    names = sorted(cookie.split("=", 1)[0] for cookie in cookies)
    assert names == ["__Host-remember_token", "__Host-session"]
    for cookie in cookies:
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
        assert not any(part.startswith("domain=") for part in attributes)


def test_csrf_over_https_accepts_same_origin_referer(tmp_path: Path) -> None:
    """Referrer-Policy same-origin still lets Flask-WTF's strict HTTPS check pass."""
    with sqlite_app(tmp_path, WTF_CSRF_ENABLED=True, FORCE_HTTPS=True) as app:
        make_user("dave")
        client = app.test_client()
        page = client.get("/auth/login", base_url="https://localhost")
        token = page.text.split('name="csrf_token" type="hidden" value="')[1]
        data = {
            "username": "dave",
            "password": "correct-horse-battery",
            "csrf_token": token.split('"')[0],
        }
        refused = client.post("/auth/login", data=data, base_url="https://localhost")
        accepted = client.post(
            "/auth/login",
            data=data,
            base_url="https://localhost",
            headers={"Referer": "https://localhost/auth/login"},
        )
    assert refused.status_code == 400
    assert accepted.status_code == 302


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("good.example", 200),
        ("good.example:8443", 200),
        ("www.good.example", 400),
        ("evil.example", 400),
        ("good.example.evil.example", 400),
        ("good.example@evil.example", 400),
        ("", 400),
    ],
)
def test_only_trusted_hosts_are_answered(
    tmp_path: Path, host: str, status: int
) -> None:
    with sqlite_app(tmp_path, TRUSTED_HOSTS=["good.example"]) as app:
        response = app.test_client().get("/explore", headers={"Host": host})
    assert response.status_code == status
    assert response.headers["X-Frame-Options"] == "DENY"


def test_probes_answer_for_any_host(tmp_path: Path) -> None:
    with sqlite_app(tmp_path, TRUSTED_HOSTS=["good.example"]) as app:
        response = app.test_client().get("/healthz", headers={"Host": "10.0.0.7:8080"})
    assert response.status_code == 200


def test_server_name_alone_restricts_hosts() -> None:
    config = load_config({"SERVER_NAME": "blog.example:443", "FLASK_DEBUG": "1"})
    assert config["TRUSTED_HOSTS"] == ["blog.example"]


def test_reset_link_cannot_point_at_another_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite_app(tmp_path, TRUSTED_HOSTS=["good.example"]) as app:
        make_user("erin")
        client = app.test_client()
        forged = client.post(
            "/auth/reset_password_request",
            data={"email": "erin@example.com"},
            headers={"Host": "evil.example"},
        )
        real = client.post(
            "/auth/reset_password_request",
            data={"email": "erin@example.com"},
            headers={"Host": "good.example"},
        )
    assert forged.status_code == 400
    assert real.status_code == 302
    # Without MAIL_SERVER the message goes to the log on stdout.
    mail = quopri.decodestring(capsys.readouterr().out).decode()
    assert "http://good.example/auth/reset_password/" in mail
    assert "evil.example" not in mail
