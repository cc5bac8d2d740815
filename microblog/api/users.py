"""``/api/users``: list, read, register and edit accounts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response
from sqlalchemy.exc import IntegrityError
from wtforms.validators import ValidationError

from microblog.accounts.rules import normalise_email, username_taken
from microblog.api import bp
from microblog.api.auth import current_api_user, current_api_user_id, token_auth
from microblog.api.errors import documents, fail, json_body
from microblog.api.links import user_links
from microblog.api.pages import collection
from microblog.api.queries import user_with_counts, users_with_counts
from microblog.api.remembered import remembered_document
from microblog.api.representations import user_document, user_row_document
from microblog.api.schemas import (
    PageArgsSchema,
    UserCreateSchema,
    UserPageSchema,
    UserSchema,
    UserUpdateSchema,
)
from microblog.api.views import signed_in_get
from microblog.extensions import db
from microblog.models import User


def find_user_row(user_id: int) -> Any:
    """A user with counts, or 404."""
    row = db.session.execute(user_with_counts(), {"user_id": user_id}).first()
    if row is None:
        raise fail(404, f"There is no user with id {user_id}.")
    return row


def checked_email(address: str, except_id: int | None = None) -> str:
    """The normalised address; 422 when invalid, 409 when someone has it."""
    try:
        email = normalise_email(address)
    except ValidationError as error:
        raise fail(422, f"email: {error}", email=str(error)) from None
    query = sa.select(User.id).where(User.email == email)
    if except_id is not None:
        query = query.where(User.id != except_id)
    if db.session.scalar(query) is not None:
        raise fail(409, "email: already registered.", email="Already registered.")
    return email


def check_username_free(username: str, except_id: int | None = None) -> None:
    if username_taken(username, except_id):
        raise fail(409, "username: already taken.", username="Already taken.")


def commit_or_conflict() -> None:
    """Commit; a concurrent request that took the same name or address is a 409."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise fail(409, "username or email: already taken.") from None


@bp.route("/users", methods=["GET"])
@token_auth
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, UserPageSchema)
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """Every user, oldest account first."""
    viewer_id = current_api_user_id()
    return collection(
        users_with_counts(), args, lambda row: user_row_document(row, viewer_id)
    )


@signed_in_get("/users/<int:user_id>", UserSchema, user_links(200))
def get_user(user_id: int) -> Response:
    """One user with follower, following and post counts."""
    row = find_user_row(user_id)
    viewer_id = current_api_user_id()
    return remembered_document(
        UserSchema,
        (tuple(row), row.id == viewer_id),
        lambda: user_row_document(row, viewer_id),
    )


@bp.route("/users", methods=["POST"])
@documents(409)
@user_links(201)
@json_body(UserCreateSchema)
@bp.response(201, UserSchema, headers={"Location": {"schema": {"type": "string"}}})
def create_user(data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Register a new account (no token needed)."""
    email = checked_email(data["email"])
    check_username_free(data["username"])
    user = User(username=data["username"], email=email, about_me=data.get("about_me"))
    user.set_password(data["password"])
    db.session.add(user)
    commit_or_conflict()
    document = user_document(user, user.id)
    return document, 201, {"Location": document["links"]["self"]}


@bp.route("/users/<int:user_id>", methods=["PUT"])
@token_auth
@documents(403, 404, 409)
@json_body(UserUpdateSchema)
@bp.response(200, UserSchema)
def update_user(data: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Change one's own username, e-mail address or about-me text."""
    caller = current_api_user()
    if user_id != caller.id:
        find_user_row(user_id)  # an unknown id is a 404, someone else's a 403
        raise fail(403, "You can only change your own account.")
    if "username" in data:
        check_username_free(data["username"], except_id=caller.id)
        caller.username = data["username"]
    if "email" in data:
        caller.email = checked_email(data["email"], except_id=caller.id)
    if "about_me" in data:
        caller.about_me = data["about_me"]
    commit_or_conflict()
    return user_row_document(find_user_row(caller.id), caller.id)
