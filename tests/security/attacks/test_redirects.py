"""Open redirects: ``next`` never sends a browser off the site."""

from __future__ import annotations

import pytest

from tests.harness.factories import PASSWORD
from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


OPEN_REDIRECTS = [
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "https:///evil.example",
    "https://evil.example",
    "http:evil.example",
    "https:evil.example",
    "//evil.example@127.0.0.1",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "%252F%252Fevil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "\uff0f\uff0fevil.example",
    "/\u3002evil.example",
    "//evil%E3%80%82example",
    "/.//evil.example",
    "/..//evil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_login_next_never_leaves_the_site(live: LiveApp, target: str) -> None:
    browser, username = live.new_account("redir")
    browser.request(
        "POST", "/auth/logout", form={"csrf_token": browser.csrf_token("/explore")}
    )
    reply = browser.login(username, PASSWORD, next_path=target)
    SENT["requests"] += browser.sent
    assert reply.status == 302
    assert live.same_site(reply.location), reply.location


def test_next_on_other_pages_is_ignored(live: LiveApp, client: LiveClient) -> None:
    browser, _ = live.new_account("nextother")
    for path in ("/auth/login", "/auth/register", "/auth/reset_password_request"):
        reply = browser.get(f"{path}?next=//evil.example")
        assert reply.status == 302 and live.same_site(reply.location)
    token = browser.csrf_token("/explore")
    reply = browser.request(
        "POST", "/auth/logout?next=//evil.example", form={"csrf_token": token}
    )
    SENT["requests"] += browser.sent
    assert reply.status == 302 and live.same_site(reply.location)
