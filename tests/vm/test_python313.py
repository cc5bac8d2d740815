"""The app's own tests on Debian 13's Python 3.13, inside a Debian 13 root.

Everything that needs no browser and no cluster: the unit and HTTP tests, on
SQLite and on the PostgreSQL and MariaDB servers of the root (the same fixtures
start them there as here). The counts are recorded with the timings.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.vm.debian_root import record_timing
from tests.vm.provisioned import SOURCE_IN_ROOT, unpacked_root

pytestmark = pytest.mark.slow

# Where make puts it: tests of the documented commands activate .venv.
VENV = f"{SOURCE_IN_ROOT}/.venv"
SELECTION = "not slow and not e2e and not resilience"
# Tests that cannot pass here by design, with the reason.
NOT_HERE = {
    "tests/paas/test_listen.py": "a chrooted process may not create user namespaces",
    "tests/paas/test_files.py::test_python_version_file_is_one_minor_version_line": (
        ".python-version pins the platforms' Python (3.11) to the one running tests"
    ),
}
SUMMARY_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed)")


def test_app_tests_pass_on_python_3_13() -> None:
    with unpacked_root("amd64") as session:
        started = time.monotonic()
        session.shell(
            f"python3 -m venv {VENV} && {VENV}/bin/pip install --quiet"
            f" --require-hashes --requirement {SOURCE_IN_ROOT}/requirements-dev.txt"
        )
        record_timing("pip (dev)", "amd64", time.monotonic() - started)
        version = session.shell(
            f"{VENV}/bin/python -c 'import sys; print(sys.version)'"
        )
        assert version.startswith("3.13."), version
        compile_translations = f"{VENV}/bin/python -m microblog.i18n.commands compile"
        session.shell(f"cd {SOURCE_IN_ROOT} && {compile_translations}")
        started = time.monotonic()
        result = session.run(
            "/usr/bin/env",
            f"--chdir={SOURCE_IN_ROOT}",
            f"{VENV}/bin/pytest",
            "-m",
            SELECTION,
            "-q",
            # One line per failure: the assertion below shows the end of the output.
            "--tb=line",
            "-p",
            "no:cacheprovider",
            *(f"--deselect={test}" for test in NOT_HERE),
            timeout=3600,
        )
        summary = (
            result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        )
        counts = {kind: int(n) for n, kind in SUMMARY_COUNT.findall(summary)}
        record_timing(
            "tests on 3.13",
            "amd64",
            time.monotonic() - started,
            python=version.split()[0],
            **counts,
        )
        assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
        assert counts.get("passed", 0) > 0, summary
