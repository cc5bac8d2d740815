"""The statements behind the API's collections, each one round trip per page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from microblog.models import Post, User, followers, thread_statement

# What a user document shows, as plain columns: a row of values costs no ORM
# object to build, and can key a remembered document (microblog/api/remembered.py).
USER_COLUMNS = (
    User.id,
    User.username,
    User.email,
    User.about_me,
    User.last_seen,
    User.created_at,
)


def users_with_counts() -> sa.Select[Any]:
    """Users' shown columns with their follower, following and post counts, in
    one statement; each row has the names of a user document's fields."""
    follower_count = (
        sa.select(sa.func.count())
        .where(followers.c.followed_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    following_count = (
        sa.select(sa.func.count())
        .where(followers.c.follower_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    post_count = (
        sa.select(sa.func.count())
        .where(Post.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    return sa.select(
        *USER_COLUMNS,
        follower_count.label("follower_count"),
        following_count.label("following_count"),
        post_count.label("post_count"),
    ).order_by(User.id)


def user_with_counts() -> sa.Select[Any]:
    """One user (``user_id``) with their counts; built once per thread."""
    return thread_statement(
        ("user with counts",),
        lambda: users_with_counts().where(User.id == sa.bindparam("user_id")),
    )


def followers_of(user_id: int) -> sa.Select[Any]:
    """Users who follow ``user_id``, with their counts."""
    return (
        users_with_counts()
        .join(followers, followers.c.follower_id == User.id)
        .where(followers.c.followed_id == user_id)
    )


def followed_by(user_id: int) -> sa.Select[Any]:
    """Users whom ``user_id`` follows, with their counts."""
    return (
        users_with_counts()
        .join(followers, followers.c.followed_id == User.id)
        .where(followers.c.follower_id == user_id)
    )
