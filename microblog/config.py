"""Twelve-factor configuration: the only module that reads ``os.environ``.

Every setting is declared once, in :data:`SETTINGS`: its name, kind of value
(with bounds or choices), default and one line of meaning. :func:`load_config`
walks that table at start-up and turns the environment into the typed values
the rest of the code reads from ``current_app.config``; ``gunicorn.conf.py``
takes its few through :func:`server_settings`. Bad values raise
:class:`ConfigError`: one line per bad variable (``PORT: ...``), all at once.

``.env.example``, ``app.json`` and the settings table in the docs are checked
against :data:`SETTINGS` by the tests; ``python -m microblog.config --markdown``
prints that table.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from dotenv import load_dotenv
from sqlalchemy.engine import URL

from microblog.config_values import (
    ADDRESSES,
    BOOLEAN,
    CHECK_NAMES,
    HOST_NAMES,
    REDIS_SERVER_URL,
    REPLICA_URLS,
    SQLALCHEMY_URL,
    TRUE_WORDS,
    Context,
    Kind,
    database_url,
    looks_pooled,
    one_of,
    parse_bool,
    text,
    whole_number,
)

# Values copied from .env.example or tutorials that must never sign real sessions.
PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "dev",
        "development",
        "you-will-never-guess",
        "replace-with-a-long-random-string",
    }
)
MIN_SECRET_KEY_BYTES = 32
# What a setting's ``platform`` says when the app refuses to start without it.
REQUIRED = "required"
ON_PLATFORM_SHOWN = "on Heroku/Fly"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(SystemExit):
    """Bad settings, one line each; uncaught, Python prints them alone, exit 1."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(
            f"{name}: {problem}" for name, problem in self.problems.items()
        )


@dataclass(frozen=True)
class Setting:
    """One environment variable: everything the code and the docs know of it."""

    name: str
    kind: Kind
    meaning: str
    # The text that applies while the variable is unset, parsed like a set value.
    default: str | None = None
    # Computes the value while unset, for defaults that depend on where the app
    # runs; ``default_shown`` says in words what it gives.
    unset: Callable[[Context], Any] | None = None
    default_shown: str = ""
    secret: bool = False
    # On Heroku and Fly: REQUIRED, or who sets it there.
    platform: str = ""

    @property
    def default_text(self) -> str:
        """The default in words, as the docs show it."""
        return f"`{self.default}`" if self.default else self.default_shown

    def summary(self) -> str:
        """Meaning, kind and default in plain text (``app.json`` descriptions)."""
        kind = self.kind.shown_as + (", secret" if self.secret else "")
        line = f"{self.meaning} Value: {kind}; default: {self.default_text}."
        return line.replace("`", "")

    def read(self, env: Mapping[str, str], context: Context) -> Any:
        """This variable's value in ``env``; ValueError when it is bad."""
        raw = env.get(self.name)
        if raw is None or (self.kind.blank_is_unset and not raw.strip()):
            if self.unset is not None:
                return self.unset(context)
            if self.default is None:
                return None
            raw = self.default
        return self.kind.parse(raw, context)


def parse_secret_key(raw: str, context: Context) -> str:
    key = raw.strip()
    if context.lenient:
        return key
    if key.lower() in PLACEHOLDER_SECRETS:
        raise ValueError("is a placeholder; set a long random value")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ValueError(f"must be at least {MIN_SECRET_KEY_BYTES} bytes long")
    return key


def made_up_secret_key(context: Context) -> str:
    if context.lenient:
        # Development only: a fresh key per process (sessions end on restart).
        return secrets.token_hex(32)
    raise ValueError(
        "not set; generate one with: python -c "
        "'import secrets; print(secrets.token_hex(32))'"
    )


def sqlite_in_instance_folder(context: Context) -> str:
    sqlite_file = Path(context.instance_path) / "microblog.sqlite"
    return URL.create("sqlite", database=str(sqlite_file)).render_as_string()


def one_worker_per_cpu(context: Context) -> int:
    # Capped so that workers x threads stays inside a small managed database's
    # connection limit (about 20 on Heroku Essential).
    return min(os.cpu_count() or 1, 4)


# --- The table ----------------------------------------------------------------

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        SQLALCHEMY_URL,
        "SQLAlchemy URL; `postgres://` and `postgresql://` become "
        "`postgresql+psycopg2://`, `mysql://` becomes `mysql+pymysql://`, and on "
        "Heroku `sslmode=require` is added unless the URL names an `sslmode`.",
        unset=sqlite_in_instance_folder,
        default_shown="SQLite file `instance/microblog.sqlite`",
        secret=True,
        platform="set when a database is attached",
    ),
    Setting(
        "DATABASE_DIRECT_URL",
        SQLALCHEMY_URL,
        "The database without a pooler in between, for `flask db` and the release "
        "step; set it when `DATABASE_URL` goes through a transaction-mode pooler.",
        default_shown="`DATABASE_URL` (or, when `DATABASE_CONNECTION_POOL_URL` is "
        "set, `DATABASE_URL` alone)",
        secret=True,
    ),
    Setting(
        "DATABASE_CONNECTION_POOL_URL",
        SQLALCHEMY_URL,
        "Heroku's Connection Pooling URL: web and worker processes use it, and "
        "`DATABASE_URL` stays the direct URL for migrations.",
        default_shown="none",
        secret=True,
        platform="set by Heroku's Connection Pooling",
    ),
    Setting(
        "DATABASE_POOLED",
        BOOLEAN,
        "The app's database URL goes through a transaction-mode pooler (PgBouncer): "
        "`flask deploy check` then asks for a direct URL for migrations.",
        unset=lambda context: None,
        default_shown="read from the URL (a `pgbouncer` or `pooler` host, port "
        "6432, `pgbouncer=true`, or Heroku's pooling URL)",
    ),
    Setting(
        "DB_POOL_SIZE",
        whole_number(1, 100),
        "Database connections each process keeps open "
        "(a managed Postgres allows about 20-100 for all processes).",
        default="5",
    ),
    Setting(
        "DB_MAX_OVERFLOW",
        whole_number(0, 100),
        "Extra connections a process may open at a peak.",
        default="2",
    ),
    Setting(
        "DB_POOL_RECYCLE",
        whole_number(1, 600),
        "Seconds before a pooled connection is replaced "
        "(Fly's proxy drops idle ones after 10 minutes).",
        default="300",
    ),
    Setting(
        "DB_POOL_TIMEOUT",
        whole_number(1, 60),
        "Seconds a request waits for a free pooled connection before failing.",
        default="10",
    ),
    Setting(
        "DATABASE_REPLICA_URL",
        REPLICA_URLS,
        "Read replicas of a PostgreSQL `DATABASE_URL`, one URL or several separated "
        "by commas (normalised like `DATABASE_URL`): reads of GET requests go to one "
        "that answers and is at most `REPLICA_MAX_LAG` behind, everything else to "
        "the primary.",
        unset=lambda context: (),
        default_shown="none: every query goes to `DATABASE_URL`",
        secret=True,
    ),
    Setting(
        "REPLICA_MAX_LAG",
        whole_number(1, 3600),
        "Seconds a replica may be behind the primary and still serve reads; "
        "further behind, or down, its reads go to the primary.",
        default="10",
    ),
    Setting(
        "REPLICA_CHECK_INTERVAL",
        whole_number(1, 60),
        "Seconds between two checks of a replica's lag, in each process.",
        default="5",
    ),
    Setting(
        "READ_YOUR_WRITES_SECONDS",
        whole_number(1, 7200),
        "Seconds after a write during which the writer's reads go to the primary "
        "(a signed cookie); at least `REPLICA_MAX_LAG` + `REPLICA_CHECK_INTERVAL`.",
        default="20",
    ),
    Setting(
        "PRIMARY_REGION",
        text(),
        "Fly region of the primary database: in any other region, requests that "
        "write are answered with `fly-replay` and run there.",
        default_shown="none",
        platform="set by Fly from `primary_region` in fly.toml",
    ),
    Setting(
        "FLY_REGION",
        text(),
        "Fly region this Machine runs in.",
        default_shown="none",
        platform="set by Fly",
    ),
    Setting(
        "SECRET_KEY",
        Kind(f"text of {MIN_SECRET_KEY_BYTES}+ bytes", parse_secret_key),
        "Signs sessions, remember-me cookies and reset links; "
        "placeholders and shorter keys are refused.",
        unset=made_up_secret_key,
        default_shown="required outside development (where each process makes one up)",
        secret=True,
        platform=REQUIRED,
    ),
    Setting(
        "FLASK_DEBUG",
        BOOLEAN,
        "Development mode: the debugger, and a made-up `SECRET_KEY` when none is set. "
        "Never on a server.",
        default="false",
    ),
    Setting(
        "FLASK_SKIP_DOTENV",
        BOOLEAN,
        "Ignore the `.env` file (takes effect only from the real environment).",
        default="false",
    ),
    Setting(
        "SERVER_NAME",
        text(),
        "The one host name the app serves, also used to build external URLs.",
        default_shown="none (any host)",
    ),
    Setting(
        "TRUSTED_HOSTS",
        HOST_NAMES,
        "Host names the app answers for; other Host headers get 400.",
        default_shown="`SERVER_NAME`'s host, else any host",
    ),
    Setting(
        "FORCE_HTTPS",
        BOOLEAN,
        "Redirect HTTP to HTTPS, send HSTS, and mark cookies Secure "
        "with the `__Host-` prefix.",
        unset=lambda context: context.platform is not None,
        default_shown=f"true {ON_PLATFORM_SHOWN}, else false",
    ),
    Setting(
        "RATELIMIT_ENABLED",
        BOOLEAN,
        "Rate limits on sign-in, registration, reset requests and API tokens.",
        default="true",
    ),
    Setting(
        "DEPLOY_CHECK_SILENCE",
        CHECK_NAMES,
        "`flask deploy check` problems the deployer has accepted, by check name.",
        unset=lambda context: frozenset(),
        default_shown="none",
    ),
    Setting(
        "API_TOKEN_LIFETIME",
        whole_number(60, 604_800),
        "Seconds an API bearer token lives (a stolen one is worth that long at most).",
        default="86400",
    ),
    Setting(
        "PORT",
        whole_number(1, 65535),
        "The port gunicorn binds on all interfaces, IPv4 and IPv6 "
        "(`make run`: loopback only).",
        default="8000",
        platform="set by the platform",
    ),
    Setting(
        "WEB_CONCURRENCY",
        whole_number(1, 64),
        "gunicorn worker processes.",
        unset=one_worker_per_cpu,
        default_shown="the CPU count, at most 4",
        platform="set by Heroku from the dyno size",
    ),
    Setting(
        "PROXY_COUNT",
        whole_number(0, 5),
        "Proxies in front of the app (Heroku router, Fly proxy, nginx) "
        "whose `X-Forwarded-*` headers are trusted.",
        unset=lambda context: 1 if context.platform else 0,
        default_shown=f"1 {ON_PLATFORM_SHOWN}, else 0",
    ),
    Setting(
        "FORWARDED_ALLOW_IPS",
        ADDRESSES,
        "Addresses gunicorn takes `X-Forwarded-Proto` from "
        "(`::ffff:127.0.0.1` is loopback on a dual-stack socket).",
        default="127.0.0.1,::1,::ffff:127.0.0.1",
        platform="set to `*` by Heroku",
    ),
    Setting(
        "LOG_LEVEL",
        one_of(LOG_LEVELS, str.upper),
        "Least severe level logged.",
        default="INFO",
    ),
    Setting(
        "LOG_FORMAT",
        one_of(LOG_FORMATS, str.lower),
        "Log lines on stdout as plain text or as JSON objects.",
        unset=lambda context: "json" if context.platform else "text",
        default_shown=f"json {ON_PLATFORM_SHOWN}, else text",
    ),
    Setting(
        "MAIL_SERVER",
        text(),
        "SMTP server for password-reset mail.",
        default_shown="none: the mail is written to the log",
    ),
    Setting("MAIL_PORT", whole_number(1, 65535), "SMTP port.", default="587"),
    Setting("MAIL_USE_TLS", BOOLEAN, "STARTTLS to the SMTP server.", default="true"),
    Setting(
        "MAIL_USERNAME",
        text(strip=False),
        "SMTP user name.",
        default_shown="none (no login)",
    ),
    Setting(
        "MAIL_PASSWORD",
        text(strip=False),
        "SMTP password.",
        default_shown="none (no login)",
        secret=True,
    ),
    Setting(
        "MAIL_DEFAULT_SENDER",
        text(),
        "From address of the mail the app sends.",
        default="microblog@localhost",
    ),
    Setting(
        "REDIS_URL",
        REDIS_SERVER_URL,
        "Redis for the rate limits of all instances together and for the job queue "
        "that the `worker` process (`flask jobs work`) runs; on Heroku a `rediss://` "
        "URL gets `ssl_cert_reqs=none` (its Key-Value Store's certificates are "
        "self-signed) unless it names one.",
        default_shown="none: each process counts on its own, and jobs run in a "
        "thread of the web process",
        secret=True,
    ),
    Setting(
        "JOB_RETRIES",
        whole_number(1, 10),
        "Times a failed job is tried again before `flask jobs failed` lists it.",
        default="3",
    ),
    Setting(
        "JOB_RETRY_DELAY",
        whole_number(0, 3600),
        "Seconds before a failed job's first retry; each later one waits three "
        "times longer.",
        default="10",
    ),
    Setting(
        "POSTS_PER_PAGE",
        whole_number(1, 100),
        "Posts per page.",
        default="25",
    ),
    Setting(
        "MAX_PAGE",
        whole_number(1, 100_000),
        "Highest `?page=N` served; beyond it the answer is 400 "
        "(bounds the cost of OFFSET).",
        default="1000",
    ),
    Setting(
        "LAST_SEEN_INTERVAL",
        whole_number(0, 86_400),
        "Seconds between writes of a user's last-seen time (0: every request).",
        default="300",
    ),
    Setting(
        "RESET_TOKEN_MAX_AGE",
        whole_number(60, 86_400),
        "Seconds a password-reset link stays valid.",
        default="3600",
    ),
)
SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}
# Set by the platforms themselves, never by a person: they only tell where we run.
PLATFORM_MARKERS = ("DYNO", "FLY_APP_NAME")


def platform_name(env: Mapping[str, str]) -> str | None:
    """``heroku`` or ``fly`` when running there, else None."""
    if env.get("DYNO"):
        return "heroku"
    if env.get("FLY_APP_NAME"):
        return "fly"
    return None


def on_platform(env: Mapping[str, str]) -> bool:
    """True on Heroku (``DYNO``) or Fly.io (``FLY_APP_NAME``)."""
    return platform_name(env) is not None


def replica_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """Replica settings that are each fine but wrong together."""
    problems = {}
    primary = values.get("DATABASE_URL") or ""
    if values.get("DATABASE_REPLICA_URL") and not primary.startswith("postgresql"):
        problems["DATABASE_REPLICA_URL"] = "replicas need a PostgreSQL DATABASE_URL"
    window = values.get("READ_YOUR_WRITES_SECONDS")
    lag, interval = values.get("REPLICA_MAX_LAG"), values.get("REPLICA_CHECK_INTERVAL")
    # A replica passed as current may fall behind until its next check; the
    # writer must stay on the primary at least that long to see their write.
    if window and lag and interval and window < lag + interval:
        problems["READ_YOUR_WRITES_SECONDS"] = (
            "must be at least REPLICA_MAX_LAG + REPLICA_CHECK_INTERVAL "
            f"({lag + interval}), got {window}"
        )
    return problems


def read_settings(
    env: Mapping[str, str], instance_path: str = "instance", testing: bool = False
) -> dict[str, Any]:
    """Every setting of the table by name; every bad one in one ConfigError."""
    try:
        debug = parse_bool(env.get("FLASK_DEBUG", ""))
    except ValueError:
        debug = False  # reported by the walk below
    context = Context(platform_name(env), debug or testing, instance_path)
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for setting in SETTINGS:
        try:
            values[setting.name] = setting.read(env, context)
        except ValueError as error:
            problems[setting.name] = str(error)
    sender = values.get("MAIL_DEFAULT_SENDER") or ""
    if values.get("MAIL_SERVER") and "@" not in sender:
        problems["MAIL_DEFAULT_SENDER"] = f"{sender!r} is not an e-mail address"
    problems.update(replica_problems(values))
    if problems:
        raise ConfigError(problems)
    return values


def normalise_database_url(raw: str, heroku: bool = False) -> str:
    """:func:`database_url`, refusing a bad URL as a ConfigError."""
    try:
        return database_url(raw, heroku)
    except ValueError as error:
        raise ConfigError({"DATABASE_URL": str(error)}) from None


@dataclass(frozen=True)
class DatabaseUrls:
    """Which URL each kind of process uses, and whether a pooler is in between."""

    app: str  # web and worker processes
    # ``flask db`` and the release step; None: the app's own URL.
    migrations: str | None
    pooled: bool


def database_urls(values: Mapping[str, Any], env: Mapping[str, str]) -> DatabaseUrls:
    """Web traffic may go through a transaction-mode pooler; migrations never need to.

    Heroku's Connection Pooling adds ``DATABASE_CONNECTION_POOL_URL`` beside a
    direct ``DATABASE_URL``; Fly's Managed Postgres, Supabase and Neon hand out a
    pooled ``DATABASE_URL``, and the deployer adds ``DATABASE_DIRECT_URL``.
    """
    pool_url = values["DATABASE_CONNECTION_POOL_URL"]
    app_url = pool_url or values["DATABASE_URL"]
    migrations = values["DATABASE_DIRECT_URL"] or (
        values["DATABASE_URL"] if pool_url else None
    )
    pooled = values["DATABASE_POOLED"]
    if pooled is None:
        raw = env.get("DATABASE_CONNECTION_POOL_URL") or env.get("DATABASE_URL", "")
        pooled = bool(pool_url) or looks_pooled(raw)
    return DatabaseUrls(app_url, migrations, pooled)


def engine_options(values: Mapping[str, Any], url: str) -> dict[str, Any]:
    """Connection pool per process, small because managed Postgres plans are."""
    if url.startswith("sqlite"):
        return {}
    options: dict[str, Any] = {
        "pool_size": values["DB_POOL_SIZE"],
        "max_overflow": values["DB_MAX_OVERFLOW"],
        "pool_recycle": values["DB_POOL_RECYCLE"],
        # No liveness ping (SELECT 1) before each checkout: it is one more
        # round trip per request. A connection the database dropped fails its
        # first statement instead; SQLAlchemy then discards every connection
        # of the pool made before that moment, a GET or HEAD runs once more on
        # a new one and any other request is answered 503
        # (microblog/ops/read_requests.py). pool_recycle retires connections
        # before a server or proxy's idle timeout closes them.
        "pool_pre_ping": False,
        "pool_timeout": values["DB_POOL_TIMEOUT"],
    }
    query = parse_qs(url.partition("?")[2])
    # Fail fast when the database is unreachable instead of hanging a worker.
    postgres_default = url.startswith("postgresql") and "connect_timeout" not in query
    if postgres_default or url.startswith("mysql"):
        options["connect_args"] = {"connect_timeout": 5}
    return options


def replay_region(values: Mapping[str, Any]) -> str | None:
    """The region writes are replayed in: PRIMARY_REGION, unless we run there."""
    primary, here = values["PRIMARY_REGION"], values["FLY_REGION"]
    return primary if primary and here and primary != here else None


def https_settings(force: bool) -> dict[str, Any]:
    """HTTPS enforcement and the cookie settings that follow from it.

    Flask's cookie names are fixed at start-up, so the choice is made here: with
    FORCE_HTTPS on (the default on a platform) the cookies are ``Secure`` and carry
    the ``__Host-`` prefix, which browsers accept only from HTTPS, for the whole
    site and without a ``Domain``: no subdomain can plant or overwrite them.
    """
    prefix = "__Host-" if force else ""
    return {
        "PREFERRED_URL_SCHEME": "https" if force else "http",
        "SESSION_COOKIE_SECURE": force,
        "SESSION_COOKIE_NAME": f"{prefix}session",
        "REMEMBER_COOKIE_SECURE": force,
        "REMEMBER_COOKIE_NAME": f"{prefix}remember_token",
    }


def rate_limit_settings(redis_url: str | None) -> dict[str, Any]:
    """Flask-Limiter's settings: shared through Redis when REDIS_URL is set."""
    storage = redis_url or "memory://"
    if storage.startswith("unix://"):
        storage = "redis+" + storage  # how the limits library names a Redis socket
    return {
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_timeout": 2, "socket_connect_timeout": 2} if redis_url else {}
        ),
        "RATELIMIT_KEY_PREFIX": "microblog",
        # Retry-After and X-RateLimit-* on limited endpoints.
        "RATELIMIT_HEADERS_ENABLED": True,
        # A lost Redis must not take sign-in down with it: the error is logged
        # and the request allowed (``flask deploy check`` tests the connection).
        "RATELIMIT_SWALLOW_ERRORS": True,
    }


def allowed_hosts(values: Mapping[str, Any]) -> list[str] | None:
    """Hosts the app answers for: TRUSTED_HOSTS, else SERVER_NAME's host, else any."""
    if values["TRUSTED_HOSTS"] is not None:
        return list(values["TRUSTED_HOSTS"])
    server_name = values["SERVER_NAME"]
    return [server_name.rsplit(":", 1)[0]] if server_name else None


def load_config(
    env: Mapping[str, str] | None = None,
    instance_path: str = "instance",
    testing: bool = False,
) -> dict[str, Any]:
    """Flask's config from the environment; every bad variable in one ConfigError.

    Development mode is ``FLASK_DEBUG=1`` (what ``flask run --debug`` sets); in it,
    and in tests, a missing ``SECRET_KEY`` is replaced by a random one.
    """
    env = os.environ if env is None else env
    values = read_settings(env, instance_path, testing)
    urls = database_urls(values, env)
    url = urls.app
    config = dict(values)
    config.update(
        {
            "DEBUG": values["FLASK_DEBUG"],
            "TESTING": testing,
            "ON_PLATFORM": on_platform(env),
            "PLATFORM": platform_name(env),
            # A key made up because none was set (development): sessions die on
            # restart.
            "SECRET_KEY_GENERATED": not env.get("SECRET_KEY", "").strip(),
            "SQLALCHEMY_DATABASE_URI": url,
            "DATABASE_MIGRATION_URI": urls.migrations,
            "DATABASE_IS_POOLED": urls.pooled,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(values, url),
            "TRUSTED_HOSTS": allowed_hosts(values),
            "FLY_REPLAY_REGION": replay_region(values),
            "MAX_CONTENT_LENGTH": 64 * 1024,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
            "WTF_CSRF_TIME_LIMIT": None,
        }
    )
    config.update(https_settings(values["FORCE_HTTPS"]))
    config.update(rate_limit_settings(values["REDIS_URL"]))
    return config


@dataclass(frozen=True)
class ServerSettings:
    """The settings gunicorn.conf.py uses."""

    port: int
    workers: int
    # pool_size + max_overflow; None for SQLite, which has no pool settings.
    database_connections: int | None
    forwarded_allow_ips: str
    log_level: str
    log_format: str


def server_settings(env: Mapping[str, str]) -> ServerSettings:
    """gunicorn's settings, after checking every setting of the table, so that a
    bad variable stops the master before any worker starts."""
    values = read_settings(env)
    pooled = not values["DATABASE_URL"].startswith("sqlite")
    return ServerSettings(
        port=values["PORT"],
        workers=values["WEB_CONCURRENCY"],
        database_connections=(
            values["DB_POOL_SIZE"] + values["DB_MAX_OVERFLOW"] if pooled else None
        ),
        forwarded_allow_ips=values["FORWARDED_ALLOW_IPS"],
        log_level=values["LOG_LEVEL"],
        log_format=values["LOG_FORMAT"],
    )


def load_environment(root: Path) -> None:
    """Load ``.env`` from the project root without overriding real variables.

    ``FLASK_SKIP_DOTENV=1`` turns this off, as it does for the ``flask`` command.
    """
    if os.environ.get("FLASK_SKIP_DOTENV", "").strip().lower() in TRUE_WORDS:
        return
    env_file = root / ".env"
    if env_file.is_file():
        load_dotenv(env_file, override=False)


def markdown_table() -> str:
    """The settings table of the docs, one row per setting, in table order."""
    rows = [
        "| variable | meaning | type | default | on Heroku/Fly |",
        "|---|---|---|---|---|",
    ]
    for setting in SETTINGS:
        shown_as = setting.kind.shown_as + (", secret" if setting.secret else "")
        cells = (f"`{setting.name}`", setting.meaning, shown_as, setting.default_text)
        rows.append("| " + " | ".join((*cells, setting.platform)) + " |")
    return "\n".join(rows) + "\n"


def main(arguments: list[str] | None = None) -> None:
    """``python -m microblog.config --markdown``: print the docs' settings table."""
    parser = argparse.ArgumentParser(
        prog="python -m microblog.config",
        description="The environment variables microblog reads.",
    )
    parser.add_argument(
        "--markdown", action="store_true", required=True, help="print the docs' table"
    )
    parser.parse_args(arguments)
    sys.stdout.write(markdown_table())


if __name__ == "__main__":
    main()
