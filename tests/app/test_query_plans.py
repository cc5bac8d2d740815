"""Query plans on PostgreSQL: each page reads a page's worth of rows by index.

These tests read PostgreSQL's own row counts from ``EXPLAIN ANALYZE`` (never its
timings), so they pin the property that keeps pages fast as data grows: no scan
of the post table, and work bounded by the page, not by the number of posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask

from microblog import create_app
from microblog.commands.seed import demo_username
from microblog.config import normalise_database_url
from microblog.extensions import db
from microblog.main.listings import author_listing, explore_listing, timeline_listing
from microblog.models import Post, User, followers, following_posts, profile_query
from tests.harness.flask_app import app_config

USERS, FOLLOWS, POSTS = 120, 10, 25  # 3,000 posts
PAGE = 25


@pytest.fixture(scope="module")
def seeded(postgres: Any) -> Iterator[Flask]:
    """A PostgreSQL database seeded by ``flask seed``, with fresh statistics."""
    url = normalise_database_url(postgres.new_database())
    app = create_app(app_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        args = ["seed", "--users", USERS, "--follows", FOLLOWS, "--posts", POSTS]
        result = app.test_cli_runner().invoke(args=[str(arg) for arg in args])
        assert result.exit_code == 0, result.output
        db.session.add(User(username="quiet", email="quiet@example.com"))
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def user_named(name: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.username == name))
    assert found is not None
    return found


def explain(query: sa.ClauseElement, **values: object) -> dict[str, Any]:
    """PostgreSQL's executed plan for ``query`` run with ``values``, with row
    counts and no timings."""
    compiled = query.compile(dialect=db.engine.dialect)
    statement = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + str(compiled)
    params = compiled.construct_params(values)
    result = db.session.connection().exec_driver_sql(statement, params)
    plan: dict[str, Any] = result.scalar_one()[0]["Plan"]
    return plan


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def scans_of(plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [node for node in nodes(plan) if node.get("Relation Name") == table]


def rows_read(scans: list[dict[str, Any]]) -> int:
    """Rows the scans produced or filtered away, over all their loops."""
    return sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0))
        * node["Actual Loops"]
        for node in scans
    )


def reference_timeline(user: User) -> sa.Select[Post]:
    """The timeline written the obvious way, to check the fast form against."""
    followed = sa.select(followers.c.followed_id).where(
        followers.c.follower_id == user.id
    )
    return (
        sa.select(Post)
        .where(sa.or_(Post.user_id == user.id, Post.user_id.in_(followed)))
        .order_by(Post.timestamp.desc(), Post.id.desc())
    )


def page_of(query: sa.Select[Post], number: int) -> sa.Select[Post]:
    return query.limit(PAGE + 1).offset((number - 1) * PAGE)


def window(number: int) -> dict[str, int]:
    """The bound values of a listing's page ``number``."""
    return {"page_limit": PAGE + 1, "page_offset": (number - 1) * PAGE}


def timeline_values(user: User, number: int) -> dict[str, int]:
    depth = number * PAGE + 1
    return {"timeline_user_id": user.id, "timeline_depth": depth, **window(number)}


def timeline_plans(user: User) -> list[dict[str, Any]]:
    """The plans of the home page's listing and of the API's timeline."""
    return [
        explain(timeline_listing(), **timeline_values(user, 1)),
        explain(page_of(following_posts(user.id, PAGE + 1), 1)),
    ]


AUTHOR_INDEX = "ix_post_user_id_timestamp_id"


def test_timeline_reads_each_authors_newest_posts_by_index(seeded: Flask) -> None:
    depth = PAGE + 1
    for plan in timeline_plans(user_named(demo_username(0))):
        scans = scans_of(plan, "post")
        by_author = [scan for scan in scans if scan["Index Name"] == AUTHOR_INDEX]
        assert by_author, plan
        assert rows_read(by_author) <= (FOLLOWS + 1) * depth
        # Anything else reads the page's own posts by primary key.
        others = [scan for scan in scans if scan not in by_author]
        assert {scan["Index Name"] for scan in others} <= {"pk_post"}, plan
        assert rows_read(others) <= PAGE + 1


def test_the_home_pages_timeline_reads_the_table_only_for_its_page(
    seeded: Flask,
) -> None:
    user = user_named(demo_username(0))
    plan = explain(timeline_listing(), **timeline_values(user, 1))
    scans = scans_of(plan, "post")
    by_author = [scan for scan in scans if scan["Index Name"] == AUTHOR_INDEX]
    # From the index alone: (author, time, id) is all the merge needs.
    assert {scan["Node Type"] for scan in by_author} == {"Index Only Scan"}, plan
    by_key = [scan for scan in scans if scan["Index Name"] == "pk_post"]
    assert rows_read(by_key) == PAGE + 1


def test_timeline_of_someone_following_nobody_reads_no_posts(seeded: Flask) -> None:
    for plan in timeline_plans(user_named("quiet")):
        scans = scans_of(plan, "post")
        assert all(scan["Node Type"] != "Seq Scan" for scan in scans), plan
        assert rows_read(scans) == 0


@pytest.mark.parametrize("number", [1, 2, 11, 12])
def test_bounded_timeline_pages_match_the_plain_query(
    seeded: Flask, number: int
) -> None:
    user = user_named(demo_username(3))
    fast = page_of(following_posts(user.id, number * PAGE + 1), number)
    plain = page_of(reference_timeline(user), number)
    fast_ids = [post.id for post in db.session.scalars(fast).unique()]
    assert fast_ids == list(db.session.scalars(plain.with_only_columns(Post.id)))
    timeline_size = (FOLLOWS + 1) * POSTS
    offset = (number - 1) * PAGE
    assert len(fast_ids) == max(0, min(PAGE + 1, timeline_size - offset))
    unbounded = page_of(following_posts(user.id), number)
    assert [post.id for post in db.session.scalars(unbounded).unique()] == fast_ids
    listed = db.session.execute(timeline_listing(), timeline_values(user, number))
    assert [row.id for row in listed] == fast_ids


def test_explore_walks_the_time_index_for_one_page(seeded: Flask) -> None:
    plan = explain(explore_listing(), **window(2))
    scans = scans_of(plan, "post")
    assert [scan["Index Name"] for scan in scans] == ["ix_post_timestamp"]
    assert rows_read(scans) <= 3 * PAGE


def test_profile_posts_use_the_author_index(seeded: Flask) -> None:
    author = user_named(demo_username(5))
    plan = explain(author_listing(), author_id=author.id, **window(1))
    scans = scans_of(plan, "post")
    assert [scan["Index Name"] for scan in scans] == [AUTHOR_INDEX]
    assert rows_read(scans) == POSTS


def test_profile_counts_read_only_the_follow_rows_counted(seeded: Flask) -> None:
    viewer, profile = user_named(demo_username(0)), user_named(demo_username(7))
    plan = explain(
        profile_query(), profile_username=profile.username, viewer_id=viewer.id
    )
    scans = scans_of(plan, "followers")
    assert len(scans) == 3
    assert all(scan["Node Type"] != "Seq Scan" for scan in scans), plan
    assert rows_read(scans) <= profile.followers_count() + FOLLOWS + 1
