"""``/api/tokens``: trade a username and password for a bearer token."""

from __future__ import annotations

from typing import Any

from microblog.api import bp
from microblog.api.auth import basic_auth, bearer_token, current_api_user, token_auth
from microblog.api.schemas import TokenSchema
from microblog.api.tokens_store import issue_token, revoke_token


@bp.route("/tokens", methods=["POST"])
@basic_auth
@bp.response(200, TokenSchema)
def create_token() -> dict[str, Any]:
    """Get a bearer token with HTTP Basic credentials."""
    secret, expires_at = issue_token(current_api_user())
    return {"token": secret, "expires_at": expires_at}


@bp.route("/tokens", methods=["DELETE"])
@token_auth
@bp.response(204)
def revoke_current_token() -> None:
    """Revoke the token this request was made with."""
    revoke_token(bearer_token() or "")
