"""Keyboard use, dark mode and the language switch, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from microblog.commands.seed import DEMO_PASSWORD
from tests.e2e.browser import MOBILE, OpenPage, check_accessibility

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ANONYMOUS_PAGES = (
    "/explore",
    "/explore?page=2",
    "/auth/login",
    "/auth/register",
    "/auth/reset_password_request",
    "/search",
    "/search?q=flask",
    "/user/grace",
    "/no-such-page",
)


def focused(page: Page, expression: str) -> object:
    """``expression`` evaluated with ``e`` bound to the focused element."""
    script = f"() => {{ const e = document.activeElement; return {expression}; }}"
    return page.evaluate(script)


def test_skip_link_comes_first_and_focus_is_always_visible(open_page: OpenPage):
    page, _ = open_page()
    page.goto("/explore")
    page.keyboard.press("Tab")
    assert focused(page, "e.className") == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # on screen now
    page.keyboard.press("Enter")
    assert focused(page, "e.id") == "content"
    page.keyboard.press("Tab")
    assert focused(page, "e.closest('main') !== null") is True
    # Every stop on the way through the page shows a focus ring.
    stops = 0
    while focused(page, "e !== document.body") and stops < 20:
        ring = focused(page, "getComputedStyle(e).outlineStyle")
        assert ring != "none", focused(page, "e.outerHTML")
        page.keyboard.press("Tab")
        stops += 1
    assert stops >= 8  # posts, pager and the language switch were all reached


def test_sign_in_with_the_keyboard_alone(open_page: OpenPage):
    page, _ = open_page()
    page.goto("/auth/login")
    expect(page.locator("#username")).to_be_focused()  # autofocus
    page.keyboard.type("grace")
    page.keyboard.press("Tab")
    assert focused(page, "e.id") == "password"
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Hi, grace!")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_public_pages_pass_axe_in_both_colour_schemes(
    open_page: OpenPage, axe_source: str, scheme: str
):
    page, watch = open_page(viewport=MOBILE, color_scheme=scheme)
    watch.expect_error_status("/no-such-page")
    for path in ANONYMOUS_PAGES:
        page.goto(path)
        check_accessibility(page, axe_source, watch)
    assert watch.pages_checked == len(ANONYMOUS_PAGES)


def test_footer_switch_overrides_the_browser_language(open_page: OpenPage):
    page, _ = open_page(locale="en-US")
    page.goto("/search?q=flask")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.select_option("#footer-language", "es")
    page.get_by_role("button", name="Change language").click()
    expect(page).to_have_url(re.compile(r"/search\?q=flask$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".flashes")).to_have_text("Idioma cambiado.")
    expect(page.locator("h1")).to_have_text("Buscar")
    page.select_option("#footer-language", "")
    page.get_by_role("button", name="Cambiar idioma").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".flashes")).to_have_text("Language changed.")
