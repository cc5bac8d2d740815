"""Rendered pages remembered by everything they show.

A read-only page is a pure function of its template, its reader (who is signed
in, in which language, with which language choice), its URL and the data the
view read from the database for this request. ``render_remembered`` keeps the
HTML of recent pages per process under exactly that key, so rendering a page
that is the same as one rendered a moment ago costs a dictionary lookup.

What that guarantees, with no invalidation at all:
- **Never stale.** The key holds the data as read in this very request (each
  post's text, author and age, a profile's counts), so after a post, a follow,
  a profile edit or a delete, on this instance or any other, the key differs
  and the page is rendered anew. Nothing is shared between processes, so
  several instances cannot disagree.
- **Nobody sees another reader's page.** The reader's id and username are part
  of the key.
- **Per-response values stay per response.** The CSRF token and the post
  form's idempotency key are rendered as markers (random per process, so no
  post text can hold one) and replaced in each response by that response's own
  values.

The view passes its data as hashable values (tuples, frozen dataclasses); an
unhashable value is a programming error and fails loudly. Forms are passed as
factories and built only when the page is rendered: on a GET they are empty,
so they add nothing to the key. A page that shows flashed messages (shown
once) is rendered without the memory, as is everything while templates reload
on change (debug mode).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from flask import current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from microblog.i18n import chosen_language
from microblog.web.templating import current_locale_code

# Pages kept per process: the busiest pages of the last few seconds. A page
# is about 16 KB of HTML, so this holds at most a few MB.
PAGES_KEPT = 128


@dataclass(frozen=True)
class FreshValue:
    """A value that each response gets anew, never remembered with the page."""

    marker: str
    make: Callable[[], str]


def fresh_value(make: Callable[[], str]) -> FreshValue:
    """A marker for ``make()``'s values; letters and digits survive escaping."""
    return FreshValue(f"fresh{secrets.token_hex(16)}", make)


# Flask-WTF computes the signed token once per request and keeps it in ``g``
# under the field's name; every form and ``csrf_token()`` on the page read it.
CSRF_TOKEN = fresh_value(generate_csrf)


class TextMemory:
    """The most recently used rendered texts (pages, post articles, API
    documents), shared by the threads of a worker."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            text = self._entries.get(key)
            if text is not None:
                self._entries.move_to_end(key)
            return text

    def put(self, key: Hashable, text: str) -> None:
        with self._lock:
            self._entries[key] = text
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def memory(name: str = "remembered_pages", capacity: int = PAGES_KEPT) -> TextMemory:
    """One of this app's memories (each app its own: templates and settings differ)."""
    found: TextMemory | None = current_app.extensions.get(name)
    if found is None:  # once per app: not a new memory built and dropped per call
        found = current_app.extensions.setdefault(name, TextMemory(capacity))
    return found


def reader() -> tuple[int, str] | None:
    """Who the page is for, as far as any page shows it."""
    if not current_user.is_authenticated:
        return None
    return (current_user.id, current_user.username)


def page_key(template: str, data: Mapping[str, Hashable]) -> Hashable:
    """Everything a remembered page depends on."""
    key = (
        template,
        reader(),
        current_locale_code(),
        chosen_language(),
        request.full_path,
        tuple(sorted(data.items())),
    )
    hash(key)  # an unhashable value in ``data`` fails here, not by chance later
    return key


def render_remembered(
    template: str,
    forms: Mapping[str, Callable[[], object]] | None = None,
    fresh: tuple[FreshValue, ...] = (),
    **data: Hashable,
) -> str:
    """``render_template(template, **forms, **data)``, remembered by its inputs.

    ``forms`` are built only when the page is rendered; ``fresh`` lists the
    values besides the CSRF token that the forms render as markers.
    """
    forms = forms or {}
    if "_flashes" in session or current_app.jinja_env.auto_reload:
        context = {name: make() for name, make in forms.items()}
        return replace_markers(render_template(template, **context, **data), fresh)
    key = page_key(template, data)
    pages = memory()
    page = pages.get(key)
    if page is None:
        page = render_with_markers(template, forms, data)
        pages.put(key, page)
    return replace_markers(page, (CSRF_TOKEN, *fresh))


def render_with_markers(
    template: str,
    forms: Mapping[str, Callable[[], object]],
    data: Mapping[str, Hashable],
) -> str:
    """Render with the CSRF token's marker in place of this request's token."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    generate_csrf()  # the session holds its raw token from here on
    token = g.pop(field)
    setattr(g, field, CSRF_TOKEN.marker)
    try:
        context = {name: make() for name, make in forms.items()}
        return render_template(template, **context, **data)
    finally:
        setattr(g, field, token)


def replace_markers(page: str, values: tuple[FreshValue, ...]) -> str:
    """The page with this response's own value in place of each marker."""
    for value in values:
        if value.marker in page:
            page = page.replace(value.marker, fresh_for_request(value))
    return page


def fresh_for_request(value: FreshValue) -> str:
    """``value.make()``, the same for every use within one request."""
    made: dict[str, str] = g.setdefault("fresh_values", {})
    if value.marker not in made:
        made[value.marker] = value.make()
    return made[value.marker]
