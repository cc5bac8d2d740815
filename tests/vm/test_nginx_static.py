"""Every /static/ URL a page links, served by the shipped nginx site from disk.

Pages link fingerprinted names (``/static/css/app.<hash>.css``) that the app maps in
memory; ``python -m microblog.web.static_collect`` writes them to the folder nginx
serves. Each answer is compared with the app's own answer for the same URL: same
bytes, same cache lifetime, same security headers.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from microblog.security.headers import security_headers
from microblog.web.static_collect import SOURCE, collect
from microblog.web.static_files import build_manifest
from tests.harness.http_client import Reply
from tests.harness.paths import DEPLOY
from tests.vm.support import fetch, tls_context
from tests.vm.web_stack import WebStack

pytestmark = pytest.mark.slow

STATIC_LINK = re.compile(rb'(?:href|src)="(/static/[^"]+)"')
ADD_HEADER = re.compile(r'^add_header (\S+) "([^"]*)" always;$', re.MULTILINE)


def through_nginx(stack: WebStack, path: str, **headers: str) -> Reply:
    return fetch(
        stack.https_port,
        path,
        tls=tls_context(stack.certificates.ca),
        headers=headers,
    )


def from_the_app(stack: WebStack, path: str) -> Reply:
    """The app's answer for ``path``, asked directly as nginx would ask it."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
    return fetch(stack.upstream_port, path, headers=forwarded)


def media_type(reply: Reply) -> str:
    return reply.header("Content-Type").split(";")[0].strip()


def gunicorn_saw(stack: WebStack, path: str) -> bool:
    return any(
        f" {path}?" in line for line in stack.access_log.read_text().splitlines()
    )


def wait_logged(stack: WebStack, path: str) -> bool:
    # gunicorn writes its access line just after answering: poll briefly, bounded.
    for _ in range(200):
        if gunicorn_saw(stack, path):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def linked(web_stack: WebStack) -> list[str]:
    """The /static/ URLs the sign-in page links, as nginx delivered the page."""
    page = through_nginx(web_stack, "/auth/login")
    assert page.status == 200
    return sorted({url.decode() for url in STATIC_LINK.findall(page.body)})


def test_the_page_links_fingerprinted_stylesheet_and_favicon(linked: list[str]) -> None:
    manifest = build_manifest(SOURCE)
    assert f"/static/{manifest['css/app.css']}" in linked
    assert f"/static/{manifest['favicon.svg']}" in linked


def test_linked_files_come_from_disk_with_the_apps_headers(
    web_stack: WebStack, linked: list[str]
) -> None:
    served = {url: through_nginx(web_stack, url) for url in linked}
    # A proxied request after the static ones: once it is logged, they would be too.
    assert through_nginx(web_stack, "/healthz?after-links").status == 200
    assert wait_logged(web_stack, "/healthz")
    assert not [url for url in linked if gunicorn_saw(web_stack, url)]
    for url, reply in served.items():
        app = from_the_app(web_stack, url)
        assert reply.status == app.status == 200, url
        assert reply.body == app.body, url
        assert media_type(reply) == media_type(app), url
        assert reply.header("Cache-Control") == app.header("Cache-Control"), url
        assert "immutable" in reply.header("Cache-Control"), url
        for name, value in security_headers(https=True).items():
            assert reply.headers.get_all(name) == [value], (url, name)
            assert app.header(name) == value, (url, name)


def test_gzip_copies_are_sent_to_clients_that_accept_them(
    web_stack: WebStack, linked: list[str]
) -> None:
    stylesheet = next(url for url in linked if url.endswith(".css"))
    reply = through_nginx(web_stack, stylesheet, **{"Accept-Encoding": "gzip"})
    assert reply.status == 200
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.header("Vary") == "Accept-Encoding"
    plain = (web_stack.static_root / stylesheet.removeprefix("/static/")).read_bytes()
    assert gzip.decompress(reply.body) == plain
    assert len(reply.body) < len(plain)


def test_plain_names_keep_the_apps_short_cache_lifetime(web_stack: WebStack) -> None:
    served = through_nginx(web_stack, "/static/css/app.css")
    app = from_the_app(web_stack, "/static/css/app.css")
    assert served.status == 200
    assert served.header("Cache-Control") == app.header("Cache-Control")
    assert served.header("Cache-Control") == "max-age=3600, public"


@pytest.fixture
def stylesheet_missing_on_disk(web_stack: WebStack) -> Iterator[str]:
    """The fingerprinted stylesheet, moved away as if not yet copied by update.sh."""
    name = build_manifest(SOURCE)["css/app.css"]
    files = [web_stack.static_root / name, web_stack.static_root / f"{name}.gz"]
    for path in files:
        path.rename(path.with_name(path.name + ".away"))
    try:
        yield f"/static/{name}"
    finally:
        for path in files:
            path.with_name(path.name + ".away").rename(path)


def test_a_name_missing_on_disk_is_served_by_the_app(
    web_stack: WebStack, stylesheet_missing_on_disk: str
) -> None:
    url = stylesheet_missing_on_disk
    reply = through_nginx(web_stack, url)
    assert reply.status == 200
    assert reply.body == (SOURCE / "css" / "app.css").read_bytes()
    for name, value in security_headers(https=True).items():
        assert reply.headers.get_all(name) == [value], name
    assert wait_logged(web_stack, url)


def test_unknown_static_names_are_the_apps_404(web_stack: WebStack) -> None:
    reply = through_nginx(web_stack, "/static/no-such-file.css")
    assert reply.status == 404
    assert reply.header("Content-Security-Policy")


def test_the_nginx_snippet_repeats_the_apps_security_headers() -> None:
    snippet = (DEPLOY / "nginx" / "microblog-headers.conf").read_text()
    assert dict(ADD_HEADER.findall(snippet)) == security_headers(https=True)


def test_collect_writes_plain_fingerprinted_and_gzip_copies(tmp_path: Path) -> None:
    source = SOURCE
    # A .gz left by an earlier release is replaced, not served beside the new file.
    stale = tmp_path / "favicon.svg.gz"
    stale.write_bytes(b"old")
    written = collect(source, tmp_path)
    for name, hashed in build_manifest(source).items():
        assert {name, hashed} <= set(written)
        data = (source / name).read_bytes()
        for target in (name, hashed):
            path = tmp_path / target
            assert path.read_bytes() == data
            assert path.stat().st_mode & 0o777 == 0o644
            compressed = path.with_name(path.name + ".gz")
            if compressed.exists():
                assert gzip.decompress(compressed.read_bytes()) == data
    assert (tmp_path / "css" / "app.css.gz").exists()
    assert stale.read_bytes() != b"old"
    assert not list(tmp_path.rglob(".collect-*"))
