"""Pages of query results without counting every row.

``?page=N`` links still work, but instead of a ``COUNT(*)`` over the whole
table each page fetches one row more than it shows to learn if a next page exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import abort, current_app, request
from flask_babel import gettext as _

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def next_num(self) -> int | None:
        return self.number + 1 if self.has_next else None

    @property
    def prev_num(self) -> int | None:
        return self.number - 1 if self.has_prev else None


def requested_page() -> int:
    """The ``page`` query argument, or 400 with a clear message when it is bad."""
    raw = request.args.get("page", "1")
    max_page = current_app.config["MAX_PAGE"]
    if not raw.isdigit() or not 1 <= int(raw) <= max_page:
        abort(400, _("page must be a whole number from 1 to %(max)d.", max=max_page))
    return int(raw)


def requested_depth(per_page: int | None = None) -> int:
    """How many rows from the top the requested page reads, one past its end."""
    size = per_page or current_app.config["POSTS_PER_PAGE"]
    return requested_page() * size + 1
