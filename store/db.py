"""Engines and schema migrations: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).parent / "migrations"


def json_loads(raw: str | bytes) -> Any:
    """A JSON column's value: orjson (a county's 1,450 device messages: 13 → 4 ms), the standard library for what
    orjson refuses (NaN or Infinity, which json.dumps writes)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys, and its folder made."""
    kwargs.setdefault("json_deserializer", json_loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.pop("connect_args", {})
        # Dash serves callbacks from several threads; the pool hands each its own connection.
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA cache_size=-16384")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


# Any number to name the schema's advisory lock on PostgreSQL ("zqmg" in ASCII).
MIGRATE_LOCK = 0x7A716D67


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (head by default); safe to call on every start, by several processes at
    once (web workers, ingest and alerts starting together): one migrates, the others wait and find it done."""
    cfg = alembic_config()
    with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held to the end of this transaction, which is also the migration's (DDL is transactional there).
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, an exclusive lock on a file beside the database while migrating (its DDL does not run in a
    transaction that would serialise two migrating processes); elsewhere nothing."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}-migrate-lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None if it was never migrated."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def lock(session: Session, name: str) -> None:
    """Hold a lock named `name` until the caller's transaction ends, across threads, processes and servers.

    PostgreSQL: a transaction-scoped advisory lock on the name's hash. SQLite has a single writer: a write that
    changes nothing takes the database's write lock now (other writers wait out the busy timeout) instead of at
    the transaction's first real write, after reads that another writer could have made stale.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(key)))
    else:
        session.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 0 = 1"))


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session that sees the store as of one moment, whatever commits meanwhile: every panel, the map
    and the header of one wall tick read the same data, so two of them can never straddle an ingest commit.

    PostgreSQL: a REPEATABLE READ transaction. SQLite (WAL): a transaction begun before the first read (pysqlite
    starts none for a SELECT by itself), whose snapshot is taken at that read. Rolled back at the end.
    """
    postgres = engine.dialect.name == "postgresql"
    bind = engine.execution_options(isolation_level="REPEATABLE READ") if postgres else engine
    with Session(bind) as session:
        if not postgres:
            session.connection().exec_driver_sql("BEGIN")
        try:
            yield session
        finally:
            session.rollback()
