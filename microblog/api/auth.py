"""Who is calling: HTTP Basic to get a token, bearer tokens for the rest.

Only the ``Authorization`` header counts. A browser's session cookie never
authenticates an API request, so a page on another site cannot make a signed-in
browser write through the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from microblog.accounts.passwords import verify_password
from microblog.accounts.rules import USERNAME_PATTERN
from microblog.api import bp
from microblog.api.errors import documents
from microblog.api.tokens_store import owner_of_token
from microblog.extensions import db
from microblog.models import USERNAME_MAX, User
from microblog.replicas.routing import primary_reads

F = TypeVar("F", bound=Callable[..., Any])
REALM = "microblog API"
BASIC_SECURITY: list[dict[str, list[str]]] = [{"basicAuth": []}]
BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def challenge(scheme: str, message: str, error: str | None = None) -> Unauthorized:
    parameters: dict[str, str | None] = {"realm": REALM}
    if error:
        parameters["error"] = error
    return Unauthorized(message, www_authenticate=WWWAuthenticate(scheme, parameters))


def bearer_token() -> str | None:
    """The token from ``Authorization: Bearer ...``, if that is what was sent."""
    credentials = request.authorization
    if credentials is None or credentials.type != "bearer":
        return None
    return credentials.token or None


def authenticate_bearer() -> int:
    """The id of the token's owner."""
    token = bearer_token()
    if token is None:
        raise challenge("Bearer", "Send a token: Authorization: Bearer <token>.")
    user_id = owner_of_token(token)
    if user_id is None:
        raise invalid_token()
    return user_id


def invalid_token() -> Unauthorized:
    return challenge("Bearer", "The token is invalid or expired.", "invalid_token")


def authenticate_basic() -> User:
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        raise challenge("Basic", "Send your username and password with HTTP Basic.")
    username = credentials.username or ""
    user = None
    # Only a name registration could accept reaches the database: a NUL, say,
    # would fail on PostgreSQL and be cut short by SQLite, matching someone else.
    if len(username) <= USERNAME_MAX and re.fullmatch(USERNAME_PATTERN, username):
        user = db.session.scalar(
            sa.select(User).where(sa.func.lower(User.username) == username.lower())
        )
    if user is None:
        verify_password(None, credentials.password or "")  # same time as a miss
    elif user.check_password(credentials.password or ""):
        return user
    raise challenge("Basic", "Invalid username or password.")


def current_api_user_id() -> int:
    """The id of the user the current API request authenticated as."""
    user_id: int = g.api_user_id
    return user_id


def current_api_user() -> User:
    """That user, loaded on first use, from the primary like the token itself."""
    user: User | None = g.get("api_user")
    if user is None:
        with primary_reads():
            user = db.session.get(User, current_api_user_id())
        if user is None:  # deleted since the token was checked
            raise invalid_token()
        g.api_user = user
    return user


def token_auth(view: F) -> F:
    """Require a valid bearer token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.api_user_id = authenticate_bearer()
        return view(*args, **kwargs)

    documented = bp.doc(security=BEARER_SECURITY)(wrapper)
    return documents(401)(documented)


def basic_auth(view: F) -> F:
    """Require a username and password (HTTP Basic)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.api_user = authenticate_basic()
        g.api_user_id = g.api_user.id
        return view(*args, **kwargs)

    documented = bp.doc(security=BASIC_SECURITY)(wrapper)
    return documents(401)(documented)
