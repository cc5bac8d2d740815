"""Bearer tokens: random, stored only as SHA-256, expiring, revocable."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from microblog.extensions import db
from microblog.models import Token, User, thread_statement, utcnow
from microblog.replicas.routing import primary_reads


def token_lifetime() -> timedelta:
    # A stolen token is worth API_TOKEN_LIFETIME at most (a day by default);
    # clients ask for a new one with Basic.
    return timedelta(seconds=current_app.config["API_TOKEN_LIFETIME"])


def issue_token(user: User) -> tuple[str, datetime]:
    """Store a new token for ``user``; return the secret (shown once) and expiry."""
    now = utcnow()
    # Expired tokens of this user are useless: clear them out while we are here.
    db.session.execute(
        sa.delete(Token).where(Token.user_id == user.id, Token.expires_at <= now)
    )
    secret = secrets.token_urlsafe(32)
    expires_at = now + token_lifetime()
    db.session.add(
        Token(token_hash=Token.hash(secret), user=user, expires_at=expires_at)
    )
    db.session.commit()
    return secret, expires_at


def owner_of_token(secret: str) -> int | None:
    """The id of a live token's owner, in one statement on the primary (a token
    issued or revoked a moment ago may not have reached a replica)."""
    values = {"token_hash": Token.hash(secret), "now": utcnow()}
    with primary_reads():
        return db.session.scalar(token_owner(), values)


def token_owner() -> sa.Select[int]:
    """The id of the user whose token has ``token_hash`` and expires after ``now``.

    Only the id: most reads need nothing else of the caller, and a plain
    value costs no ORM object to build.
    """
    return thread_statement(
        ("token owner",),
        lambda: (
            sa.select(User.id)
            .join(Token, Token.user_id == User.id)
            .where(
                Token.token_hash == sa.bindparam("token_hash"),
                Token.expires_at > sa.bindparam("now"),
            )
        ),
    )


def revoke_token(secret: str) -> None:
    """Delete the token so it stops working at once."""
    db.session.execute(sa.delete(Token).where(Token.token_hash == Token.hash(secret)))
    db.session.commit()
