"""Opening the registry's database: SQLite in the state directory by default (WAL mode), or any
SQLAlchemy URL (PostgreSQL: ``postgresql://user:pass@host/db``); the schema is brought to the
newest migration at every start."""
import os

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
DEFAULT_FILE = "registry.sqlite"
DAMAGED = ("malformed", "not a database", "corrupt")   # SQLite's words for a damaged file


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


def sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (absolute), None for other engines or in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return os.path.abspath(parsed.database)


def unusable(url: str, error) -> str | None:
    """What to tell an operator when ``error`` (a SQLAlchemy DatabaseError, an OSError) means
    the database cannot be used until someone acts; None when waiting may help (a server that
    is not up yet, a SQLite file locked for a moment) or when it is not the database's fault."""
    reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200]
    path = sqlite_file(url)
    if path is None:
        if isinstance(error, OperationalError):
            return None
        return (f"the database {safe_url(url)} refuses the registry ({reason}); check the "
                "user's rights on it, or give another --database")
    if "locked" in reason or "busy" in reason:
        return None
    if isinstance(error, OSError) or isinstance(error, OperationalError):
        return (f"cannot use the database file {path} ({reason}): check that it is a file "
                "that this user may read and write, in a directory it may write, on a disk "
                "with free space")
    if not any(sign in reason for sign in DAMAGED):
        return None
    return (f"the database file {path} is damaged ({reason}): stop the registry, move the "
            f"file aside (mv {path} {path}.damaged) and start the registry again to begin a "
            "new, empty history, or put back a copy you kept; see docs/registry.md")


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
