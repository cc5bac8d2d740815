"""How far behind the primary a replica is, measured at most once per interval.

The measure is conservative. If the replica has replayed at least the WAL position
the primary had just before we asked, it is current (lag 0). Otherwise its lag
is the age of the last transaction it replayed, which is never less than how
stale its data really is (an idle primary makes it an overestimate, never an
underestimate). A replica that cannot be asked counts as down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

# Everything in one statement on each server; nothing is SET on either
# connection, so a PgBouncer in transaction mode may sit in front of both.
PRIMARY_POSITION = sa.text("SELECT pg_current_wal_lsn()::text")
REPLICA_POSITION = sa.text(
    "SELECT pg_is_in_recovery(),"
    " pg_last_wal_replay_lsn() >= CAST(:primary AS pg_lsn),"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)


@dataclass(frozen=True)
class ReplicaState:
    """What the last check found: ``ok``, ``lagging`` or ``down``."""

    state: str
    lag: float | None  # seconds; None when down or never replayed anything
    checked_at: float  # time.monotonic() of the check
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.state == "ok"


NEVER_CHECKED = ReplicaState("unchecked", None, float("-inf"))


def measure_lag(primary: Engine, replica: Engine) -> float | None:
    """Seconds of data the replica may be missing; None when unknown."""
    with primary.connect() as connection:
        position = connection.scalar(PRIMARY_POSITION)
    with replica.connect() as connection:
        row = connection.execute(REPLICA_POSITION, {"primary": position}).one()
    in_recovery, caught_up, replay_age = row
    if not in_recovery or caught_up:
        # Not a standby at all (a promoted one, or a read-only endpoint that
        # shares the primary's storage), or it has everything we know of.
        return 0.0
    return None if replay_age is None else max(float(replay_age), 0.0)


class ReplicaHealth:
    """One replica's last known state, refreshed at most every ``interval`` s."""

    def __init__(
        self, name: str, engine: Engine, max_lag: float, interval: float
    ) -> None:
        self.name = name
        self.engine = engine
        self.max_lag = max_lag
        self.interval = interval
        self.current = NEVER_CHECKED
        # One thread checks while the others go on with the last state.
        self._checking = threading.Lock()

    def state(self, primary: Engine, max_age: float | None = None) -> ReplicaState:
        """The replica's state, checked now if the last check is older than
        ``max_age`` seconds (the interval unless given)."""
        max_age = self.interval if max_age is None else max_age
        stale = time.monotonic() - self.current.checked_at >= max_age
        if stale and self._checking.acquire(blocking=False):
            try:
                self.current = self._check(primary)
            finally:
                self._checking.release()
        return self.current

    def mark_down(self, error: BaseException) -> None:
        """A request could not reach the replica: skip it until the next check."""
        self.current = ReplicaState(
            "down", None, time.monotonic(), error.__class__.__name__
        )
        log.warning("replica %s unreachable: %s", self.name, error)

    def _check(self, primary: Engine) -> ReplicaState:
        now = time.monotonic()
        try:
            lag = measure_lag(primary, self.engine)
        except sa.exc.SQLAlchemyError as error:
            if self.current.state != "down":
                log.warning("replica %s unreachable: %s", self.name, error)
            return ReplicaState("down", None, now, error.__class__.__name__)
        if lag is None or lag > self.max_lag:
            if self.current.state != "lagging":
                log.warning("replica %s too far behind: %s s", self.name, lag)
            return ReplicaState("lagging", lag, now)
        if self.current.state in ("down", "lagging"):
            log.info("replica %s usable again (%.1f s behind)", self.name, lag)
        return ReplicaState("ok", lag, now)
