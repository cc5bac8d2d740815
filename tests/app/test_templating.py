"""The per-post template helpers give exactly what Flask and Babel would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask_babel import force_locale, format_timedelta

from microblog.models import utcnow
from microblog.ops.preload import compile_templates
from microblog.web.templating import ago, avatar_url_of, profile_url_of
from tests.harness.flask_app import sqlite_app

AGES = [50, 59, 61, 89, 90, 3000, 3599, 5400, 86_000, 86_400 * 6, 86_400 * 26]
AGES += [86_400 * 40, 86_400 * 400]


@pytest.fixture
def request_app(tmp_path: Path) -> Iterator[Flask]:
    with sqlite_app(tmp_path) as app, app.test_request_context("/"):
        yield app


@pytest.mark.parametrize("language", ["en", "es"])
def test_relative_times_are_babels(request_app: Flask, language: str) -> None:
    with force_locale(language):
        for seconds in AGES:
            expected = format_timedelta(timedelta(seconds=-seconds), add_direction=True)
            # Dated right before the call: 50 s is just under Babel's threshold
            # for "1 minute", so a slow first call into Babel must not come
            # between the two.
            moment = utcnow() - timedelta(seconds=seconds, milliseconds=300)
            assert ago(moment) == expected, seconds
            assert ago(moment) == expected  # the remembered answer too
        assert ago(utcnow()) == ("just now" if language == "en" else "ahora mismo")


@pytest.mark.parametrize("username", ["susan", "A.b-c_9", "ünï", "sp ace", "a/b"])
def test_profile_links_are_url_fors(request_app: Flask, username: str) -> None:
    assert profile_url_of(username) == url_for("main.user", username=username)


def test_avatar_links_are_url_fors(request_app: Flask) -> None:
    digest = "0123456789abcdef"
    assert avatar_url_of(digest) == url_for("main.avatar", digest=digest)


def test_a_preloading_master_compiles_every_template_once(tmp_path: Path) -> None:
    with sqlite_app(tmp_path) as app:
        count = compile_templates(app)
        assert count == len(app.jinja_env.list_templates()) > 10
        compiled = app.jinja_env.get_template("base.html")
        assert compile_templates(app) == count
        # The same compiled object: the second call compiled nothing again.
        assert app.jinja_env.get_template("base.html") is compiled
    assert compile_templates(object()) == 0
