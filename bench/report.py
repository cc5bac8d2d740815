"""The targets from the performance issue, the machine, and the printed table."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.measure import PathResult

BOOT_TARGET_S = 0.5
RSS_TARGET_MB = 60.0
GROWTH_TARGET = 0.9
# Every path's p99 within this multiple of its own p50: a steady tail.
TAIL_TARGET = 3.0
# The static file's p99 within this multiple of hello-world's.
STATIC_TAIL_TARGET = 2.0
# CPU ms: the app's gunicorn workers' CPU time per request under load, which
# other work on the machine does not inflate as much as wall-clock rates.
# SQL/req: every statement the database ran, BEGIN/ROLLBACK and pool pings
# included. recycled: workers gunicorn restarted during the measured load.
HEADER = [
    "path",
    "req/s",
    "x hello",
    "p50 ms",
    "p99 ms",
    "CPU ms",
    "SQL/req",
    "recycled",
    "target",
    "met",
]


@dataclass(frozen=True)
class PathTarget:
    """A path's target: a share of hello-world's req/s and a statement budget."""

    ratio: float
    statements: float | None = None  # None: not part of the target

    def describe(self) -> str:
        words = f">= {self.ratio:.2f}x"
        if self.statements == 0:
            words += ", no DB work"
        elif self.statements is not None:
            words += f", <= {self.statements:.0f} SQL"
        return words + f", p99 <= {TAIL_TARGET:.0f}x p50"


PATH_TARGETS = {
    "timeline": PathTarget(0.10, 3),
    "explore": PathTarget(0.10),
    "profile": PathTarget(0.12, 3),
    "api_user": PathTarget(0.25),
    "static": PathTarget(0.90, 0),
}


def first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def os_name() -> str:
    release = Path("/etc/os-release")
    if release.is_file():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine(postgres_version: str) -> dict[str, Any]:
    """What the numbers were measured on."""
    packages = ("Flask", "Werkzeug", "SQLAlchemy", "gunicorn", "psycopg2-binary")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": round(memory_gb(), 1),
        "os": os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "wrk": first_line(["wrk", "--version"]),
        "packages": {name: metadata.version(name) for name in packages},
    }


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def statements_text(result: PathResult) -> str:
    if result.statements is None:
        return "-"
    return f"{result.statements:g}"


def steady_tail(result: PathResult) -> bool:
    return result.load.p99_ms <= TAIL_TARGET * result.load.p50_ms


def path_rows(
    hello: PathResult, paths: list[PathResult]
) -> tuple[list[list[str]], dict[str, bool]]:
    """Table rows for hello-world and the app's paths, and each target's verdict."""
    baseline = hello.load.per_second
    rows = [row(hello, 1.0, "baseline", None)]
    met: dict[str, bool] = {}
    for result in paths:
        target = PATH_TARGETS[result.name]
        ratio = result.load.per_second / baseline if baseline else 0.0
        ok = ratio >= target.ratio and steady_tail(result)
        if target.statements is not None:
            used = result.statements
            ok = ok and used is not None and used <= target.statements
        described = target.describe()
        if result.name == "static":
            ok = ok and result.load.p99_ms <= STATIC_TAIL_TARGET * hello.load.p99_ms
            described += f", p99 <= {STATIC_TAIL_TARGET:.0f}x hello's"
        met[result.name] = ok
        rows.append(row(result, ratio, described, ok))
    return rows, met


def cpu_text(result: PathResult) -> str:
    return "-" if result.cpu_ms is None else f"{result.cpu_ms:.2f}"


def row(result: PathResult, ratio: float, target: str, ok: bool | None) -> list[str]:
    return [
        result.path if result.name != "hello" else "hello-world /",
        f"{result.load.per_second:.0f}",
        f"{ratio:.3f}",
        f"{result.load.p50_ms:.1f}",
        f"{result.load.p99_ms:.1f}",
        cpu_text(result),
        statements_text(result),
        "-" if result.recycles is None else str(result.recycles),
        target,
        verdict(ok),
    ]


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(header))]
    lines.append("  ".join("-" * width for width in widths))
    for cells in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)))
    return "\n".join(line.rstrip() for line in lines)


def fact_row(name: str, value: str, beside: str, target: str, ok: bool) -> list[str]:
    return [name, value, beside, "", "", "", "", "", target, verdict(ok)]


def summary_table(
    settings: dict[str, Any],
    results: dict[str, Any],
    hello: PathResult,
    paths: list[PathResult],
    growth: PathResult | None,
) -> tuple[str, dict[str, bool]]:
    """One configuration's printed table and every target's verdict."""
    rows, met = path_rows(hello, paths)
    timeline = next((p for p in paths if p.name == "timeline"), None)
    if growth is not None and timeline is not None:
        ratio = growth.load.per_second / timeline.load.per_second
        met["growth"] = ratio >= GROWTH_TARGET and steady_tail(growth)
        grown = row(growth, ratio, f">= {GROWTH_TARGET:.2f}x of /", met["growth"])
        grown[0] = f"/ at {settings['growth_posts_total']:,} posts"
        grown[2] = f"{ratio:.3f} of /"
        rows.append(grown)
    app, base = results["app"], results["hello"]
    met["boot"] = app["boot_seconds"] <= BOOT_TARGET_S
    rows.append(
        fact_row(
            "boot to first 200 (s)",
            f"{app['boot_seconds']:.2f}",
            f"hello {base['boot_seconds']:.2f}",
            f"<= {BOOT_TARGET_S} s",
            met["boot"],
        )
    )
    worst = max(app["rss_mb"], default=0.0)
    met["memory"] = worst <= RSS_TARGET_MB
    rows.append(
        fact_row(
            "RSS per worker (MB)",
            f"{worst:.1f}",
            f"hello {max(base['rss_mb'], default=0.0):.1f}",
            f"<= {RSS_TARGET_MB:.0f} MB",
            met["memory"],
        )
    )
    pss = max(app.get("pss_mb") or [0.0])
    rows.append(
        [
            "PSS per worker (MB)",
            f"{pss:.1f}",
            f"hello {max(base.get('pss_mb') or [0.0]):.1f}",
            *[""] * 5,
            "reported",
            "n/a",
        ]
    )
    return format_table(HEADER, rows), met
