"""Translations: complete catalogs, the translate commands, and the language choice."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from microblog.i18n import LANGUAGE_COOKIE, LANGUAGES, catalogs
from microblog.i18n.commands import translate
from tests.harness.factories import make_post, make_user
from tests.harness.flask_app import wait_for_jobs

# Pages and the language cookie need no particular database.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}


def get_page(client: FlaskClient, path: str, **options: Any) -> str:
    return client.get(path, **options).get_data(as_text=True)


def msgids(catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


@pytest.fixture
def translations_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the catalogs that the commands read and write."""
    copy = tmp_path / "translations"
    shutil.copytree(
        catalogs.TRANSLATIONS_DIR, copy, ignore=shutil.ignore_patterns("*.mo")
    )
    monkeypatch.setattr(catalogs, "TRANSLATIONS_DIR", copy)
    return copy


def test_every_supported_language_but_english_has_a_catalog():
    shipped = {path.parent.parent.name for path in catalogs.po_files()}
    assert shipped == set(LANGUAGES) - {"en"}


@pytest.mark.parametrize("po", catalogs.po_files(), ids=lambda path: path.parts[-3])
def test_catalog_has_exactly_the_strings_in_the_sources(po: Path):
    with po.open("rb") as file:
        catalog = read_po(file)
    sources = msgids(catalogs.extract())
    translated = msgids(catalog)
    missing = sorted(map(str, sources - translated))
    unused = sorted(map(str, translated - sources))
    assert not missing, f"run 'flask translate update' and translate: {missing}"
    assert not unused, f"run 'flask translate update' to drop: {unused}"


@pytest.mark.parametrize("po", catalogs.po_files(), ids=lambda path: path.parts[-3])
def test_catalog_is_fully_translated_without_fuzzy_entries(po: Path):
    with po.open("rb") as file:
        catalog = read_po(file)
    for message in catalog:
        if not message.id:
            continue
        string = message.string
        strings = list(string) if isinstance(string, (list, tuple)) else [string]
        assert all(strings), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert problems == []


def test_compiled_catalogs_are_never_committed():
    ignored = (catalogs.PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "*.mo" in ignored
    git = shutil.which("git")
    if git and (catalogs.PROJECT_ROOT / ".git").exists():
        tracked = subprocess.run(
            [git, "ls-files", "--", "*.mo"],
            cwd=catalogs.PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert tracked.stdout == ""


@sqlite_only
def test_translate_is_a_flask_command(runner: FlaskCliRunner, tmp_path: Path):
    result = runner.invoke(args=["translate", "compile", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "es" / "LC_MESSAGES" / "messages.mo").exists()


def test_compile_command_writes_catalogs_that_translate(tmp_path: Path):
    result = CliRunner().invoke(translate, ["compile", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Compiled" in result.output
    spanish = Translations.load(str(tmp_path), ["es"])
    assert spanish.gettext("Sign in") == "Iniciar sesión"
    assert spanish.ngettext("%(num)d follower", "%(num)d followers", 2) == (
        "%(num)d seguidores"
    )


def test_init_update_and_compile_a_new_language(translations_copy: Path):
    runner = CliRunner()
    result = runner.invoke(translate, ["init", "fr"])
    assert result.exit_code == 0, result.output
    french = catalogs.po_path("fr")
    with french.open("rb") as file:
        assert msgids(read_po(file)) == msgids(catalogs.extract())
    assert runner.invoke(translate, ["update"]).exit_code == 0
    result = runner.invoke(translate, ["compile"])
    assert result.exit_code == 0, result.output
    assert french.with_suffix(".mo").exists()


def test_init_refuses_an_unknown_language_or_an_existing_catalog(
    translations_copy: Path,
):
    runner = CliRunner()
    unknown = runner.invoke(translate, ["init", "zz-nonsense"])
    assert unknown.exit_code == 2
    assert "not a language code" in unknown.output
    existing = runner.invoke(translate, ["init", "es"])
    assert existing.exit_code == 1
    assert "exists; use update" in existing.output


def test_compile_refuses_a_broken_catalog(translations_copy: Path):
    po = catalogs.po_path("es")
    text = po.read_text(encoding="utf-8")
    po.write_text(
        text.replace('msgstr "Página %(n)d"', 'msgstr "Página %(número)d"'),
        encoding="utf-8",
    )
    result = CliRunner().invoke(translate, ["compile"])
    assert result.exit_code == 1
    assert "cannot compile" in result.output
    assert not po.with_suffix(".mo").exists()


def test_current_compiled_catalogs_are_served_as_they_are(translations_copy: Path):
    catalogs.compile_catalogs()
    assert catalogs.stale_catalogs() == []
    assert catalogs.usable_directory() == translations_copy


def test_a_po_changed_without_recompiling_is_compiled_afresh(
    translations_copy: Path, caplog: pytest.LogCaptureFixture
):
    catalogs.compile_catalogs()
    po = catalogs.po_path("es")
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace("Iniciar sesión", "Entrar"), encoding="utf-8")
    assert catalogs.stale_catalogs() == [po]
    logger = logging.getLogger("microblog.i18n.catalogs")
    logger.addHandler(caplog.handler)
    try:
        served = catalogs.usable_directory()
    finally:
        logger.removeHandler(caplog.handler)
    assert served != translations_copy
    assert Translations.load(str(served), ["es"]).gettext("Sign in") == "Entrar"
    assert "out of date" in caplog.text


def test_missing_compiled_catalogs_are_compiled_at_start(translations_copy: Path):
    assert catalogs.stale_catalogs() == [catalogs.po_path("es")]
    served = catalogs.usable_directory()
    assert (served / "es" / "LC_MESSAGES" / "messages.mo").exists()


@sqlite_only
def test_spanish_browser_gets_spanish_pages(client: FlaskClient):
    page = client.get("/auth/login", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page
    assert "Nombre de usuario" in page


@sqlite_only
def test_pages_tell_caches_they_vary_by_language(client: FlaskClient):
    response = client.get("/explore", headers=SPANISH)
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


@sqlite_only
def test_english_is_the_default_for_other_languages(client: FlaskClient):
    page = client.get("/auth/login", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in page.get_data(as_text=True)


@sqlite_only
def test_language_cookie_beats_the_browser(client: FlaskClient):
    client.set_cookie(LANGUAGE_COOKIE, "en")
    assert '<html lang="en">' in get_page(client, "/explore", headers=SPANISH)
    client.set_cookie(LANGUAGE_COOKIE, "xx")
    assert '<html lang="es">' in get_page(client, "/explore", headers=SPANISH)


@sqlite_only
def test_choosing_a_language_sets_the_cookie_and_returns(client: FlaskClient):
    response = client.post(
        "/language", data={"language": "es", "next": "/search?q=hola"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/search?q=hola"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=es;")
    assert "Secure" not in cookie  # plain HTTP here; HTTPS requests get Secure
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = get_page(client, "/search?q=hola")
    assert '<html lang="es">' in page
    assert "Idioma cambiado." in page
    assert '<option lang="es" selected value="es">Español</option>' in page


@sqlite_only
def test_browser_default_forgets_the_choice(client: FlaskClient):
    client.set_cookie(LANGUAGE_COOKIE, "es")
    response = client.post("/language", data={"language": "", "next": "/explore"})
    assert response.status_code == 302
    assert client.get_cookie(LANGUAGE_COOKIE) is None


@sqlite_only
@pytest.mark.parametrize("choice", ["fr", "es'; x", "e" * 300])
def test_an_unoffered_language_is_refused(client: FlaskClient, choice: str):
    response = client.post("/language", data={"language": choice})
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers or (
        LANGUAGE_COOKIE not in response.headers["Set-Cookie"]
    )


@sqlite_only
@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", ""])
def test_the_language_switch_only_returns_to_this_site(
    client: FlaskClient, target: str
):
    response = client.post("/language", data={"language": "en", "next": target})
    assert response.headers["Location"] == "/explore"


@sqlite_only
def test_the_language_switch_needs_the_csrf_token(app: Flask):
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/language", data={"language": "es"})
    assert response.status_code == 400


@sqlite_only
def test_spanish_pages_say_counts_and_times_in_spanish(client: FlaskClient, auth):
    susan = make_user("susan")
    make_post(susan, "hola")
    page = get_page(client, "/user/susan", headers=SPANISH)
    assert "0 seguidores" in page
    assert "ahora mismo" in page
    auth.login("susan")
    page = get_page(client, "/", headers=SPANISH)
    assert "¡Hola, susan!" in page


@sqlite_only
def test_form_errors_are_in_spanish(client: FlaskClient):
    response = client.post(
        "/auth/register",
        data={"username": "x", "email": "not-an-address", "password": "a"},
        headers=SPANISH,
    )
    page = response.get_data(as_text=True)
    assert "Corrige los campos marcados." in page
    assert "Escribe una dirección de correo válida" in page
    assert "Este campo es obligatorio." in page


@sqlite_only
def test_error_pages_are_in_spanish(client: FlaskClient):
    page = get_page(client, "/no-such-page", headers=SPANISH)
    assert "Página no encontrada" in page
    page = get_page(client, "/user/nobody", headers=SPANISH)
    assert "No hay ningún usuario llamado nobody." in page


@sqlite_only
def test_reset_email_is_written_in_the_readers_language(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
):
    make_user("susan")
    logger = logging.getLogger("microblog.email")
    logger.addHandler(caplog.handler)
    try:
        client.post(
            "/auth/reset_password_request",
            data={"email": "susan@example.com"},
            headers=SPANISH,
        )
        wait_for_jobs(app)  # a job sends the mail, in a thread of the app
    finally:
        logger.removeHandler(caplog.handler)
    assert "Subject: [microblog] Restablece tu contraseña" in caplog.text
    assert "Hola, susan:" in caplog.text
    assert "/auth/reset_password/" in caplog.text


@sqlite_only
def test_language_cookie_is_secure_over_https(client: FlaskClient):
    response = client.post(
        "/language",
        data={"language": "es", "next": "/explore"},
        base_url="https://localhost",
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
