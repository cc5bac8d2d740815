"""deploy/nginx: the shipped site, run by a real nginx in front of a real gunicorn."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from microblog.security.headers import STRICT_TRANSPORT_SECURITY
from tests.harness.http_client import LoopbackHTTPS, Reply
from tests.harness.processes import skip_or_fail, wait_until
from tests.vm.support import TEST_HOST, fetch, tls_context
from tests.vm.web_stack import MINIMAL_NGINX_CONF, WebStack

pytestmark = pytest.mark.slow

CSRF_FIELD = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


def https(stack: WebStack, path: str, **kwargs: Any) -> Reply:
    """A request to the site over TLS, trusting the test CA."""
    return fetch(
        stack.https_port, path, tls=tls_context(stack.certificates.ca), **kwargs
    )


def gunicorn_lines(stack: WebStack, wanted: str, attempts: int = 200) -> list[str]:
    """Access-log lines so far, once one containing ``wanted`` has been written."""
    # gunicorn logs a request just after answering it: poll briefly, bounded.
    for _ in range(attempts):
        lines = stack.access_log.read_text().splitlines()
        if any(wanted in line for line in lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"no gunicorn access-log line with {wanted!r}: {lines}")


def test_nginx_accepts_the_site_without_warnings(web_stack: WebStack) -> None:
    result = subprocess.run(
        [web_stack.nginx_program, "-t", "-c", str(web_stack.nginx_conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr
    assert "[emerg]" not in result.stderr


def test_gixy_finds_no_problem_in_the_site(web_stack: WebStack) -> None:
    gixy = shutil.which("gixy") or str(Path(sys.executable).parent / "gixy")
    if not Path(gixy).exists():
        skip_or_fail("gixy not installed (pip install -r requirements-dev.txt)")
    # Only our files: Debian's nginx.conf has findings of its own (TLS 1.0 allowed),
    # which the site overrides for every server on its ports.
    conf = web_stack.nginx_conf.with_name("gixy.conf")
    conf.write_text(MINIMAL_NGINX_CONF % {"site": web_stack.site})
    result = subprocess.run(
        [gixy, "--format", "json", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_plain_http_is_redirected_to_https_keeping_path_and_query(
    web_stack: WebStack,
) -> None:
    reply = fetch(web_stack.http_port, "/explore?page=2")
    assert reply.status == 301
    expected = f"https://{TEST_HOST}:{web_stack.https_port}/explore?page=2"
    assert reply.header("Location") == expected


def test_acme_challenge_is_answered_over_plain_http(web_stack: WebStack) -> None:
    challenge = web_stack.acme_root / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "token-123").write_text("token-123.thumbprint")
    (challenge / "token-123").chmod(0o644)
    for folder in (web_stack.acme_root / ".well-known", challenge):
        folder.chmod(0o755)
    reply = fetch(web_stack.http_port, "/.well-known/acme-challenge/token-123")
    assert reply.status == 200
    assert reply.body == b"token-123.thumbprint"
    assert reply.header("Content-Type") == "text/plain"


def test_unknown_host_names_get_no_answer(web_stack: WebStack) -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        fetch(web_stack.http_port, "/", headers={"Host": "203.0.113.7"})
    connection = LoopbackHTTPS(
        web_stack.https_port,
        tls_context(web_stack.certificates.ca),
        server_name="other.example",
    )
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        connection.connect()
    connection.close()


def test_pages_render_over_tls_with_one_hsts_header(web_stack: WebStack) -> None:
    reply = https(web_stack, "/auth/login")
    assert reply.status == 200
    assert reply.header("Content-Type").startswith("text/html")
    assert b"<form" in reply.body
    # The app's HSTS and nginx's agree; the page carries one, as do static files.
    for page in (reply, https(web_stack, "/static/css/app.css")):
        hsts = page.headers.get_all("Strict-Transport-Security")
        assert hsts == [STRICT_TRANSPORT_SECURITY]
    assert reply.header("Server") == "nginx"


def test_https_offers_http2(web_stack: WebStack) -> None:
    context = tls_context(web_stack.certificates.ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(
            ("127.0.0.1", web_stack.https_port), timeout=10
        ) as raw,
        context.wrap_socket(raw, server_hostname=TEST_HOST) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}


def test_app_sees_the_client_address_and_https_not_spoofed_headers(
    web_stack: WebStack,
) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
    reply = https(web_stack, "/healthz?who", headers=spoofed, source_ip="127.0.0.2")
    assert reply.status == 200
    (line,) = [
        line for line in gunicorn_lines(web_stack, "?who") if "/healthz?who" in line
    ]
    # gunicorn's peer is nginx (127.0.0.1); the app's REMOTE_ADDR is the client.
    assert line.endswith("200 client=127.0.0.2 scheme=https"), line


def test_reset_link_uses_the_public_https_address(web_stack: WebStack) -> None:
    from microblog.commands.seed import demo_username

    form = https(web_stack, "/auth/reset_password_request")
    token = CSRF_FIELD.search(form.body)
    assert token is not None, form.body[:500]
    set_cookie = form.header("Set-Cookie")
    # FORCE_HTTPS=1: the app itself names its cookie __Host- and marks it Secure.
    assert set_cookie.startswith("__Host-session=")
    assert "; Secure" in set_cookie
    cookie = set_cookie.split(";", 1)[0]
    origin = f"https://{TEST_HOST}:{web_stack.https_port}"
    reply = https(
        web_stack,
        "/auth/reset_password_request",
        method="POST",
        body=urlencode(
            {"email": f"{demo_username(0)}@example.com", "csrf_token": token.group(1)}
        ).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            # Flask-WTF checks the referrer on HTTPS requests: it must see HTTPS.
            "Referer": f"{origin}/auth/reset_password_request",
        },
    )
    assert reply.status == 302, reply.body[:500]

    def link_logged() -> bool:
        # The mail is sent by a job, a moment after the answer.
        log = web_stack.gunicorn.log_tail().replace("=\n", "")
        return f"{origin}/auth/reset_password/" in log

    wait_until(link_logged, "reset mail in the log", timeout=20)


def test_bodies_over_the_limit_stop_at_nginx(web_stack: WebStack) -> None:
    reply = https(web_stack, "/auth/login?big", method="POST", body=b"x" * 2_000_000)
    assert reply.status == 413
    assert https(web_stack, "/healthz?after-big").status == 200
    lines = gunicorn_lines(web_stack, "/healthz?after-big")
    assert not [line for line in lines if "?big" in line]
