"""microblog: a Flask social app shaped for production from the first commit.

``create_app()`` builds the application; nothing runs at import time. The
attribute ``app`` is built lazily on first access, so that the Mega-Tutorial's
``gunicorn microblog:app`` works beside the factory form
``gunicorn 'microblog:create_app()'``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from microblog.ops.peer import UnmapIPv4

__all__ = ["create_app"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_lazy_app: Flask | None = None


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment (or, in tests, from ``overrides``)."""
    # Imported here so that ``python -m microblog.config`` runs a module the
    # package has not imported already.
    from microblog.config import load_config, load_environment

    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    testing = bool(overrides and overrides.get("TESTING"))
    if not testing:
        load_environment(PROJECT_ROOT)
    env = {} if testing else os.environ
    app.config.update(load_config(env, app.instance_path, testing=testing))
    app.config.update(overrides or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        os.makedirs(app.instance_path, exist_ok=True)

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_commands(app)
    register_static(app)
    configure_security(app)
    configure_proxy(app)
    return app


def configure_logging(app: Flask) -> None:
    from microblog import logs

    logs.init_app(app)


def register_extensions(app: Flask) -> None:
    from microblog import i18n, jobs, sessions_teardown
    from microblog.extensions import csrf, db, login, migrate

    db.init_app(app)
    sessions_teardown.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    jobs.init_app(app)


def register_blueprints(app: Flask) -> None:
    from microblog import api
    from microblog.auth import bp as auth_bp
    from microblog.errors import bp as errors_bp
    from microblog.main import bp as main_bp
    from microblog.ops import bp as ops_bp

    api.init_app(app)  # at /api
    app.register_blueprint(errors_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(main_bp)


def register_template_helpers(app: Flask) -> None:
    from microblog import templating

    templating.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from microblog.errors import handlers

    handlers.init_app(app)


def register_commands(app: Flask) -> None:
    from microblog import cli

    cli.init_app(app)


def register_static(app: Flask) -> None:
    from microblog import static_files

    static_files.init_app(app)


def configure_security(app: Flask) -> None:
    """Headers, host check and HTTPS around everything, static files included."""
    from microblog import security

    security.init_app(app)


def configure_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* only from as many proxies as are really in front."""
    hops = app.config["PROXY_COUNT"]
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    # Outermost, so that ProxyFix and everything after it see plain IPv4.
    app.wsgi_app = UnmapIPv4(app.wsgi_app)  # type: ignore[method-assign]


def __getattr__(name: str) -> Any:
    # PEP 562: build the app only when someone asks for ``microblog.app``.
    global _lazy_app
    if name == "app":
        if _lazy_app is None:
            _lazy_app = create_app()
        return _lazy_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
