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
from bench.run import parse_args


def load(per_second: float, p50: float = 1.0, p99: float = 3.0) -> LoadResult:
    return LoadResult(
        requests=int(per_second * 10),
        seconds=10.0,
        ok=int(per_second * 10),
        not_ok=0,
        not_ok_status=0,
        socket_errors=0,
        p50_ms=p50,
        p90_ms=p50,
        p99_ms=p99,
    )


def path(name: str, per_second: float, statements: float, p99: float = 3.0) -> Any:
    return PathResult(name, f"/{name}", load(per_second, p99=p99), statements)


SETTINGS = {"growth_posts_total": 1_000_000}


def results(boot: float, rss: float) -> dict[str, Any]:
    return {
        "app": {"boot_seconds": boot, "rss_mb": [rss, rss - 1], "pss_mb": [30.0]},
        "hello": {"boot_seconds": 0.3, "rss_mb": [20.0], "pss_mb": [10.0]},
    }


def test_each_target_is_judged_on_ratio_statements_and_tail() -> None:
    hello = path("hello", 1000, 0, p99=2.0)
    paths = [
        path("timeline", 150, 3),  # fast enough, 3 statements counting BEGIN/ROLLBACK
        path("explore", 90, 2),  # below 0.10x
        path("profile", 200, 4),  # fast, but over its 3-statement budget
        path("api_user", 300, 2, p99=3.5),  # p99 above 3x its p50
        path("static", 950, 0, p99=2.9),  # p99 within 2x of hello-world's
    ]
    table, met = summary_table(
        SETTINGS, results(0.4, 59.0), hello, paths, path("timeline", 140, 3)
    )
    assert met == {
        "timeline": True,
        "explore": False,
        "profile": False,
        "api_user": False,
        "static": True,
        "growth": True,
        "boot": True,
        "memory": True,
    }
    assert "0.150" in table and "0.933 of /" in table
    assert "/ at 1,000,000 posts" in table and "PSS per worker" in table


def test_static_file_fails_on_database_work_or_a_tail_over_twice_hellos() -> None:
    hello = path("hello", 1000, 0, p99=1.5)
    with_ping = path("static", 990, 1)
    slow_tail = path("static", 990, 0, p99=3.1)
    for static in (with_ping, slow_tail):
        _, met = summary_table(SETTINGS, results(0.6, 61.0), hello, [static], None)
        assert met == {"static": False, "boot": False, "memory": False}


def test_default_configurations_keep_the_shipped_settings() -> None:
    args = parse_args([])
    assert [c.name for c in args.configurations] == ["production", "tutorial"]
    production, tutorial = args.configurations
    assert production.options == ()
    assert tutorial.options == ("--workers", "4", "--worker-class", "sync")
    # Only a variant asked for by name turns a setting off, and says so.
    (variant,) = parse_args(["--configs", "no-recycling"]).configurations
    assert "OFF" in variant.description


@pytest.mark.parametrize(
    "url", ["http://example.com/", "http://10.0.0.1/", "https://127.0.0.1/"]
)
def test_the_client_talks_plain_http_to_loopback_only(url: str) -> None:
    with pytest.raises(ValueError, match="only talks HTTP to this machine"):
        request(url)


def test_wrk_never_loads_another_machine() -> None:
    with pytest.raises(ValueError, match="only loads this machine"):
        run_wrk("http://192.0.2.1/", {}, 1)
