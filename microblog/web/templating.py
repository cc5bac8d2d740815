"""Helpers for templates and the values they show.

A page of posts calls these once per post, so each does as little as it can:
Babel's relative time is remembered per language and whole second, and the
two links of a post are joined from prefixes built once per request.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

from babel.dates import format_timedelta
from flask import Flask, g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from microblog.models import utcnow

JUST_NOW = timedelta(seconds=45)
# Enough for every post age on a busy page in each language for a while; the
# entries are short strings that hold nothing of any user.
RELATIVE_TIMES_KEPT = 8192
# Characters a username may have (microblog.accounts.rules.USERNAME_PATTERN),
# all of which stand for themselves in a URL path.
PLAIN_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
PREFIXES = "link_prefixes"


@lru_cache(maxsize=RELATIVE_TIMES_KEPT)
def relative_time(locale: str, seconds: int) -> str:
    """Babel's '5 minutes ago' for a whole number of seconds (negative: past)."""
    return str(
        format_timedelta(timedelta(seconds=seconds), add_direction=True, locale=locale)
    )


def ago(moment: datetime) -> str:
    """'5 minutes ago', in the reader's language, rendered on the server."""
    return age(moment, current_locale_code(), utcnow())


def age(moment: datetime, locale: str, now: datetime) -> str:
    """``ago(moment)`` with the reader's locale and the time already known, for
    a page that dates many posts."""
    elapsed = moment - now
    # Under a minute Babel says "3 seconds ago", or "in 1 second" when the
    # database clock runs a little ahead of ours; neither reads well.
    if abs(elapsed) < JUST_NOW:
        return _("just now")
    return relative_time(locale, int(elapsed.total_seconds()))


def current_locale_code() -> str:
    return str(get_locale() or "en")


def link_prefixes() -> tuple[str, str, str]:
    """The profile link's prefix and the avatar link's prefix and suffix, as
    ``url_for`` builds them in this request (once per request)."""
    prefixes: tuple[str, str, str] | None = g.get(PREFIXES)
    if prefixes is None:
        profile = url_for("main.user", username="_")[:-1]
        avatar_prefix, _marker, avatar_suffix = url_for(
            "main.avatar", digest="_"
        ).rpartition("_")
        prefixes = (profile, avatar_prefix, avatar_suffix)
        setattr(g, PREFIXES, prefixes)
    return prefixes


def profile_url_of(username: str) -> str:
    """``url_for("main.user", username=username)``, without routing per post."""
    if not PLAIN_PATH_SEGMENT.fullmatch(username):
        return url_for("main.user", username=username)
    return link_prefixes()[0] + username


def avatar_url_of(digest: str) -> str:
    """``url_for("main.avatar", digest=digest)`` for a hex digest."""
    _profile, prefix, suffix = link_prefixes()
    return prefix + digest + suffix


def init_app(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals.update(
        current_locale_code=current_locale_code,
        profile_url_of=profile_url_of,
        avatar_url_of=avatar_url_of,
    )
