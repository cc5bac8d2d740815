"""The data model: users, their posts, who follows whom, and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from sqlalchemy.sql.selectable import LateralFromClause

from microblog.accounts.passwords import hash_password, needs_rehash, verify_password
from microblog.extensions import db

USERNAME_MAX = 64
EMAIL_MAX = 120
ABOUT_ME_MAX = 280
POST_MAX = 280


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC and always returns aware UTC, the same on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def avatar_digest_of(username: str) -> str:
    """The avatar seed of ``username`` (remembered: a page shows 25 of them)."""
    return hashlib.sha256(username.lower().encode()).hexdigest()[:16]


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


followers = sa.Table(
    "followers",
    db.metadata,
    sa.Column(
        "follower_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "followed_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    ),
    # The primary key serves "whom do I follow"; this serves "who follows me".
    sa.Index("ix_followers_followed_id", "followed_id"),
)


def follow_links(
    user_id: Any, own: sa.Column[int], other: sa.Column[int], back_populates: str
) -> Any:  # relationship()'s own return type is private to SQLAlchemy
    """One direction of ``followers``: users in ``other`` where ``own`` is this user.

    ``passive_deletes``: the rows go with a user by the table's ON DELETE CASCADE.
    """
    return so.relationship(
        secondary=followers,
        primaryjoin=(own == user_id),
        secondaryjoin=(other == user_id),
        back_populates=back_populates,
        passive_deletes=True,
    )


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(USERNAME_MAX), unique=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(EMAIL_MAX), unique=True)
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    about_me: so.Mapped[str | None] = so.mapped_column(sa.String(ABOUT_ME_MAX))
    last_seen: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Part of the login cookie; replacing it ends every session of this user.
    session_token: so.Mapped[str] = so.mapped_column(
        sa.String(32), default=new_session_token
    )

    posts: so.WriteOnlyMapped[Post] = so.relationship(
        back_populates="author", passive_deletes=True
    )
    following: so.WriteOnlyMapped[User] = follow_links(
        id, followers.c.follower_id, followers.c.followed_id, "followers"
    )
    followers: so.WriteOnlyMapped[User] = follow_links(
        id, followers.c.followed_id, followers.c.follower_id, "following"
    )

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    def get_id(self) -> str:
        """The login identity: id plus the current session token."""
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        """Store a new password hash and end every other session."""
        self.password_hash = hash_password(password)
        self.end_all_sessions()

    def check_password(self, password: str) -> bool:
        ok = verify_password(self.password_hash, password)
        if ok and self.password_hash and needs_rehash(self.password_hash):
            self.password_hash = hash_password(password)
        return ok

    def end_all_sessions(self) -> None:
        """Invalidate every login cookie and API token issued to this user."""
        self.session_token = new_session_token()
        db.session.execute(sa.delete(Token).where(Token.user_id == self.id))

    def is_following(self, user: User) -> bool:
        query = self.following.select().where(User.id == user.id)
        return db.session.scalar(query) is not None

    def follow(self, user: User) -> bool:
        """Follow ``user``; False when that is oneself or already done."""
        if user.id == self.id or self.is_following(user):
            return False
        self.following.add(user)
        return True

    def unfollow(self, user: User) -> bool:
        """Stop following ``user``; False when not following."""
        if not self.is_following(user):
            return False
        self.following.remove(user)
        return True

    def followers_count(self) -> int:
        query = sa.select(sa.func.count()).select_from(
            self.followers.select().subquery()
        )
        return db.session.scalar(query) or 0

    def following_count(self) -> int:
        query = sa.select(sa.func.count()).select_from(
            self.following.select().subquery()
        )
        return db.session.scalar(query) or 0


def following_posts(user_id: int, depth: int | None = None) -> sa.Select[Post]:
    """The user's own posts and those of users they follow, newest first, authors
    loaded. Takes the id alone: the API knows its caller only by id.

    ``depth`` is how many of the newest posts the caller will read at most
    (a page's offset plus its limit); on PostgreSQL it bounds the work.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return timeline_by_author(bounded=depth is not None).params(
            timeline_user_id=user_id, timeline_depth=depth
        )
    followed_ids = sa.select(followers.c.followed_id).where(
        followers.c.follower_id == user_id
    )
    return (
        sa.select(Post)
        .where(sa.or_(Post.user_id == user_id, Post.user_id.in_(followed_ids)))
        .options(so.joinedload(Post.author))
        .order_by(Post.timestamp.desc(), Post.id.desc())
    )


class ThreadStatements(threading.local):
    """Statements built once per thread, never shared between threads.

    SQLAlchemy fills parts of a statement in lazily the first time it is
    compiled (column collections of its subqueries, correlation), and two
    threads compiling one statement object at once can see them half filled:
    a gthread worker's first requests then fail with "returned no FROM clauses
    due to auto-correlation" (a 500 on the home page right after a start).
    """

    def __init__(self) -> None:
        self.built: dict[Hashable, Any] = {}


thread_statements = ThreadStatements()
S = TypeVar("S")


def thread_statement(key: Hashable, build: Callable[[], S]) -> S:
    """What ``build()`` makes, once per thread and ``key`` (see ThreadStatements).

    Values (a user's id, a page's limit) are bound when the statement runs, so
    one statement serves every request, and SQLAlchemy looks its compiled form
    up without walking the statement again.
    """
    built = thread_statements.built
    if key not in built:
        built[key] = build()
    statement: S = built[key]
    return statement


def timeline_by_author(bounded: bool) -> sa.Select[Post]:
    """The timeline statement, built once per thread."""
    return thread_statement(
        ("timeline", bounded), lambda: build_timeline_by_author(bounded)
    )


def timeline_sources(
    bounded: bool, *columns: so.InstrumentedAttribute[Any]
) -> tuple[sa.Subquery, LateralFromClause]:
    """The timeline's authors (followed, and oneself) and their newest posts
    (whole, or just ``columns`` of them).

    The plain "author is me or someone I follow" filter lets PostgreSQL walk
    ``ix_post_timestamp`` backwards until a page is full: fast while followed
    authors write much of the site's posts, but a full scan of every post for
    someone who follows few or quiet accounts (165 ms at 200,000 posts). Here
    each author's newest posts come from ``ix_post_user_id_timestamp_id``, so the
    cost follows the number of authors and the page depth, never the table size.

    The values are bound parameters (``timeline_user_id``, ``timeline_depth``):
    assembling the lateral join and its aliased entity costs more Python time
    than running the finished query, so each thread builds it once.
    """
    user_id = sa.bindparam("timeline_user_id", type_=sa.Integer)
    followed_ids = sa.select(followers.c.followed_id).where(
        followers.c.follower_id == user_id
    )
    authors = sa.union(followed_ids, sa.select(user_id)).subquery("authors")
    newest_query = (
        sa.select(*(columns or (Post,)))
        .where(Post.user_id == authors.c.followed_id)
        .order_by(Post.timestamp.desc(), Post.id.desc())
    )
    if bounded:
        newest_query = newest_query.limit(
            sa.bindparam("timeline_depth", type_=sa.Integer)
        )
    return authors, newest_query.lateral("newest")


def from_timeline_sources(
    statement: sa.Select[Any], authors: sa.Subquery, newest: LateralFromClause
) -> sa.Select[Any]:
    """``statement`` reading the merged posts of ``timeline_sources``, newest first."""
    return (
        statement.select_from(authors)
        # Authors are joined once each, before their posts fan out.
        .join(User, User.id == authors.c.followed_id)
        .join(newest, sa.true())
        .order_by(newest.c.timestamp.desc(), newest.c.id.desc())
    )


def build_timeline_by_author(bounded: bool) -> sa.Select[Post]:
    """The timeline as Post objects with their authors (what the API serialises)."""
    authors, newest = timeline_sources(bounded)
    post = so.aliased(Post, newest)
    statement = sa.select(post).options(so.contains_eager(post.author))
    return from_timeline_sources(statement, authors, newest)


ProfileRow = sa.Row[int, str, str | None, datetime | None, int, int, bool]


def profile_query() -> sa.Select[int, str, str | None, datetime | None, int, int, bool]:
    """One statement: what a profile shows of a user found by name
    (``profile_username``), follower and following counts, and whether the
    viewer (``viewer_id``, 0 for nobody) follows them. Built once per thread."""
    return thread_statement(("profile",), build_profile_query)


def build_profile_query() -> sa.Select[
    int, str, str | None, datetime | None, int, int, bool
]:
    follower_count = (
        sa.select(sa.func.count())
        .where(followers.c.followed_id == User.id)
        .scalar_subquery()
    )
    following_count = (
        sa.select(sa.func.count())
        .where(followers.c.follower_id == User.id)
        .scalar_subquery()
    )
    viewer_follows = (
        sa.select(followers.c.follower_id)
        .where(
            followers.c.followed_id == User.id,
            followers.c.follower_id == sa.bindparam("viewer_id", type_=sa.Integer),
        )
        .exists()
    )
    return sa.select(
        User.id,
        User.username,
        User.about_me,
        User.last_seen,
        follower_count,
        following_count,
        viewer_follows,
    ).where(User.username == sa.bindparam("profile_username", type_=sa.String))


class Post(db.Model):  # type: ignore[name-defined]
    __table_args__ = (
        # Serves a profile's posts and the timeline's "posts by these authors",
        # newest first with ties by id: in exactly the pages' order, and with
        # the id in the index the timeline finds a page's posts from the index
        # alone (microblog/main/listings.py).
        sa.Index("ix_post_user_id_timestamp_id", "user_id", "timestamp", "id"),
        # A retried submit carries the same key and is stored once.
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name="uq_post_user_id_idempotency_key"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    body: so.Mapped[str] = so.mapped_column(sa.String(POST_MAX))
    timestamp: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime, index=True, default=utcnow
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE")
    )
    idempotency_key: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    author: so.Mapped[User] = so.relationship(back_populates="posts")

    def __repr__(self) -> str:
        return f"<Post {self.id}>"


class Token(db.Model):  # type: ignore[name-defined]
    """An API bearer token; only its SHA-256 is stored."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User] = so.relationship()

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()
