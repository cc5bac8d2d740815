"""Apps for the security tests: SQLite, CSRF and rate limits as in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from microblog import create_app
from microblog.extensions import db
from tests.conftest import wait_for_jobs


@contextmanager
def sqlite_app(
    tmp_path: Path, create_tables: bool = True, **overrides: Any
) -> Iterator[Flask]:
    """A fresh app on a new SQLite file, inside its app context."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'security.sqlite'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": True,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        if create_tables:
            db.create_all()
        yield app
        wait_for_jobs(app)
        db.session.remove()
        db.engine.dispose()
