"""``/api/posts``: the caller's timeline, posting, and a user's posts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from microblog.api import bp
from microblog.api.auth import current_api_user, current_api_user_id, token_auth
from microblog.api.errors import documents, fail, found_or_404, json_body
from microblog.api.follows import require_user_exists
from microblog.api.links import BODY_ID, links
from microblog.api.pages import collection, page_numbers
from microblog.api.representations import post_document
from microblog.api.schemas import (
    IdempotencyHeaderSchema,
    PageArgsSchema,
    PostCreateSchema,
    PostPageSchema,
    PostSchema,
)
from microblog.api.views import signed_in_get, user_collection
from microblog.extensions import db
from microblog.main.posting import create_post
from microblog.models import Post, User, following_posts


def first_column(row: Any) -> dict[str, Any]:
    return post_document(row[0])


@bp.route("/posts", methods=["GET"])
@token_auth
@links(200, GetFirstPost=("get_post", {"post_id": "$response.body#/items/0/id"}))
@bp.arguments(PageArgsSchema, location="query")
@bp.response(200, PostPageSchema)
def timeline(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's timeline: own and followed users' posts, newest first."""
    number, size = page_numbers(args)
    # The depth lets PostgreSQL read only each author's newest posts.
    timeline = following_posts(current_api_user_id(), depth=number * size + 1)
    return collection(timeline, args, first_column)


@user_collection("posts", PostPageSchema)
def list_user_posts(args: dict[str, Any], user_id: int) -> dict[str, Any]:
    """One user's posts, newest first."""
    require_user_exists(user_id)
    posts = (
        sa.select(Post)
        .where(Post.user_id == user_id)
        .options(so.joinedload(Post.author))
        .order_by(Post.timestamp.desc(), Post.id.desc())
    )
    return collection(posts, args, first_column, user_id=user_id)


@signed_in_get("/posts/<int:post_id>", PostSchema)
def get_post(post_id: int) -> dict[str, Any]:
    """One post."""
    post = found_or_404(
        sa.select(Post).where(Post.id == post_id).options(so.joinedload(Post.author)),
        f"There is no post with id {post_id}.",
    )
    return post_document(post)


def earlier_post(author: User, key: str | None) -> Post | None:
    if not key:
        return None
    return db.session.scalar(
        sa.select(Post).where(Post.user_id == author.id, Post.idempotency_key == key)
    )


@bp.route("/posts", methods=["POST"])
@token_auth
@documents(409)
@links(
    201,
    GetPost=("get_post", {"post_id": BODY_ID}),
    GetAuthor=("get_user", {"user_id": "$response.body#/author/id"}),
)
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@json_body(PostCreateSchema)
@bp.response(201, PostSchema, headers={"Location": {"schema": {"type": "string"}}})
@bp.alt_response(200, schema=PostSchema, success=True, description="A repeat")
def publish_post(
    headers: dict[str, Any], data: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Publish a post; a repeated Idempotency-Key returns the first one (200)."""
    author = current_api_user()
    key = headers.get("idempotency_key")
    body = data["body"].strip()
    post = earlier_post(author, key)
    status = 200
    if post is None:
        post, status = create_post(author, body, key), 201
    elif post.body != body:
        raise fail(409, "Idempotency-Key: already used for a different post.")
    document = post_document(post)
    return document, status, {"Location": document["links"]["self"]}
