"""Account defences that need no live server: equal work for unknown users,
and every API token revoked when a user signs out everywhere or resets."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from microblog.accounts import passwords
from microblog.extensions import db
from microblog.models import Token, User, utcnow
from tests.harness.factories import make_user
from tests.harness.flask_app import AuthActions


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every argon2 verification the app performs."""
    calls: list[str] = []
    real = passwords.hasher

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Any:
            calls.append(str(hash))
            return real.verify(hash, password)

    counting = CountingHasher(
        time_cost=real.time_cost,
        memory_cost=real.memory_cost,
        parallelism=real.parallelism,
    )
    monkeypatch.setattr(passwords, "hasher", counting)
    return calls


def without_tokens(page: str) -> str:
    return re.sub(r'value="[^"]{20,}"', 'value=""', page)


def test_unknown_user_costs_the_same_hash_check_as_a_wrong_password(
    client: FlaskClient, auth: AuthActions, hash_checks: list[str]
) -> None:
    make_user("alice")
    unknown = auth.login("nobody", "wrong-password")
    checks_for_unknown = list(hash_checks)
    hash_checks.clear()
    wrong = auth.login("alice", "wrong-password")
    assert unknown.status_code == wrong.status_code == 200
    assert len(checks_for_unknown) == len(hash_checks) == 1
    # The dummy hash has the same argon2 parameters as a real one.
    assert checks_for_unknown[0].split("$")[:4] == hash_checks[0].split("$")[:4]
    # Same page but for the name typed (and the CSRF token's timestamp).
    assert without_tokens(unknown.text.replace("nobody", "alice")) == without_tokens(
        wrong.text
    )


def give_token(user: User) -> None:
    db.session.add(
        Token(
            token_hash=Token.hash(f"secret-{user.id}-{utcnow().timestamp()}"),
            user=user,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.session.commit()


def tokens_of(user_id: int) -> int:
    query = sa.select(sa.func.count()).where(Token.user_id == user_id)
    return int(db.session.scalar(query) or 0)


def test_logout_everywhere_revokes_api_tokens(app: Flask, auth: AuthActions) -> None:
    user = make_user("alice")
    give_token(user)
    auth.login("alice")
    auth.logout()
    assert tokens_of(user.id) == 0


def test_password_change_revokes_api_tokens(app: Flask) -> None:
    user, other = make_user("alice"), make_user("bob")
    give_token(user)
    give_token(other)
    user.set_password("a-brand-new-password")
    db.session.commit()
    assert (tokens_of(user.id), tokens_of(other.id)) == (0, 1)
