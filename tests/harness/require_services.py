"""pytest plugin: under ``REQUIRE_SERVICES=1`` a skipped test counts as failed.

Loaded by ``tests/conftest.py``. ``.ci/run`` sets the variable: a CI run must
never pass by silently testing less because a server program is missing.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.harness.processes import services_required


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under REQUIRE_SERVICES=1 a skipped test counts as failed, whatever skipped it."""
    report: pytest.TestReport = yield
    if report.skipped and services_required() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_SERVICES=1 forbids skipping: {reason}"
    return report
