"""observations partitioned by day on PostgreSQL; hourly and daily roll-ups of observations

On PostgreSQL the existing table is renamed, a table partitioned by range of ts (one partition per UTC day that
has rows, the next days ahead, and a DEFAULT partition) takes its name, the rows are copied into it and the old
table is dropped. Its primary key becomes (id, ts) (a partitioned table's keys must hold the partition key); the
unique (device_id, feed, ts) that ingest's ON CONFLICT relies on is kept under its name. SQLite keeps one table.

The statements are written out here rather than imported from store.partitions, so this revision stays what it
was whatever that module becomes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 19:50:00
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DAY_MS = 86_400_000
AHEAD_DAYS = 3  # partitions made past today; the maintenance role keeps making them


def _name(day_ms: int) -> str:
    return "observations_p" + datetime.fromtimestamp(day_ms / 1000, UTC).strftime("%Y%m%d")


def _rollup(name: str) -> None:
    op.create_table(name,
    sa.Column('device_id', sa.String(length=32), nullable=False),
    sa.Column('feed', sa.String(length=32), nullable=False),
    sa.Column('bucket', store.models.EpochMs(), nullable=False),
    sa.Column('county_adcode', sa.String(length=6), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('last_ts', store.models.EpochMs(), nullable=False),
    sa.Column('last', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('device_id', 'feed', 'bucket')
    )


def upgrade() -> None:
    """Apply this revision."""
    _rollup('observation_hourly')
    _rollup('observation_daily')
    if op.get_bind().dialect.name != 'postgresql':
        return
    run = op.execute
    run("ALTER TABLE observations RENAME TO observations_old")
    run("ALTER TABLE observations_old RENAME CONSTRAINT observations_pkey TO observations_old_pkey")
    run("ALTER TABLE observations_old RENAME CONSTRAINT uq_observations_device_feed_ts TO uq_observations_old")
    run("CREATE TABLE observations ("
        " id BIGINT NOT NULL DEFAULT nextval('observations_id_seq'),"
        " device_id VARCHAR(32) NOT NULL, feed VARCHAR(32) NOT NULL, ts BIGINT NOT NULL,"
        " county_adcode VARCHAR(6), data JSONB NOT NULL,"
        " CONSTRAINT observations_pkey PRIMARY KEY (id, ts),"
        " CONSTRAINT uq_observations_device_feed_ts UNIQUE (device_id, feed, ts)"
        ") PARTITION BY RANGE (ts)")
    run("ALTER SEQUENCE observations_id_seq OWNED BY observations.id")
    run("CREATE TABLE observations_default PARTITION OF observations DEFAULT")
    bind = op.get_bind()
    lo, hi = bind.exec_driver_sql("SELECT min(ts), max(ts) FROM observations_old").one()
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    days = set(range(today - DAY_MS, today + (AHEAD_DAYS + 1) * DAY_MS, DAY_MS))
    if lo is not None:
        # Only the days that hold rows: a device clock off by years must not make thousands of partitions.
        days |= {d for (d,) in bind.exec_driver_sql(
            f"SELECT DISTINCT ts / {DAY_MS} * {DAY_MS} FROM observations_old "
            f"WHERE ts >= {today - 400 * DAY_MS} AND ts < {today + 30 * DAY_MS}")}
    for day in sorted(days):
        run(f"CREATE TABLE {_name(day)} PARTITION OF observations FOR VALUES FROM ({day}) TO ({day + DAY_MS})")
    run("INSERT INTO observations (id, device_id, feed, ts, county_adcode, data) "
        "SELECT id, device_id, feed, ts, county_adcode, data FROM observations_old")
    run("DROP TABLE observations_old")


def downgrade() -> None:
    """Undo this revision."""
    if op.get_bind().dialect.name == 'postgresql':
        run = op.execute
        run("ALTER TABLE observations RENAME TO observations_parted")
        run("ALTER TABLE observations_parted RENAME CONSTRAINT observations_pkey TO observations_parted_pkey")
        run("ALTER TABLE observations_parted RENAME CONSTRAINT uq_observations_device_feed_ts TO uq_observations_parted")
        run("CREATE TABLE observations ("
            " id BIGINT NOT NULL DEFAULT nextval('observations_id_seq'),"
            " device_id VARCHAR(32) NOT NULL, feed VARCHAR(32) NOT NULL, ts BIGINT NOT NULL,"
            " county_adcode VARCHAR(6), data JSONB NOT NULL,"
            " CONSTRAINT observations_pkey PRIMARY KEY (id),"
            " CONSTRAINT uq_observations_device_feed_ts UNIQUE (device_id, feed, ts))")
        run("ALTER SEQUENCE observations_id_seq OWNED BY observations.id")
        run("INSERT INTO observations SELECT id, device_id, feed, ts, county_adcode, data FROM observations_parted")
        run("DROP TABLE observations_parted")
    op.drop_table('observation_daily')
    op.drop_table('observation_hourly')
