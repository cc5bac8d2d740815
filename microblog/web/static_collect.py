"""Write the static files to a folder a web server reads, under every name pages use.

Pages link fingerprinted names such as ``/static/css/app.3f2a9c1b0d4e.css``, which
the app's WhiteNoise layer maps in memory to ``css/app.css``. A web server that
serves ``/static/`` from disk (nginx on an own server) needs real files under
those names, so provision.sh and update.sh run, after each checkout::

    python -m microblog.web.static_collect /srv/microblog/static

Each file is written under its plain and its fingerprinted name, with a gzip copy
beside it where that is smaller (nginx's ``gzip_static`` sends it). Files go to a
temporary name first and are renamed, so nginx never serves half a file. Copies
from earlier releases stay: a page rendered before a deploy still finds its
stylesheet.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import click

from microblog.web.static_files import build_manifest

SOURCE = Path(__file__).resolve().parent.parent / "static"
# Text formats gain from gzip; images and fonts are compressed already.
COMPRESSIBLE_SUFFIXES = frozenset(
    {".css", ".js", ".mjs", ".svg", ".json", ".map", ".txt", ".xml", ".html"}
)
FILE_MODE = 0o644
FOLDER_MODE = 0o755


def write_atomically(target: Path, data: bytes, mtime: float) -> None:
    """Replace ``target`` with ``data`` in one rename, readable by the web server."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".collect-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, FILE_MODE)
        # The source's time: Last-Modified and ETag stay put across deploys.
        os.utime(temporary, (mtime, mtime))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_with_gzip(target: Path, data: bytes, mtime: float) -> None:
    """Write ``target``, plus ``target.gz`` when compressing it saves bytes."""
    write_atomically(target, data, mtime)
    compressed_path = target.with_name(target.name + ".gz")
    if target.suffix in COMPRESSIBLE_SUFFIXES:
        compressed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(compressed) < len(data):
            write_atomically(compressed_path, compressed, mtime)
            return
    # A stale .gz of an earlier version would be sent instead of the new file.
    compressed_path.unlink(missing_ok=True)


def collect(source: Path, destination: Path) -> list[str]:
    """Copy every static file to ``destination``; return the names written."""
    written: list[str] = []
    for name, hashed in build_manifest(source).items():
        path = source / name
        data, mtime = path.read_bytes(), path.stat().st_mtime
        for target in (name, hashed):
            write_with_gzip(destination / target, data, mtime)
            written.append(target)
    return written


@click.command("collect")
@click.argument(
    "destination", type=click.Path(file_okay=False, writable=True, path_type=Path)
)
def collect_command(destination: Path) -> None:
    """Write the static files, plain and fingerprinted, into DESTINATION."""
    destination.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    names = collect(SOURCE, destination)
    click.echo(f"Wrote {len(names)} static files to {destination}")


if __name__ == "__main__":
    collect_command(prog_name="python -m microblog.web.static_collect")
