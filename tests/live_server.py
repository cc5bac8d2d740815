"""A real gunicorn serving the app on PostgreSQL, and a raw HTTP client for it.

The client is built on ``http.client`` so that attack inputs reach the server
exactly as written: paths with backslashes or ``%2e``, bad headers, lying
bodies. It counts every request it sends, for the attack suite's tally.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import quopri
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg2

from tests.processes import free_port, require_loopback, wait_for_http, wait_until

PROJECT = Path(__file__).resolve().parent.parent
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RESET_LINK = re.compile(r"(/auth/reset_password/[A-Za-z0-9._-]+)")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


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
        if not ipaddress.ip_address(self.source).is_loopback:
            raise ValueError(f"tests only use loopback, not {self.source!r}")
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.source, 0)
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
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=Thu, 01 Jan 1970" not in cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return Reply(response.status, response.headers, text)

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


class LiveServer:
    """gunicorn with two workers on a fresh, migrated PostgreSQL database."""

    def __init__(self, database_url: str, root: Path, **settings: str) -> None:
        self.port = free_port()
        self.database_url = database_url
        self.log_path = root / f"gunicorn-{self.port}.log"
        self.env = self._environment(database_url, settings)
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "microblog", "db", "upgrade"],
            cwd=PROJECT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        # An empty config file: only the command line below applies.
        config = root / "gunicorn-test.conf.py"
        config.write_text("")
        self._log = self.log_path.open("wb")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(config),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "2",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
            "microblog:create_app()",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        wait_for_http(f"{self.url}/healthz", process=self.process)

    @staticmethod
    def _environment(database_url: str, settings: dict[str, str]) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FLASK_", "GUNICORN", "DYNO", "FLY_"))
        }
        # Explicit values beat anything a developer's .env would fill in.
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY=secrets.token_hex(32),
            FLASK_DEBUG="0",
            FORCE_HTTPS="0",
            PROXY_COUNT="0",
            TRUSTED_HOSTS="127.0.0.1,localhost",
            MAIL_SERVER="",
            REDIS_URL="",
            LOG_FORMAT="text",
            LOG_LEVEL="INFO",
            WEB_CONCURRENCY="2",
            PYTHONPATH=str(PROJECT),
        )
        env.update(settings)
        return env

    @property
    def url(self) -> str:
        require_loopback("127.0.0.1")
        return f"http://127.0.0.1:{self.port}"

    def client(self, source: str = "127.0.0.1") -> LiveClient:
        return LiveClient(self.port, source)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def reset_links(self, at_least: int = 1) -> list[str]:
        """Reset links from the e-mails the app wrote to its log (no MAIL_SERVER).

        Jobs send the mail a moment after the request answered: wait until
        there are ``at_least`` links.
        """
        found: list[str] = []

        def enough() -> bool:
            text = quopri.decodestring(self.log().encode()).decode(errors="replace")
            found[:] = RESET_LINK.findall(text)
            return len(found) >= at_least

        wait_until(enough, f"{at_least} reset links in the log", timeout=20)
        return found

    def query(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the database directly, to see what an attack did or did not store."""
        url = self.database_url.replace("postgresql+psycopg2://", "postgresql://")
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(statement, args or None)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        connection.close()
        return rows

    def request_count(self) -> int:
        """Requests the server has answered so far (lines in its access log)."""
        return len(re.findall(r'" \d{3} ', self.log()))

    def server_errors(self) -> list[str]:
        """Access-log lines with a 5xx status, and any traceback."""
        lines = self.log().splitlines()
        bad = [line for line in lines if re.search(r'" 5\d\d ', line)]
        return bad + [line for line in lines if "Traceback" in line]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
