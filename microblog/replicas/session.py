"""The session that sends each statement to the primary or to a read replica.

This is SQLAlchemy's documented hook for choosing a database per statement
(``Session.get_bind``, as in its "custom vertical partitioning" example):
writes and flushes go to the primary, and so does every read unless the
request was cleared for replica reads (see :mod:`microblog.replicas.routing`).
Within one request a session may hold a connection to each; commit and
rollback end both.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import UpdateBase

# Keys of ``Session.info`` (per session, so per request).
WROTE = "microblog.wrote"
READS = "microblog.reads"  # the engine reads go to, or None for the primary
# On ``g``: set by the request hook when this request may read from a replica,
# and the depth of the primary_reads() blocks it is in.
REPLICA_READS_ALLOWED = "replica_reads_allowed"
PRIMARY_ONLY = "primary_reads_depth"


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, with reads routed to a replica when allowed."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        primary = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is not None:
            return primary
        if self._flushing or isinstance(clause, UpdateBase):
            self.info[WROTE] = True
            return primary
        return self.read_engine() or primary

    def read_engine(self) -> Engine | None:
        """The replica this request reads from, chosen on its first read."""
        if not has_app_context():
            return None
        if g.get(PRIMARY_ONLY) or not g.get(REPLICA_READS_ALLOWED):
            return None
        if READS not in self.info:
            replicas = current_app.extensions["replicas"]
            self.info[READS] = replicas.connect_reader(self)
        engine: Engine | None = self.info[READS]
        return engine
