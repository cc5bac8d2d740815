"""Rows for tests to start from: users, posts, API credentials.

Each factory commits, so the row is there for requests the test makes next.
They run inside an app context (the ``app`` fixture provides one).
"""

from __future__ import annotations

from typing import Any

from microblog.accounts.passwords import hash_password
from microblog.api.tokens_store import issue_token
from microblog.extensions import db
from microblog.jobs import exports
from microblog.jobs.models import Task
from microblog.models import Post, User

PASSWORD = "correct-horse-battery"
# argon2 is deliberately slow; tests share one hash of each password.
_password_hash_cache: dict[str, str] = {}


def make_user(
    username: str, email: str | None = None, password: str = PASSWORD, **fields: Any
) -> User:
    """Create and commit a user (password hashes are cached across tests)."""
    if password not in _password_hash_cache:
        _password_hash_cache[password] = hash_password(password)
    user = User(
        username=username,
        email=email or f"{username.lower()}@example.com",
        password_hash=_password_hash_cache[password],
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_post(author: User, body: str, **fields: Any) -> Post:
    """Create and commit a post by ``author``."""
    post = Post(body=body, author=author, **fields)
    db.session.add(post)
    db.session.commit()
    return post


def bearer(user: User) -> dict[str, str]:
    """Headers that authenticate as ``user`` with a freshly issued token."""
    secret, _ = issue_token(user)
    return {"Authorization": f"Bearer {secret}"}


def make_export_task(user_id: int, task_id: str, status: str, **fields: Any) -> Task:
    """An export row as the web stores it, queued or running (so it is active)."""
    task = Task(
        id=task_id,
        name=exports.JOB_NAME,
        user_id=user_id,
        status=status,
        active_key=f"{exports.JOB_NAME}:{user_id}",
        **fields,
    )
    db.session.add(task)
    db.session.commit()
    return task
