"""Creating a post, once, even when the browser sends the form twice."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from microblog.extensions import db
from microblog.models import Post, User
from microblog.web.remembered_pages import fresh_value

# Each rendering of the post form carries a key of its own; a remembered page
# holds a marker in its place (microblog.web.remembered_pages).
IDEMPOTENCY_KEY = fresh_value(lambda: secrets.token_urlsafe(16))


def create_post(author: User, body: str, idempotency_key: str | None) -> Post:
    """Store a post; a repeated ``idempotency_key`` returns the first one."""
    if idempotency_key:
        earlier = db.session.scalar(
            sa.select(Post).where(
                Post.user_id == author.id, Post.idempotency_key == idempotency_key
            )
        )
        if earlier is not None:
            return earlier
    post = Post(body=body.strip(), author=author, idempotency_key=idempotency_key)
    db.session.add(post)
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent retry of the same submission won the race.
        db.session.rollback()
        winner = db.session.scalar(
            sa.select(Post).where(
                Post.user_id == author.id, Post.idempotency_key == idempotency_key
            )
        )
        if winner is None:
            raise
        return winner
    return post
