"""Who follows whom: ``/api/users/<id>/followers`` and ``/following``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from microblog.api import bp
from microblog.api.auth import current_api_user, current_api_user_id, token_auth
from microblog.api.errors import documents, fail, found_or_404
from microblog.api.pages import collection
from microblog.api.queries import followed_by, followers_of
from microblog.api.representations import user_row_document
from microblog.api.schemas import UserPageSchema
from microblog.api.views import user_collection
from microblog.extensions import db
from microblog.models import User


def require_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise fail(404, f"There is no user with id {user_id}.")
    return user


def require_user_exists(user_id: int) -> None:
    found_or_404(
        sa.select(User.id).where(User.id == user_id),
        f"There is no user with id {user_id}.",
    )


def require_self(user_id: int) -> User:
    """The caller, when ``user_id`` is theirs; 404 or 403 otherwise."""
    caller = current_api_user()
    if user_id != caller.id:
        require_user_exists(user_id)
        raise fail(403, "You can only change whom you follow yourself.")
    return caller


def user_page(
    query_for: Callable[[int], Any], args: dict[str, Any], user_id: int
) -> dict[str, Any]:
    """A page of users related to ``user_id``, as the viewer sees them."""
    require_user_exists(user_id)
    viewer_id = current_api_user_id()
    return collection(
        query_for(user_id),
        args,
        lambda row: user_row_document(row, viewer_id),
        user_id=user_id,
    )


@user_collection("followers", UserPageSchema)
def list_followers(args: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The users who follow this user."""
    return user_page(followers_of, args, user_id)


@user_collection("following", UserPageSchema)
def list_following(args: dict[str, Any], user_id: int) -> dict[str, Any]:
    """The users this user follows."""
    return user_page(followed_by, args, user_id)


@bp.route("/users/<int:user_id>/following/<int:target_id>", methods=["POST"])
@token_auth
@documents(403, 404, 422)
@bp.response(204)
def follow(user_id: int, target_id: int) -> None:
    """Follow a user; following someone already followed changes nothing."""
    caller = require_self(user_id)
    target = require_user(target_id)
    if target.id == caller.id:
        raise fail(422, "target_id: you cannot follow yourself.", target_id="Yourself.")
    if caller.follow(target):
        db.session.commit()


@bp.route("/users/<int:user_id>/following/<int:target_id>", methods=["DELETE"])
@token_auth
@documents(403, 404)
@bp.response(204)
def unfollow(user_id: int, target_id: int) -> None:
    """Stop following a user; unfollowing a stranger changes nothing."""
    caller = require_self(user_id)
    target = require_user(target_id)
    if caller.unfollow(target):
        db.session.commit()
