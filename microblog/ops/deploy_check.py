"""``flask deploy check``: a preflight for production settings.

Like Django's ``check --deploy``: one line per problem, each starting with the
check's name, and a non-zero exit when there is any. ``--warn`` prints the same
lines and exits 0 (the release step uses it, so a warning never blocks a
deploy). A problem the deployer has accepted is silenced by naming its check in
``DEPLOY_CHECK_SILENCE`` (comma-separated). docs/security.md explains each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import click
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import with_appcontext
from packaging.version import Version

from microblog.config import MIN_SECRET_KEY_BYTES, PLACEHOLDER_SECRETS
from microblog.config_values import looks_pooled
from microblog.extensions import db, limiter

# The lowest release of each package in which its known CVEs are fixed; an
# older installed version is reported by the `dependencies` check.
SECURITY_FLOORS = {
    "Flask": "3.1.3",
    "Werkzeug": "3.1.6",
    "Jinja2": "3.1.6",
    "gunicorn": "23.0.0",
    "PyMySQL": "1.1.1",
    "python-dotenv": "1.2.2",
    "SQLAlchemy": "2.0.0",
    "psycopg2-binary": "2.9.10",
}
# A random 32-byte key in hex or base64 has far more distinct characters.
MIN_DISTINCT_KEY_CHARS = 10
SAFE_SAMESITE = frozenset({"Lax", "Strict"})


@dataclass(frozen=True)
class Problem:
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


Check = Callable[[Flask], Iterator[Problem]]


def check_debug(app: Flask) -> Iterator[Problem]:
    if app.config["DEBUG"]:
        yield Problem(
            "debug",
            "FLASK_DEBUG is on: the debugger runs code for anyone; unset it",
        )


def check_secret_key(app: Flask) -> Iterator[Problem]:
    key = str(app.config["SECRET_KEY"])
    if app.config.get("SECRET_KEY_GENERATED"):
        yield Problem(
            "secret-key", "SECRET_KEY is not set: sessions end at every restart"
        )
    elif key.lower() in PLACEHOLDER_SECRETS:
        yield Problem("secret-key", "SECRET_KEY is a placeholder anyone can look up")
    elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
        yield Problem(
            "secret-key", f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes"
        )
    elif len(set(key)) < MIN_DISTINCT_KEY_CHARS:
        yield Problem("secret-key", "SECRET_KEY has too few distinct characters")


def check_database(app: Flask) -> Iterator[Problem]:
    platform = app.config.get("PLATFORM")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if platform and uri.startswith("sqlite"):
        yield Problem(
            "sqlite-ephemeral",
            f"SQLite on {platform}, whose disk is wiped at every restart and "
            "deploy: set DATABASE_URL to a managed PostgreSQL",
        )


def check_pooled_database(app: Flask) -> Iterator[Problem]:
    """Through a transaction-mode pooler, migrations want the database itself."""
    if not app.config.get("DATABASE_IS_POOLED"):
        return
    direct = app.config.get("DATABASE_MIGRATION_URI")
    if not direct:
        yield Problem(
            "pooled-database",
            "DATABASE_URL goes through a transaction-mode pooler (PgBouncer): "
            "web requests are fine there, but set DATABASE_DIRECT_URL to the "
            "direct URL so that migrations do not run through the pooler",
        )
    elif looks_pooled(direct):
        yield Problem(
            "pooled-database",
            "DATABASE_DIRECT_URL looks pooled too (a pgbouncer or pooler host, "
            "or port 6432): give the database's direct URL",
        )


def check_https(app: Flask) -> Iterator[Problem]:
    if not app.config["FORCE_HTTPS"]:
        yield Problem(
            "https",
            "FORCE_HTTPS is off: no redirect to HTTPS, no HSTS, no Secure cookies; "
            "set FORCE_HTTPS=1 once TLS works",
        )


def check_proxy_count(app: Flask) -> Iterator[Problem]:
    platform = app.config.get("PLATFORM")
    if platform and not app.config["PROXY_COUNT"]:
        yield Problem(
            "proxy-count",
            f"PROXY_COUNT is 0 on {platform}, behind its router: the app sees "
            "the router's address (one rate limit for everyone) and, unless "
            "gunicorn trusts the router (FORWARDED_ALLOW_IPS), http (HTTPS "
            "redirect loops); set PROXY_COUNT=1",
        )


def check_hosts(app: Flask) -> Iterator[Problem]:
    if not app.config.get("ALLOWED_HOSTS"):
        yield Problem(
            "hosts",
            "neither TRUSTED_HOSTS nor SERVER_NAME is set: any Host header is "
            "accepted and goes into password-reset links",
        )


def check_mail(app: Flask) -> Iterator[Problem]:
    if not app.config["MAIL_SERVER"]:
        yield Problem(
            "mail",
            "MAIL_SERVER is not set: password-reset e-mails go to the log only",
        )


def check_cookies(app: Flask) -> Iterator[Problem]:
    config = app.config
    for kind in ("SESSION", "REMEMBER"):
        if not config.get(f"{kind}_COOKIE_SECURE"):
            yield Problem("cookies", f"{kind}_COOKIE_SECURE is off (set FORCE_HTTPS=1)")
        if not config.get(f"{kind}_COOKIE_HTTPONLY"):
            yield Problem("cookies", f"{kind}_COOKIE_HTTPONLY is off")
        if config.get(f"{kind}_COOKIE_SAMESITE") not in SAFE_SAMESITE:
            yield Problem("cookies", f"{kind}_COOKIE_SAMESITE is not Lax or Strict")


def check_rate_limits(app: Flask) -> Iterator[Problem]:
    if not app.config["RATELIMIT_ENABLED"]:
        yield Problem(
            "rate-limits",
            "RATELIMIT_ENABLED is off: passwords can be guessed at full speed",
        )
    elif not app.config.get("REDIS_URL"):
        yield Problem(
            "rate-limit-storage",
            "REDIS_URL is not set: each process counts alone, so N processes "
            "allow N times the limits",
        )
    elif not limiter.storage.check():
        yield Problem("rate-limit-storage", "cannot reach REDIS_URL")


def check_jobs(app: Flask) -> Iterator[Problem]:
    platform = app.config.get("PLATFORM")
    if platform and not app.config.get("REDIS_URL"):
        yield Problem(
            "jobs",
            f"REDIS_URL is not set on {platform}: mail and exports run in threads "
            "of the web processes, and a restart or deploy loses the ones "
            "queued; add Redis and scale the worker process to 1",
        )


def check_migrations(app: Flask) -> Iterator[Problem]:
    migrate = app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    expected = set(ScriptDirectory.from_config(config).get_heads())
    try:
        with db.engine.connect() as connection:
            applied = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as error:
        yield Problem(
            "migrations", f"cannot read the database: {error.__class__.__name__}"
        )
        return
    if applied != expected:
        yield Problem(
            "migrations",
            "migrations pending: run flask --app microblog db upgrade",
        )


def check_dependencies(app: Flask) -> Iterator[Problem]:
    for package, floor in SECURITY_FLOORS.items():
        try:
            installed = version(package)
        except PackageNotFoundError:
            continue  # not installed, so not exposed
        if Version(installed) < Version(floor):
            yield Problem(
                "dependencies",
                f"{package} {installed} is below {floor}, which fixes known CVEs",
            )


CHECKS: tuple[Check, ...] = (
    check_debug,
    check_secret_key,
    check_database,
    check_pooled_database,
    check_https,
    check_proxy_count,
    check_hosts,
    check_mail,
    check_cookies,
    check_rate_limits,
    check_jobs,
    check_migrations,
    check_dependencies,
)


def find_problems(app: Flask) -> list[Problem]:
    """Every problem with ``app``'s settings that the deployer has not silenced."""
    silenced = app.config.get("DEPLOY_CHECK_SILENCE", frozenset())
    return [
        problem
        for check in CHECKS
        for problem in check(app)
        if problem.check not in silenced
    ]


@click.group("deploy")
def deploy_group() -> None:
    """Checks to run before and while deploying."""


@deploy_group.command("check")
@click.option("--warn", is_flag=True, help="Print the problems but exit 0.")
@with_appcontext
def check_command(warn: bool) -> None:
    """Report insecure or fragile production settings, one line per problem."""
    problems = find_problems(current_app._get_current_object())  # type: ignore[attr-defined]
    for problem in problems:
        click.echo(f"deploy check: {problem}")
    if not problems:
        click.echo("deploy check: no problems found")
    elif not warn:
        raise SystemExit(1)
