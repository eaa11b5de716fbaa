"""Opening the registry's database: SQLite in the state directory by default (WAL mode), or any
SQLAlchemy URL (PostgreSQL: ``postgresql://user:pass@host/db``); the schema is brought to the
newest migration at every start."""
import os

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
DEFAULT_FILE = "registry.sqlite"


def default_url(state_dir: str) -> str:
    return "sqlite:///" + os.path.join(os.path.abspath(state_dir), DEFAULT_FILE)


def safe_url(url: str) -> str:
    """The URL for logs and answers: never the password."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(connection, record):
    cursor = connection.cursor()
    # WAL: readers never wait for the writer; NORMAL: a commit survives a killed process
    # (only a power cut can lose the last transactions), at a fraction of FULL's fsyncs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_engine(url: str):
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return create_engine(parsed, pool_pre_ping=True)


def migrate(engine) -> None:
    """Create or upgrade the schema (alembic, registry/migrations/versions)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
