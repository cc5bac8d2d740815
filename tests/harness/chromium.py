"""Debian's Chromium, as every browser test launches it through Playwright.

Playwright must never download a browser. Quiet, offline, headless: nothing
phones home, nothing needs a GPU or a sandbox (the tests run as root in CI).
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
