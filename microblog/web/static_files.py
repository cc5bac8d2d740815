"""Static files served by the app process (WhiteNoise): no separate static server.

``url_for("static", filename="css/app.css")`` yields a fingerprinted URL such
as ``/static/css/app.3f2a9c1b0d4e.css``, whose name changes whenever the file
does, so browsers and CDNs may keep it for a year without asking again. The
plain names stay valid with a short cache lifetime. Compressed variants
(``app.css.gz``, written at build time by ``python -m whitenoise.compress``)
go to clients that accept them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Flask
from whitenoise import WhiteNoise

# Unfingerprinted names may change under the same URL at the next deploy.
PLAIN_MAX_AGE = 3600
FINGERPRINT_CHARS = 12
COMPRESSED_SUFFIXES = (".gz", ".br")


def fingerprint(path: Path) -> str:
    """A short hash of the file's bytes, which changes whenever the file does."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest[:FINGERPRINT_CHARS]


def fingerprinted_name(relative: str, digest: str) -> str:
    """``css/app.css`` -> ``css/app.<digest>.css``."""
    path = PurePosixPath(relative)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def build_manifest(folder: Path) -> dict[str, str]:
    """Map each static file's name to its fingerprinted name."""
    manifest: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix in COMPRESSED_SUFFIXES:
            continue
        relative = path.relative_to(folder).as_posix()
        manifest[relative] = fingerprinted_name(relative, fingerprint(path))
    return manifest


def init_app(app: Flask) -> None:
    """Serve ``app.static_folder`` through WhiteNoise with fingerprinted URLs."""
    folder = Path(app.static_folder or "")
    prefix = f"{app.static_url_path}/"
    if app.debug:
        # Development: pick up edits at once, no fingerprints, no caching.
        app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
            app.wsgi_app, root=folder, prefix=prefix, autorefresh=True, max_age=0
        )
        return
    manifest = build_manifest(folder)
    immutable_urls = {prefix + name for name in manifest.values()}
    static = WhiteNoise(
        app.wsgi_app,
        root=folder,
        prefix=prefix,
        max_age=PLAIN_MAX_AGE,
        immutable_file_test=lambda _path, url: url in immutable_urls,
    )
    for name, hashed in manifest.items():
        # Same file on disk (and same .gz beside it), second URL.
        static.add_file_to_dictionary(prefix + hashed, str(folder / name))
    app.wsgi_app = static  # type: ignore[method-assign]

    def static_url_defaults(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.get(values["filename"], values["filename"])

    app.url_defaults(static_url_defaults)
