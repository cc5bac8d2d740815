"""A small HTTP client for the benchmark: sign in, get a token, find a static URL.

Cookies are carried by hand: a production app marks its session cookie
``Secure``, which a cookie jar would refuse to send over plain HTTP on loopback.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

LOOPBACK = frozenset({"127.0.0.1", "::1"})
USER_AGENT = "microblog-bench"
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*\svalue="([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# Never through a proxy from the environment, never following redirects.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects())


class BenchSetupError(RuntimeError):
    """Signing in or finding a URL to measure failed; the message says how."""


@dataclass
class Reply:
    status: int
    headers: Message = field(default_factory=Message)
    body: bytes = b""

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for header in self.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return {name: morsel.value for name, morsel in jar.items()}


def request(
    url: str,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = 10,
) -> Reply:
    """One request to loopback; status 0 when nothing answered."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ValueError(f"the benchmark only talks HTTP to this machine, not {url!r}")
    # S310: the scheme was just checked to be http.
    sent = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with OPENER.open(sent, timeout=timeout) as answer:
            body = answer.read()
            if answer.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return Reply(answer.status, answer.headers, body)
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())
    except OSError:
        return Reply(0)


def http_get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> Reply:
    """GET ``url``."""
    return request(url, headers, timeout=timeout)


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def sign_in(base_url: str, username: str, password: str) -> str:
    """Sign in through the real form (with its CSRF token); return the Cookie header."""
    form = http_get(base_url + "/auth/login", {"User-Agent": USER_AGENT})
    token = CSRF_FIELD.search(form.body.decode(errors="replace"))
    if form.status != 200 or token is None:
        raise BenchSetupError(f"GET /auth/login: {form.status}, no CSRF token found")
    cookies = form.cookies()
    fields = {"csrf_token": token.group(1), "username": username, "password": password}
    answer = request(
        base_url + "/auth/login",
        {
            "User-Agent": USER_AGENT,
            "Cookie": cookie_header(cookies),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        data=urlencode(fields).encode(),
    )
    if answer.status != 302:
        raise BenchSetupError(f"POST /auth/login answered {answer.status}, not 302")
    cookies.update(answer.cookies())
    return cookie_header(cookies)


def api_token(base_url: str, username: str, password: str) -> str | None:
    """A bearer token from ``POST /api/tokens``; None when the app has no API."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    answer = request(
        base_url + "/api/tokens",
        {"User-Agent": USER_AGENT, "Authorization": f"Basic {basic}"},
        data=b"",
    )
    if answer.status == 404:
        return None
    if answer.status != 200:
        raise BenchSetupError(f"POST /api/tokens answered {answer.status}")
    token: str = json.loads(answer.body)["token"]
    return token


def stylesheet_path(page: bytes) -> str:
    """The stylesheet URL a page links to (fingerprinted when the app does that)."""
    found = STYLESHEET.search(page.decode(errors="replace"))
    if found is None:
        raise BenchSetupError("no stylesheet link found on the home page")
    return found.group(1)
