"""Forms for the account pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from microblog.accounts.rules import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_PATTERN,
    normalise_email,
    username_taken,
)
from microblog.extensions import db
from microblog.models import EMAIL_MAX, USERNAME_MAX, User
from microblog.web.validators import no_control_characters


def username_field() -> StringField:
    return StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=3, max=USERNAME_MAX),
            Regexp(
                USERNAME_PATTERN,
                message=_l(
                    "Use letters, digits, dots, dashes and underscores, "
                    "starting with a letter or digit."
                ),
            ),
        ],
    )


def password_field(label: str) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )


def repeat_password_field() -> PasswordField:
    """The confirmation box, which must equal the ``password`` field."""
    return PasswordField(
        _l("Repeat password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The passwords do not match.")),
        ],
    )


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=USERNAME_MAX), no_control_characters],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )
    remember_me = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class RegistrationForm(FlaskForm):
    username = username_field()
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    password = password_field(_l("Password"))
    password2 = repeat_password_field()
    submit = SubmitField(_l("Register"))

    def validate_username(self, field: StringField) -> None:
        if username_taken(field.data):
            raise ValidationError(_l("That username is taken; please choose another."))

    def validate_email(self, field: EmailField) -> None:
        field.data = normalise_email(field.data)
        taken = db.session.scalar(sa.select(User.id).where(User.email == field.data))
        if taken is not None:
            raise ValidationError(
                _l("That e-mail address is already registered; try signing in.")
            )


class ResetPasswordRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    submit = SubmitField(_l("Request password reset"))

    def validate_email(self, field: EmailField) -> None:
        field.data = normalise_email(field.data)


class ResetPasswordForm(FlaskForm):
    password = password_field(_l("New password"))
    password2 = repeat_password_field()
    submit = SubmitField(_l("Set new password"))
