"""The statements behind the API's collections, each one round trip per page."""

from __future__ import annotations

import sqlalchemy as sa

from microblog.models import Post, User, followers, thread_statement

UserRow = sa.Row[tuple[User, int, int, int]]


def users_with_counts() -> sa.Select[User, int, int, int]:
    """Users with their follower, following and post counts in one statement."""
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
    return sa.select(User, follower_count, following_count, post_count).order_by(
        User.id
    )


def user_with_counts() -> sa.Select[User, int, int, int]:
    """One user (``user_id``) with their counts; built once per thread."""
    return thread_statement(
        ("user with counts",),
        lambda: users_with_counts().where(User.id == sa.bindparam("user_id")),
    )


def followers_of(user_id: int) -> sa.Select[User, int, int, int]:
    """Users who follow ``user_id``, with their counts."""
    return (
        users_with_counts()
        .join(followers, followers.c.follower_id == User.id)
        .where(followers.c.followed_id == user_id)
    )


def followed_by(user_id: int) -> sa.Select[User, int, int, int]:
    """Users whom ``user_id`` follows, with their counts."""
    return (
        users_with_counts()
        .join(followers, followers.c.followed_id == User.id)
        .where(followers.c.follower_id == user_id)
    )
