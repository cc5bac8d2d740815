"""Mozilla's HTTP Observatory scanner (npm @mdn/mdn-http-observatory), run for
real against the app behind the project's nginx site, as the browser tests run
Chromium: its grade and score are asserted here and written in docs/security.md.

The scanner asks only for http://HOST/ and https://HOST/ (ports 80 and 443), so
the stack runs in a network namespace of its own, where those ports are free
and nothing but loopback is reachable; it trusts the test CA through
NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.harness.processes import require_program, skip_or_fail
from tests.paas.node_tools import node_tools
from tests.vm.support import shared_dir

# What docs/security.md reports; the scanner must agree.
DOCUMENTED = re.compile(
    r"scores\s+\*\*(?P<grade>[A-F][+-]?),\s+(?P<score>\d+)\s+points\*\*,\s+"
    r"(?P<passed>\d+)\s+of\s+(?P<tests>\d+)\s+tests\s+passed"
)
PROBE_TIMEOUT = 300


def documented_result() -> dict[str, str]:
    found = DOCUMENTED.search((ROOT / "docs" / "security.md").read_text())
    assert found, "docs/security.md states no Observatory result"
    return found.groupdict()


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """The scanner's JSON report for the app behind nginx."""
    node_tools()
    unshare = require_program("unshare", "util-linux")
    require_program("ip", "iproute2")
    require_program("nginx", "nginx")
    require_program("openssl", "openssl")
    if os.geteuid() != 0:
        # nginx must bind 80 and 443 and drop to www-data, as in production.
        skip_or_fail("the Observatory scan needs root (a network namespace)")
    root = shared_dir("microblog-observatory-")
    script = (
        "ip link set lo up && "
        f'exec "{sys.executable}" -m tests.paas.observatory_probe "{root}"'
    )
    try:
        result = subprocess.run(
            [unshare, "--net", "sh", "-c", script],
            cwd=ROOT,
            env=environment(PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-4000:]
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.mark.slow
def test_the_scanner_grades_the_site_as_the_docs_say(report: dict[str, Any]) -> None:
    scan = report["scan"]
    documented = documented_result()
    assert scan["error"] is None
    assert scan["grade"] == documented["grade"] == "A+"
    assert scan["score"] == int(documented["score"]) == 135
    assert scan["testsQuantity"] == int(documented["tests"])
    assert scan["testsPassed"] == int(documented["passed"]) == scan["testsQuantity"]
    assert scan["testsFailed"] == 0


@pytest.mark.slow
def test_every_check_passes_with_the_result_the_docs_list(
    report: dict[str, Any],
) -> None:
    page = (ROOT / "docs" / "security.md").read_text()
    for name, check in report["tests"].items():
        assert check["pass"], (name, check)
        # Each check's outcome and its points appear in the docs' table.
        modifier = f"{check['scoreModifier']:+d}" if check["scoreModifier"] else "0"
        assert f"| `{name}` | `{check['result']}` | {modifier} |" in page, name
