"""Typed SQLAlchemy 2 models of the store: devices, observations, events, KPIs, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
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


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for long series.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every table of the store."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


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

    __table_args__ = (Index("ix_devices_county_kind", "county_adcode", "kind"),)


class Observation(Base):
    """One measured value of one device at one time (long format: one row per metric)."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(32))
    feed: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(48))
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    county_adcode: Mapped[str | None] = mapped_column(String(6))

    __table_args__ = (
        Index("ix_observations_device_metric_ts", "device_id", "metric", "ts"),
        Index("ix_observations_feed_ts", "feed", "ts"),
    )


class LatestValue(Base):
    """The newest value of each (device, metric), kept so panels never scan history."""

    __tablename__ = "latest_values"

    device_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    feed: Mapped[str] = mapped_column(String(32))
    county_adcode: Mapped[str | None] = mapped_column(String(6))
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_latest_feed_county", "feed", "county_adcode"),)


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

    __table_args__ = (UniqueConstraint("event_id", "step", name="uq_grid_event_steps_event_step"),)


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
    received_at: Mapped[datetime]
    topic: Mapped[str] = mapped_column(String(256))
    feed: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_dead_letters_received", "received_at"),)


class FeedStatus(Base):
    """Per-feed counters and the time of its last good message, updated per batch."""

    __tablename__ = "feed_status"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_message_at: Mapped[datetime | None]
    last_received_at: Mapped[datetime | None]
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    dead_letters: Mapped[int] = mapped_column(BigInteger, default=0)
