"""What makes a username, an e-mail address and a password acceptable.

The web forms and the JSON API both enforce these, so they live beside the
``User`` model rather than in either one.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from microblog.extensions import db
from microblog.models import EMAIL_MAX, User

PASSWORD_MIN = 8
# argon2 hashes any length, but a megabyte password is a denial of service.
PASSWORD_MAX = 128
# Python's "$" also matches before a final newline, so "alice\n" would pass
# as a second "alice"; "(?!\n)" closes that, and reads the same in the
# OpenAPI document's (ECMAScript) pattern.
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$(?!\n)"


def username_taken(username: str, except_id: int | None = None) -> bool:
    """Usernames are unique without regard to case."""
    if not re.fullmatch(USERNAME_PATTERN, username):
        # No stored name looks like this; and PostgreSQL would fail on a NUL.
        return False
    query = sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
    if except_id is not None:
        query = query.where(User.id != except_id)
    return db.session.scalar(query) is not None


def normalise_email(address: str) -> str:
    """The canonical form of an address, or ValidationError."""
    # Imported here: it loads dnspython, which only these few forms need, and
    # every worker would otherwise pay for it at boot.
    from email_validator import EmailNotValidError, validate_email

    try:
        normalised = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        # The library's reasons are English only; say it in the reader's language.
        raise ValidationError(
            _l("Enter a valid e-mail address, such as name@example.com.")
        ) from None
    # Lower-casing can lengthen text ("İ" becomes two characters).
    normalised = normalised.lower()
    if len(normalised) > EMAIL_MAX:
        raise ValidationError(
            _l("Field cannot be longer than %(max)d characters.", max=EMAIL_MAX)
        )
    return normalised
