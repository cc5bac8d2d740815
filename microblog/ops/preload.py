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

Once, when gunicorn is ready and before the first fork, the master does work
that every worker would otherwise repeat on its first requests (and a recycled
worker is a new one), so that the workers inherit the result:

- it compiles every template (about 80 ms each time);
- it connects once to each database, which makes SQLAlchemy learn the server
  (version, isolation level, string quoting, schema: five round trips on
  PostgreSQL), then closes the connection before any fork. Without it each
  new worker's first request carried those five round trips.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import Pool, QueuePool

log = logging.getLogger(__name__)


def open_connections(pool: Pool) -> int:
    """Connections a pool holds, idle or in use (0 for pools that do not count)."""
    if isinstance(pool, QueuePool):
        return pool.checkedin() + pool.checkedout()
    return 0


def app_engines(app: object) -> Iterator[Engine]:
    """The app's database engines: the primary's and each read replica's.

    ``app`` is whatever the WSGI target gave gunicorn: anything other than a
    Flask app with Flask-SQLAlchemy (hello-world, a test's app) has none.
    """
    if not isinstance(app, Flask) or "sqlalchemy" not in app.extensions:
        return
    from microblog.extensions import db

    with app.app_context():
        yield from db.engines.values()
    replicas = app.extensions.get("replicas")
    if replicas is not None:
        yield from (replica.engine for replica in replicas.replicas)


def close_pooled_connections(app: object) -> int:
    """Close every connection the app's engines hold; return how many there were."""
    closed = 0
    for engine in app_engines(app):
        closed += open_connections(engine.pool)
        engine.dispose()
    if closed:
        log.warning("closed %d database connections before forking a worker", closed)
    return closed


def learn_database_servers(app: object) -> int:
    """Connect once to each database so the workers inherit what SQLAlchemy
    learns on a first connection; return how many answered.

    A database that does not answer within its connect timeout is left for
    the workers to learn about; the web server starts all the same.
    """
    answered = 0
    for engine in app_engines(app):
        try:
            with engine.connect() as connection:
                # Closed now rather than kept in the pool: pre_fork reports any
                # connection it finds, and this one was never meant to stay.
                connection.invalidate()
                answered += 1
        except DBAPIError as error:
            log.warning("database not reachable before forking: %s", error)
    return answered


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
