"""Outgoing e-mail over SMTP, or into the log when no server is configured."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 10


def send_email(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; without MAIL_SERVER, write it to the log."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not config["MAIL_SERVER"]:
        log.info(
            "e-mail not sent (MAIL_SERVER unset)\nTo: %s\nSubject: %s\n\n%s",
            to,
            subject,
            body,
        )
        return
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
