"""Scenario 5: a soak of mixed reads and posts, watching errors and memory.

The soak lasts ``RESILIENCE_SOAK_SECONDS`` (60 by default, to fit CI); run it
for longer before a release, for example ``RESILIENCE_SOAK_SECONDS=900 make
resilience``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from microblog.config import normalise_database_url
from tests.resilience.cluster import Cluster, InstanceSettings, rss_kib
from tests.resilience.report import Row, add_row
from tests.resilience.support import (
    PASSWORD,
    AppDatabase,
    stored_posts,
    wait_for_traffic,
)
from tests.resilience.traffic import TrafficPlan, running_traffic

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

SOAK_SECONDS = int(os.environ.get("RESILIENCE_SOAK_SECONDS", "60"))
# Enough for every worker to have rendered every page and filled its caches.
WARM_UP_REQUESTS = 600
MAX_GROWTH = 0.10


class ConnectionCounter:
    """Counts the app's open connections to its database, keeping the peak."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(
            normalise_database_url(url), poolclass=sa.NullPool
        )
        self.peak = 0

    def sample(self) -> None:
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with self.engine.connect() as connection:
            self.peak = max(self.peak, connection.execute(query).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def worker_memory(cluster: Cluster) -> dict[int, int]:
    """Resident memory (KiB) of every worker of every instance."""
    return {
        pid: rss_kib(pid)
        for instance in cluster.instances
        for pid in instance.worker_pids()
    }


def test_soak_has_no_server_errors_and_flat_worker_memory(
    app_database: AppDatabase, start_cluster: Callable[[InstanceSettings], Cluster]
) -> None:
    cluster = start_cluster(InstanceSettings(app_database.url))
    plan = TrafficPlan(
        users=app_database.users,
        password=PASSWORD,
        max_requests_per_user=200_000,
        max_seconds=SOAK_SECONDS + 180,
    )
    connections = ConnectionCounter(app_database.url)
    try:
        with running_traffic(cluster.url, plan) as traffic:
            wait_for_traffic(traffic, WARM_UP_REQUESTS)
            before = worker_memory(cluster)
            soak_ends = time.monotonic() + SOAK_SECONDS
            while time.monotonic() < soak_ends and not traffic.errors:
                connections.sample()
                time.sleep(1)
            after = worker_memory(cluster)
    finally:
        connections.close()
    tally = traffic.tally
    found, rows = stored_posts(app_database.url, tally.acknowledged)
    growth = {pid: (after.get(pid, 0) - kib) / kib for pid, kib in before.items()}
    worst = max(growth.values())
    add_row(
        Row(
            f"5 soak ({SOAK_SECONDS} s)",
            tally.requests,
            len(tally.failures()),
            len(tally.acknowledged),
            found,
            note=(
                f"worker RSS {min(before.values()) // 1024}-"
                f"{max(after.values()) // 1024} MiB, growth max {worst:+.1%};"
                f" peak {connections.peak} DB connections"
            ),
        )
    )
    assert traffic.errors == []
    assert tally.failures() == [], cluster.log_tail()
    # Every worker that was measured is still the same process.
    assert set(after) == set(before)
    assert worst < MAX_GROWTH, growth
    assert found == rows == len(tally.acknowledged) > 0
    assert cluster.written_files() == []
