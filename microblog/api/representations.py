"""Users and posts as the API shows them, with the URLs that lead on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from flask import url_for

from microblog.models import Post, avatar_digest_of


class ShownUser(Protocol):
    """What a user document shows: a User, or a row of ``USER_COLUMNS``."""

    id: int
    username: str
    email: str
    about_me: str | None
    last_seen: datetime
    created_at: datetime


def user_document(
    user: ShownUser,
    viewer_id: int | None,
    follower_count: int = 0,
    following_count: int = 0,
    post_count: int = 0,
) -> dict[str, Any]:
    """A user; the e-mail address only when the caller looks at themselves."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email if user.id == viewer_id else None,
        "about_me": user.about_me,
        "last_seen": user.last_seen,
        "created_at": user.created_at,
        "post_count": post_count,
        "follower_count": follower_count,
        "following_count": following_count,
        "links": {
            "self": url_for("api.get_user", user_id=user.id),
            "followers": url_for("api.list_followers", user_id=user.id),
            "following": url_for("api.list_following", user_id=user.id),
            "posts": url_for("api.list_user_posts", user_id=user.id),
            "avatar": url_for("main.avatar", digest=avatar_digest_of(user.username)),
        },
    }


def user_row_document(row: Any, viewer_id: int | None) -> dict[str, Any]:
    """A row of ``users_with_counts()`` as a user document."""
    return user_document(
        row, viewer_id, row.follower_count, row.following_count, row.post_count
    )


def post_document(post: Post) -> dict[str, Any]:
    """A post with its author's id and name."""
    return {
        "id": post.id,
        "body": post.body,
        "timestamp": post.timestamp,
        "author": {"id": post.author.id, "username": post.author.username},
        "links": {
            "self": url_for("api.get_post", post_id=post.id),
            "author": url_for("api.get_user", user_id=post.user_id),
        },
    }
