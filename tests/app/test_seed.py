"""``flask seed``: deterministic, idempotent demo data."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskCliRunner

from microblog.extensions import db
from microblog.models import Post, User, followers
from tests.harness.factories import make_user
from tests.harness.flask_app import fresh


def counts() -> tuple[int, int, int]:
    fresh()
    return tuple(  # type: ignore[return-value]
        db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in (User.__table__, followers, Post.__table__)
    )


def test_seed_creates_the_planned_data(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["seed", "--users", "12", "--follows", "3", "--posts", "4"]
    )
    assert result.exit_code == 0, result.output
    assert counts() == (12, 36, 48)
    assert "Seeded 12 users, 36 follows and 48 posts" in result.output


def test_seed_is_idempotent_and_deterministic(runner: FlaskCliRunner) -> None:
    args = ["seed", "--users", "8", "--follows", "2", "--posts", "3"]
    runner.invoke(args=args)
    fresh()
    first = sorted(db.session.scalars(sa.select(Post.body)))
    result = runner.invoke(args=args)
    assert "Seeded 0 users, 0 follows and 0 posts" in result.output
    assert counts() == (8, 16, 24)
    runner.invoke(args=["seed", "--users", "10", "--follows", "2", "--posts", "3"])
    assert counts() == (10, 20, 30)
    assert set(first) <= set(db.session.scalars(sa.select(Post.body)))


def test_seed_if_empty_leaves_an_existing_database_alone(
    runner: FlaskCliRunner,
) -> None:
    make_user("alice")
    result = runner.invoke(args=["seed", "--if-empty", "--users", "5"])
    assert "not seeding" in result.output
    assert counts() == (1, 0, 0)


def test_seeded_users_can_sign_in(runner: FlaskCliRunner, auth) -> None:
    runner.invoke(args=["seed", "--users", "3", "--follows", "1", "--posts", "1"])
    assert auth.login("ada", "microblog-demo").status_code == 302


def test_seed_refuses_bad_numbers(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["seed", "--users", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--users'" in result.output
