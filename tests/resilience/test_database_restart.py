"""Scenario 3: PostgreSQL restarted (fast and immediate shutdown) under load.

Also through a transaction-mode PgBouncer that stays up while PostgreSQL
restarts behind it, as a managed pooler does: the app keeps its connections
to the pooler, and the pooler's connections to the server are the ones lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.harness.pgbouncer import PgBouncerServer
from tests.harness.processes import wait_for_http
from tests.resilience.cluster import Cluster, InstanceSettings
from tests.resilience.databases import (
    FAST_SHUTDOWN,
    IMMEDIATE_SHUTDOWN,
    RestartablePostgres,
)
from tests.resilience.report import Row, add_row
from tests.resilience.support import (
    PASSWORD,
    prepare_database,
    stored_posts,
    wait_for_traffic,
)
from tests.resilience.traffic import Traffic, TrafficPlan, running_traffic

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

MODES = {"fast": FAST_SHUTDOWN, "immediate": IMMEDIATE_SHUTDOWN}
# How the app reaches the server, and how its row in the table reads.
PATHS = {
    "direct": "3 PostgreSQL restart ({mode})",
    "pgbouncer": "3 PostgreSQL restart behind PgBouncer ({mode})",
}


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[RestartablePostgres]:
    """A PostgreSQL server of this module's own, since the tests stop it."""
    server = RestartablePostgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def restartable_pgbouncer(
    restartable_postgres: RestartablePostgres,
) -> Iterator[PgBouncerServer]:
    """Transaction-mode PgBouncer in front of that server; it is never restarted."""
    server = PgBouncerServer(restartable_postgres)
    yield server
    server.stop()


def readiness(cluster: Cluster) -> set[int]:
    """The statuses every instance's ``/readyz`` answers right now."""
    return {wait_for_http(f"{i.url}/readyz", timeout=10) for i in cluster.instances}


def wait_for_unavailable(traffic: Traffic, since: int, count: int = 20) -> None:
    """Block until the traffic has been answered ``count`` 503s after ``since``."""
    deadline = time.monotonic() + 60
    while sum(e.status == 503 for e in traffic.tally.since(since)) < count:
        assert time.monotonic() < deadline, "no 503 while the database was down"
        time.sleep(0.05)


def wait_for_ready(cluster: Cluster) -> None:
    deadline = time.monotonic() + 60
    while readiness(cluster) != {200}:
        assert time.monotonic() < deadline, "/readyz stayed failing after the restart"
        time.sleep(0.1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", PATHS)
def test_database_restart_answers_503_then_recovers_without_app_restart(
    mode: str,
    path: str,
    restartable_postgres: RestartablePostgres,
    start_cluster: Callable[[InstanceSettings], Cluster],
    request: pytest.FixtureRequest,
) -> None:
    url = restartable_postgres.new_database()
    plan = TrafficPlan(users=prepare_database(url), password=PASSWORD)
    settings = InstanceSettings(url)
    pooler: PgBouncerServer | None = None
    if path == "pgbouncer":
        pooler = request.getfixturevalue("restartable_pgbouncer")
        settings = InstanceSettings(
            pooler.pooled(url), extra_env={"DATABASE_POOLED": "1"}
        )
    cluster = start_cluster(settings)
    processes = {i.pid: i.worker_pids() for i in cluster.instances}
    with running_traffic(cluster.url, plan) as traffic:
        wait_for_traffic(traffic, 100)
        down_at = traffic.tally.requests
        restartable_postgres.halt(MODES[mode])
        wait_for_unavailable(traffic, down_at)
        ready_while_down = readiness(cluster)
        restartable_postgres.resume()
        back_at = time.monotonic()
        wait_for_ready(cluster)
        # How long the app kept answering 503 once PostgreSQL was back.
        lag = time.monotonic() - back_at
        wait_for_traffic(traffic, 100)
        recovered_at = traffic.tally.requests
        wait_for_traffic(traffic, 100)
        after_recovery = traffic.tally.since(recovered_at)
    tally = traffic.tally
    found, rows = stored_posts(url, tally.acknowledged)
    add_row(
        Row(
            PATHS[path].format(mode=mode),
            tally.requests,
            len(tally.failures()),
            len(tally.acknowledged),
            found,
            note=f"failures are 503s during the outage; ready {lag:.1f} s after",
        )
    )
    assert traffic.errors == []
    assert ready_while_down == {503}
    # Never a 500, a 502 or a hang: an outage is a 503 the client may retry.
    assert set(tally.statuses()) <= {200, 201, 302, 503}, cluster.log_tail()
    assert [e for e in after_recovery if e.failed] == []
    # The same masters and workers serve before and after: no restart needed.
    assert {i.pid: i.worker_pids() for i in cluster.instances} == processes
    assert found == rows == len(tally.acknowledged) > 0
    if pooler is not None:
        # The pooler itself never went down: only what is behind it restarted.
        assert pooler.server.process.poll() is None
