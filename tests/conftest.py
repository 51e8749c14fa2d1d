"""Shared fixtures: the store on SQLite and on a real PostgreSQL, real Mosquitto and Redis servers, the clock."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

import clock
from layers.figure import validate_traces
from store import make_engine, migrate
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


def new_pg_database(pg: Postgres) -> str:
    """Create an empty database on the cluster and return its URL."""
    name = f"zq_test_{next(_db_names)}"
    admin = make_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: every store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zq.sqlite3'}"
    return new_pg_database(request.getfixturevalue("postgres"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database."""
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


def pytest_report_header() -> str:
    """Which clock the run is on: the machine's, or one started at ZQ_CLOCK_START."""
    return f"clock: {clock.process_clock()!r}"
