"""Scenario 3: PostgreSQL restarted (fast and immediate shutdown) under load."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

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


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[RestartablePostgres]:
    """A PostgreSQL server of this module's own, since the tests stop it."""
    server = RestartablePostgres()
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
def test_database_restart_answers_503_then_recovers_without_app_restart(
    mode: str,
    restartable_postgres: RestartablePostgres,
    start_cluster: Callable[[InstanceSettings], Cluster],
) -> None:
    url = restartable_postgres.new_database()
    plan = TrafficPlan(users=prepare_database(url), password=PASSWORD)
    cluster = start_cluster(InstanceSettings(url))
    processes = {i.pid: i.worker_pids() for i in cluster.instances}
    with running_traffic(cluster.url, plan) as traffic:
        wait_for_traffic(traffic, 100)
        down_at = traffic.tally.requests
        restartable_postgres.halt(MODES[mode])
        wait_for_unavailable(traffic, down_at)
        ready_while_down = readiness(cluster)
        restartable_postgres.resume()
        wait_for_ready(cluster)
        wait_for_traffic(traffic, 100)
        recovered_at = traffic.tally.requests
        wait_for_traffic(traffic, 100)
        after_recovery = traffic.tally.since(recovered_at)
    tally = traffic.tally
    found, rows = stored_posts(url, tally.acknowledged)
    add_row(
        Row(
            f"3 PostgreSQL restart ({mode})",
            tally.requests,
            len(tally.failures()),
            len(tally.acknowledged),
            found,
            note="failures are 503s during the outage",
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
