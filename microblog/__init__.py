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

    # Imported here, not at the top: ``import microblog`` (gunicorn.conf.py,
    # the migration lock) must not load the whole app.
    from microblog import api, commands, i18n, jobs, security
    from microblog.auth import bp as auth_bp
    from microblog.errors import handlers
    from microblog.extensions import csrf, db, login, migrate
    from microblog.main import bp as main_bp
    from microblog.ops import db_session, fly_replay, logs, probes, read_requests
    from microblog.replicas import routing
    from microblog.web import compression, static_files, templating

    # First, so that everything below logs through the configured handler.
    logs.init_app(app)
    # Its after-request hook runs last (Flask runs them in reverse order), on
    # the finished page.
    compression.init_app(app)
    # Before every other request hook: a request replayed elsewhere does no work here.
    fly_replay.init_app(app)
    db.init_app(app)
    # After Flask-SQLAlchemy: teardowns run last-registered first.
    db_session.init_app(app)
    read_requests.init_app(app)
    routing.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    jobs.init_app(app)

    api.init_app(app)  # at /api
    app.register_blueprint(probes.bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(main_bp)
    templating.init_app(app)
    handlers.init_app(app)
    commands.init_app(app)

    # WSGI layers, each wrapping the ones before it: static files innermost,
    # then headers, host check and HTTPS around everything the app serves.
    static_files.init_app(app)
    security.init_app(app)
    # Around those, so that every layer sees the client's address and scheme,
    # trusting X-Forwarded-* only from as many proxies as are really in front.
    if hops := app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    # Outermost, so that ProxyFix and everything after it see plain IPv4.
    app.wsgi_app = UnmapIPv4(app.wsgi_app)  # type: ignore[method-assign]
    return app


def __getattr__(name: str) -> Any:
    # PEP 562: build the app only when someone asks for ``microblog.app``.
    global _lazy_app
    if name == "app":
        if _lazy_app is None:
            _lazy_app = create_app()
        return _lazy_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
