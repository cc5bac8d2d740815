"""Fixtures of this area: the app in-process on SQLite, PostgreSQL and MariaDB,
and a real SMTP server it can send to (tests/harness/app_fixtures.py)."""

from tests.harness.app_fixtures import *  # noqa: F403 (pytest finds fixtures by name)
