"""The app's e-mails, read from the server log (the tests set no MAIL_SERVER)."""

from __future__ import annotations

import re
import time

from tests.harness.app_server import AppServer

RESET_LINK = re.compile(r"https?://[^\s/]+/auth/reset_password/[A-Za-z0-9._-]+")
MAIL_WAIT_SECONDS = 20.0


def reset_link_for(server: AppServer, address: str) -> str:
    """The link in the newest reset e-mail to ``address``, once it is logged."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    marker = f"To: {address}\n"
    while time.monotonic() < deadline:
        log = server.log()
        start = log.rfind(marker)
        if start != -1:
            found = RESET_LINK.search(log, start)
            if found:
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no reset e-mail to {address} in the server log")
