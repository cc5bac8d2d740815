"""Background jobs: the queue, the worker and the jobs.

With ``REDIS_URL`` set, jobs go to RQ and a ``worker`` process runs them;
without it, a thread of the web process does, through the same functions.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Choose where jobs run and add ``flask jobs``."""
    from microblog.jobs import models  # noqa: F401  (the table, for migrations)
    from microblog.jobs.cli import jobs_group
    from microblog.jobs.queue import backend_for

    app.extensions["jobs"] = backend_for(app)
    app.cli.add_command(jobs_group)
