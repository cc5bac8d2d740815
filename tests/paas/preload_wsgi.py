"""The app as preloaded by a master that has already used the database.

``gunicorn 'tests.paas.preload_wsgi:build()'``: building the app opens no
connection, so this target opens one on purpose (as a warm-up that touched the
database would) to prove that no worker inherits it.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from microblog import create_app
from microblog.extensions import db

BACKEND_PID = sa.text("SELECT pg_backend_pid()")


def build() -> Flask:
    """The app, one pooled connection opened in the master, and ``/_test/backend``."""
    app = create_app()
    with app.app_context():
        master_backend = db.session.scalar(BACKEND_PID)
        db.session.remove()  # back to the pool, still open

    @app.get("/_test/backend")
    def backend() -> ResponseReturnValue:
        """Which process answered, over which database session."""
        return jsonify(
            worker=os.getpid(),
            backend=db.session.scalar(BACKEND_PID),
            master_backend=master_backend,
        )

    return app
