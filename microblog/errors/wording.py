"""Error page titles and explanations in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("Too large"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
# Used only when the error carries Werkzeug's stock English text; a message our
# own code passed to abort() is already translated.
EXPLANATIONS = {
    400: _l("The request could not be understood. Please go back and try again."),
    403: _l("You do not have permission to see this page."),
    404: _l("There is nothing at this address. Check the link or start again."),
    405: _l("This page cannot be used that way."),
    413: _l("What you sent is too large."),
    429: _l("You are going too fast. Please wait a moment and try again."),
    500: _l("The server ran into a problem. Please try again later."),
    503: _l("The service is busy or down for maintenance. Please try again soon."),
}
EXPIRED_FORM = _l("The form expired. Please reload the page and send it again.")


def describe(error: HTTPException) -> tuple[str, str]:
    """A (title, explanation) pair for an error page."""
    status = error.code or 500
    title = str(TITLES.get(status, error.name))
    if isinstance(error, CSRFError):
        return title, str(EXPIRED_FORM)
    stock = error.description == type(error).description
    if stock and status in EXPLANATIONS:
        return title, str(EXPLANATIONS[status])
    return title, str(error.description or "")
