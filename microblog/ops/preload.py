"""A preloaded app in the gunicorn master, made safe to fork.

With ``preload_app`` the master builds the app once and every worker is a fork
of it. A database connection open in the master at that moment would be one
socket shared by several processes: their statements and replies would
interleave, and the first worker to close it would end the session for all.
Building the app opens none, and this module makes sure of it: before each
fork the master closes whatever its pools hold (its own connections, closed by
their owner), so every worker starts with empty pools and opens its own.

Redis clients (the job queue, the rate limiter's storage) need nothing: their
connection pools notice a new process id and start afresh.

The master also compiles every template once, so that no worker does it again
on its first requests (about 80 ms each time, and a recycled worker is a new
one), and the compiled code is shared with the workers like the rest of the app.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.pool import Pool, QueuePool

log = logging.getLogger(__name__)


def open_connections(pool: Pool) -> int:
    """Connections a pool holds, idle or in use (0 for pools that do not count)."""
    if isinstance(pool, QueuePool):
        return pool.checkedin() + pool.checkedout()
    return 0


def close_pooled_connections(app: object) -> int:
    """Close every connection the app's engines hold; return how many there were.

    ``app`` is whatever the WSGI target gave gunicorn: anything other than a
    Flask app with Flask-SQLAlchemy (hello-world, a test's app) has none.
    """
    if not isinstance(app, Flask) or "sqlalchemy" not in app.extensions:
        return 0
    from microblog.extensions import db

    closed = 0
    with app.app_context():
        for engine in db.engines.values():
            closed += open_connections(engine.pool)
            engine.dispose()
    if closed:
        log.warning("closed %d database connections before forking a worker", closed)
    return closed


def compile_templates(app: object) -> int:
    """Compile each of the app's templates into Jinja's cache; return how many.

    gunicorn.conf.py calls it once, from ``when_ready``; a second call finds
    every template compiled already (they do not reload in production).
    """
    if not isinstance(app, Flask):
        return 0
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)
