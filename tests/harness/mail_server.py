"""A real SMTP server (aiosmtpd) on a loopback port, in a thread of the test run.

It keeps every message it accepts, can wait before answering EHLO (a slow mail
provider), and can refuse messages (a provider that is down), so the mail jobs
are tested against the real SMTP exchange that ``smtplib`` speaks.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from tests.harness.processes import free_port

ACCEPTED = "250 Message accepted for delivery"
REFUSED = "451 Requested action aborted: local error in processing"


class MailServer:
    """An SMTP server that keeps what it accepts; ``stop()`` ends it."""

    def __init__(self, port: int | None = None, delay: float = 0.0) -> None:
        self.port = port or free_port()
        # Seconds to wait before answering EHLO: the provider is slow.
        self.delay = delay
        # Messages to refuse before accepting again (-1: refuse all).
        self.refuse = 0
        self.messages: list[EmailMessage] = []
        self.connections = 0
        self.refused = 0
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: Any
    ) -> Any:
        with self._lock:
            self.connections += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refuse:
                self.refuse -= 1 if self.refuse > 0 else 0
                self.refused += 1
                return REFUSED
            message = email.message_from_bytes(
                envelope.content, policy=email.policy.default
            )
            self.messages.append(message)
        return ACCEPTED

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        """The messages once there are ``count`` of them; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.messages)} of {count} messages after {timeout} s"
                )
            time.sleep(0.05)
        return list(self.messages)

    def settings(self) -> dict[str, Any]:
        """App settings that send through this server."""
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
        }

    def environment(self) -> dict[str, str]:
        """The same settings as environment variables, for a server process."""
        return {key: str(value) for key, value in self.settings().items()}

    def stop(self) -> None:
        self.controller.stop()


def attachment_json(message: EmailMessage) -> Any:
    """The JSON attachment of an export message, parsed."""
    import json

    (part,) = [p for p in message.iter_attachments()]
    return json.loads(part.get_content())


@pytest.fixture
def mail_server(app: Flask) -> Iterator[MailServer]:
    """A real SMTP server that ``app`` sends its mail to."""
    server = MailServer()
    app.config.update(server.settings())
    yield server
    server.stop()
