"""Twelve-factor configuration: the only module that reads ``os.environ``.

Every setting is read and validated once, at start-up, into typed values that
the rest of the code reads from ``current_app.config``. A bad value raises
:class:`ConfigError`, whose message is one line naming the variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from dotenv import load_dotenv
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

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
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "postgresql+psycopg2": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
    "sqlite": "sqlite",
}


class ConfigError(SystemExit):
    """A bad setting. Uncaught, Python prints the message alone and exits 1."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")

    def __str__(self) -> str:
        return f"{self.variable}: {self.problem}"


def load_environment(root: Path) -> None:
    """Load ``.env`` from the project root without overriding real variables.

    ``FLASK_SKIP_DOTENV=1`` turns this off, as it does for the ``flask`` command.
    """
    if os.environ.get("FLASK_SKIP_DOTENV", "").lower() in TRUE_WORDS:
        return
    env_file = root / ".env"
    if env_file.is_file():
        load_dotenv(env_file, override=False)


def on_platform(env: Mapping[str, str]) -> bool:
    """True on Heroku (``DYNO``) or Fly.io (``FLY_APP_NAME``)."""
    return bool(env.get("DYNO") or env.get("FLY_APP_NAME"))


def parse_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def parse_int(
    env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def parse_choice(
    env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]
) -> str:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    folded = value.upper() if choices == LOG_LEVELS else value.lower()
    if folded not in choices:
        raise ConfigError(name, f"expected one of {', '.join(choices)}, got {raw!r}")
    return folded


def normalise_database_url(raw: str, heroku: bool = False) -> str:
    """Map the URLs platforms hand out to the drivers this project installs.

    SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3 and has no ``postgres``
    dialect at all, so both become ``postgresql+psycopg2://``. On Heroku, whose
    Postgres requires TLS, ``sslmode=require`` is added unless the URL says otherwise.
    """
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError("DATABASE_URL", "not a database URL") from None
    driver = DRIVERS.get(url.drivername)
    if driver is None:
        raise ConfigError(
            "DATABASE_URL",
            f"unsupported scheme {url.drivername!r} (use postgresql, mysql or sqlite)",
        )
    url = url.set(drivername=driver)
    if driver.startswith("mysql"):
        url = url.update_query_dict({"charset": "utf8mb4"})
    if driver.startswith("postgresql") and heroku and "sslmode" not in url.query:
        url = url.update_query_dict({"sslmode": "require"})
    if driver != "sqlite" and not url.database:
        raise ConfigError("DATABASE_URL", "names no database")
    return url.render_as_string(hide_password=False)


def read_secret_key(env: Mapping[str, str], lenient: bool) -> str:
    """The session-signing key; refused when missing or guessable in production."""
    key = env.get("SECRET_KEY", "").strip()
    if not key:
        if lenient:
            # Development only: a fresh key per process (sessions end on restart).
            return secrets.token_hex(32)
        raise ConfigError(
            "SECRET_KEY",
            "not set; generate one with: python -c "
            "'import secrets; print(secrets.token_hex(32))'",
        )
    if lenient:
        return key
    if key.lower() in PLACEHOLDER_SECRETS:
        raise ConfigError("SECRET_KEY", "is a placeholder; set a long random value")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            "SECRET_KEY", f"must be at least {MIN_SECRET_KEY_BYTES} bytes long"
        )
    return key


def read_hosts(env: Mapping[str, str]) -> list[str] | None:
    """Hosts the app answers for: TRUSTED_HOSTS, else SERVER_NAME's host, else any."""
    raw = env.get("TRUSTED_HOSTS", "").strip()
    if not raw:
        server_name = env.get("SERVER_NAME", "").strip()
        return [server_name.rsplit(":", 1)[0]] if server_name else None
    hosts = [host.strip() for host in raw.split(",") if host.strip()]
    for host in hosts:
        if "/" in host or " " in host:
            raise ConfigError("TRUSTED_HOSTS", f"{host!r} is not a host name")
    return hosts


def read_mail(env: Mapping[str, str]) -> dict[str, Any]:
    server = env.get("MAIL_SERVER", "").strip() or None
    sender = env.get("MAIL_DEFAULT_SENDER", "").strip() or "microblog@localhost"
    if server and "@" not in sender:
        raise ConfigError("MAIL_DEFAULT_SENDER", f"{sender!r} is not an e-mail address")
    return {
        "MAIL_SERVER": server,
        "MAIL_PORT": parse_int(env, "MAIL_PORT", 587, 1, 65535),
        "MAIL_USE_TLS": parse_bool(env, "MAIL_USE_TLS", True),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": sender,
    }


def read_redis_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("REDIS_URL", "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL", "must start with redis://, rediss:// or unix://")
    return raw


def platform_name(env: Mapping[str, str]) -> str | None:
    """``heroku`` or ``fly`` when running there, else None."""
    if env.get("DYNO"):
        return "heroku"
    if env.get("FLY_APP_NAME"):
        return "fly"
    return None


def read_https(env: Mapping[str, str], platform: bool) -> dict[str, Any]:
    """HTTPS enforcement and the cookie settings that follow from it.

    Flask's cookie names are fixed at start-up, so the choice is made here: with
    FORCE_HTTPS on (the default on a platform) the cookies are ``Secure`` and carry
    the ``__Host-`` prefix, which browsers accept only from HTTPS, for the whole
    site and without a ``Domain``: no subdomain can plant or overwrite them.
    """
    force = parse_bool(env, "FORCE_HTTPS", platform)
    prefix = "__Host-" if force else ""
    return {
        "FORCE_HTTPS": force,
        "PREFERRED_URL_SCHEME": "https" if force else "http",
        "SESSION_COOKIE_SECURE": force,
        "SESSION_COOKIE_NAME": f"{prefix}session",
        "REMEMBER_COOKIE_SECURE": force,
        "REMEMBER_COOKIE_NAME": f"{prefix}remember_token",
    }


def read_rate_limits(env: Mapping[str, str]) -> dict[str, Any]:
    """Flask-Limiter's settings: shared through Redis when REDIS_URL is set."""
    redis_url = read_redis_url(env)
    storage = redis_url or "memory://"
    if storage.startswith("unix://"):
        storage = "redis+" + storage  # how the limits library names a Redis socket
    return {
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": parse_bool(env, "RATELIMIT_ENABLED", True),
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


def read_silenced_checks(env: Mapping[str, str]) -> frozenset[str]:
    """Deploy-check problems the deployer has accepted, by name."""
    raw = env.get("DEPLOY_CHECK_SILENCE", "")
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    for name in names:
        if not name.replace("-", "").isalpha():
            raise ConfigError("DEPLOY_CHECK_SILENCE", f"{name!r} is not a check name")
    return names


def engine_options(env: Mapping[str, str], database_url: str) -> dict[str, Any]:
    """Connection pool per process, small because managed Postgres plans are."""
    if database_url.startswith("sqlite"):
        return {}
    options: dict[str, Any] = {
        "pool_size": parse_int(env, "DB_POOL_SIZE", 5, 1, 100),
        "max_overflow": parse_int(env, "DB_MAX_OVERFLOW", 2, 0, 100),
        # Fly's proxy drops idle connections after 10 minutes.
        "pool_recycle": parse_int(env, "DB_POOL_RECYCLE", 300, 1, 600),
        "pool_pre_ping": True,
        "pool_timeout": parse_int(env, "DB_POOL_TIMEOUT", 10, 1, 60),
    }
    query = parse_qs(database_url.partition("?")[2])
    # Fail fast when the database is unreachable instead of hanging a worker.
    postgres_default = database_url.startswith("postgresql") and (
        "connect_timeout" not in query
    )
    if postgres_default or database_url.startswith("mysql"):
        options["connect_args"] = {"connect_timeout": 5}
    return options


def load_config(
    env: Mapping[str, str] | None = None,
    instance_path: str = "instance",
    testing: bool = False,
) -> dict[str, Any]:
    """Read and validate every setting; raise :class:`ConfigError` on the first bad one.

    Development mode is ``FLASK_DEBUG=1`` (what ``flask run --debug`` sets); in it,
    and in tests, a missing ``SECRET_KEY`` is replaced by a random one.
    """
    env = os.environ if env is None else env
    platform = on_platform(env)
    debug = parse_bool(env, "FLASK_DEBUG", False)
    raw_url = env.get("DATABASE_URL", "").strip()
    if raw_url:
        database_url = normalise_database_url(raw_url, heroku=bool(env.get("DYNO")))
    else:
        sqlite_file = Path(instance_path) / "microblog.sqlite"
        database_url = URL.create(
            "sqlite", database=str(sqlite_file)
        ).render_as_string()
    config: dict[str, Any] = {
        "DEBUG": debug,
        "TESTING": testing,
        "ON_PLATFORM": platform,
        "PLATFORM": platform_name(env),
        "SECRET_KEY": read_secret_key(env, lenient=debug or testing),
        # A key made up because none was set (development): sessions die on restart.
        "SECRET_KEY_GENERATED": not env.get("SECRET_KEY", "").strip(),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(env, database_url),
        "PORT": parse_int(env, "PORT", 8000, 1, 65535),
        "PROXY_COUNT": parse_int(env, "PROXY_COUNT", 1 if platform else 0, 0, 5),
        "SERVER_NAME": env.get("SERVER_NAME", "").strip() or None,
        "TRUSTED_HOSTS": read_hosts(env),
        "LOG_LEVEL": parse_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        "LOG_FORMAT": parse_choice(
            env, "LOG_FORMAT", "json" if platform else "text", LOG_FORMATS
        ),
        "POSTS_PER_PAGE": parse_int(env, "POSTS_PER_PAGE", 25, 1, 100),
        "MAX_PAGE": parse_int(env, "MAX_PAGE", 1000, 1, 100_000),
        "LAST_SEEN_INTERVAL": parse_int(env, "LAST_SEEN_INTERVAL", 300, 0, 86_400),
        "RESET_TOKEN_MAX_AGE": parse_int(env, "RESET_TOKEN_MAX_AGE", 3600, 60, 86_400),
        "JOB_RETRIES": parse_int(env, "JOB_RETRIES", 3, 1, 10),
        "JOB_RETRY_DELAY": parse_int(env, "JOB_RETRY_DELAY", 10, 0, 3600),
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    config.update(read_mail(env))
    config.update(read_https(env, platform))
    config.update(read_rate_limits(env))
    config["DEPLOY_CHECK_SILENCE"] = read_silenced_checks(env)
    return config
