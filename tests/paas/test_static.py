"""Static files served by the app process: fingerprinted, cached, compressed."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

from flask import Flask, url_for

from microblog import create_app
from microblog.web import static_files

FOREVER = "max-age=315360000, public, immutable"
CSS = b"body { color: #222; }\n" * 40


def app_with_static(folder: Path, debug: bool = False) -> Flask:
    """A bare Flask app on ``folder`` with the project's static serving."""
    app = Flask("static_test", static_folder=str(folder), static_url_path="/static")
    app.debug = debug
    static_files.init_app(app)
    return app


def test_pages_link_fingerprinted_static_urls_cached_forever() -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    match = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
    assert match, "the stylesheet link is not fingerprinted"
    response = client.get(match.group(1))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == FOREVER
    assert response.data == (Path(app.static_folder or "") / "css/app.css").read_bytes()
    response.close()


def test_plain_names_still_work_with_a_short_cache(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_bytes(CSS)
    client = app_with_static(tmp_path).test_client()
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "max-age=3600, public"
    response.close()
    assert client.get("/static/missing.css").status_code == 404


def test_fingerprint_changes_with_the_content(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_bytes(CSS)
    first = static_files.build_manifest(tmp_path)["app.css"]
    (tmp_path / "app.css").write_bytes(CSS + b"a { color: red; }\n")
    second = static_files.build_manifest(tmp_path)["app.css"]
    assert first != second
    assert re.fullmatch(r"app\.[0-9a-f]{12}\.css", first)


def test_build_time_gzip_variant_is_served_to_clients_that_accept_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.css").write_bytes(CSS)
    # The Dockerfile's build step, run for real.
    subprocess.run(
        [sys.executable, "-m", "whitenoise.compress", str(tmp_path)], check=True
    )
    assert (tmp_path / "app.css.gz").exists()
    app = app_with_static(tmp_path)
    with app.test_request_context():
        url = url_for("static", filename="app.css")
    client = app.test_client()
    for path in ("/static/app.css", url):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.data) == CSS
        assert "Accept-Encoding" in response.headers["Vary"]
        response.close()
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers
    assert plain.data == CSS
    plain.close()
    # The compressed variant itself is not a second fingerprinted asset.
    assert list(static_files.build_manifest(tmp_path)) == ["app.css"]


def test_debug_mode_serves_edits_at_once_without_fingerprints(tmp_path: Path) -> None:
    (tmp_path / "app.css").write_bytes(CSS)
    app = app_with_static(tmp_path, debug=True)
    with app.test_request_context():
        assert url_for("static", filename="app.css") == "/static/app.css"
    (tmp_path / "new.css").write_bytes(CSS)
    response = app.test_client().get("/static/new.css")
    assert response.status_code == 200
    response.close()
