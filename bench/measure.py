"""One path measured: SQL statements per request, then throughput under wrk."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from bench.client import BenchSetupError, http_get
from bench.database import StatementCount
from bench.load import LoadResult, run_wrk

# Sequential requests whose statements are counted; the per-request figure is
# their average, so a once-per-interval write would show as a fraction.
COUNTED_REQUESTS = 10

Counter = Callable[[], AbstractContextManager[StatementCount]]


@dataclass
class PathResult:
    name: str
    path: str
    load: LoadResult
    statements: float | None = None  # everything: queries, pings, BEGIN/ROLLBACK
    pings: float | None = None
    transaction_control: float | None = None
    queries: dict[str, int] = field(default_factory=dict)
    cpu_ms: float | None = None  # the app's worker CPU per request under load
    recycles: int | None = None  # workers gunicorn restarted during the load

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "load": self.load.as_dict(),
            "statements_per_request": self.statements,
            "pool_pings_per_request": self.pings,
            "transaction_control_per_request": self.transaction_control,
            "statements": self.queries,
            "worker_cpu_ms_per_request": self.cpu_ms,
            "workers_recycled": self.recycles,
        }


def count_statements(
    url: str, headers: dict[str, str], counter: Counter
) -> StatementCount:
    """Statements the database ran for COUNTED_REQUESTS sequential requests."""
    with counter() as counted:
        for _ in range(COUNTED_REQUESTS):
            reply = http_get(url, headers)
            if reply.status != 200:
                raise BenchSetupError(f"GET {url} answered {reply.status}, not 200")
    return counted


def measure_path(
    name: str,
    base_url: str,
    path: str,
    headers: dict[str, str],
    seconds: int,
    warmup: int,
    counter: Counter | None = None,
    cpu_clock: Callable[[], float] | None = None,
    boots: Callable[[], int] | None = None,
) -> PathResult:
    """Warm up, count statements (when ``counter`` is given), then load for real."""
    url = base_url + path
    if warmup:
        run_wrk(url, headers, warmup)
    counted = count_statements(url, headers, counter) if counter else None
    cpu_before = cpu_clock() if cpu_clock else 0.0
    boots_before = boots() if boots else 0
    load = run_wrk(url, headers, seconds)
    cpu_used = cpu_clock() - cpu_before if cpu_clock else 0.0
    if load.not_ok:
        raise BenchSetupError(
            f"GET {path}: {load.not_ok} answers under load were not 200 "
            f"(the last was {load.not_ok_status})"
        )
    result = PathResult(name, path, load)
    if boots:
        result.recycles = boots() - boots_before
    if cpu_clock and load.ok:
        # Requests still in flight when wrk stops add a little; wrk's count
        # is in the thousands, so the share stays small.
        result.cpu_ms = 1000 * cpu_used / load.ok
    if counted is not None:
        result.statements = counted.total / COUNTED_REQUESTS
        result.pings = counted.pings / COUNTED_REQUESTS
        result.transaction_control = counted.transaction_control / COUNTED_REQUESTS
        result.queries = counted.calls
    return result
