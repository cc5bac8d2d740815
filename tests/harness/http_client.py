"""The one HTTP client of the suite, built on ``http.client``.

``request()`` sends one request over a fresh loopback connection (plain or
TLS, from any 127.x source address). ``LiveClient`` is a browser-like session
that keeps cookies, never follows redirects and sends attack inputs exactly as
written: paths with backslashes or ``%2e``, bad headers, lying bodies. It
counts every request it sends, for the attack suite's tally.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIMEOUT = 30.0


@dataclass(frozen=True)
class Reply:
    """What came back for one HTTP request."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def header(self, name: str) -> str:
        """One response header, or "" when absent."""
        return self.headers.get(name, "")


def require_loopback_source(source: str) -> None:
    if not ipaddress.ip_address(source).is_loopback:
        raise ValueError(f"tests only use loopback, not {source!r}")


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 that sends ``server_name`` as the TLS server name."""

    def __init__(
        self,
        port: int,
        context: ssl.SSLContext,
        source_ip: str = "127.0.0.1",
        server_name: str = "localhost",
        timeout: float = 10,
    ) -> None:
        super().__init__(server_name, port, timeout=timeout, context=context)
        require_loopback_source(source_ip)
        self.tls = context
        self.source_ip = source_ip
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection(
            ("127.0.0.1", self.port),
            timeout=self.timeout,
            source_address=(self.source_ip, 0),
        )
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.server_name)


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    tls: ssl.SSLContext | None = None,
    server_name: str = "localhost",
    source_ip: str = "127.0.0.1",
    timeout: float = TIMEOUT,
) -> Reply:
    """One request to ``127.0.0.1:port`` over a fresh connection.

    Without a ``Host`` header, http.client sends ``127.0.0.1:port`` (plain) or
    ``server_name:port`` (TLS, where ``server_name`` is also the SNI name).
    """
    require_loopback_source(source_ip)
    connection: http.client.HTTPConnection
    if tls is None:
        connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=timeout, source_address=(source_ip, 0)
        )
    else:
        connection = LoopbackHTTPS(port, tls, source_ip, server_name, timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass
class LiveClient:
    """One browser-like client: keeps cookies, never follows redirects."""

    port: int
    # Another loopback address than 127.0.0.1, which gunicorn trusts by default
    # (FORWARDED_ALLOW_IPS) to send X-Forwarded-Proto, as nginx on the host would.
    source: str = "127.0.0.1"
    cookies: dict[str, str] = field(default_factory=dict)
    sent: int = 0

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request as written; remember the cookies the reply sets."""
        all_headers = dict(headers or {})
        if form is not None:
            body = urlencode(form)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies and "Cookie" not in all_headers:
            all_headers["Cookie"] = "; ".join(
                f"{k}={v}" for k, v in self.cookies.items()
            )
        require_loopback_source(self.source)
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=TIMEOUT, source_address=(self.source, 0)
        )
        try:
            connection.putrequest(
                method, path, skip_host="Host" in all_headers, skip_accept_encoding=True
            )
            payload = body.encode() if isinstance(body, str) else body
            if payload is not None and "Content-Length" not in all_headers:
                all_headers["Content-Length"] = str(len(payload))
            for name, value in all_headers.items():
                connection.putheader(name, value)
            connection.endheaders(payload)
            self.sent += 1
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=Thu, 01 Jan 1970" not in cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return Reply(response.status, response.headers, content)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def csrf_token(self, path: str) -> str:
        """The CSRF token of the form on ``path`` (for this client's session)."""
        match = CSRF_FIELD.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def submit(
        self,
        path: str,
        data: dict[str, str],
        form_page: str | None = None,
        **kwargs: Any,
    ) -> Reply:
        """POST ``data`` to ``path`` with a fresh CSRF token, like a browser."""
        token = self.csrf_token(form_page or path)
        return self.request("POST", path, form={**data, "csrf_token": token}, **kwargs)

    def login(
        self, username: str, password: str, next_path: str | None = None
    ) -> Reply:
        query = f"?{urlencode({'next': next_path})}" if next_path is not None else ""
        return self.submit(
            f"/auth/login{query}",
            {"username": username, "password": password},
            form_page="/auth/login",
        )
