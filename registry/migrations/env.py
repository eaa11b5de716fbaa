"""Alembic environment: run by registry.database.migrate() with an open connection (or, for
`alembic` on the command line, a URL in sqlalchemy.url)."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from registry.schema import metadata

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as opened:
        run(opened)
