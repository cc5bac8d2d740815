"""The kinds of value a setting can hold, and how each is read from its text.

A :class:`Kind` turns an environment variable's text into a typed value, or
raises ValueError with the problem in words that follow the variable's name
(``must be between 1 and 65535, got 70000``); ``microblog.config`` adds the
name and collects the problems of every variable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "postgresql+psycopg2": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
    "sqlite": "sqlite",
}


@dataclass(frozen=True)
class Context:
    """Where the app runs, which some defaults and rules depend on."""

    platform: str | None  # "heroku", "fly" or None
    lenient: bool  # development or tests: a missing SECRET_KEY is made up
    instance_path: str


@dataclass(frozen=True)
class Kind:
    """How a variable's text becomes a value (``shown_as`` names it in the docs)."""

    shown_as: str
    parse: Callable[[str, Context], Any]
    # False: an empty value is parsed rather than treated as unset
    # (``FORCE_HTTPS=`` means off, not the default).
    blank_is_unset: bool = True


def whole_number(minimum: int, maximum: int) -> Kind:
    def parse(raw: str, context: Context) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, got {value}")
        return value

    return Kind(f"whole number {minimum}-{maximum}", parse)


def parse_bool(raw: str, context: Context | None = None) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


BOOLEAN = Kind("true or false", parse_bool, blank_is_unset=False)


def one_of(choices: tuple[str, ...], fold: Callable[[str], str]) -> Kind:
    def parse(raw: str, context: Context) -> str:
        value = fold(raw.strip())
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return Kind(f"one of {', '.join(choices)}", parse)


def text(strip: bool = True) -> Kind:
    # Passwords keep their spaces: they may be part of them.
    return Kind("text", lambda raw, context: raw.strip() if strip else raw)


def database_url(raw: str, heroku: bool = False) -> str:
    """Map the URLs platforms hand out to the drivers this project installs.

    SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3 and has no ``postgres``
    dialect at all, so both become ``postgresql+psycopg2://``. On Heroku, whose
    Postgres requires TLS, ``sslmode=require`` is added unless the URL says otherwise.
    """
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ValueError("not a database URL") from None
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported scheme {url.drivername!r} (use postgresql, mysql or sqlite)"
        )
    # Supabase's pooled URLs carry ``pgbouncer=true`` for Prisma; libpq refuses
    # options it does not know, and :func:`looks_pooled` has read it already.
    url = url.set(drivername=driver).difference_update_query(["pgbouncer"])
    if driver.startswith("mysql"):
        url = url.update_query_dict({"charset": "utf8mb4"})
    if driver.startswith("postgresql") and heroku and "sslmode" not in url.query:
        url = url.update_query_dict({"sslmode": "require"})
    if driver != "sqlite" and not url.database:
        raise ValueError("names no database")
    return url.render_as_string(hide_password=False)


# How the poolers that platforms hand out show in a URL: Fly Managed Postgres
# (host ``pgbouncer.<cluster>.flympg.net``), Supabase and Neon (``pooler`` in the
# host name), PgBouncer's usual port, and Prisma's marker.
POOLER_HOST_MARKS = ("pgbouncer", "pooler")
PGBOUNCER_PORT = 6432


def looks_pooled(raw: str) -> bool:
    """True when a database URL names a connection pooler such as PgBouncer."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        return False
    host = (url.host or "").lower()
    return (
        any(mark in host for mark in POOLER_HOST_MARKS)
        or url.port == PGBOUNCER_PORT
        or str(url.query.get("pgbouncer", "")).lower() in TRUE_WORDS
    )


SQLALCHEMY_URL = Kind(
    "database URL",
    lambda raw, context: database_url(raw, heroku=context.platform == "heroku"),
)


def parse_replica_urls(raw: str, context: Context) -> tuple[str, ...]:
    """Comma-separated PostgreSQL URLs, each normalised like DATABASE_URL."""
    urls = []
    for part in raw.split(","):
        if not part.strip():
            continue
        url = database_url(part, heroku=context.platform == "heroku")
        if not url.startswith("postgresql"):
            raise ValueError("replicas must be PostgreSQL (postgres:// URLs)")
        urls.append(url)
    return tuple(urls)


REPLICA_URLS = Kind("comma-separated database URLs", parse_replica_urls)


def parse_hosts(raw: str, context: Context) -> list[str]:
    hosts = [host.strip() for host in raw.split(",") if host.strip()]
    for host in hosts:
        if "/" in host or " " in host:
            raise ValueError(f"{host!r} is not a host name")
    return hosts


HOST_NAMES = Kind("comma-separated host names", parse_hosts)


def parse_addresses(raw: str, context: Context) -> str:
    """Trusted proxies, checked as gunicorn checks them, in gunicorn's form."""
    addresses = [address.strip() for address in raw.split(",") if address.strip()]
    for address in addresses:
        if address == "*":
            continue
        try:
            ipaddress.ip_network(address)
        except ValueError:
            raise ValueError(
                f"{address!r} is not an IP address, network or *"
            ) from None
    return ",".join(addresses)


# Empty trusts no address, as it does in gunicorn.
ADDRESSES = Kind(
    "comma-separated IP addresses or networks, or `*`",
    parse_addresses,
    blank_is_unset=False,
)


def parse_redis_url(raw: str, context: Context) -> str:
    """A Redis URL; on Heroku, TLS without checking the server's certificate.

    Heroku's Key-Value Store hands out ``rediss://`` URLs to servers whose
    certificates are self-signed, which a client that verifies (redis-py does,
    by default) refuses; Heroku's documentation tells Python clients to skip the
    check. ``ssl_cert_reqs=none`` is added there unless the URL says otherwise.
    """
    url = raw.strip()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    heroku_tls = context.platform == "heroku" and url.startswith("rediss://")
    if heroku_tls and "ssl_cert_reqs=" not in url:
        url += ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
    return url


REDIS_SERVER_URL = Kind("redis://, rediss:// or unix:// URL", parse_redis_url)


def parse_check_names(raw: str, context: Context) -> frozenset[str]:
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if not name.replace("-", "").isalpha():
            raise ValueError(f"{name!r} is not a check name")
    return names


CHECK_NAMES = Kind("comma-separated check names", parse_check_names)
