"""What the API accepts and returns, as marshmallow schemas.

The same classes validate requests, serialise responses and, through apispec,
become the OpenAPI document, so the document cannot drift from the code.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from microblog.accounts.rules import PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN
from microblog.models import ABOUT_ME_MAX, EMAIL_MAX, POST_MAX, USERNAME_MAX

MAX_PER_PAGE = 100
# Printable ASCII without spaces: what a client generates (a UUID, a ULID...).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,64}$"


def storable_text(value: str) -> None:
    """Refuse what no database stores: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ma.ValidationError("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("Must be valid Unicode text.") from None


def not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


def username_field(required: bool) -> fields.String:
    return fields.String(
        required=required,
        validate=[
            validate.Length(min=3, max=USERNAME_MAX),
            validate.Regexp(
                USERNAME_PATTERN,
                error="Use letters, digits, dots, dashes and underscores, "
                "starting with a letter or digit.",
            ),
        ],
    )


def email_field(required: bool) -> fields.String:
    # A plain string with the format noted: the view normalises and checks it
    # with email-validator, the same rules the registration form applies.
    return fields.String(
        required=required,
        validate=[validate.Length(min=3, max=EMAIL_MAX), storable_text],
        metadata={"format": "email"},
    )


def about_me_field() -> fields.String:
    return fields.String(
        allow_none=True,
        validate=[validate.Length(max=ABOUT_ME_MAX), storable_text],
    )


class ErrorSchema(ma.Schema):
    error = fields.String(required=True, metadata={"description": "Status phrase"})
    message = fields.String(required=True, metadata={"description": "What went wrong"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by request field, on validation errors"},
    )


class TokenSchema(ma.Schema):
    token = fields.String(required=True, metadata={"description": "Bearer token"})
    expires_at = fields.DateTime(format="iso", required=True)


class UserLinksSchema(ma.Schema):
    self = fields.String(required=True)
    followers = fields.String(required=True)
    following = fields.String(required=True)
    posts = fields.String(required=True)
    avatar = fields.String(required=True)


class UserSchema(ma.Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    email = fields.String(
        metadata={"format": "email", "description": "Only in the caller's own record"}
    )
    about_me = fields.String(required=True, allow_none=True)
    last_seen = fields.DateTime(format="iso", required=True)
    created_at = fields.DateTime(format="iso", required=True)
    post_count = fields.Integer(required=True)
    follower_count = fields.Integer(required=True)
    following_count = fields.Integer(required=True)
    links = fields.Nested(UserLinksSchema, data_key="_links", required=True)

    @ma.post_dump
    def drop_hidden_email(
        self, data: dict[str, object], **kwargs: object
    ) -> dict[str, object]:
        if data.get("email") is None:
            data.pop("email", None)
        return data


class UserCreateSchema(ma.Schema):
    username = username_field(required=True)
    email = email_field(required=True)
    password = fields.String(
        required=True,
        load_only=True,
        validate=[validate.Length(min=PASSWORD_MIN, max=PASSWORD_MAX), storable_text],
    )
    about_me = about_me_field()


class UserUpdateSchema(ma.Schema):
    username = username_field(required=False)
    email = email_field(required=False)
    about_me = about_me_field()


class AuthorSchema(ma.Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)


class PostLinksSchema(ma.Schema):
    self = fields.String(required=True)
    author = fields.String(required=True)


class PostSchema(ma.Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    timestamp = fields.DateTime(format="iso", required=True)
    author = fields.Nested(AuthorSchema, required=True)
    links = fields.Nested(PostLinksSchema, data_key="_links", required=True)


class PostCreateSchema(ma.Schema):
    body = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=POST_MAX), storable_text, not_blank],
    )


class IdempotencyHeaderSchema(ma.Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(IDEMPOTENCY_KEY_PATTERN),
        metadata={
            "description": "Repeat a POST safely: the same key returns the same post."
        },
    )


class PageArgsSchema(ma.Schema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1),
        metadata={"description": "Page number, from 1"},
    )
    per_page = fields.Integer(
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": "Items per page (default: POSTS_PER_PAGE)"},
    )


class PageMetaSchema(ma.Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    has_next = fields.Boolean(required=True)


class PageLinksSchema(ma.Schema):
    self = fields.String(required=True)
    next = fields.String(required=True, allow_none=True)
    prev = fields.String(required=True, allow_none=True)


class UserPageSchema(ma.Schema):
    items = fields.List(fields.Nested(UserSchema), required=True)
    meta = fields.Nested(PageMetaSchema, data_key="_meta", required=True)
    links = fields.Nested(PageLinksSchema, data_key="_links", required=True)


class PostPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PostSchema), required=True)
    meta = fields.Nested(PageMetaSchema, data_key="_meta", required=True)
    links = fields.Nested(PageLinksSchema, data_key="_links", required=True)
