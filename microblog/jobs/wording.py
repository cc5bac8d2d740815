"""What visitors read when the job queue cannot take a job."""

from __future__ import annotations

from flask_babel import gettext as _


def jobs_unavailable_message() -> str:
    return _(
        "That cannot be done right now: our background service is unavailable. "
        "Nothing was changed; please try again in a few minutes."
    )
