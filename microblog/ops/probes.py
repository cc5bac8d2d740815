"""Liveness and readiness probes; neither redirects nor needs a session."""

from __future__ import annotations

import logging
from functools import cache

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app
from flask_migrate import Migrate

from microblog.extensions import csrf, db
from microblog.replicas.routing import primary_reads

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


@cache
def expected_heads(directory: str) -> frozenset[str]:
    """The migration heads shipped with this code (read from disk once)."""
    migrate: Migrate = current_app.extensions["migrate"].migrate
    config = migrate.get_config(directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def plain(text: str, status: int) -> Response:
    response = Response(text + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@csrf.exempt
def healthz() -> Response:
    """The process is up and serving; touches nothing else."""
    return plain("ok", 200)


def applied_migrations() -> frozenset[str]:
    rows = db.session.execute(sa.text("SELECT version_num FROM alembic_version"))
    return frozenset(row[0] for row in rows)


@bp.get("/readyz")
@csrf.exempt
def readyz() -> Response:
    """The primary answers and its schema is at the latest migration.

    Read replicas are reported on lines of their own but never make the
    instance unready: their reads fall back to the primary.
    """
    try:
        with primary_reads():
            try:
                applied = applied_migrations()
            except sa.exc.DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                # Dropped while it sat in the pool (no ping before checkout):
                # once more, on a new connection.
                db.session.remove()
                applied = applied_migrations()
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        log.warning("not ready: %s", error.__class__.__name__)
        return plain(
            f"database unavailable or not migrated: {error.__class__.__name__}", 503
        )
    expected = expected_heads(current_app.extensions["migrate"].directory)
    if applied != expected:
        have = ", ".join(sorted(applied)) or "none"
        want = ", ".join(sorted(expected))
        return plain(f"migrations pending: database at {have}, code at {want}", 503)
    return plain("\n".join(["ready", *replica_lines()]), 200)


def replica_lines() -> list[str]:
    """One line per read replica: ``replica HOST:PORT/DB: ok, 0.3 s behind``."""
    replicas = current_app.extensions.get("replicas")
    if replicas is None:
        return []
    lines = []
    for name, state in replicas.states():
        behind = "" if state.lag is None else f", {state.lag:.1f} s behind"
        detail = f" ({state.detail})" if state.detail else ""
        lines.append(f"replica {name}: {state.state}{behind}{detail}")
    return lines
