"""Signed, expiring, single-use password-reset tokens (no table needed).

The token carries a fingerprint of the current password hash, so it stops
working the moment the password changes: using it once spends it.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from microblog.extensions import db
from microblog.models import User

SALT = "password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    """A token that resets ``user``'s password once, within RESET_TOKEN_MAX_AGE."""
    return str(_serializer().dumps({"id": user.id, "fp": _fingerprint(user)}))


def user_for_reset_token(token: str) -> User | None:
    """The user a valid, unexpired, unused token belongs to; else None."""
    max_age = current_app.config["RESET_TOKEN_MAX_AGE"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    user = db.session.get(User, data["id"])
    if user is None or data.get("fp") != _fingerprint(user):
        return None
    return user
