"""Scenario 2: ``kill -9`` of one worker, then of a whole instance, under load."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.resilience.cluster import (
    WORKERS_PER_INSTANCE,
    AppInstance,
    Cluster,
    InstanceSettings,
)
from tests.resilience.report import Row, add_row
from tests.resilience.support import (
    PASSWORD,
    AppDatabase,
    stored_posts,
    wait_for_traffic,
)
from tests.resilience.traffic import TrafficPlan, running_traffic

pytestmark = [pytest.mark.resilience, pytest.mark.slow]


def wait_for_respawn(
    instance: AppInstance, killed: int, timeout: float = 60
) -> list[int]:
    """Block until the master has replaced the killed worker; the new worker set."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = instance.worker_pids()
        if len(workers) == WORKERS_PER_INSTANCE and killed not in workers:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"{instance.name} did not replace worker {killed}")


def test_killed_worker_and_instance_lose_only_requests_in_flight(
    app_database: AppDatabase, start_cluster: Callable[[InstanceSettings], Cluster]
) -> None:
    cluster = start_cluster(InstanceSettings(app_database.url))
    first, second, _ = cluster.instances
    plan = TrafficPlan(users=app_database.users, password=PASSWORD)
    with running_traffic(cluster.url, plan) as traffic:
        wait_for_traffic(traffic, 100)
        master = first.pid
        victim = first.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        respawned = wait_for_respawn(first, victim)
        wait_for_traffic(traffic, 100)

        second.kill()
        killed_at = traffic.tally.requests
        wait_for_traffic(traffic, 300)
        after_kill = traffic.tally.since(killed_at)
        # A crashed machine comes back as a new one; it joins the balancer again.
        second.start()
        wait_for_traffic(traffic, 100)
    tally = traffic.tally
    found, rows = stored_posts(app_database.url, tally.acknowledged)
    failures = tally.failures()
    add_row(
        Row(
            "2 kill -9 worker, then instance",
            tally.requests,
            len(failures),
            len(tally.acknowledged),
            found,
            note=(
                "failures are requests in flight: 502s and cut-off answers"
                f" ({len(plan.users)} users)"
            ),
        )
    )
    assert traffic.errors == []
    assert first.pid == master and victim not in respawned
    # Each user has one request in flight at most, at each of the two kills.
    # nginx resends a read that got no answer, so what fails is either a post
    # that was on the way (502), or an answer cut off halfway: nginx had passed
    # its status line on before the worker died, and can only close the
    # connection, which the client sees as a short body.
    assert len(failures) <= 2 * len(plan.users)
    for failure in failures:
        cut_off = failure.status == 0 and "IncompleteRead" in failure.error
        assert cut_off or (failure.method, failure.status) == ("POST", 502), failure
    # Once nginx has seen the instance die it routes around it: the requests
    # after the first few in flight all succeed.
    assert [e for e in after_kill[len(plan.users) :] if e.failed] == []
    assert found == rows == len(tally.acknowledged) > 0
