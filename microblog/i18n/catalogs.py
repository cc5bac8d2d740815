"""Message catalogs: extract the strings, keep the ``.po`` files current, compile them.

Extraction, ``init`` and ``update`` are Babel's own ``pybabel`` commands, run in
this process. Around them this module adds only what Babel lacks:

- no template on disk: each run extracts into a temporary ``.pot``, so the
  sources are the only record of which strings exist;
- ``init`` refuses to start over a catalog that exists (``pybabel init`` would
  replace it, translations and all);
- compiling is its own: it writes no ``.mo`` at all while any catalog has an
  error (``pybabel compile`` logs the error and writes the file anyway), it
  replaces files atomically (several workers may compile at once), it can
  write into another folder, and :func:`usable_directory` notices stale
  ``.mo`` files at start-up.

Compiled ``.mo`` files are build output and never committed. The build compiles
them (``bin/build`` on every platform); should a build skip that step,
or a ``.po`` change without recompiling, :func:`usable_directory` notices at
start-up and serves freshly compiled catalogs from a temporary folder instead of
stale ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = PACKAGE_DIR.parent
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
BABEL_CONFIG = PROJECT_ROOT / "babel.cfg"
DOMAIN = "messages"
# Forms mark their labels with lazy_gettext, imported as _l as in the tutorial.
KEYWORDS = ("_l", "lazy_gettext")
PROJECT = "microblog"
PROJECT_VERSION = "1.0"
COPYRIGHT_HOLDER = "the microblog authors"
LINE_WIDTH = 88


class CatalogError(Exception):
    """A catalog that cannot be compiled, with the reasons."""


def po_path(language: str, root: Path | None = None) -> Path:
    return (root or TRANSLATIONS_DIR) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def po_files(root: Path | None = None) -> list[Path]:
    """Every language's ``messages.po`` under ``root``, sorted."""
    return sorted((root or TRANSLATIONS_DIR).glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def pybabel(*arguments: str) -> None:
    """Run one ``pybabel`` command in this process, printing only errors."""
    CommandLineInterface().run(["pybabel", "--quiet", *arguments])  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def template() -> Iterator[Path]:
    """A temporary ``.pot`` of every translatable string in the package."""
    with tempfile.TemporaryDirectory(prefix="microblog-pot-") as folder:
        path = Path(folder) / f"{DOMAIN}.pot"
        keywords = [option for word in KEYWORDS for option in ("--keyword", word)]
        # pybabel names each source by the path it walked, so walking "." from
        # the project root gives the "microblog/..." locations the catalogs carry.
        with contextlib.chdir(PROJECT_ROOT):
            pybabel(
                "extract",
                f"--mapping-file={BABEL_CONFIG}",
                *keywords,
                f"--project={PROJECT}",
                f"--version={PROJECT_VERSION}",
                f"--copyright-holder={COPYRIGHT_HOLDER}",
                f"--width={LINE_WIDTH}",
                f"--output-file={path}",
                ".",
            )
        yield path


def extract() -> Catalog:
    """The template catalog: every translatable string in the package."""
    with template() as path, path.open("rb") as file:
        return read_po(file)


def init_catalog(language: str) -> Path:
    """Start a catalog for ``language`` from the current sources."""
    path = po_path(language)
    if path.exists():
        raise CatalogError(f"a catalog for {language!r} exists; use update")
    with template() as pot:
        pybabel(
            "init",
            f"--input-file={pot}",
            f"--output-file={path}",
            f"--locale={language}",
            f"--width={LINE_WIDTH}",
        )
    return path


def update_catalogs() -> list[Path]:
    """Merge the current sources into every language's catalog."""
    paths = po_files()
    if not paths:
        return []
    with template() as pot:
        pybabel(
            "update",
            f"--input-file={pot}",
            f"--output-dir={TRANSLATIONS_DIR}",
            "--ignore-obsolete",
            f"--width={LINE_WIDTH}",
        )
    return paths


def compile_bytes(path: Path) -> bytes:
    """The ``.mo`` content for one ``.po`` file; CatalogError if it is broken."""
    with path.open("rb") as file:
        catalog = read_po(file, abort_invalid=True)
    problems = [
        f"{path.name}:{message.lineno}: {error}"
        for message, errors in catalog.check()
        for error in errors
    ]
    if problems:
        raise CatalogError("; ".join(problems))
    buffer = BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def compile_catalogs(
    source: Path | None = None, target: Path | None = None
) -> list[Path]:
    """Compile every ``.po`` under ``source`` into ``.mo`` files under ``target``."""
    source = source or TRANSLATIONS_DIR
    written = []
    for path in po_files(source):
        relative = path.relative_to(source).with_suffix(".mo")
        destination = (target or source) / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        _replace(destination, compile_bytes(path))
        written.append(destination)
    return written


def stale_catalogs(source: Path | None = None) -> list[Path]:
    """The ``.po`` files whose ``.mo`` is missing or differs from a fresh compile."""
    stale = []
    for path in po_files(source):
        compiled = path.with_suffix(".mo")
        if not compiled.exists() or compiled.read_bytes() != compile_bytes(path):
            stale.append(path)
    return stale


def usable_directory(source: Path | None = None) -> Path:
    """``source`` when its ``.mo`` files are current, else a folder of fresh ones."""
    source = source or TRANSLATIONS_DIR
    return _usable_directory(source, _fingerprint(source))


@lru_cache(maxsize=8)
def _usable_directory(source: Path, fingerprint: tuple[object, ...]) -> Path:
    # Cached by file sizes and times: an app factory called many times (tests,
    # gunicorn workers with --reload) compares the catalogs only once.
    stale = stale_catalogs(source)
    if not stale:
        return source
    digest = hashlib.sha256()
    for path in po_files(source):
        digest.update(path.read_bytes())
    # The user id keeps two accounts on one machine out of each other's folders.
    target = Path(tempfile.gettempdir()) / (
        f"microblog-translations-{digest.hexdigest()[:16]}-{os.getuid()}"
    )
    compile_catalogs(source, target)
    names = ", ".join(str(path.relative_to(source)) for path in stale)
    # A fallback only: the build (bin/build) compiles them into the app itself,
    # where every process finds them without this work at each start.
    log.warning(
        "compiled translations missing or out of date (%s); serving a fresh "
        "compile from %s. The build should run bin/build (or 'flask --app "
        "microblog translate compile').",
        names,
        target,
    )
    return target


def _fingerprint(source: Path) -> tuple[object, ...]:
    entries: list[object] = []
    for path in po_files(source):
        for file in (path, path.with_suffix(".mo")):
            if file.exists():
                status = file.stat()
                entries.append((str(file), status.st_size, status.st_mtime_ns))
            else:
                entries.append((str(file), None))
    return tuple(entries)


def _replace(path: Path, content: bytes) -> None:
    # Several workers may compile at once: each writes its own file, then renames.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
