"""Forms for the account pages."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from microblog.extensions import db
from microblog.models import EMAIL_MAX, USERNAME_MAX, User
from microblog.validators import no_control_characters

PASSWORD_MIN = 8
# argon2 hashes any length, but a megabyte password is a denial of service.
PASSWORD_MAX = 128
# Python's "$" also matches before a final newline, so "alice\n" would pass
# as a second "alice"; "(?!\n)" closes that, and reads the same in the
# OpenAPI document's (ECMAScript) pattern.
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$(?!\n)"


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


def username_taken(username: str, except_id: int | None = None) -> bool:
    """Usernames are unique without regard to case."""
    if not re.fullmatch(USERNAME_PATTERN, username):
        # No stored name looks like this; and PostgreSQL would fail on a NUL.
        return False
    query = sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
    if except_id is not None:
        query = query.where(User.id != except_id)
    return db.session.scalar(query) is not None


def normalise_email(address: str) -> str:
    """The canonical form of an address, or ValidationError."""
    # Imported here: it loads dnspython, which only these few forms need, and
    # every worker would otherwise pay for it at boot.
    from email_validator import EmailNotValidError, validate_email

    try:
        normalised = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        # The library's reasons are English only; say it in the reader's language.
        raise ValidationError(
            _l("Enter a valid e-mail address, such as name@example.com.")
        ) from None
    # Lower-casing can lengthen text ("İ" becomes two characters).
    normalised = normalised.lower()
    if len(normalised) > EMAIL_MAX:
        raise ValidationError(
            _l("Field cannot be longer than %(max)d characters.", max=EMAIL_MAX)
        )
    return normalised


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
