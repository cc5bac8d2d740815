"""The profile's export progress bar, in Chromium: it moves without a reload and
breaks no rule of the Content-Security-Policy.

The export's mail goes to an SMTP server that waits before answering, so the
page is loaded while the job is still running and only the script can show it
finish.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import PageWatch, check_accessibility
from tests.harness.databases import PostgresServer
from tests.harness.live_app import LiveApp
from tests.harness.mail_server import MailServer, attachment_json

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "a-long-enough-password"
SMTP_DELAY = 4.0


@pytest.fixture
def slow_mail() -> Iterator[MailServer]:
    server = MailServer(delay=SMTP_DELAY)
    yield server
    server.stop()


@pytest.fixture
def server(
    postgres: PostgresServer, slow_mail: MailServer, tmp_path: Path
) -> Iterator[LiveApp]:
    """gunicorn without Redis (jobs in its threads), mail to the slow server."""
    live = LiveApp(postgres.new_database(), tmp_path, **slow_mail.environment())
    yield live
    live.stop()


def test_progress_bar_follows_the_export_without_a_reload(
    browser: Browser, server: LiveApp, slow_mail: MailServer, axe_source: str
) -> None:
    registered = server.client().submit(
        "/auth/register",
        {
            "username": "erin",
            "email": "erin@example.com",
            "password": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert registered.status == 302
    context = browser.new_context(base_url=server.url)
    watch = PageWatch(origin=server.url)
    watch.attach(context)
    page = context.new_page()
    try:
        page.goto("/auth/login")
        page.fill("#username", "erin")
        page.fill("#password", PASSWORD)
        page.click("input[type=submit], button[type=submit]")
        page.goto("/user/erin")
        status = page.locator(".export-status")
        expect(status).to_be_hidden()
        page.get_by_role("button", name="Export my posts").click()
        expect(page).to_have_url(f"{server.url}/user/erin")
        # The job is waiting for the SMTP server: the page shows it running.
        expect(status).to_be_visible()
        expect(status).to_have_attribute("data-status", "running")
        check_accessibility(page, axe_source, watch)
        # A marker that a reload would wipe out.
        page.evaluate("window.noReload = true")
        expect(page.locator(".export-message")).to_have_text(
            "Your posts are on their way to your e-mail address.",
            timeout=(SMTP_DELAY + 10) * 1000,
        )
        expect(page.locator(".export-progress")).to_have_attribute("value", "100")
        assert page.evaluate("window.noReload") is True
    finally:
        context.close()
    assert watch.problems() == []
    (message,) = slow_mail.wait_for(1)
    assert attachment_json(message)["posts"] == []
