"""What the social pages show of their data, as plain values.

Pages are remembered by these values (``microblog.web.remembered_pages``), so
each holds exactly what its template reads: a template that read something
more from the database would show it from a page remembered without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from microblog.main.listings import ListedPost
from microblog.models import ProfileRow, avatar_digest_of, utcnow
from microblog.web.pagination import Page
from microblog.web.templating import age, ago, current_locale_code


class PostView(NamedTuple):
    """One post as a list of posts shows it."""

    id: int
    body: str
    timestamp: datetime
    author: str
    avatar_digest: str
    # "5 minutes ago" in the reader's language: it changes as time passes.
    age: str


def post_page(page: Page[ListedPost]) -> Page[PostView]:
    """The page of posts as the templates show it."""
    locale, now = current_locale_code(), utcnow()
    return Page(
        items=tuple(
            PostView(
                post.id,
                post.body,
                post.timestamp,
                post.username,
                avatar_digest_of(post.username),
                age(post.timestamp, locale, now),
            )
            for post in page.items
        ),
        number=page.number,
        per_page=page.per_page,
        has_next=page.has_next,
    )


@dataclass(frozen=True)
class ProfileView:
    """The profile card: who, about, counts, last seen, the viewer's follow."""

    id: int
    username: str
    about_me: str | None
    avatar_digest: str
    last_seen_age: str | None
    follower_count: int
    following_count: int
    viewer_follows: bool


def profile_view(row: ProfileRow) -> ProfileView:
    """The profile card of a ``profile_query`` row."""
    user_id, username, about_me, last_seen, followers, following, follows = row
    return ProfileView(
        user_id,
        username,
        about_me,
        avatar_digest_of(username),
        ago(last_seen) if last_seen else None,
        followers,
        following,
        bool(follows),
    )


@dataclass(frozen=True)
class ExportView:
    """Where the reader's own export stands, as the progress bar starts."""

    status: str
    progress: int
    message: str


def export_view(state: dict[str, Any]) -> ExportView:
    return ExportView(state["status"], state["progress"], state["message"])
