"""``flask translate init|update|compile``: the tutorial's translation workflow.

``init`` and ``update`` run Babel's own ``pybabel`` commands on a freshly
extracted template; ``compile`` is this project's (see ``catalogs`` for why).

The same group runs without an app or any configuration as
``python -m microblog.i18n.commands``, which suits image builds that have no
``SECRET_KEY``.
"""

from __future__ import annotations

from pathlib import Path

import click
from babel import Locale, UnknownLocaleError

from microblog.i18n import catalogs


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(catalogs.PROJECT_ROOT))
    except ValueError:
        return str(path)


@click.group("translate")
def translate() -> None:
    """Extract, update and compile the message catalogs."""


@translate.command("init")
@click.argument("language")
def init_command(language: str) -> None:
    """Start a catalog for LANGUAGE (a code such as 'fr' or 'pt_BR')."""
    try:
        Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        raise click.BadParameter(
            f"{language!r} is not a language code Babel knows", param_hint="LANGUAGE"
        ) from None
    try:
        path = catalogs.init_catalog(language)
    except catalogs.CatalogError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {_shown(path)}; translate it, then run 'translate compile'.")


@translate.command("update")
def update_command() -> None:
    """Merge new and changed strings from the sources into every catalog."""
    paths = catalogs.update_catalogs()
    if not paths:
        raise click.ClickException("no catalogs yet; start one with 'translate init'")
    for path in paths:
        click.echo(f"Updated {_shown(path)}")


@translate.command("compile")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the .mo files here instead of beside the .po files.",
)
def compile_command(directory: Path | None) -> None:
    """Compile every catalog into the .mo files the app reads."""
    try:
        paths = catalogs.compile_catalogs(target=directory)
    except catalogs.CatalogError as error:
        raise click.ClickException(f"cannot compile: {error}") from None
    if not paths:
        raise click.ClickException("no catalogs to compile")
    for path in paths:
        click.echo(f"Compiled {_shown(path)}")


if __name__ == "__main__":
    translate(prog_name="python -m microblog.i18n.commands")
