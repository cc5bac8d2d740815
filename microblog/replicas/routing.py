"""Which requests read from a replica, and from which one.

A request may read from a replica when its method is safe (GET, HEAD, OPTIONS)
and its client has not written recently; views decide nothing. On its first
read the request takes a replica that is up and current enough, connecting
before any statement is sent, so that a replica found down falls back to the
primary instead of failing the request. Reads that must be fresh wherever they
happen (token checks, the readiness probe) run inside :func:`primary_reads`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, g, request
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from microblog.config import engine_options
from microblog.extensions import db
from microblog.ops import read_requests
from microblog.replicas.lag import ReplicaHealth, ReplicaState
from microblog.replicas.read_your_writes import (
    SAFE_METHODS,
    recent_writer,
    remember_write,
)
from microblog.replicas.session import PRIMARY_ONLY, REPLICA_READS_ALLOWED

# The oldest replica state, in seconds, that the readiness probe reports.
PROBE_MAX_AGE = 1.0


class Replicas:
    """The replicas of this process: their engines and their last known state."""

    def __init__(self, primary: Engine, replicas: list[ReplicaHealth]) -> None:
        self.primary = primary
        self.replicas = replicas

    def connect_reader(self, session: Session) -> Engine | None:
        """Open the request's connection to a usable replica; None: use the primary."""
        usable = [r for r in self.replicas if r.state(self.primary).usable]
        random.shuffle(usable)  # spread the reads over the replicas that are fine
        for replica in usable:
            try:
                session.connection(bind_arguments={"bind": replica.engine})
            except DBAPIError as error:
                replica.mark_down(error)
                continue
            return replica.engine
        return None

    def states(self) -> list[tuple[str, ReplicaState]]:
        """Each replica's name and state, checked now unless checked this second.

        For the readiness probe: the process that answers it may not have used
        a replica since its last check, minutes ago. Probes sent in a burst
        (the probe is public) still cost one check a second.
        """
        return [(r.name, r.state(self.primary, PROBE_MAX_AGE)) for r in self.replicas]


def replica_name(url: str) -> str:
    """Where a replica is, without its credentials."""
    parsed = make_url(url)
    return f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"


def allow_replica_reads() -> None:
    """Before each request: may its reads go to a replica?"""
    if request.method in SAFE_METHODS and not recent_writer():
        g.setdefault(REPLICA_READS_ALLOWED, True)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Send the reads inside the block to the primary (they must be current)."""
    # Counted on ``g``, not on the session: a read retried after a lost
    # connection runs in a new session, and must still go to the primary.
    g.setdefault(PRIMARY_ONLY, 0)
    setattr(g, PRIMARY_ONLY, getattr(g, PRIMARY_ONLY) + 1)
    try:
        yield
    finally:
        setattr(g, PRIMARY_ONLY, getattr(g, PRIMARY_ONLY) - 1)


def init_app(app: Flask) -> None:
    """Open the replicas' engines and route requests between them and the primary."""
    config = app.config
    if config["DATABASE_REPLICA_URL"] or config["FLY_REPLAY_REGION"]:
        app.after_request(remember_write)
    if not config["DATABASE_REPLICA_URL"]:
        return
    with app.app_context():
        primary = db.engine
    replicas = []
    for url in config["DATABASE_REPLICA_URL"]:
        engine = create_engine(url, **engine_options(config, url))
        read_requests.watch(engine)  # GET reads without BEGIN/ROLLBACK there too
        replicas.append(
            ReplicaHealth(
                replica_name(url),
                engine,
                max_lag=config["REPLICA_MAX_LAG"],
                interval=config["REPLICA_CHECK_INTERVAL"],
            )
        )
    app.extensions["replicas"] = Replicas(primary, replicas)
    app.before_request(allow_replica_reads)
