"""Rate limits on the endpoints that guess passwords, send mail or make accounts.

Each limited endpoint has a limit per client address and one per account (the
username or e-mail address in the request), so that neither one address trying
many accounts nor many addresses trying one account get far. For sign-in only
failures count against the account, in growing windows: a few wrong passwords
cost a minute, many cost an hour or a day, and nothing locks the owner out for
good. The client address is ``request.remote_addr``: the socket's peer, or the
address ProxyFix took from ``X-Forwarded-For`` when PROXY_COUNT proxies are
trusted, never a header a client can simply make up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from microblog.extensions import limiter


def submitted(field: str) -> str:
    """The account a form names, folded so that case variants share a bucket."""
    try:
        value = request.form.get(field, "")
    except HTTPException:  # oversized or malformed body: the view answers that
        return "account:"
    return "account:" + value.strip().lower()[:254]


def submitted_json(field: str) -> str:
    """The account a JSON body names (the API's registration)."""
    try:
        data = request.get_json(silent=True)
    except HTTPException:  # oversized body: the view answers that
        return "account:"
    value = data.get(field) if isinstance(data, dict) else None
    return "account:" + (value.strip().lower()[:254] if isinstance(value, str) else "")


def basic_auth_username() -> str:
    """The account an API client names in HTTP Basic credentials."""
    credentials = request.authorization
    name = credentials.username if credentials and credentials.username else ""
    return "account:" + name.strip().lower()[:254]


def form_failed(response: Response) -> bool:
    """A form sign-in succeeded only if it redirected; a re-shown form failed."""
    return not 300 <= response.status_code < 400


@dataclass(frozen=True)
class EndpointLimits:
    """Limits for one endpoint: per client address, and per named account."""

    method: str
    path: str
    per_address: str
    per_account: str
    account: Callable[[], str]
    # Count only these responses against the account (None: count every request).
    account_counts: Callable[[Response], bool] | None = None


LIMITS = (
    EndpointLimits(
        "POST",
        "/auth/login",
        per_address="20/minute;200/hour",
        per_account="5/minute;20/hour;100/day",
        account=lambda: submitted("username"),
        account_counts=form_failed,
    ),
    EndpointLimits(
        "POST",
        "/auth/register",
        per_address="5/minute;20/hour",
        per_account="3/hour",
        account=lambda: submitted("email"),
    ),
    # Each request may send an e-mail: keep anyone from flooding an inbox.
    EndpointLimits(
        "POST",
        "/auth/reset_password_request",
        per_address="5/minute;20/hour",
        per_account="3/hour",
        account=lambda: submitted("email"),
    ),
    # The API's registration: the same limits as the form's.
    EndpointLimits(
        "POST",
        "/api/users",
        per_address="5/minute;20/hour",
        per_account="3/hour",
        account=lambda: submitted_json("email"),
    ),
    EndpointLimits(
        "POST",
        "/api/tokens",
        per_address="10/minute;100/hour",
        per_account="5/minute;20/hour;100/day",
        account=basic_auth_username,
        account_counts=lambda response: response.status_code == 401,
    ),
)


# The (method, endpoint) pairs of the app that have limits.
LIMITED = "limited_endpoints"


def endpoint_for(app: Flask, method: str, path: str) -> str | None:
    """The endpoint that serves ``method path``, or None if the app has none."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method=method)
    except (NotFound, MethodNotAllowed):
        return None
    return str(endpoint)


def apply_limits(app: Flask, rule: EndpointLimits) -> None:
    """Wrap the endpoint's view in its two limits (if the app has the endpoint)."""
    endpoint = endpoint_for(app, rule.method, rule.path)
    if endpoint is None:
        return
    app.extensions[LIMITED].add((rule.method, endpoint))
    view: Callable[..., Any] = app.view_functions[endpoint]
    limiter.limit(rule.per_address, methods=[rule.method], scope="address")(view)
    wrapped = limiter.limit(
        rule.per_account,
        key_func=rule.account,
        methods=[rule.method],
        scope="account",
        deduct_when=rule.account_counts,
    )(view)
    app.view_functions[endpoint] = wrapped


def drop_stray_retry_after(response: Response) -> Response:
    """Flask-Limiter sets Retry-After on every limited response; keep it on 429."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


@limiter.request_filter
def no_limit_applies() -> bool:
    """True for a request no limit covers (every page read, every GET).

    The limiter would otherwise resolve the limits of each request's view,
    find none and still do its bookkeeping: about 0.2 ms of CPU per request.
    """
    limited: set[tuple[str, str | None]] = current_app.extensions[LIMITED]
    return (request.method, request.endpoint) not in limited


def init_app(app: Flask) -> None:
    """Bind the limiter and limit the sensitive endpoints registered so far."""
    # Registered first so that it runs after the limiter's own after_request.
    app.after_request(drop_stray_retry_after)
    app.extensions[LIMITED] = set()
    limiter.init_app(app)
    for rule in LIMITS:
        apply_limits(app, rule)
