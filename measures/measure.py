"""What a measure is: one figure, defined once, and the points it gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from store.kpi_queries import KpiPoint

Point = KpiPoint  # one value at one time: the value a wall shows and the data time it carries
Grain = Literal["city", "county", "grid", "device"]

# A derived measure's reads: the newest value per region, and one value per interval (edges[i], edges[i+1]].
LatestFn = Callable[[Session, Sequence[str], datetime], dict[str, Point]]
SamplesFn = Callable[[Session, str, Sequence[datetime]], list[Point | None]]


@dataclass(frozen=True)
class Measure:
    """One figure, defined once: what it is called, its unit, where it comes from and how the city's value
    relates to the counties'."""

    key: str
    label_zh: str
    label_en: str
    unit: str
    kind: Literal["derived", "reported"]
    grains: tuple[Grain, ...] = ("city", "county")
    city_rule: str = ""  # how the city's figure is formed from the counties' (or that it is reported)
    feed: str | None = None  # the feed whose data time the figure carries (its freshness)
    source: str = ""  # how it is computed, in a sentence (shown by the editor and docs/measures.md)
    worse_high: bool = True  # a higher value is worse (AQI, open cases) or better (users, GDP)
    window: timedelta | None = None  # a station-judged figure: how old a reading may be and still count
    latest_fn: LatestFn | None = field(default=None, repr=False, compare=False)
    samples_fn: SamplesFn | None = field(default=None, repr=False, compare=False)
