"""Command-line tools registered on ``flask``."""

from __future__ import annotations

import click
from flask import Flask

from microblog import seeding
from microblog.security.deploy_check import deploy_group
from microblog.translate import translate


@click.command("seed")
@click.option("--users", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--follows",
    default=5,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="How many others each user follows.",
)
@click.option(
    "--posts",
    default=5,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Posts per user.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when any user exists.")
def seed_command(users: int, follows: int, posts: int, if_empty: bool) -> None:
    """Create deterministic demo data; running it again adds only what is missing."""
    if if_empty and seeding.any_user_exists():
        click.echo("Database already has users; not seeding.")
        return
    plan = seeding.SeedPlan(users=users, follows=min(follows, users - 1), posts=posts)
    created = seeding.seed(plan, progress=click.progressbar)
    click.echo(
        f"Seeded {created.users} users, {created.follows} follows and "
        f"{created.posts} posts (password for every demo user: "
        f"{seeding.DEMO_PASSWORD})."
    )


def init_app(app: Flask) -> None:
    """Add this project's commands to ``flask``."""
    app.cli.add_command(seed_command)
    app.cli.add_command(translate)
    app.cli.add_command(deploy_group)
