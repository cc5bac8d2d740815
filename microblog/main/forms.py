"""Forms for the social pages."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from microblog.auth.forms import username_field
from microblog.i18n import LANGUAGE_NAMES
from microblog.models import ABOUT_ME_MAX, POST_MAX
from microblog.web.validators import no_control_characters

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class PostForm(FlaskForm):
    post = TextAreaField(
        _l("Say something"),
        validators=[DataRequired(), Length(min=1, max=POST_MAX), no_control_characters],
    )
    # Rendered fresh with each form; a re-sent submission carries the same key.
    idempotency_key = HiddenField(
        validators=[DataRequired(), Regexp(IDEMPOTENCY_KEY_PATTERN)],
        default=lambda: secrets.token_urlsafe(16),
    )
    submit = SubmitField(_l("Post"))


class EditProfileForm(FlaskForm):
    username = username_field()
    about_me = TextAreaField(
        _l("About me"),
        validators=[Optional(), Length(max=ABOUT_ME_MAX), no_control_characters],
    )
    submit = SubmitField(_l("Save"))


class EmptyForm(FlaskForm):
    """A form with only a CSRF token, for buttons that change state."""

    submit = SubmitField(_l("Submit"))


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        _l("Search"),
        validators=[DataRequired(), Length(max=100), no_control_characters],
    )


class LanguageForm(FlaskForm):
    """The language switch in the footer and on the profile page."""

    # Empty means "follow the browser". Each language keeps its own name, marked
    # with its lang, so that screen readers pronounce it right.
    language = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("Browser default")),
            *(
                SelectChoice(code, name, render_kw={"lang": code})
                for code, name in LANGUAGE_NAMES.items()
            ),
        ],
    )
    next = HiddenField()
    submit = SubmitField(_l("Change language"))
