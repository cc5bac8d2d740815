"""The test-only Node.js tools, installed with npm from the pinned lockfile in
tests/paas/node: the Heroku CLI (for ``heroku local``), Mozilla's HTTP
Observatory scanner and Lighthouse (tests/e2e/test_lighthouse.py). `.ci/run`
installs them before the suite; on a developer's machine the first test that
needs them does."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.harness.processes import require_program, skip_or_fail

NODE_PROJECT = Path(__file__).resolve().parent / "node"
NODE_BIN = NODE_PROJECT / "node_modules" / ".bin"
# Written after a successful install: the lockfile's hash it installed.
INSTALLED_STAMP = NODE_PROJECT / "node_modules" / ".microblog-installed"
SCANNER_CONF = NODE_PROJECT / "node_modules" / "@mdn" / "mdn-http-observatory" / "conf"
INSTALL_TIMEOUT = 900
# What the Heroku CLI and the scanner declare in their "engines".
MINIMUM_NODE = 20


def lock_digest() -> str:
    return hashlib.sha256((NODE_PROJECT / "package-lock.json").read_bytes()).hexdigest()


def node_tools() -> Path:
    """The folder of the installed tools' commands; installs them when needed.

    Install scripts never run (``--ignore-scripts``): the scanner's own would
    download Chrome's HSTS preload list and a list of domain suffixes.
    """
    node = require_program("node", "nodejs")
    npm = require_program("npm", "npm")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < MINIMUM_NODE:
        skip_or_fail(f"Node.js {version} is too old: both tools need {MINIMUM_NODE}+")
    if INSTALLED_STAMP.exists() and INSTALLED_STAMP.read_text() == lock_digest():
        return NODE_BIN
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=NODE_PROJECT,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        skip_or_fail(f"npm ci in tests/paas/node failed: {result.stderr[-2000:]}")
    # The scanner's install script would download Chrome's HSTS preload list
    # into this file; an empty list means "no host is preloaded".
    (SCANNER_CONF / "hsts-preload.json").write_text("{}\n")
    INSTALLED_STAMP.write_text(lock_digest())
    return NODE_BIN


if __name__ == "__main__":
    # .ci/run installs the tools before the suite: python -m tests.paas.node_tools
    try:
        print(node_tools())
    except (pytest.skip.Exception, pytest.fail.Exception) as outcome:
        raise SystemExit(f"npm tools: {outcome.msg}") from None
