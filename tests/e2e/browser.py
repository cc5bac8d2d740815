"""What the browser suite checks on every page: errors, CSP, origins, accessibility."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request

from tests.harness.paths import ROOT

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}

SCREENSHOTS = ROOT / "docs" / "screenshots"
# axe-core's own scale; the app must have none of the top two.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# Text rendering can differ by a pixel or two between runs; that is no new picture.
SAME_PICTURE_PIXELS = 64

# Runs in every document before the page's own code: Chromium fires this event
# for every Content-Security-Policy violation, including report-only ones.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
    ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`
  );
});
"""


@dataclass
class PageWatch:
    """Everything a page did wrong while a test drove it."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    accessibility: list[str] = field(default_factory=list)
    minor_accessibility: list[str] = field(default_factory=list)
    pages_checked: int = 0
    expected_errors: set[str] = field(default_factory=set)

    def attach(self, context: BrowserContext) -> None:
        context.expose_function("reportCspViolation", self._on_csp_violation)
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.console_errors.append(str(error)))
        context.on("request", self._on_request)

    def _on_csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)

    def expect_error_status(self, path: str) -> None:
        """Visiting ``path`` answers 4xx on purpose; Chromium logs that as an error."""
        self.expected_errors.add(self.origin + path)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if url in self.expected_errors and message.text.startswith(
            "Failed to load resource"
        ):
            return
        self.console_errors.append(f"{message.text} ({url})")

    def _on_request(self, request: Request) -> None:
        # Local static files only: no CDN, no font service, no analytics.
        if not request.url.startswith((self.origin + "/", "data:")):
            self.foreign_requests.append(request.url)

    def problems(self) -> list[str]:
        return [
            *(f"console error: {text}" for text in self.console_errors),
            *(f"CSP violation: {text}" for text in self.csp_violations),
            *(f"request to another origin: {url}" for url in self.foreign_requests),
            *(f"accessibility: {text}" for text in self.accessibility),
        ]


def check_accessibility(page: Page, axe_source: str, watch: PageWatch) -> None:
    """Run axe-core in the page; record its findings against the page's URL."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not
        # govern; a <script> tag would be (rightly) refused.
        page.evaluate(axe_source)
    results: dict[str, Any] = page.evaluate(
        """() => axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a",
                                            "wcag21aa", "best-practice"]},
            resultTypes: ["violations"],
        })"""
    )
    watch.pages_checked += 1
    for violation in results["violations"]:
        targets = [", ".join(node["target"]) for node in violation["nodes"]][:3]
        text = f"{page.url}: {violation['id']} ({violation['impact']}) at {targets}"
        if violation["impact"] in BLOCKING_IMPACTS:
            watch.accessibility.append(text)
        else:
            watch.minor_accessibility.append(text)


def looks_the_same(old: Image.Image, new: Image.Image) -> bool:
    """Equal sizes and at most a few pixels of anti-aliasing apart."""
    if old.size != new.size:
        return False
    difference = ImageChops.difference(old, new).convert("L")
    # Histogram bucket 0 counts the pixels that did not change at all.
    changed = old.width * old.height - difference.histogram()[0]
    return changed <= SAME_PICTURE_PIXELS


def save_screenshot(page: Page, name: str) -> Path:
    """Store the visible part of the page as ``docs/screenshots/NAME.png``.

    The PNG is reduced to 256 colours, and left untouched when the picture is
    the same as the one already there, so an unchanged UI changes no file.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.mouse.move(0, 0)  # no hover effect on whatever was clicked last
    shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    small = shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    if target.exists():
        with Image.open(target) as old:
            if looks_the_same(old.convert("RGB"), small.convert("RGB")):
                return target
    temporary = target.with_suffix(".tmp.png")
    small.save(temporary, optimize=True)
    temporary.replace(target)
    return target


# What the open_page fixture gives a test: open a page in a fresh context.
OpenPage = Callable[..., tuple[Page, PageWatch]]
