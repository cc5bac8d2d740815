"""docs/performance.md's quick benchmark, run as written in a fresh checkout.

The full ``make bench`` takes minutes of a quiet machine and stays a manual
step; the quick form runs every stage of it (PostgreSQL, seeding, hello-world
and the app under gunicorn, wrk, the statement counts) in about a minute.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.checkout import checkout_with_venv
from tests.harness.databases import postgres_bindir
from tests.harness.docs import documented_command, run_documented
from tests.harness.environment import environment
from tests.harness.processes import require_program, skip_or_fail

PAGE = "docs/performance.md"
# Every path the bench loads, as its table names them.
ROWS = ("hello-world /", "/explore", "/user/alan", "/api/users/2", "/static/css/app.")


@pytest.mark.slow
def test_the_quick_bench_runs_and_writes_its_results(tmp_path: Path) -> None:
    require_program("wrk", "wrk")
    if postgres_bindir() is None:
        skip_or_fail("PostgreSQL not installed (apt-get install postgresql)")
    checkout = checkout_with_venv(tmp_path)
    command = documented_command(PAGE, 'make bench BENCH_ARGS="--seconds 5')
    result = run_documented(command, checkout, environment(), timeout=600)

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    table = result.stdout
    assert all(row in table for row in ROWS), table
    assert "/ at 200,000 posts" not in table  # --growth-posts 0 skips that row
    assert "+ the app built, templates compiled" in table  # what the libraries cost
    (saved,) = (checkout / "bench-results").glob("bench-*.json")
    results = json.loads(saved.read_text())
    assert results["settings"]["growth_posts_total"] == 0
    assert len(results["libraries"]) == 6
