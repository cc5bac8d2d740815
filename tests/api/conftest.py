"""Fixtures of this area: the app in-process on SQLite, PostgreSQL and MariaDB,
and a real SMTP server it can send to."""

from __future__ import annotations

from tests.harness.flask_app import (
    app,
    auth,
    client,
    database_url,
    first,
    runner,
    second,
)
from tests.harness.mail_server import mail_server

__all__ = [
    "app",
    "auth",
    "client",
    "database_url",
    "first",
    "mail_server",
    "runner",
    "second",
]
