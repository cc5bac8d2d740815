"""The language switch: a cookie, so it works signed in or not."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from microblog import i18n
from microblog.main import bp
from microblog.main.forms import LanguageForm
from microblog.web.urls import safe_next


@bp.post("/language")
def set_language() -> Response:
    """Remember the chosen language and go back to the page it was chosen on."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400, _("Choose one of the offered languages."))
    language = form.language.data or None
    target = safe_next(form.next.data) or url_for("main.explore")
    response = redirect(target)
    i18n.remember_language(response, language)
    # The confirmation shows on the next page, so say it in the new language.
    with force_locale(language or i18n.browser_language()):
        flash(_("Language changed."), "success")
    return response


@bp.app_context_processor
def language_switch() -> dict[str, object]:
    """Offer ``language_form()`` to every template (the footer uses it)."""
    return {"language_form": language_form}


def language_form() -> LanguageForm:
    """A language switch preset to the current choice and to return here."""
    return LanguageForm(
        formdata=None,
        language=i18n.chosen_language() or "",
        next=request.full_path.rstrip("?"),
    )
