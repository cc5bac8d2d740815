"""Command-line tools registered on ``flask``: seed, translate and deploy check."""

from __future__ import annotations

from flask import Flask

from microblog.commands.seed import seed_command
from microblog.i18n.commands import translate
from microblog.ops.deploy_check import deploy_group


def init_app(app: Flask) -> None:
    """Add this project's commands to ``flask``."""
    app.cli.add_command(seed_command)
    app.cli.add_command(translate)
    app.cli.add_command(deploy_group)
