"""The database side of the suite: a seeded app database and a check of writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import flask_migrate
import sqlalchemy as sa

from microblog import create_app
from microblog.commands.seed import DEMO_PASSWORD, SeedPlan, seed
from microblog.config import normalise_database_url
from microblog.extensions import db
from microblog.models import Post, User
from tests.resilience.traffic import Post as AcknowledgedPost
from tests.resilience.traffic import Traffic

TRAFFIC_USERS = 6
PASSWORD = DEMO_PASSWORD


@dataclass(frozen=True)
class AppDatabase:
    """A migrated, seeded database for one scenario, and its users' names."""

    url: str
    users: list[str]


class SilentBar:
    """A progress bar that shows nothing."""

    def update(self, steps: int) -> None:
        pass


@contextmanager
def no_progress(**_: Any) -> Iterator[SilentBar]:
    """Seed without drawing progress bars."""
    yield SilentBar()


def prepare_database(url: str) -> list[str]:
    """Migrate ``url``, seed demo users and posts, and return the usernames."""
    database = normalise_database_url(url)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        flask_migrate.upgrade()
        seed(SeedPlan(users=TRAFFIC_USERS, follows=3, posts=10), progress=no_progress)
        names = list(db.session.scalars(sa.select(User.username).order_by(User.id)))
        db.engine.dispose()
    return names


def stored_posts(url: str, posts: dict[str, AcknowledgedPost]) -> tuple[int, int]:
    """How many of ``posts`` the database holds, and how many rows they take."""
    engine = sa.create_engine(normalise_database_url(url))
    keys = list(posts)
    found: dict[str, int] = {}
    try:
        with engine.connect() as connection:
            for start in range(0, len(keys), 500):
                rows = connection.execute(
                    sa.select(Post.idempotency_key, sa.func.count())
                    .where(Post.idempotency_key.in_(keys[start : start + 500]))
                    .group_by(Post.idempotency_key)
                )
                found.update({str(key): count for key, count in rows})
    finally:
        engine.dispose()
    return len(found), sum(found.values())


def wait_for_traffic(traffic: Traffic, requests: int, timeout: float = 120) -> None:
    """Block until ``requests`` more exchanges happened (bounded by ``timeout``)."""
    target = traffic.tally.requests + requests
    deadline = time.monotonic() + timeout
    while traffic.tally.requests < target:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"traffic stalled at {traffic.tally.requests} of {target} requests"
            )
        if traffic.errors:
            raise AssertionError(f"traffic threads failed: {traffic.errors}")
        time.sleep(0.05)
