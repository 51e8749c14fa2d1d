"""Hourly and daily roll-ups of observations, kept up to date by the maintenance role, read by the trends.

A trend samples "the newest reading in each interval" (measures.air); beyond RAW_SPAN it reads the roll-ups: per
(device, feed, hour or UTC day) the message count and the newest message. Raw rows may be gone there
(retention), and a week of hourly samples is then one index range per station instead of every message.

Refresh recomputes whole buckets from the raw rows (INSERT … SELECT … ON CONFLICT DO UPDATE, the same SQL on
SQLite and PostgreSQL; ts / n * n is the integer floor on both, and psycopg would read a `%` as a placeholder), so it may run again over the same hours: it starts a few hours before the newest bucket
it has made (LATE_MS), which takes in messages that arrive late. One later than that is in the raw rows but not
in its hour's roll-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
LATE_MS = 3 * HOUR_MS  # hours recomputed again on every refresh
CHUNK_MS = DAY_MS  # raw rows rolled up per statement on a first refresh of a long history
RAW_SPAN = timedelta(days=2)  # trends read raw rows this far back from their newest edge, roll-ups before

_HOURLY = (
    "INSERT INTO observation_hourly (device_id, feed, bucket, county_adcode, n, last_ts, last) "
    "SELECT g.device_id, g.feed, g.bucket, o.county_adcode, g.n, g.last_ts, o.data FROM "
    f"(SELECT device_id, feed, ts / {HOUR_MS} * {HOUR_MS} AS bucket, count(*) AS n, max(ts) AS last_ts "
    " FROM observations WHERE ts >= {lo} AND ts < {hi} "
    f" GROUP BY device_id, feed, ts / {HOUR_MS} * {HOUR_MS}) g "
    "JOIN observations o ON o.device_id = g.device_id AND o.feed = g.feed AND o.ts = g.last_ts "
    "WHERE o.ts >= {lo} AND o.ts < {hi} "  # lets PostgreSQL prune the join to the same partitions
    "ON CONFLICT (device_id, feed, bucket) DO UPDATE SET county_adcode = excluded.county_adcode, "
    "n = excluded.n, last_ts = excluded.last_ts, last = excluded.last"
)
_DAILY = (
    "INSERT INTO observation_daily (device_id, feed, bucket, county_adcode, n, last_ts, last) "
    "SELECT g.device_id, g.feed, g.bucket, h.county_adcode, g.n, g.last_ts, h.last FROM "
    f"(SELECT device_id, feed, bucket / {DAY_MS} * {DAY_MS} AS bucket, sum(n) AS n, max(last_ts) AS last_ts "
    " FROM observation_hourly WHERE bucket >= {lo} AND bucket < {hi} "
    f" GROUP BY device_id, feed, bucket / {DAY_MS} * {DAY_MS}) g "
    "JOIN observation_hourly h ON h.device_id = g.device_id AND h.feed = g.feed "
    f"AND h.bucket = g.last_ts / {HOUR_MS} * {HOUR_MS} "
    "WHERE true "  # SQLite's upsert after a SELECT needs a WHERE to parse ON CONFLICT
    "ON CONFLICT (device_id, feed, bucket) DO UPDATE SET county_adcode = excluded.county_adcode, "
    "n = excluded.n, last_ts = excluded.last_ts, last = excluded.last"
)


@dataclass(frozen=True)
class Refreshed:
    """What a refresh recomputed: the hours [first, end) in epoch ms, and the rows it wrote."""

    first_ms: int | None
    end_ms: int
    hourly: int
    daily: int


def refresh(conn: Connection, now_ms: int, start_ms: int | None = None, span_ms: int | None = None) -> Refreshed:
    """Recompute the hourly roll-ups from LATE_MS before the newest made so far (from the oldest observation on a
    first run; from start_ms when given) up to the current hour, which is left out until it is over, or for at
    most span_ms; and the daily ones of the days touched. Refreshed.end_ms says how far it went: a caller that
    keeps its transactions short calls again from there until it reaches the current hour."""
    end = now_ms - now_ms % HOUR_MS
    if start_ms is not None:
        first = start_ms
    else:
        newest = conn.exec_driver_sql("SELECT max(bucket) FROM observation_hourly").scalar()
        if newest is not None:
            first = int(newest) - LATE_MS
        else:
            oldest = conn.exec_driver_sql("SELECT min(ts) FROM observations").scalar()
            if oldest is None:
                return Refreshed(None, end, 0, 0)
            first = int(oldest)
    first -= first % HOUR_MS
    if span_ms is not None:
        end = min(end, first + span_ms)
    if first >= end:
        return Refreshed(first, max(first, end), 0, 0)
    hourly = daily = 0
    for lo in range(first, end, CHUNK_MS):
        hi = min(lo + CHUNK_MS, end)
        hourly += conn.exec_driver_sql(_HOURLY.format(lo=lo, hi=hi)).rowcount or 0
    # The days touched, whole: a day's roll-up is made of its hours, the closed ones so far.
    day_lo, day_hi = first - first % DAY_MS, (end - 1) - (end - 1) % DAY_MS + DAY_MS
    for lo in range(day_lo, day_hi, CHUNK_MS):
        daily += conn.exec_driver_sql(_DAILY.format(lo=lo, hi=lo + CHUNK_MS)).rowcount or 0
    return Refreshed(first, end, hourly, daily)
