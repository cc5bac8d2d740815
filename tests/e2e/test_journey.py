"""A new member's whole first visit, in a real browser against a live server.

The same journey runs in English on a desktop and on a phone, and in Spanish;
every page on the way is checked with axe-core, and the English runs refresh the
README gallery in ``docs/screenshots``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from babel.support import NullTranslations, Translations
from playwright.sync_api import Page, expect

from microblog.i18n import catalogs
from tests.e2e.browser import (
    DESKTOP,
    MOBILE,
    OpenPage,
    PageWatch,
    check_accessibility,
    save_screenshot,
)
from tests.e2e.mail import reset_link_for
from tests.harness.app_server import AppServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIRST_PASSWORD = "first-password-123"
NEW_PASSWORD = "second-password-456"
# A seeded demo user (flask seed) with posts of their own.
OTHER_USER = "ada"


@dataclass(frozen=True)
class Run:
    username: str
    locale: str
    viewport: dict[str, int]
    gallery: str | None  # screenshot suffix, or None for no screenshots
    # Sending the empty form too: registration allows 5 tries a minute per address.
    inline_errors: bool


RUNS = {
    "english-desktop": Run("susan", "en-US", DESKTOP, "desktop", inline_errors=True),
    "english-mobile": Run("miguel", "en-GB", MOBILE, "mobile", inline_errors=False),
    "spanish-desktop": Run("lucia", "es-ES", DESKTOP, None, inline_errors=True),
}


def translator(locale: str) -> Callable[..., str]:
    """gettext for ``locale`` from the app's own catalogs, with %-formatting."""
    language = locale.split("-")[0]
    translations: NullTranslations = NullTranslations()
    if language != "en":
        translations = Translations.load(str(catalogs.usable_directory()), [language])

    def say(message: str, **values: object) -> str:
        text = translations.gettext(message)
        return text % values if values else text

    return say


@dataclass
class Journey:
    page: Page
    watch: PageWatch
    server: AppServer
    axe: str
    run: Run
    say: Callable[..., str]

    def check(self, screenshot: str | None = None) -> None:
        """Accessibility of the page now shown, and its gallery picture."""
        check_accessibility(self.page, self.axe, self.watch)
        if screenshot and self.run.gallery:
            save_screenshot(self.page, f"{screenshot}-{self.run.gallery}")

    def submit(self) -> None:
        # The page's own form, not the language switch in the footer.
        self.page.locator("main form:not(.language-form) [type=submit]").click()

    def flash(self, message: str, **values: object) -> None:
        expect(self.page.locator(".flashes")).to_contain_text(
            self.say(message, **values)
        )

    def nav(self, label: str) -> None:
        navigation = self.page.get_by_role("navigation", name=self.say("Main"))
        navigation.get_by_role("link", name=self.say(label), exact=True).click()


@pytest.mark.parametrize("run", RUNS.values(), ids=RUNS.keys())
def test_first_visit_journey(
    open_page: OpenPage, live_server: AppServer, axe_source: str, run: Run
) -> None:
    page, watch = open_page(viewport=run.viewport, locale=run.locale)
    journey = Journey(page, watch, live_server, axe_source, run, translator(run.locale))
    register(journey)
    reset_password(journey)
    sign_in(journey)
    post_and_see_it(journey)
    paginate_explore(journey)
    follow_and_unfollow(journey)
    edit_profile(journey)
    search(journey)
    sign_out(journey)
    assert watch.pages_checked >= 12


def register(j: Journey) -> None:
    j.page.goto("/auth/register")
    expect(j.page.locator("html")).to_have_attribute("lang", j.run.locale[:2])
    j.check("register")
    if j.run.inline_errors:
        j.submit()  # empty: every field gets an inline error
        expect(j.page.locator("#username")).to_have_attribute("aria-invalid", "true")
        expect(j.page.locator(".form-summary")).to_have_text(
            j.say("Please correct the marked fields.")
        )
        j.check()
    j.page.fill("#username", j.run.username)
    j.page.fill("#email", f"{j.run.username}@example.com")
    j.page.fill("#password", FIRST_PASSWORD)
    j.page.fill("#password2", FIRST_PASSWORD)
    j.submit()
    j.flash("Welcome aboard! You can now sign in.")
    expect(j.page).to_have_url(re.compile(r"/auth/login$"))


def reset_password(j: Journey) -> None:
    j.page.get_by_role("link", name=j.say("Forgot your password?")).click()
    j.check()
    address = f"{j.run.username}@example.com"
    j.page.fill("#email", address)
    j.submit()
    j.flash("If that address has an account, a reset link is on its way.")
    j.page.goto(reset_link_for(j.server, address))
    expect(j.page.locator("h1")).to_have_text(j.say("Choose a new password"))
    j.check()
    j.page.fill("#password", NEW_PASSWORD)
    j.page.fill("#password2", NEW_PASSWORD)
    j.submit()
    j.flash("Your password has been reset; please sign in.")


def sign_in(j: Journey) -> None:
    j.page.fill("#username", j.run.username)
    j.page.fill("#password", FIRST_PASSWORD)
    j.submit()
    j.flash("Invalid username or password.")
    j.check("login")
    j.page.fill("#username", j.run.username)
    j.page.fill("#password", NEW_PASSWORD)
    j.submit()
    expect(j.page.locator("h1")).to_have_text(
        j.say("Hi, %(name)s!", name=j.run.username)
    )
    expect(j.page.locator(".empty")).to_contain_text(
        j.say(
            "Nothing here yet. Write your first post, "
            "or find people to follow on Explore."
        )
    )
    j.check()


def post_and_see_it(j: Journey) -> None:
    text = f"Hello from {j.run.username}, first post from a real browser"
    j.page.fill("#post", text)
    j.submit()
    j.flash("Your post is now live!")
    first = j.page.locator(".post").first
    expect(first.locator(".post-text")).to_have_text(text)
    expect(first.locator("time")).to_have_text(j.say("just now"))


def paginate_explore(j: Journey) -> None:
    j.nav("Explore")
    expect(j.page.locator(".post")).to_have_count(5)
    j.check("explore")
    j.page.locator("a[rel=next]").click()
    expect(j.page).to_have_url(re.compile(r"[?&]page=2\b"))
    expect(j.page.locator(".pager-current")).to_have_text(j.say("Page %(n)d", n=2))
    j.check()
    j.page.locator("a[rel=prev]").click()
    expect(j.page).to_have_url(re.compile(r"[?&]page=1\b"))


def follow_and_unfollow(j: Journey) -> None:
    authors = j.page.locator(".post-author")
    j.page.goto(f"/user/{OTHER_USER}")
    j.check()
    j.page.get_by_role("button", name=j.say("Follow"), exact=True).click()
    j.flash("You are following %(name)s.", name=OTHER_USER)
    j.nav("Home")
    expect(authors.filter(has_text=re.compile(f"^{OTHER_USER}$")).first).to_be_visible()
    j.check("timeline")
    j.page.goto(f"/user/{OTHER_USER}")
    j.page.get_by_role("button", name=j.say("Unfollow"), exact=True).click()
    j.flash("You are not following %(name)s.", name=OTHER_USER)
    j.nav("Home")
    expect(authors.filter(has_text=re.compile(f"^{OTHER_USER}$"))).to_have_count(0)
    expect(authors.first).to_have_text(j.run.username)


def edit_profile(j: Journey) -> None:
    about = f"{j.run.username} tries every page with a keyboard and a screen reader."
    j.nav("Profile")
    j.page.get_by_role("link", name=j.say("Edit your profile")).click()
    j.check("edit-profile")
    j.page.fill("#about_me", about)
    j.submit()
    j.flash("Your changes have been saved.")
    expect(j.page.locator(".about")).to_have_text(about)
    j.check("profile")


def search(j: Journey) -> None:
    j.nav("Search")
    j.page.fill("#q", "real browser")
    j.page.press("#q", "Enter")
    expect(j.page).to_have_url(re.compile(r"/search\?q=real\+browser"))
    expect(j.page.locator(".post-text").first).to_contain_text("real browser")
    j.check("search")
    j.page.fill("#q", "no-such-words-anywhere")
    j.page.press("#q", "Enter")
    expect(j.page.locator(".empty")).to_contain_text(
        j.say("No posts match “%(q)s”.", q="no-such-words-anywhere")
    )


def sign_out(j: Journey) -> None:
    j.page.get_by_role("button", name=j.say("Sign out")).click()
    j.flash("You have been signed out.")
    for old_page in ("/", "/edit_profile"):
        j.page.goto(old_page)
        expect(j.page).to_have_url(re.compile(r"/auth/login\?next="))
        j.flash("Please sign in to see this page.")
    expect(j.page.get_by_role("button", name=j.say("Sign out"))).to_have_count(0)
