"""``python -m bench.run``: the app against hello-world under the same gunicorn.

Starts a throwaway PostgreSQL, seeds the demo data set, serves hello-world and
then the app with ``gunicorn.conf.py``, drives each path with wrk, counts SQL
statements per request, prints one table and saves the raw results as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import libraries
from bench.client import (
    USER_AGENT,
    BenchSetupError,
    api_token,
    http_get,
    sign_in,
    stylesheet_path,
)
from bench.database import CountingPostgres, ServerUnavailable, start_postgres
from bench.load import WrkMissing, wrk_path
from bench.measure import PathResult, measure_path
from bench.report import machine, summary_table
from bench.server import BootFailed, Gunicorn, start_gunicorn
from bench.stack import CommandFailed, app_environment, prepare, seed
from microblog import PROJECT_ROOT
from microblog.commands.seed import DEMO_PASSWORD, demo_username

DATABASE = "bench"
HELLO_APP = "bench.hello:app"
APP = "microblog:create_app()"
# The app's first 200 must be a real page: templates and the database, not a probe.
APP_BOOT_PROBE = "/explore"


@dataclass(frozen=True)
class Configuration:
    """How gunicorn runs both apps: gunicorn.conf.py plus these options."""

    name: str
    options: tuple[str, ...]
    description: str


CONFIGURATIONS = {
    config.name: config
    for config in (
        Configuration("production", (), "gunicorn.conf.py as shipped"),
        Configuration(
            "tutorial",
            ("--workers", "4", "--worker-class", "sync"),
            "gunicorn.conf.py with -w 4 -k sync (the tutorial's comparison)",
        ),
        # A variant, never the default: it turns a shipped setting off.
        Configuration(
            "no-recycling",
            ("--max-requests", "0"),
            "gunicorn.conf.py with worker recycling OFF (--max-requests 0)",
        ),
    )
}
DEFAULT_CONFIGURATIONS = "production,tutorial"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk time per path")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured wrk time")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--follows", type=int, default=50)
    parser.add_argument("--posts", type=int, default=20, help="posts per user")
    parser.add_argument(
        "--growth-posts",
        type=int,
        default=1000,
        help="posts per user for the growth row (0 skips it)",
    )
    parser.add_argument(
        "--configs",
        default=DEFAULT_CONFIGURATIONS,
        help=f"comma-separated, of: {', '.join(CONFIGURATIONS)}",
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench-results")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 60 or not 0 <= args.warmup <= 10:
        parser.error("--seconds must be 1-60 and --warmup 0-10")
    if args.growth_posts and args.growth_posts <= args.posts:
        parser.error("--growth-posts must be more than --posts (or 0)")
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGURATIONS]
    if unknown or not names:
        parser.error(f"--configs: unknown {', '.join(unknown) or '(none)'}")
    args.configurations = [CONFIGURATIONS[name] for name in names]
    return args


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def serving(
    app: str, env: dict[str, str], log: Path, probe: str, config: Configuration
) -> Callable[[Callable[[Gunicorn], Any]], Any]:
    """Run a function against ``app`` under gunicorn, stopping it afterwards."""

    def run(body: Callable[[Gunicorn], Any]) -> Any:
        server = start_gunicorn(app, env, log, probe, config.options)
        try:
            return body(server)
        finally:
            server.stop()

    return run


def server_facts(server: Gunicorn) -> dict[str, Any]:
    return {
        "boot_seconds": server.boot_seconds,
        "rss_mb": server.worker_rss_mb(),
        "pss_mb": server.worker_pss_mb(),
        "workers_booted": server.booted_workers(),
    }


def measure_hello(
    args: argparse.Namespace, env: dict[str, str], work: Path, config: Configuration
) -> tuple[PathResult, dict[str, Any]]:
    def body(server: Gunicorn) -> tuple[PathResult, dict[str, Any]]:
        say(f"[{config.name}] hello-world up in {server.boot_seconds:.2f} s")
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
        result = measure_path(
            "hello",
            server.base_url,
            "/",
            headers,
            args.seconds,
            args.warmup,
            cpu_clock=server.cpu_seconds,
            boots=server.booted_workers,
        )
        return result, server_facts(server)

    result: tuple[PathResult, dict[str, Any]] = serving(
        HELLO_APP, env, work / f"hello-{config.name}.log", "/", config
    )(body)
    return result


def signed_in_headers(server: Gunicorn) -> dict[str, str]:
    me = demo_username(0)
    return {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip",
        "Cookie": sign_in(server.base_url, me, DEMO_PASSWORD),
    }


def measure_app(
    args: argparse.Namespace,
    env: dict[str, str],
    work: Path,
    postgres: CountingPostgres,
    config: Configuration,
) -> tuple[list[PathResult], dict[str, Any]]:
    def counter() -> Any:
        return postgres.counting(DATABASE)

    def body(server: Gunicorn) -> tuple[list[PathResult], dict[str, Any]]:
        say(f"[{config.name}] app up in {server.boot_seconds:.2f} s; signing in")
        me, other = demo_username(0), demo_username(1)
        browser = signed_in_headers(server)
        home = http_get(server.base_url + "/", browser)
        if home.status != 200 or b'class="post"' not in home.body:
            raise BenchSetupError(f"signed-in GET / answered {home.status}, no posts")
        plan = [
            ("timeline", "/", browser),
            ("explore", "/explore", browser),
            ("profile", f"/user/{other}", browser),
        ]
        token = api_token(server.base_url, me, DEMO_PASSWORD)
        if token is None:
            say("the app has no /api/tokens; skipping the API row")
        else:
            other_id = postgres.query(
                'SELECT id FROM "user" WHERE username = %s', DATABASE, other
            )[0][0]
            api = {"User-Agent": USER_AGENT, "Authorization": f"Bearer {token}"}
            plan.append(("api_user", f"/api/users/{other_id}", api))
        plan.append(("static", stylesheet_path(home.body), browser))
        paths = []
        for name, path, headers in plan:
            say(f"[{config.name}] loading {path}")
            paths.append(
                measure_path(
                    name,
                    server.base_url,
                    path,
                    headers,
                    args.seconds,
                    args.warmup,
                    counter,
                    server.cpu_seconds,
                    server.booted_workers,
                )
            )
        return paths, server_facts(server)

    result: tuple[list[PathResult], dict[str, Any]] = serving(
        APP, env, work / f"app-{config.name}.log", APP_BOOT_PROBE, config
    )(body)
    return result


def measure_growth(
    args: argparse.Namespace,
    env: dict[str, str],
    work: Path,
    postgres: CountingPostgres,
    config: Configuration,
) -> PathResult:
    """The timeline again, once the data set has grown."""

    def body(server: Gunicorn) -> PathResult:
        say(f"[{config.name}] loading / at {args.growth_posts} posts per user")
        return measure_path(
            "timeline",
            server.base_url,
            "/",
            signed_in_headers(server),
            args.seconds,
            args.warmup,
            lambda: postgres.counting(DATABASE),
            server.cpu_seconds,
            server.booted_workers,
        )

    result: PathResult = serving(
        APP, env, work / f"growth-{config.name}.log", APP_BOOT_PROBE, config
    )(body)
    return result


def run(args: argparse.Namespace, postgres: CountingPostgres, work: Path) -> int:
    load_before = os.getloadavg()
    url = postgres.new_database(DATABASE)
    postgres.enable_counting(DATABASE)
    env = app_environment(url)
    say("migrating and seeding")
    prepare(env)
    seeded = seed(env, args.users, args.follows, args.posts)
    postgres.vacuum_analyze(DATABASE)
    say(seeded)
    measured: dict[str, dict[str, Any]] = {}
    for config in args.configurations:
        hello, hello_facts = measure_hello(args, env, work, config)
        paths, app_facts = measure_app(args, env, work, postgres, config)
        measured[config.name] = {
            "hello": hello,
            "paths": paths,
            "hello_facts": hello_facts,
            "app_facts": app_facts,
            "growth": None,
        }
    if args.growth_posts:
        say(f"growing to {args.growth_posts} posts per user")
        seed(env, args.users, args.follows, args.growth_posts)
        postgres.vacuum_analyze(DATABASE)
        for config in args.configurations:
            measured[config.name]["growth"] = measure_growth(
                args, env, work, postgres, config
            )
    say("timing the libraries' imports")
    library_costs = libraries.measure(env)
    version = postgres.query("SHOW server_version", DATABASE)[0][0]
    results: dict[str, Any] = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(version),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "users": args.users,
            "follows": args.follows,
            "posts_per_user": args.posts,
            "posts_total": args.users * args.posts,
            "growth_posts_total": args.users * args.growth_posts,
        },
        "configurations": {},
        "libraries": [row.as_dict() for row in library_costs],
    }
    tables = []
    for config in args.configurations:
        got = measured[config.name]
        growth: PathResult | None = got["growth"]
        entry = {
            "description": config.description,
            "gunicorn_options": list(config.options),
            "hello": {**got["hello_facts"], "paths": [got["hello"].as_dict()]},
            "app": {**got["app_facts"], "paths": [p.as_dict() for p in got["paths"]]},
            "growth": growth.as_dict() if growth else None,
        }
        table, met = summary_table(
            results["settings"], entry, got["hello"], got["paths"], growth
        )
        entry["targets_met"] = met
        results["configurations"][config.name] = entry
        tables.append(f"{config.name}: {config.description}\n{table}")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = args.out / f"bench-{stamp}.json"
    saved.write_text(json.dumps(results, indent=2) + "\n")
    print("\n\n".join(tables))
    print("\nbefore the app does anything: what its libraries cost")
    print(libraries.table(library_costs))
    info = results["machine"]
    print(
        f"\n{info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gb']} GB, "
        f"{info['os']}, Python {info['python']}, PostgreSQL {version}; "
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(f"raw results: {saved}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; a missing program or a failed step ends it with a message."""
    args = parse_args(argv)
    started = time.monotonic()
    try:
        wrk_path()
        postgres = start_postgres()
    except (WrkMissing, ServerUnavailable) as error:
        print(f"make bench: {error}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="microblog-bench-"))
    try:
        status = run(args, postgres, work)
    except (BenchSetupError, BootFailed, CommandFailed) as error:
        print(f"make bench: {error}", file=sys.stderr)
        status = 1
    finally:
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    say(f"done in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
