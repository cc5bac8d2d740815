"""Scenario 1: every instance restarted in turn (SIGTERM) while users post.

As on Heroku or Fly, the router stops sending new requests to an instance
before the instance gets SIGTERM; gunicorn then finishes what it has. Without
that drain, connections waiting in the listen backlog when gunicorn closes its
socket are reset: nginx resends a read elsewhere, but not a POST (502).

The scenario runs twice: with the app reaching PostgreSQL directly, and through
a transaction-mode PgBouncer, as Fly's Managed Postgres, Heroku's Connection
Pooling, Supabase and Neon hand it out.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import make_url

from tests.harness.pgbouncer import PgBouncerServer
from tests.resilience.cluster import Cluster, InstanceSettings
from tests.resilience.report import Row, add_row
from tests.resilience.support import (
    PASSWORD,
    AppDatabase,
    stored_posts,
    wait_for_traffic,
)
from tests.resilience.traffic import TrafficPlan, running_traffic

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

SCENARIOS = {
    "direct": "1 rolling restart (SIGTERM x3)",
    "pgbouncer": "1 rolling restart through PgBouncer (SIGTERM x3)",
}


@pytest.mark.parametrize("path", SCENARIOS)
def test_rolling_restart_fails_no_request_and_loses_no_post(
    path: str,
    app_database: AppDatabase,
    start_cluster: Callable[[InstanceSettings], Cluster],
    request: pytest.FixtureRequest,
) -> None:
    settings = InstanceSettings(app_database.url)
    pooler: PgBouncerServer | None = None
    if path == "pgbouncer":
        pooler = request.getfixturevalue("pgbouncer")
        settings = InstanceSettings(
            pooler.pooled(app_database.url), extra_env={"DATABASE_POOLED": "1"}
        )
    cluster = start_cluster(settings)
    balancer = cluster.balancer
    assert balancer is not None
    plan = TrafficPlan(users=app_database.users, password=PASSWORD)
    restarted = []
    with running_traffic(cluster.url, plan) as traffic:
        wait_for_traffic(traffic, 100)
        for instance in cluster.instances:
            first_pid = instance.pid
            # What a platform's router does before it stops a dyno or Machine.
            balancer.drain(instance)
            assert instance.terminate() == 0, instance.log_tail()
            instance.start()
            balancer.restore(instance)
            restarted.append(first_pid != instance.pid)
            # The fresh instance takes its share before the next one goes.
            wait_for_traffic(traffic, 100)
    tally = traffic.tally
    found, rows = stored_posts(app_database.url, tally.acknowledged)
    add_row(
        Row(
            SCENARIOS[path],
            tally.requests,
            len(tally.failures()),
            len(tally.acknowledged),
            found,
        )
    )
    assert traffic.errors == []
    assert all(restarted)
    assert tally.failures() == [], cluster.log_tail()
    assert len(tally.acknowledged) > 0
    assert found == rows == len(tally.acknowledged)
    assert cluster.written_files() == []
    if pooler is not None:
        # The traffic really went through the pooler.
        database = make_url(app_database.url).database
        stats = {row["database"]: row for row in pooler.show("stats")}
        assert int(str(stats[database]["total_xact_count"])) > len(tally.acknowledged)
