"""End each request's database session without failing a finished request.

Flask-SQLAlchemy closes the session when the app context ends, which rolls back
over the connection. If the database went away after the view finished (a
restart, a failover), that rollback raises, outside every error handler, and
the client gets a bare 500 for a request that had already succeeded. The
connection is gone either way, so the close is finished here and only logged.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import DBAPIError

from microblog.extensions import db

log = logging.getLogger(__name__)


def release_session(error: BaseException | None) -> None:
    """Close the request's session; a connection the database dropped is no error."""
    try:
        db.session.remove()
    except DBAPIError as failure:
        if not failure.connection_invalidated:
            raise
        log.warning("database connection lost while closing: %s", failure.orig)
        # The dead connection is invalidated now, so closing again cannot fail.
        db.session.remove()


def init_app(app: Flask) -> None:
    """Register after Flask-SQLAlchemy: teardowns run last-registered first."""
    app.teardown_appcontext(release_session)
