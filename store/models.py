"""Typed SQLAlchemy 2 models of the store: devices, observations, events, grid cells, KPIs, dead letters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; SQLite keeps no offset, so it is re-attached on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Refuse naive datetimes and normalise to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; timestamps must carry an offset")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: a fixed naive-UTC form keeps ordering right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Return aware UTC datetimes whatever the backend."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EpochMs(TypeDecorator[datetime]):
    """Aware datetimes stored as integer milliseconds since the epoch, for the high-volume tables.

    Integers bind and compare without string formatting on SQLite and keep rows small; the ingest
    path writes them directly (store.writes.epoch_ms).
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | int | None, dialect: Any) -> int | None:
        """Refuse naive datetimes; pass integers through."""
        if value is None or isinstance(value, int):
            return value
        return epoch_ms(value)

    def process_result_value(self, value: int | None, dialect: Any) -> datetime | None:
        """Aware UTC datetime of the stored milliseconds."""
        return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; timestamps must carry an offset")
    return int(value.timestamp() * 1000)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for long series.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every table of the store."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def table_of(model: type[Base]) -> Table:
    """A model's table (SQLAlchemy types __table__ as any FROM clause; a declarative model's is a Table)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


class Device(Base):
    """A device that reports: a video point, a road-weather or a fire-risk station."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(128))
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    declared_adcode: Mapped[str] = mapped_column(String(6))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    attrs: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (
        Index("ix_devices_county_kind", "county_adcode", "kind"),
        Index("ix_devices_kind_last_seen", "kind", "last_seen"),
    )


class Observation(Base):
    """One message of one device: its time and all its measured values (a wide row, JSON values).

    One row per message rather than per value: ingest writes six times fewer rows (see `make bench`), and
    a device's history of one metric is still one indexed range read (`Observation.data["m"].as_float()`).
    """

    __tablename__ = "observations"

    # On PostgreSQL the table is partitioned by day on ts (store.partitions) and its primary key is (id, ts), since
    # a partitioned table's keys must hold the partition key; SQLite keeps id alone (its only auto-increment).
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(32))
    feed: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(EpochMs())
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    data: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))

    __table_args__ = (
        # The only index, and unique, so a redelivered message (MQTT QoS 1 after a reconnect) is stored once.
        UniqueConstraint("device_id", "feed", "ts", name="uq_observations_device_feed_ts"),
    )


class _Rollup:
    """Columns of a roll-up of observations: per (device, feed, bucket), how many messages and the newest one.

    The trends sample "the newest reading in each interval"; beyond a few days they read these instead of the
    raw rows (store.rollups), which retention may have dropped.
    """

    device_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(EpochMs(), primary_key=True)  # start of the hour or UTC day
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    n: Mapped[int] = mapped_column(Integer)  # messages in the bucket
    last_ts: Mapped[datetime] = mapped_column(EpochMs())  # time of the newest message in the bucket
    last: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))  # its values


class ObservationHourly(_Rollup, Base):
    """Observations rolled up by hour."""

    __tablename__ = "observation_hourly"


class ObservationDaily(_Rollup, Base):
    """Observations rolled up by UTC day."""

    __tablename__ = "observation_daily"


class LatestValue(Base):
    """The newest value of each (device, metric), kept so panels never scan history."""

    __tablename__ = "latest_values"

    device_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    feed: Mapped[str] = mapped_column(String(32))
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    ts: Mapped[datetime] = mapped_column(EpochMs())
    value: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_latest_feed_county", "feed", "county_adcode"),)


# What a replay reads of a case besides its times (store.drill_queries.events_as_of), in the report-time index.
REPLAY_COLUMNS = ("updated_at", "step", "id", "kind", "category", "subcategory", "county_adcode", "lon", "lat")


class GridEvent(Base):
    """A digital-urban-management case (部件/事件) and where it is in the seven-step workflow."""

    __tablename__ = "grid_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    declared_adcode: Mapped[str] = mapped_column(String(6))
    grid_code: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(32))
    subcategory: Mapped[str | None] = mapped_column(String(48))
    description: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    step: Mapped[int] = mapped_column(Integer)
    reported_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_grid_events_open_county", "closed_at", "county_adcode"),
        Index("ix_grid_events_updated", "updated_at"),
        # Replaying a period reads events by report time, for the city or one county. closed_at rides along so
        # "open at that moment" (replay) is answered from the index: 173 → 85 ms for the city on 200,000 cases
        # (SQLite); and all a replay draws, so a city's ~9,000 rows are read from the index alone without a row
        # lookup each (57 → 40 ms, `make bench`, drill).
        Index("ix_grid_events_reported", "reported_at", "closed_at", *REPLAY_COLUMNS),
        Index("ix_grid_events_county_reported", "county_adcode", "reported_at", "closed_at"),
    )


class GridEventStep(Base):
    """One step an event passed, with when and who: the case history."""

    __tablename__ = "grid_event_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), ForeignKey("grid_events.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("event_id", "step", name="uq_grid_event_steps_event_step"),
        # A replay asks each case updated since the replayed moment for its highest step by then: with ts in
        # the index that is read from the index alone (a city step: 77 → 57 ms CPU on SQLite, `make bench`).
        Index("ix_grid_event_steps_event_step_ts", "event_id", "step", "ts"),
        Index("ix_grid_event_steps_ts", "ts", "event_id"),  # a replay step: the cases whose step changed
    )


class GridCell(Base):
    """A grid cell (网格) of the county drill-down: imported from the city's grid file or generated H3."""

    __tablename__ = "grid_cells"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    county_adcode: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # 'imported' or 'generated'
    # GeoJSON geometry, coordinates rounded to 6 decimals (~0.1 m): the map draws it as it is.
    geojson: Mapped[str] = mapped_column(Text)
    # A point inside the cell (not the centroid, which can fall outside), for its label and clicks.
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    area_km2: Mapped[float] = mapped_column(Float)
    imported_at: Mapped[datetime]


class KpiMetric(Base):
    """A KPI value: metric key, region (adcode), time, value."""

    __tablename__ = "kpi_metrics"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("key", "region", "ts", name="uq_kpi_metrics_key_region_ts"),)


class DeadLetter(Base):
    """An input that failed decoding or validation, kept verbatim with its reason."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # sha256 of topic and payload: a redelivered or repeated bad message is one row with a count.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime]
    last_received_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=1)
    topic: Mapped[str] = mapped_column(String(256))
    feed: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # its first DEAD_LETTER_KEEP bytes (store.writes)
    reason: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # the whole payload's size, in bytes

    __table_args__ = (Index("ix_dead_letters_received", "received_at"),)


class FeedStatus(Base):
    """Per-feed counters and the time of its last good message, updated per batch."""

    __tablename__ = "feed_status"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_message_at: Mapped[datetime | None]
    last_received_at: Mapped[datetime | None]
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    dead_letters: Mapped[int] = mapped_column(BigInteger, default=0)


class User(Base):
    """Someone who signs in: a leader, a theme owner (for some themes) or an admin; walls use a token."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # wall, leader, owner, admin
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)  # an owner's themes
    # The counties (adcodes) a county-level user sees; empty or NULL: the whole city.
    counties: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class ThemeVersion(Base):
    """One saved version of a theme file: its text, who saved it and when."""

    __tablename__ = "theme_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    theme_key: Mapped[str] = mapped_column(String(64))  # a theme, or a county override: <theme>@<adcode>
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("theme_key", "version", name="uq_theme_versions_key_version"),)


class AuditEntry(Base):
    """Who did what to which thing, and when: every write through the admin API."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
    allowed: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class Alarm(Base):
    """An alarm raised by a rule for one source (a device, a feed, a region): active → acknowledged → cleared.

    One alarm per (rule, source) is open at a time; a replayed message finds it (or, once cleared, is older than
    what the rule has seen) and adds nothing. The message that opened it is unique per (rule, source, opened_at).
    """

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(96))  # <theme>/<rule id>
    kind: Mapped[str] = mapped_column(String(32))  # the rule's kind: threshold, absence, fog …
    theme: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(128))  # what it is about: a device id, a feed, a region
    source_name: Mapped[str | None] = mapped_column(String(128))
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    severity: Mapped[int] = mapped_column(Integer)  # 1 blue, 2 yellow, 3 orange, 4 red (critical: takes the wall)
    state: Mapped[str] = mapped_column(String(16))  # active, acknowledged, cleared
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[datetime]  # time of the data that raised it
    last_at: Mapped[datetime]  # time of the newest data that kept it up
    count: Mapped[int] = mapped_column(Integer, default=1)  # readings that met the condition while open
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(64))  # "auto" when the condition ended
    escalated_at: Mapped[datetime | None]
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    silenced: Mapped[bool] = mapped_column(default=False)
    case_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("rule", "source", "opened_at", name="uq_alarms_rule_source_opened"),
        Index("ix_alarms_open", "cleared_at", "severity"),
        Index("ix_alarms_rule_source", "rule", "source"),
    )


class Silence(Base):
    """A silence: alarms matching it are still recorded, but neither notify nor take over the wall."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str | None] = mapped_column(String(96))  # None: any rule
    source: Mapped[str | None] = mapped_column(String(128))  # None: any source
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class Case(Base):
    """A case of the seven-step workflow (CJJ/T 106), opened from an alarm or a grid event, with its SLA clock."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))  # alarm, grid_event
    origin_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(32))
    subcategory: Mapped[str | None] = mapped_column(String(48))
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    department: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(8))  # 市, 县, 镇, 村: who handles it
    step: Mapped[int] = mapped_column(Integer)  # 1 信息收集 … 7 综合评价
    opened_at: Mapped[datetime]
    limit_hours: Mapped[float | None] = mapped_column(Float)  # working hours the subcategory allows
    deadline_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("origin", "origin_id", name="uq_cases_origin"),
        Index("ix_cases_open", "closed_at", "deadline_at"),
        Index("ix_cases_opened_at", "opened_at"),  # the evaluation reads the cases of a period
    )


class CaseStep(Base):
    """A step a case passed: when, who, and a note."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(40), ForeignKey("cases.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("case_id", "step", name="uq_case_steps_case_step"),
                      Index("ix_case_steps_step_at", "step", "at"))  # cases reported (step 1) in a period


class Delivery(Base):
    """One outbound notification (a webhook call) and its attempts: kept whether it succeeded or not."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int | None] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(16))  # raised, escalated, cleared
    target: Mapped[str] = mapped_column(String(64))  # the rule's or department's name for the hook
    url: Mapped[str] = mapped_column(String(500))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_deliveries_pending", "status", "next_at"),)


class IngestLog(Base):
    """What each committed ingest batch stored, in commit order: the alert role reads it by cursor.

    Written in the batch's own transaction (store.ingest_log.append), so a batch is in the log exactly when its
    data is in the store; `seq` grows in commit order (see store.ingest_log for how, on PostgreSQL too).
    """

    __tablename__ = "ingest_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]  # when the batch was written
    messages: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # orjson: the batch's readings, KPIs and grid events


class Cursor(Base):
    """How far a reader of the ingest log has got: moved in the same transaction as what it wrote."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class Lease(Base):
    """Who leads a singleton role (alerts, notify, poll, simulate) and until when, on the database's clock.

    The epoch grows with each new holder: a write fenced by (holder, epoch) fails once another took over.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    epoch: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[float] = mapped_column(Float)  # Unix seconds on the database server's clock
    acquired_at: Mapped[float] = mapped_column(Float)


class ProcessRow(Base):
    """A process of the cluster, as it last said: its roles and counters, renewed every few seconds."""

    __tablename__ = "processes"

    holder: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid:random, as in leases
    roles: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)  # leases led, ingest counters, the judge's cursor


class UserSession(Base):
    """A signed-in session, kept in the store so that signing out, deactivating a user or changing a password ends
    it everywhere (the browser's cookie only names it)."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, the cookie carries it
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_user_sessions_username", "username"),)


class SignInAttempt(Base):
    """One attempt to sign in (a password or a wall token), counted to throttle guessing per user and address."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_sign_in_attempts_user", "username", "at"),
                      Index("ix_sign_in_attempts_address", "address", "at"))


class Briefing(Base):
    """A daily briefing (运行日报) of the city or one county: the PDF itself, kept with its history.

    `key` makes a scheduled briefing once per (day, region) however many processes try (schedule:<day>:<region>);
    one made on demand has a key of its own, so any number of them are kept."""

    __tablename__ = "briefings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    day: Mapped[date] = mapped_column(Date)  # the city's calendar day it covers
    region: Mapped[str] = mapped_column(String(6))  # the city's adcode or a county's
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, demand
    lang: Mapped[str] = mapped_column(String(4), default="zh")
    state: Mapped[str] = mapped_column(String(16))  # making, ready, failed
    started_at: Mapped[datetime]
    made_at: Mapped[datetime | None]  # when it was ready (or failed)
    covers_to: Mapped[datetime]  # the end of what it covers: the day's end, or the moment it was asked for
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    render_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_briefings_region_day", "region", "day"),)
