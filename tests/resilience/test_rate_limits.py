"""Scenario 6: rate limits shared by three instances through Redis, or not."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.harness.databases import RedisServer
from tests.harness.paths import ROOT
from tests.resilience.cluster import Cluster, InstanceSettings
from tests.resilience.report import Row, add_row
from tests.resilience.support import AppDatabase
from tests.resilience.traffic import Browser

pytestmark = [pytest.mark.resilience, pytest.mark.slow]

# Sign-in allows 5 failures per account per minute (microblog/security/limits.py).
ACCOUNT_FAILURES_PER_MINUTE = 5
ATTEMPTS = 9
PER_PROCESS_NOTICE = "REDIS_URL is not set: each process counts alone"


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this module's own, so no other test's counters are in it."""
    server = RedisServer()
    yield server
    server.stop()


def failed_sign_ins(base_url: str, username: str) -> list[int]:
    """Try a wrong password ``ATTEMPTS`` times, each from a fresh browser."""
    statuses = []
    for _ in range(ATTEMPTS):
        browser = Browser(base_url)
        token = browser.csrf_token("/auth/login")
        form = {"username": username, "password": "wrong-password", "csrf_token": token}
        statuses.append(browser.request("POST", "/auth/login", form).status)
    return statuses


def instances_that_answered(cluster: Cluster, method: str) -> set[str]:
    """The instances nginx sent ``method`` requests to."""
    assert cluster.balancer is not None
    return {line[2] for line in cluster.balancer.upstream_log() if line[1] == method}


def deploy_check(settings: InstanceSettings) -> str:
    """What ``flask deploy check`` says with the instances' environment."""
    command = [sys.executable, "-m", "flask", "--app", "microblog", "deploy", "check"]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=settings.environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


def record(name: str, statuses: list[int], note: str) -> None:
    unexpected = [status for status in statuses if status not in (200, 429)]
    add_row(Row(name, len(statuses), len(unexpected), 0, 0, note=note))


def test_sign_in_limit_holds_across_instances_with_redis(
    app_database: AppDatabase,
    own_redis: RedisServer,
    start_cluster: Callable[[InstanceSettings], Cluster],
) -> None:
    settings = InstanceSettings(app_database.url, redis_url=own_redis.url)
    cluster = start_cluster(settings)
    statuses = failed_sign_ins(cluster.url, f"nobody-{secrets.token_hex(4)}")
    record(
        "6 sign-in limit, 3 instances + Redis",
        statuses,
        f"{statuses.count(429)} of {ATTEMPTS} refused (429) after 5 failures",
    )
    assert len(instances_that_answered(cluster, "POST")) == len(cluster.instances)
    allowed = ACCOUNT_FAILURES_PER_MINUTE
    assert statuses == [200] * allowed + [429] * (ATTEMPTS - allowed)
    assert "rate-limit-storage" not in deploy_check(settings)
    # Redis lost: sign-in keeps answering (the limits fail open), never a 500.
    own_redis.stop()
    assert set(failed_sign_ins(cluster.url, f"nobody-{secrets.token_hex(4)}")) == {200}
    assert "cannot reach REDIS_URL" in deploy_check(settings)


def test_without_redis_the_app_starts_and_deploy_check_says_limits_are_per_process(
    app_database: AppDatabase, start_cluster: Callable[[InstanceSettings], Cluster]
) -> None:
    settings = InstanceSettings(app_database.url)
    cluster = start_cluster(settings)
    statuses = failed_sign_ins(cluster.url, f"nobody-{secrets.token_hex(4)}")
    record(
        "6 sign-in limit, 3 instances, no Redis",
        statuses,
        f"{statuses.count(429)} of {ATTEMPTS} refused: each process counts alone",
    )
    # Six processes (3 instances x 2 workers) each count their own share.
    assert statuses == [200] * ATTEMPTS
    assert PER_PROCESS_NOTICE in deploy_check(settings)
