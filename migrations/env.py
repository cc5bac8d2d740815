"""Alembic environment, run by ``flask db ...`` inside the app context."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from microblog.ops.migration_lock import migration_lock

config = context.config
# Keep the app's own loggers alive when Alembic configures logging.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
# DATABASE_DIRECT_URL (or Heroku's DATABASE_URL beside its pooling URL): the
# database without the pooler that web traffic goes through.
direct_url = current_app.config.get("DATABASE_MIGRATION_URI")


def migration_engine():
    """The direct database when one is set, else the app's own engine."""
    if not direct_url:
        return target_db.engine
    options = current_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    # One connection for one run: nothing to pool.
    return create_engine(
        direct_url, poolclass=NullPool, connect_args=options.get("connect_args", {})
    )


engine = migration_engine()
config.set_main_option(
    "sqlalchemy.url",
    engine.url.render_as_string(hide_password=False).replace("%", "%%"),
)


def run_migrations_offline():
    """Emit SQL to stdout (``flask db upgrade --sql``) without a connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def skip_empty_autogenerate(context, revision, directives):
    """Don't write a migration file when the models did not change."""
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def run_migrations_online():
    """Apply migrations over the app's own engine."""
    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    # Release processes that start together run one after the other: the
    # later ones find the schema at head and do nothing. Alembic is configured
    # inside the lock, so on PostgreSQL it joins the transaction holding it.
    with engine.connect() as connection, migration_lock(connection):
        context.configure(
            connection=connection, target_metadata=target_db.metadata, **conf_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
