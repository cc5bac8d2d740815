"""The fixtures of every area that runs the app in-process (app, api, security).

An area's ``conftest.py`` imports them all, so that pytest finds them there by
name: the app on SQLite, PostgreSQL and MariaDB, its clients, a second and
third instance on the same database, and a real SMTP server.
"""

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
