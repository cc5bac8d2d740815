"""The app under gunicorn as a visitor finds it, and ways to look behind it.

``LiveApp`` is gunicorn (two workers) on a fresh, migrated database, started by
``AppServer`` with CSRF on and no proxy in front, plus what tests that drive
it need to see: the database as it is, the e-mails the app logged (no
MAIL_SERVER), the requests it answered and any server error. The attack suite,
the export-progress browser test and the job-worker scenarios use it.
"""

from __future__ import annotations

import quopri
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import psycopg2

from tests.harness.app_server import AppServer, run_flask
from tests.harness.environment import environment
from tests.harness.factories import PASSWORD
from tests.harness.http_client import LiveClient, Reply
from tests.harness.processes import wait_until

RESET_LINK = re.compile(r"(/auth/reset_password/[A-Za-z0-9._-]+)")


class LiveApp:
    """gunicorn with two workers on a fresh, migrated database, and ways to look in."""

    def __init__(self, database_url: str, root: Path, **settings: str) -> None:
        self.database_url = database_url
        defaults = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(32),
            "FLASK_DEBUG": "0",
            "FORCE_HTTPS": "0",
            "PROXY_COUNT": "0",
            "TRUSTED_HOSTS": "127.0.0.1,localhost",
            "MAIL_SERVER": "",
            "REDIS_URL": "",
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "INFO",
            "WEB_CONCURRENCY": "2",
        }
        env = environment(**{**defaults, **settings})
        run_flask(env, "db", "upgrade")
        # An empty settings file: only the command line below applies.
        options = ["--workers", "2", "--access-logfile", "-", "--error-logfile", "-"]
        self.server = AppServer(env, config=None, options=options, root=root).start()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def client(self, source: str = "127.0.0.1") -> LiveClient:
        return LiveClient(self.port, source)

    def log(self) -> str:
        return self.server.log()

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

    def register(
        self, browser: LiveClient, username: str, email: str | None = None
    ) -> Reply:
        """Submit the real registration form (password: ``factories.PASSWORD``)."""
        return browser.submit(
            "/auth/register",
            {
                "username": username,
                "email": email or f"{username}@example.com",
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )

    def new_account(self, prefix: str = "user") -> tuple[LiveClient, str]:
        """Register a fresh account through the real form and sign it in."""
        username = f"{prefix}{secrets.token_hex(3)}"
        browser = self.client()
        registered = self.register(browser, username)
        assert registered.status == 302, registered.text[:500]
        assert browser.login(username, PASSWORD).status == 302
        return browser, username

    def same_site(self, location: str) -> bool:
        """Would a browser following ``location`` stay on this site?"""
        # Browsers read a backslash as a slash in http(s) URLs.
        target = urljoin(f"{self.url}/auth/login", location.replace("\\", "/"))
        parts = urlsplit(target)
        return parts.scheme == "http" and parts.netloc == f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop()
