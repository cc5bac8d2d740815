"""What the libraries cost before the app does anything: start-up time and memory.

Each row is a fresh Python process that imports what gunicorn's master imports
for hello-world, then the libraries of its row and of every row above it, and
reports when it got there, the CPU time it took and its resident memory. The
last row also builds the app as the shipped master does (``create_app()`` and
the templates compiled). Time runs from starting the program, interpreter
included, which is how the benchmark counts boot to first 200; CPU time is the
figure that other work on the machine moves least. Each is the median of a
few runs.

This is where the boot and memory targets meet the libraries: a row over them
already is before any of the app's own work.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import IO, cast

from microblog import PROJECT_ROOT

RUNS = 3


@dataclass(frozen=True)
class Layer:
    """One row: its label and the modules it adds to the rows above."""

    label: str
    modules: tuple[str, ...]


LAYERS = (
    Layer(
        "gunicorn + Flask (hello-world)",
        ("gunicorn.app.wsgiapp", "gunicorn.workers.gthread", "flask"),
    ),
    Layer(
        "+ Flask-SQLAlchemy (SQLAlchemy's ORM)", ("flask_sqlalchemy", "sqlalchemy.orm")
    ),
    Layer("+ psycopg2", ("psycopg2", "sqlalchemy.dialects.postgresql.psycopg2")),
    Layer("+ Flask-Migrate (Alembic)", ("flask_migrate",)),
    Layer(
        "+ the other libraries in requirements.txt",
        (
            "dotenv",
            "email_validator",
            "flask_babel",
            "flask_limiter",
            "flask_login",
            "flask_smorest",
            "flask_wtf",
            "rq",
            "whitenoise",
        ),
    ),
)
APP_LABEL = "+ the app built, templates compiled"

# Runs in the child: import, optionally build the app, then say how big it is.
CHILD = """
import importlib, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
if sys.argv[2] == "app":
    from microblog import create_app
    from microblog.ops.preload import compile_templates
    compile_templates(create_app())
import os
status = open("/proc/self/status").read()
times = os.times()
rss_kib = status.split("VmRSS:")[1].split()[0]
print(rss_kib, times.user + times.system, flush=True)
sys.stdin.read()  # stay alive (and measurable) until the parent is done
"""


@dataclass(frozen=True)
class LibraryCost:
    """A row's median time from start to imported, its CPU time, and its memory."""

    label: str
    seconds: float
    cpu_seconds: float
    rss_mb: float

    def as_dict(self) -> dict[str, float | str]:
        return {
            "label": self.label,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "rss_mb": self.rss_mb,
        }


def one_run(
    label: str, modules: list[str], build_app: bool, env: dict[str, str]
) -> LibraryCost:
    """One process: seconds from its start to its imports done, CPU, RSS."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, ",".join(modules), "app" if build_app else "-"],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = cast(IO[str], child.stdout).readline()
    seconds = time.monotonic() - started
    cast(IO[str], child.stdin).close()
    child.wait(timeout=30)
    if child.returncode != 0 or not line.strip():
        raise RuntimeError(f"importing {modules} failed (exit {child.returncode})")
    rss_kib, cpu_seconds = line.split()
    return LibraryCost(label, seconds, float(cpu_seconds), int(rss_kib) / 1024)


def measure(env: dict[str, str]) -> list[LibraryCost]:
    """Every row, in order; ``env`` holds the app's settings for the last one."""
    rows = []
    modules: list[str] = []
    plan = [(layer.label, layer.modules, False) for layer in LAYERS]
    plan.append((APP_LABEL, (), True))
    for label, added, build_app in plan:
        modules.extend(added)
        runs = [one_run(label, modules, build_app, env) for _ in range(RUNS)]
        rows.append(
            LibraryCost(
                label,
                statistics.median(run.seconds for run in runs),
                statistics.median(run.cpu_seconds for run in runs),
                statistics.median(run.rss_mb for run in runs),
            )
        )
    return rows


def table(rows: list[LibraryCost]) -> str:
    """The rows as printed by ``make bench``."""
    width = max(len(row.label) for row in rows)
    lines = [
        f"{'imported in one process':<{width}}  start to imported (s)  CPU (s)"
        "  RSS (MB)",
        f"{'-' * width}  ---------------------  -------  --------",
    ]
    lines += [
        f"{row.label:<{width}}  {row.seconds:>21.2f}  {row.cpu_seconds:>7.2f}"
        f"  {row.rss_mb:>8.1f}"
        for row in rows
    ]
    return "\n".join(lines)
