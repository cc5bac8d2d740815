"""Pages are gzip-compressed for clients that accept it, and describe themselves.

Heroku's router and Fly's proxy do not compress, so the app does; static files
keep WhiteNoise's own handling, and JSON is left as it is.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from microblog import create_app
from microblog.web.compression import MIN_SIZE
from tests.harness.factories import make_post, make_user
from tests.harness.flask_app import app_config, sqlite_app

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
DESCRIPTION = re.compile(rb'<meta name="description" content="([^"]+)">')


@pytest.fixture
def site(tmp_path: Path) -> Iterator[FlaskClient]:
    with sqlite_app(tmp_path, RATELIMIT_ENABLED=False) as app:
        make_post(make_user("susan"), "hello " * 50)
        yield app.test_client()


@pytest.mark.parametrize("path", ["/auth/login", "/explore", "/user/susan"])
def test_pages_are_gzipped_for_clients_that_accept_it(
    site: FlaskClient, path: str
) -> None:
    plain = site.get(path)
    packed = site.get(path, headers=GZIP)
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert "Accept-Language" in packed.headers["Vary"]  # the other hooks still ran
    page = gzip.decompress(packed.data)
    assert page.startswith(b"<!doctype html>")
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(page) / 2
    # Without Accept-Encoding: the same page, uncompressed, and caches told why.
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]


@pytest.mark.parametrize("accept", ["gzip;q=0", "br", "identity"])
def test_no_gzip_unless_the_client_takes_it(site: FlaskClient, accept: str) -> None:
    reply = site.get("/explore", headers={"Accept-Encoding": accept})
    assert "Content-Encoding" not in reply.headers
    assert reply.data.startswith(b"<!doctype html>")


def test_small_bodies_and_json_are_left_alone(site: FlaskClient) -> None:
    redirect = site.get("/", headers=GZIP)  # to the sign-in page, a tiny body
    assert redirect.status_code == 302 and len(redirect.data) < MIN_SIZE
    assert "Content-Encoding" not in redirect.headers
    api = site.get("/api/users?per_page=100", headers=GZIP)
    assert api.mimetype == "application/json"
    assert "Content-Encoding" not in api.headers


def test_static_files_are_never_compressed_twice(site: FlaskClient) -> None:
    page = site.get("/auth/login").get_data(as_text=True)
    found = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert found is not None
    with (
        site.get(found.group(1)) as plain,
        site.get(found.group(1), headers=GZIP) as packed,
    ):
        original, served = plain.get_data(), packed.get_data()
        encoding = packed.headers.get("Content-Encoding")
    # WhiteNoise's own answer: its gzip copy, or the file as it is.
    assert encoding in (None, "gzip")
    assert (gzip.decompress(served) if encoding else served) == original


@pytest.mark.parametrize(
    ("language", "words"), [("en", b"Short posts"), ("es", b"Publicaciones breves")]
)
def test_every_page_has_a_meta_description_in_its_language(
    site: FlaskClient, language: str, words: bytes
) -> None:
    for path in ("/auth/login", "/auth/register", "/explore", "/search", "/user/susan"):
        reply = site.get(path, headers={"Accept-Language": language})
        found = DESCRIPTION.search(reply.data)
        assert found is not None and words in found.group(1), path


def test_the_outage_page_has_a_description_too() -> None:
    unreachable = "postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2"
    app: Flask = create_app(app_config(unreachable))
    reply = app.test_client().get("/explore")
    assert reply.status_code == 503
    assert DESCRIPTION.search(reply.data) is not None
