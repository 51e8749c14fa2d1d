"""Observations by day: PostgreSQL's native range partitions on ts, made ahead of time, and retention.

On PostgreSQL `observations` is partitioned by range of ts (integer epoch ms), one partition per UTC day named
observations_pYYYYMMDD, plus a DEFAULT partition: a message whose time falls outside the partitions made so far
(a device clock years off, or a day the maintenance role has not reached) is still stored, never refused; the
role moves such rows into their day's partition when it makes it. Retention drops whole day partitions, which
takes milliseconds whatever their size and leaves no dead rows to vacuum.

SQLite stays one table: retention there is a DELETE by range of ts (its unique (device_id, feed, ts) index does
not start with ts, so that DELETE scans the table; SQLite is the single-machine store of tens of days, not
months).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

DAY_MS = 86_400_000
PREFIX = "observations_p"
DEFAULT = "observations_default"
_NAME = re.compile(r"^observations_p(\d{8})$")


def day_floor(ms: int) -> int:
    """Start (epoch ms) of the UTC day holding ms."""
    return ms - ms % DAY_MS


def partition_name(day_ms: int) -> str:
    """observations_pYYYYMMDD of the UTC day starting at day_ms."""
    return PREFIX + datetime.fromtimestamp(day_ms / 1000, UTC).strftime("%Y%m%d")


def day_of(name: str) -> int | None:
    """Start (epoch ms) of a day partition's day from its name; None for any other table."""
    m = _NAME.match(name)
    if m is None:
        return None
    return int(datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=UTC).timestamp() * 1000)


def is_partitioned(conn: Connection) -> bool:
    """Whether observations is a partitioned table here (PostgreSQL after migration 0010)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql("SELECT relkind FROM pg_class WHERE oid = to_regclass('observations')").scalar()
    return kind == "p"


def day_partitions(conn: Connection) -> list[int]:
    """Starts (epoch ms) of the days that have a partition, oldest first."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass('observations')").scalars()
    return sorted(d for n in names if (d := day_of(n)) is not None)


def create_day_sql(day_ms: int) -> list[str]:
    """Statements that make one day's partition, moving the day's rows out of the DEFAULT partition first (a new
    partition may not overlap rows the DEFAULT one holds)."""
    name, hi = partition_name(day_ms), day_ms + DAY_MS
    where = f"ts >= {day_ms} AND ts < {hi}"
    return [
        f"CREATE TEMP TABLE zq_moving ON COMMIT DROP AS SELECT * FROM {DEFAULT} WHERE {where}",
        f"DELETE FROM {DEFAULT} WHERE {where}",
        f"CREATE TABLE {name} PARTITION OF observations FOR VALUES FROM ({day_ms}) TO ({hi})",
        "INSERT INTO observations SELECT * FROM zq_moving",
        "DROP TABLE zq_moving",
    ]


def ensure_days(conn: Connection, first_ms: int, last_ms: int) -> list[str]:
    """Make the day partitions from first_ms's day to last_ms's day that do not exist yet; their names."""
    have = set(day_partitions(conn))
    made = []
    day = day_floor(first_ms)
    while day <= last_ms:
        if day not in have:
            for statement in create_day_sql(day):
                conn.exec_driver_sql(statement)
            made.append(partition_name(day))
        day += DAY_MS
    return made


@dataclass(frozen=True)
class Dropped:
    """What retention removed: whole day partitions (PostgreSQL) and rows deleted one by one."""

    partitions: tuple[str, ...]
    rows: int


def drop_before(conn: Connection, cutoff_ms: int) -> Dropped:
    """Remove the observations older than cutoff_ms: on PostgreSQL whole days whose end is at or before it (a day
    straddling the cutoff is kept whole), on SQLite the rows before it."""
    if not is_partitioned(conn):
        n = conn.exec_driver_sql(f"DELETE FROM observations WHERE ts < {int(cutoff_ms)}").rowcount
        return Dropped((), n or 0)
    gone = []
    for day in day_partitions(conn):
        if day + DAY_MS <= cutoff_ms:
            conn.exec_driver_sql(f"DROP TABLE {partition_name(day)}")
            gone.append(partition_name(day))
    # The DEFAULT partition's rows go by the same whole days.
    n = conn.exec_driver_sql(f"DELETE FROM {DEFAULT} WHERE ts < {day_floor(int(cutoff_ms))}").rowcount
    return Dropped(tuple(gone), n or 0)


def not_a_partition(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's include_name: observations' partitions are made by this module, not by the models, so comparing
    the schema with the models (autogenerate, tests) leaves them out."""
    return not (type_ == "table" and name is not None and (name == DEFAULT or day_of(name) is not None))
