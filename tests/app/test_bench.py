"""``make bench`` helpers: the verdicts it prints and its loopback-only rule.

The benchmark itself is not part of the test suite (it needs minutes of quiet
machine); these tests pin how it judges results and what it refuses to load.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.client import request
from bench.load import LoadResult, run_wrk
from bench.measure import PathResult
from bench.report import summary_table


def load(per_second: float) -> LoadResult:
    return LoadResult(
        requests=int(per_second * 10),
        seconds=10.0,
        ok=int(per_second * 10),
        not_ok=0,
        not_ok_status=0,
        socket_errors=0,
        p50_ms=1.0,
        p90_ms=2.0,
        p99_ms=3.0,
    )


def path(name: str, per_second: float, statements: float, pings: float = 1) -> Any:
    return PathResult(name, f"/{name}", load(per_second), statements, pings)


def results(boot: float, rss: float) -> dict[str, Any]:
    return {
        "settings": {"growth_posts_total": 200_000},
        "app": {"boot_seconds": boot, "rss_mb": [rss, rss - 1]},
        "hello": {"boot_seconds": 0.3, "rss_mb": [20.0]},
    }


def test_each_target_is_judged_on_ratio_and_statement_budget() -> None:
    hello = path("hello", 1000, 0, 0)
    paths = [
        path("timeline", 150, 2),  # fast enough, 2 statements + 1 ping
        path("explore", 90, 2),  # below 0.10x
        path("profile", 200, 4),  # fast, but over its 3-statement budget
        path("api_user", 300, 2),
        path("static", 950, 0, pings=0),
    ]
    table, met = summary_table(
        results(0.4, 59.0), hello, paths, path("timeline", 140, 2)
    )
    assert met == {
        "timeline": True,
        "explore": False,
        "profile": False,
        "api_user": True,
        "static": True,
        "growth": True,
        "boot": True,
        "memory": True,
    }
    assert "0.150" in table and "0.933 of /" in table


def test_any_database_round_trip_fails_the_static_target() -> None:
    hello = path("hello", 1000, 0, 0)
    static = path("static", 990, 0, pings=1)
    _, met = summary_table(results(0.6, 61.0), hello, [static], None)
    assert met == {"static": False, "boot": False, "memory": False}


@pytest.mark.parametrize(
    "url", ["http://example.com/", "http://10.0.0.1/", "https://127.0.0.1/"]
)
def test_the_client_talks_plain_http_to_loopback_only(url: str) -> None:
    with pytest.raises(ValueError, match="only talks HTTP to this machine"):
        request(url)


def test_wrk_never_loads_another_machine() -> None:
    with pytest.raises(ValueError, match="only loads this machine"):
        run_wrk("http://192.0.2.1/", {}, 1)
