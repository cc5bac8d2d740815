"""Cross-site scripting: payloads come back escaped, and Chromium runs none of them."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from markupsafe import escape

from tests.harness.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.harness.factories import PASSWORD
from tests.harness.http_client import LiveClient
from tests.harness.live_app import LiveApp
from tests.harness.processes import require_program
from tests.security.attacks.tally import SENT

pytestmark = pytest.mark.slow


# Each payload, if it ever ran, would set window.xss (the browser test checks).
XSS_PAYLOADS = [
    "<script>window.xss=1</script>",
    '"><img src=x onerror="window.xss=1">',
    "'><svg/onload=window.xss=1>",
    "</textarea><script>window.xss=1</script>",
    "</title><script>window.xss=1</script>",
    '<a href="javascript:window.xss=1">x</a>',
    "<iframe srcdoc='<script>parent.xss=1</script>'></iframe>",
    '<math><mtext><table><mglyph><style><img src=x onerror="window.xss=1">',
    "<style>@import 'https://evil.example/x.css';</style>",
    "{{ 7*7 }} {% print(1) %} ${7*7}",
    "<base href='https://evil.example/'>",
    '<form action="https://evil.example"><button>go</button></form>',
]


def assert_escaped(text: str, payload: str) -> None:
    """No tag from ``payload`` reaches the page as markup."""
    for tag in re.findall(r"<[a-zA-Z][^<]{0,40}", payload):
        assert tag not in text, tag


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_stored_xss_in_posts_and_profiles_is_escaped(
    live: LiveApp, payload: str
) -> None:
    browser, username = live.new_account("xss")
    posted = browser.submit(
        "/index", {"post": payload, "idempotency_key": secrets.token_urlsafe(16)}
    )
    assert posted.status == 302
    about = payload[:280]
    saved = browser.submit("/edit_profile", {"username": username, "about_me": about})
    assert saved.status == 302
    for path in (
        "/index",
        "/explore",
        f"/user/{username}",
        "/edit_profile",
        f"/search?q={quote(payload[:100])}",
    ):
        reply = browser.get(path)
        assert reply.status == 200, path
        assert_escaped(reply.text, payload)
    # Shown as the text it is (Jinja's escaping), template syntax not evaluated.
    assert str(escape(payload)) in browser.get("/explore").text
    SENT["requests"] += browser.sent


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_reflected_xss_is_escaped(
    live: LiveApp, client: LiveClient, payload: str
) -> None:
    encoded = quote(payload, safe="")
    for path in (
        f"/search?q={encoded[:300]}",
        f"/search?q=x&page={encoded}",
        f"/explore?page={encoded}",
        f"/user/{encoded}",
        f"/auth/reset_password/{encoded}",
        f"/auth/login?next={encoded}",
        f"/{encoded}",
    ):
        reply = client.get(path)
        assert reply.status < 500, path
        assert_escaped(reply.text, payload)


def test_xss_in_registration_fields_is_refused_and_escaped(
    live: LiveApp, client: LiveClient
) -> None:
    for payload in XSS_PAYLOADS[:4]:
        reply = client.submit(
            "/auth/register",
            {
                "username": payload[:64],
                "email": f"{payload}@example.com",
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert reply.status == 200  # the form again, with errors
        assert_escaped(reply.text, payload)
        login = client.submit(
            "/auth/login", {"username": payload[:64], "password": "x" * 8}
        )
        assert_escaped(login.text, payload)
    assert live.query("SELECT count(*) FROM \"user\" WHERE username LIKE '%%<%%'") == [
        (0,)
    ]


# Records every CSP violation the page reports, before any of its own code runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def browse(live: LiveApp, username: str, pages: list[str]) -> list[str]:
    """Sign in with Chromium, open ``pages``; return every problem seen."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context()
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on(
                "dialog", lambda dialog: problems.append(f"dialog {dialog.message}")
            )
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console {message.text}")
                    if message.type == "error"
                    else None
                ),
            )
            page.on(
                "request",
                lambda request: (
                    problems.append(f"off-site {request.url}")
                    if not request.url.startswith(live.url)
                    else None
                ),
            )
            page.goto(f"{live.url}/auth/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.press("input[name=password]", "Enter")
            page.wait_for_url(lambda url: "/auth/login" not in url)
            for path in pages:
                page.goto(f"{live.url}{path}")
                page.wait_for_load_state("load")
                if page.evaluate("window.xss") is not None:
                    problems.append(f"script ran on {path}")
                problems += [f"{path}: {v}" for v in page.evaluate("window.__csp")]
            SENT["requests"] += len(pages) + 3
        finally:
            browser.close()
    return problems


@pytest.mark.e2e
def test_chromium_runs_no_injected_script_and_sees_no_csp_violation(
    live: LiveApp,
) -> None:
    require_program("chromium", "chromium")
    author, username = live.new_account("browser")
    for payload in XSS_PAYLOADS:
        author.submit(
            "/index", {"post": payload, "idempotency_key": secrets.token_urlsafe(16)}
        )
    author.submit("/edit_profile", {"username": username, "about_me": XSS_PAYLOADS[1]})
    SENT["requests"] += author.sent
    pages = [
        "/explore",
        "/index",
        f"/user/{username}",
        "/edit_profile",
        f"/search?q={quote(XSS_PAYLOADS[0])}",
        f"/search?q={quote(XSS_PAYLOADS[1])}",
        f"/user/{quote(XSS_PAYLOADS[2], safe='')}",
        "/auth/login?next=javascript:x",
        "/no-such-page",
    ]
    # In a thread of its own: the browser suite's session-long Playwright keeps
    # an event loop running in the main thread, where a second one cannot start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        problems = pool.submit(browse, live, username, pages).result(timeout=300)
    # A 404 page logs one console error (the failed load) and nothing else.
    problems = [p for p in problems if "404" not in p]
    assert problems == []
