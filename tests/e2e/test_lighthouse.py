"""Lighthouse 12 scores 100 in all four categories on the app's main pages.

Lighthouse (from the pinned lockfile in tests/paas/node) drives the same
Debian Chromium as the browser suite against the live gunicorn server: the
sign-in page, Explore, and the home timeline with a signed-in session cookie.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import pytest

from microblog.commands.seed import DEMO_PASSWORD, demo_username
from tests.harness.app_server import AppServer
from tests.harness.chromium import CHROMIUM
from tests.harness.environment import environment
from tests.harness.http_client import LiveClient
from tests.harness.processes import skip_or_fail
from tests.paas.node_tools import node_tools

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
RUN_TIMEOUT = 240
# The performance score depends on how busy the machine is (total blocking
# time is CPU time): as Lighthouse's own guidance on variability advises, the
# score is the median of three runs, which is 100 once two runs score 100.
RUNS = 3
# Lighthouse ends some runs with a runtime error of its own when Chromium's trace
# comes back incomplete (NO_NAVSTART, seen in CI), and says to run it again; the page
# is not at fault. Such a run is repeated, a bounded number of times.
RUN_AGAIN = "Please run Lighthouse again"
ATTEMPTS = 3


def lighthouse(url: str, out: Path, headers: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    """Run Lighthouse on ``url``; return its JSON report."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} missing (apt-get install chromium)")
    command = [
        str(node_tools() / "lighthouse"),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox",
    ]
    if headers:
        extra = out.with_suffix(".headers.json")
        extra.write_text(json.dumps(headers))
        command.append(f"--extra-headers={extra}")
    for _ in range(ATTEMPTS):
        result = subprocess.run(
            command,
            env=environment(CHROME_PATH=CHROMIUM),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        if result.returncode == 0 or RUN_AGAIN not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict = json.loads(out.read_text())  # type: ignore[type-arg]
    return report


def failing_audits(report: dict) -> list[str]:  # type: ignore[type-arg]
    """Audits that cost points, for the failure message."""
    audits = report["audits"]
    return [
        f"{name}: {audit.get('displayValue') or audit['title']}"
        for name, audit in audits.items()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]


def scores(report: dict) -> dict[str, int]:  # type: ignore[type-arg]
    return {
        name: round(100 * (category["score"] or 0))
        for name, category in report["categories"].items()
    }


@pytest.fixture(scope="module")
def session_cookie(live_server: AppServer) -> str:
    client = LiveClient(live_server.port)
    reply = client.login(demo_username(0), DEMO_PASSWORD)
    assert reply.status == 302, reply.text[:500]
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


@pytest.mark.parametrize("path", ["/auth/login", "/explore", "/"])
def test_lighthouse_scores_100_in_every_category(
    live_server: AppServer, session_cookie: str, tmp_path: Path, path: str
) -> None:
    headers = {"Cookie": session_cookie} if path == "/" else None
    performance = []
    for run in range(RUNS):
        out = tmp_path / f"report-{run}.json"
        report = lighthouse(live_server.url + path, out, headers)
        assert report["finalDisplayedUrl"].endswith(path), report["finalDisplayedUrl"]
        scored = scores(report)
        performance.append(scored.pop("performance"))
        # Accessibility, best practices and SEO do not vary: 100 every time.
        assert scored == dict.fromkeys(CATEGORIES[1:], 100), failing_audits(report)
        if performance.count(100) == 2:
            break
    assert statistics.median(performance) == 100, (performance, failing_audits(report))
