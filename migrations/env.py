"""Alembic environment: runs against the application's engine and metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
engine = target_db.get_engine()
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def _options():
    return {
        "target_metadata": target_db.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        "render_as_batch": engine.dialect.name == "sqlite",
        "compare_type": True,
    }


def run_migrations_offline():
    """Emit SQL without a database connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **_options()
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations on the application's engine."""

    def process_revision_directives(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it (batch mode) and dropping the original;
            # with foreign keys enforced, that DROP fails as soon as another table's rows
            # refer to it (e.g. ``db downgrade base`` with the demo data loaded). SQLite's
            # own procedure for ALTER TABLE: switch the checks off outside the transaction,
            # migrate, run foreign_key_check, switch them on again.
            _sqlite_foreign_keys(connection, on=False)
        try:
            context.configure(
                connection=connection,
                process_revision_directives=process_revision_directives,
                **_options(),
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on):
    """Switch SQLite's foreign-key checks on or off (a no-op inside a transaction)."""
    if connection.in_transaction():
        connection.commit()
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
