"""Drive one URL with wrk for a bounded time and read back its JSON summary."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCRIPT = Path(__file__).with_name("report.lua")
LOOPBACK = frozenset({"127.0.0.1", "::1"})
THREADS = 2
CONNECTIONS = 16


class WrkMissing(RuntimeError):
    """wrk is not installed."""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    ok: int
    not_ok: int
    not_ok_status: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "per_second": round(self.per_second, 1)}


def wrk_path() -> str:
    """The wrk program, or an error that says how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing("wrk is not installed: sudo apt-get install wrk")
    return found


def run_wrk(url: str, headers: dict[str, str], seconds: int) -> LoadResult:
    """Load ``url`` with wrk (2 threads, 16 connections) for ``seconds``."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"the benchmark only loads this machine, not {host!r}")
    command = [wrk_path(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    command += ["--timeout", "5s", "--script", str(SCRIPT)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    summary: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    latency = summary["latency_us"]
    return LoadResult(
        requests=int(summary["requests"]),
        seconds=summary["duration_us"] / 1e6,
        ok=int(summary["ok"]),
        not_ok=int(summary["not_ok"]),
        not_ok_status=int(summary["not_ok_status"]),
        socket_errors=int(summary["socket_errors"]),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
    )
