"""Ids in API paths that no row can have are a plain 404.

Without this, ``/api/users/99999999999`` would reach PostgreSQL and MariaDB as
an out-of-range integer and fail there instead of answering "no such user".
"""

from __future__ import annotations

from typing import Any

from microblog.api import bp
from microblog.api.errors import fail

# The primary keys are 32-bit signed integers on every supported database.
MAX_ID = 2**31 - 1


@bp.url_value_preprocessor
def refuse_impossible_ids(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """404 for an ``..._id`` path value outside the integer column's range."""
    for name, value in (values or {}).items():
        if name.endswith("_id") and isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise fail(404, f"There is no resource with {name} {value}.")
