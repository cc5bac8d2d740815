"""The tally of requests the attack suite sent, printed at the end of the run."""

from __future__ import annotations

import pytest

from tests.harness.live_app import LiveApp

# Requests the attacks sent, for the tally printed at the end.
SENT: dict[str, int] = {"requests": 0}


def report_tally(config: pytest.Config, server: LiveApp) -> None:
    """Print how many requests the attacks sent, past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\nattack suite: the live server answered {server.request_count()} "
            f"requests ({SENT.get('sqlmap', 0)} of them from sqlmap)"
        )
