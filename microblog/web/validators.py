"""Form validators shared by every blueprint."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import Field, Form
from wtforms.validators import ValidationError

# Line breaks and tabs belong in a post; other control characters (NUL above
# all, which PostgreSQL refuses and MariaDB ignores in comparisons) do not.
ALLOWED_CONTROLS = frozenset("\n\r\t")


def no_control_characters(form: Form, field: Field) -> None:
    """Refuse text holding NUL, escape sequences or other control characters."""
    text = field.data or ""
    for char in text:
        if char not in ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            raise ValidationError(
                _l("This field contains characters that are not allowed.")
            )
