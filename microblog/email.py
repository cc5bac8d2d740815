"""Outgoing e-mail over SMTP, or into the log when no server is configured.

Only jobs call this (``microblog.jobs``): an SMTP exchange can take seconds,
which no web request should wait for.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "json"


def build_message(
    to: str,
    subject: str,
    body: str,
    attachments: tuple[Attachment, ...] = (),
    message_key: str | None = None,
) -> EmailMessage:
    """A plain-text message; ``message_key`` makes its Message-ID stable across
    retries, so a copy sent twice is recognisably the same message."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    sender_domain = config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    if message_key:
        message["Message-ID"] = f"<{message_key}@{sender_domain}>"
    else:
        message["Message-ID"] = make_msgid(domain=sender_domain)
    message.set_content(body)
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


def send_email(
    to: str,
    subject: str,
    body: str,
    attachments: tuple[Attachment, ...] = (),
    message_key: str | None = None,
) -> None:
    """Send a message; without MAIL_SERVER, write it to the log."""
    config = current_app.config
    message = build_message(to, subject, body, attachments, message_key)
    if not config["MAIL_SERVER"]:
        names = ", ".join(a.filename for a in attachments) or "none"
        log.info(
            "e-mail not sent (MAIL_SERVER unset)\nTo: %s\nSubject: %s\n"
            "Attachments: %s\n\n%s",
            to,
            subject,
            names,
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
