"""``flask seed``: deterministic demo data, inserted in bulk and only where missing.

The same plan always yields the same users, follows and post texts (a fixed
random seed), so a second run finds everything present and adds nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa

from microblog.accounts.passwords import hash_password
from microblog.extensions import db
from microblog.models import Post, User, followers, utcnow

if TYPE_CHECKING:
    from click.decorators import FC

DEMO_PASSWORD = "microblog-demo"  # noqa: S105 (documented demo credential)
RANDOM_SEED = 20240101
BATCH = 5000
POST_WINDOW = timedelta(days=30)
NAMES = (
    "ada alan barbara claude donald edsger frances grace guido hedy ida john "
    "ken linus margaret niklaus radia richard rosalind shafi sophie tim tony "
    "vint whitfield yukihiro katherine dennis bjarne anita"
).split()
WORDS = (
    "flask python deploy server database query index timeline follow post "
    "heroku fly docker nginx gunicorn migration release cache static secure "
    "today finally shipped learned tried reading coffee weekend bug fix test "
    "fast small simple tiny happy new old great strange lovely"
).split()

ProgressFactory = Callable[..., AbstractContextManager[Any]]


@dataclass(frozen=True)
class SeedPlan:
    users: int
    follows: int
    posts: int


@dataclass(frozen=True)
class Created:
    users: int
    follows: int
    posts: int


def demo_username(index: int) -> str:
    name = NAMES[index % len(NAMES)]
    round_ = index // len(NAMES)
    return name if round_ == 0 else f"{name}{round_}"


def any_user_exists() -> bool:
    return db.session.scalar(sa.select(User.id).limit(1)) is not None


def batched(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def insert_rows(
    table: sa.Table, rows: list[dict[str, Any]], progress: ProgressFactory, label: str
) -> int:
    if not rows:
        return 0
    with progress(length=len(rows), label=label) as bar:
        for chunk in batched(rows):
            db.session.execute(sa.insert(table), chunk)
            bar.update(len(chunk))
    return len(rows)


def seed_users(plan: SeedPlan, progress: ProgressFactory) -> tuple[dict[str, int], int]:
    names = [demo_username(i) for i in range(plan.users)]
    existing = set(db.session.scalars(sa.select(User.username)))
    password_hash = hash_password(DEMO_PASSWORD)  # hashed once: argon2 is slow
    rows = [
        {
            "username": name,
            "email": f"{name}@example.com",
            "password_hash": password_hash,
            "about_me": f"Demo account number {i + 1}.",
        }
        for i, name in enumerate(names)
        if name not in existing
    ]
    created = insert_rows(User.__table__, rows, progress, "users")
    pairs = db.session.execute(sa.select(User.username, User.id))
    ids = {name: user_id for name, user_id in pairs}
    return {name: ids[name] for name in names}, created


def follow_pairs(
    ids: list[int], follows: int, existing: set[tuple[int, int]]
) -> Iterator[tuple[int, int]]:
    """Missing pairs so that each user follows ``follows`` others.

    Each user's choices come from a generator seeded by the user's position, so
    growing the plan later leaves earlier users' follows as they were.
    """
    following: dict[int, int] = {}
    for follower, _ in existing:
        following[follower] = following.get(follower, 0) + 1
    for position, follower in enumerate(ids):
        missing = follows - following.get(follower, 0)
        if missing <= 0:
            continue
        rng = random.Random(RANDOM_SEED + position)  # noqa: S311 (demo data)
        candidates = ids[:position] + ids[position + 1 :]
        rng.shuffle(candidates)
        for followed in candidates:
            if missing == 0:
                break
            if (follower, followed) not in existing:
                missing -= 1
                yield follower, followed


def post_text(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(4, 14))
    return " ".join(words).capitalize() + rng.choice([".", "!", "?"])


def seed(plan: SeedPlan, progress: ProgressFactory) -> Created:
    """Insert what is missing of ``plan``; return how much was created."""
    ids_by_name, users_created = seed_users(plan, progress)
    ids = list(ids_by_name.values())

    pair_rows = db.session.execute(
        sa.select(followers.c.follower_id, followers.c.followed_id)
    )
    existing_follows = {(follower, followed) for follower, followed in pair_rows}
    follow_rows = [
        {"follower_id": a, "followed_id": b}
        for a, b in follow_pairs(ids, plan.follows, existing_follows)
    ]
    follows_created = insert_rows(followers, follow_rows, progress, "follows")

    existing_posts = set(
        db.session.execute(
            sa.select(Post.user_id, Post.idempotency_key).where(
                Post.idempotency_key.like("seed-%")
            )
        )
    )
    now = utcnow()
    post_rows = []
    for position, user_id in enumerate(ids):
        rng = random.Random(RANDOM_SEED + position)  # noqa: S311 (demo data)
        for number in range(plan.posts):
            body = post_text(rng)
            age = timedelta(seconds=rng.randrange(int(POST_WINDOW.total_seconds())))
            key = f"seed-{number}"
            if (user_id, key) not in existing_posts:
                post_rows.append(
                    {
                        "body": body,
                        "timestamp": now - age,
                        "user_id": user_id,
                        "idempotency_key": key,
                    }
                )
    posts_created = insert_rows(Post.__table__, post_rows, progress, "posts")
    db.session.commit()
    return Created(users_created, follows_created, posts_created)


def count_option(
    name: str, default: int, bounds: tuple[int, int], help: str | None = None
) -> Callable[[FC], FC]:
    """An integer option within ``bounds`` whose default the help shows."""
    return click.option(
        name,
        default=default,
        show_default=True,
        type=click.IntRange(*bounds),
        help=help,
    )


@click.command("seed")
@count_option("--users", 20, (1, 100_000))
@count_option("--follows", 5, (0, 1000), "How many others each user follows.")
@count_option("--posts", 5, (0, 10_000), "Posts per user.")
@click.option("--if-empty", is_flag=True, help="Do nothing when any user exists.")
def seed_command(users: int, follows: int, posts: int, if_empty: bool) -> None:
    """Create deterministic demo data; running it again adds only what is missing."""
    if if_empty and any_user_exists():
        click.echo("Database already has users; not seeding.")
        return
    plan = SeedPlan(users=users, follows=min(follows, users - 1), posts=posts)
    created = seed(plan, progress=click.progressbar)
    click.echo(
        f"Seeded {created.users} users, {created.follows} follows and "
        f"{created.posts} posts (password for every demo user: "
        f"{DEMO_PASSWORD})."
    )
