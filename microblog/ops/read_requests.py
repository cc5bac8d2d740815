"""GET and HEAD requests talk to PostgreSQL without BEGIN and ROLLBACK.

Every statement is a round trip to a database that, on a platform, lives on
another host. A page of two queries inside a transaction costs four: BEGIN
(which psycopg2 sends before the first query), the two queries, and the
ROLLBACK that returns the connection to the pool. A request that only reads
gains nothing from the transaction: at PostgreSQL's default isolation level
(READ COMMITTED) each statement takes its own snapshot anyway. So while a
GET or HEAD request holds a connection, psycopg2 runs it in autocommit mode
(switching it sends nothing to the server), and the pool's rollback on return
has nothing to undo, so it sends nothing either.

A GET writes at most one statement (``last_seen``, once per interval), which
commits on its own; every other method keeps its transaction, so a form that
writes several rows still writes all of them or none. Other databases are left
alone: switching autocommit on MySQL drivers is itself a round trip.

Reads are also the requests that may run again when the database dropped the
connection they were given (there is no ping before each checkout):
:func:`retry_read`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask.typing import ResponseReturnValue
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from microblog.extensions import db

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})
# ``g`` flag: this request already ran again after a lost connection.
RETRIED = "read_retried_after_lost_connection"
# Key in the pool's per-connection info: this checkout switched autocommit on.
SWITCHED = "microblog.autocommit_read"


def start_read(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """On checkout: autocommit while a GET or HEAD request holds the connection."""
    if has_request_context() and request.method in READ_METHODS:
        dbapi_connection.autocommit = True
        record.info[SWITCHED] = True


def end_read(dbapi_connection: Any, record: Any) -> None:
    """On checkin: back to transactions for whoever checks it out next."""
    switched = record.info.pop(SWITCHED, False)
    if switched and dbapi_connection is not None and not dbapi_connection.closed:
        dbapi_connection.autocommit = False


def watch(engine: Engine) -> None:
    """Read without transactions on ``engine``, if it is PostgreSQL over psycopg2."""
    dialect = engine.dialect
    psycopg2 = dialect.name == "postgresql" and dialect.driver == "psycopg2"
    if psycopg2 and not event.contains(engine, "checkout", start_read):
        event.listen(engine, "checkout", start_read)
        event.listen(engine, "checkin", end_read)


def init_app(app: Flask) -> None:
    """Apply to every engine of the app (the default one and any binds)."""
    with app.app_context():
        for engine in db.engines.values():
            watch(engine)


def retry_read(error: DBAPIError) -> ResponseReturnValue | None:
    """Run a GET or HEAD once more after the database dropped its connection.

    Without a ping before each checkout, a connection the database closed while
    it sat in the pool (a restart, a failover, a proxy's idle timeout) fails the
    first statement sent over it. SQLAlchemy has then discarded it and every
    older one, so a second run gets a new connection. A read is safe to repeat;
    its one possible write (``last_seen``) is too. Returns the retried view's
    result (the caller's request finishes it as usual), or None when the error
    is not a dropped connection, the request writes, or this was the retry.
    """
    if not error.connection_invalidated or request.method not in READ_METHODS:
        return None
    if g.get(RETRIED):
        return None
    g.setdefault(RETRIED, True)
    log.info("database connection lost; running %s again", request.path)
    db.session.remove()
    # Flask-Login's user, if loaded, belonged to the session just removed.
    g.pop("_login_user", None)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        result = app.preprocess_request()
        return result if result is not None else app.dispatch_request()
    except Exception as again:  # handed to the app's own error handlers
        return app.handle_user_exception(again)
