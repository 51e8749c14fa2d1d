"""Shared fixtures: the store on SQLite and on a real PostgreSQL, real Mosquitto and Redis servers, the clock."""

from __future__ import annotations

import atexit
import functools
import hashlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

import clock
from layers.figure import validate_traces
from store import make_engine, migrate
from store.db import MIGRATIONS
from tests.servers import Mosquitto, Postgres, Redis, mosquitto_broker, postgres_cluster, redis_server

_db_names = itertools.count()

# With ZQ_CLOCK_START set (CI runs the time-dependent tests again at other moments), every process the tests
# start inherits this process's timeline exactly: the anchor is set once, here, before any of them starts.
if os.environ.get(clock.START_VAR) and not os.environ.get(clock.ANCHOR_VAR):
    os.environ.update(clock.process_clock().environment())


@pytest.fixture(scope="session", autouse=True)
def validated_traces() -> Iterator[None]:
    """Every trace built in a test is checked by plotly (serving skips it for speed, see layers/figure.py)."""
    validate_traces(True)
    yield
    validate_traces(False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL cluster for the whole run."""
    with postgres_cluster() as pg:
        yield pg


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """One Mosquitto broker for the whole run."""
    with mosquitto_broker() as broker:
        yield broker


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    """One Redis server for the whole run."""
    with redis_server() as server:
        yield server


def new_pg_database(pg: Postgres, template: str | None = None) -> str:
    """Create a database on the cluster, empty or a copy of `template`, and return its URL."""
    name = f"zq_test_{next(_db_names)}"
    admin = make_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return pg.url(name)


def migrations_digest() -> str:
    """A hash of the migrations' files: a template made by other migrations has another name, and is not used."""
    h = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        h.update(path.relative_to(MIGRATIONS).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


@pytest.fixture(scope="session")
def pg_template(postgres: Postgres) -> str:
    """One database migrated to head per run; each test's database is a copy (CREATE DATABASE … TEMPLATE), which
    takes a tenth of running the migrations again."""
    name = f"zq_template_{migrations_digest()}"
    admin = make_engine(postgres.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            eng = make_engine(postgres.url(name))
            migrate(eng)
            eng.dispose()  # a template is copied only while nobody is connected to it
    admin.dispose()
    return name


class PgCopies:
    """Copies of the template made one ahead, in a thread: the next test's database is copied while this test runs."""

    def __init__(self, pg: Postgres, template: str) -> None:
        self.pg, self.template = pg, template
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="pg-copy")
        self.ahead = self.pool.submit(new_pg_database, pg, template)

    def take(self) -> str:
        """A fresh copy's URL; the next is started."""
        try:
            url = self.ahead.result()
        except Exception:  # noqa: BLE001 - the cluster was stopped while it copied (a fault test): copy now
            url = new_pg_database(self.pg, self.template)
        self.ahead = self.pool.submit(new_pg_database, self.pg, self.template)
        return url


@pytest.fixture(scope="session")
def pg_copies(postgres: Postgres, pg_template: str) -> Iterator[PgCopies]:
    """The run's supply of migrated PostgreSQL databases."""
    copies = PgCopies(postgres, pg_template)
    yield copies
    copies.pool.shutdown(wait=True)  # before the cluster stops


@functools.cache
def _sqlite_template() -> Path:
    """One SQLite file migrated to head per run (per process), its write-ahead log folded in."""
    folder = Path(tempfile.mkdtemp(prefix="zq-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / f"zq_template_{migrations_digest()}.sqlite3"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


def migrated_sqlite(path: Path) -> str:
    """A SQLite store at `path`, at the schema's head (a copy of the run's template), as a URL: an app started on
    it finds nothing to migrate (a copy takes a millisecond, the migrations 0.1-0.4 s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template(), path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database at the schema's head, a copy of the run's template: every store test runs on SQLite and on
    PostgreSQL, each on its own database."""
    if request.param == "sqlite":
        return migrated_sqlite(tmp_path / "zq.sqlite3")
    return request.getfixturevalue("pg_copies").take()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh migrated database (db_url's copy of the template)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def pytest_report_header() -> str:
    """Which clock the run is on: the machine's, or one started at ZQ_CLOCK_START."""
    return f"clock: {clock.process_clock()!r}"
