"""Air quality index (AQI) per HJ 633-2012, with the edition a parameter and exact arithmetic.

Units: every concentration is µg/m³ except CO, which is mg/m³ (as in the standard's table).

Keys name a column of the standard's breakpoint table: pollutant plus averaging period,
e.g. ``"pm2_5_24h"``, ``"so2_1h"``, ``"o3_8h"`` (see :class:`Metric`). :func:`aqi` takes the
columns of one report and rejects others:

- ``averaging="24h"``, the daily report (日报): so2_24h, no2_24h, pm10_24h, co_24h, o3_1h,
  o3_8h, pm2_5_24h;
- ``averaging="1h"``, the real-time report (实时报): so2_1h, no2_1h, pm10_24h, co_1h, o3_1h,
  o3_8h, pm2_5_24h, plus so2_24h, which only stands in for so2_1h above 800.

Any non-empty subset may be given. HJ 633 gives PM10 and PM2.5 breakpoints for the 24 h
average only, so a real-time report also passes them under ``pm10_24h`` / ``pm2_5_24h``;
which value it passes there (the 1 h value or a 24 h moving average) is the caller's
reporting practice, not something this module decides.

The breakpoint tables of both editions live in one structure, :data:`EDITION_CHANGES` over
the 2012 table; the 2026 values are unverified.

Out-of-range and special-rule behaviour (documented once, here):

- A concentration above a column's top (IAQI 500) breakpoint gives IAQI 500, capped, and the
  sub-index is flagged ``beyond_scale`` so a panel can show "500+" / 爆表.
- SO2 1 h above 800 µg/m³ (note 2 of the table) has no IAQI of its own: the SO2 sub-index is
  the one computed from the SO2 24 h concentration. O3 8 h above 800 µg/m³ (note 3) likewise
  takes the IAQI computed from the O3 1 h concentration. Exactly 800 is still in the table.
  :func:`iaqi` takes that other concentration as ``substitute=`` and returns ``None`` when the
  rule applies and none was given; :func:`aqi` looks it up in the same mapping (``so2_24h`` /
  ``o3_1h``) and raises :class:`MissingSubstituteError` when it is absent.
- Negative, NaN or infinite concentrations raise ``ValueError``; ``None`` in the mapping given
  to :func:`aqi` means "not measured" and the metric is left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Literal, SupportsFloat

from pydantic import BaseModel, ConfigDict

from standards.colours import AQI_GREEN, AQI_MAROON, AQI_ORANGE, AQI_PURPLE, AQI_RED, AQI_YELLOW, Colour


class Edition(StrEnum):
    """Edition of the AQI technical regulation whose breakpoint table is used."""

    HJ633_2012 = "HJ633-2012"
    HJ633_2026 = "HJ633-2026"

    @property
    def verified(self) -> bool:
        """Whether this edition's table was checked against the published standard."""
        return self is Edition.HJ633_2012


DEFAULT_EDITION = Edition.HJ633_2012


class Metric(StrEnum):
    """A breakpoint-table column: pollutant and averaging period (CO in mg/m³, others µg/m³)."""

    SO2_24H = "so2_24h"
    SO2_1H = "so2_1h"
    NO2_24H = "no2_24h"
    NO2_1H = "no2_1h"
    PM10_24H = "pm10_24h"
    CO_24H = "co_24h"
    CO_1H = "co_1h"
    O3_1H = "o3_1h"
    O3_8H = "o3_8h"
    PM2_5_24H = "pm2_5_24h"

    @property
    def info(self) -> MetricInfo:
        """Pollutant, period, unit and display names of this column."""
        return METRIC_INFO[self]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """Display facts about one breakpoint-table column."""

    pollutant: str  # so2, no2, pm10, co, o3, pm2_5
    period: str  # 24h, 1h, 8h
    unit: str
    symbol: str  # as printed in reports, e.g. "PM2.5", "O3_8h"
    name_zh: str
    name_en: str


_UG = "µg/m³"
METRIC_INFO: Mapping[Metric, MetricInfo] = MappingProxyType(
    {
        Metric.SO2_24H: MetricInfo("so2", "24h", _UG, "SO2", "二氧化硫 24小时平均", "SO2 24-hour mean"),
        Metric.SO2_1H: MetricInfo("so2", "1h", _UG, "SO2", "二氧化硫 1小时平均", "SO2 1-hour mean"),
        Metric.NO2_24H: MetricInfo("no2", "24h", _UG, "NO2", "二氧化氮 24小时平均", "NO2 24-hour mean"),
        Metric.NO2_1H: MetricInfo("no2", "1h", _UG, "NO2", "二氧化氮 1小时平均", "NO2 1-hour mean"),
        Metric.PM10_24H: MetricInfo(
            "pm10", "24h", _UG, "PM10", "可吸入颗粒物 PM10 24小时平均", "PM10 24-hour mean"
        ),
        Metric.CO_24H: MetricInfo("co", "24h", "mg/m³", "CO", "一氧化碳 24小时平均", "CO 24-hour mean"),
        Metric.CO_1H: MetricInfo("co", "1h", "mg/m³", "CO", "一氧化碳 1小时平均", "CO 1-hour mean"),
        Metric.O3_1H: MetricInfo("o3", "1h", _UG, "O3_1h", "臭氧 1小时平均", "O3 1-hour mean"),
        Metric.O3_8H: MetricInfo("o3", "8h", _UG, "O3_8h", "臭氧 8小时滑动平均", "O3 8-hour moving mean"),
        Metric.PM2_5_24H: MetricInfo(
            "pm2_5", "24h", _UG, "PM2.5", "细颗粒物 PM2.5 24小时平均", "PM2.5 24-hour mean"
        ),
    }
)

# The IAQI value each row of the breakpoint table stands for.
IAQI_STEPS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)

# HJ 633-2012 Table 1, column by column (None: no breakpoint; notes (2)/(3) apply above).
_HJ633_2012: dict[Metric, tuple[int | None, ...]] = {
    Metric.SO2_24H: (0, 50, 150, 475, 800, 1600, 2100, 2620),
    Metric.SO2_1H: (0, 150, 500, 650, 800, None, None, None),
    Metric.NO2_24H: (0, 40, 80, 180, 280, 565, 750, 940),
    Metric.NO2_1H: (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    Metric.PM10_24H: (0, 50, 150, 250, 350, 420, 500, 600),
    Metric.CO_24H: (0, 2, 4, 14, 24, 36, 48, 60),
    Metric.CO_1H: (0, 5, 10, 35, 60, 90, 120, 150),
    Metric.O3_1H: (0, 160, 200, 300, 400, 800, 1000, 1200),
    Metric.O3_8H: (0, 100, 160, 215, 265, 800, None, None),
    Metric.PM2_5_24H: (0, 35, 75, 115, 150, 250, 350, 500),
}

# Later editions as changes to the 2012 table: {edition: {metric: {IAQI: new breakpoint}}}.
# The 2026 values are UNVERIFIED (reported, not checked against the published text): edit
# this one structure when the standard is in hand.
EDITION_CHANGES: dict[Edition, dict[Metric, dict[int, int]]] = {
    Edition.HJ633_2012: {},
    Edition.HJ633_2026: {
        Metric.PM2_5_24H: {100: 60},
        Metric.PM10_24H: {100: 120},
    },
}

# Where the table stops short (None), the standard names another column to use instead.
SUBSTITUTES: Mapping[Metric, Metric] = MappingProxyType(
    {Metric.SO2_1H: Metric.SO2_24H, Metric.O3_8H: Metric.O3_1H}
)


def _build_tables() -> Mapping[Edition, Mapping[Metric, tuple[int, ...]]]:
    """Apply each edition's changes to the 2012 table and check every column is well formed."""
    tables: dict[Edition, Mapping[Metric, tuple[int, ...]]] = {}
    for edition in Edition:
        columns: dict[Metric, tuple[int, ...]] = {}
        for metric, column in _HJ633_2012.items():
            changed = list(column)
            for step, value in EDITION_CHANGES[edition].get(metric, {}).items():
                changed[IAQI_STEPS.index(step)] = value
            defined = tuple(v for v in changed if v is not None)
            # A typo in a table edit must fail at import, not give a quietly wrong AQI.
            if changed[: len(defined)] != list(defined) or defined[0] != 0:
                raise ValueError(f"{edition} {metric}: breakpoints must start at 0 with no gaps")
            if any(b <= a for a, b in zip(defined, defined[1:])):
                raise ValueError(f"{edition} {metric}: breakpoints must increase strictly")
            if len(defined) < len(IAQI_STEPS) and metric not in SUBSTITUTES:
                raise ValueError(f"{edition} {metric}: a short column needs a substitute column")
            columns[metric] = defined
        tables[edition] = MappingProxyType(columns)
    return MappingProxyType(tables)


BREAKPOINTS: Mapping[Edition, Mapping[Metric, tuple[int, ...]]] = _build_tables()
"""Defined breakpoints per edition and metric; index i is the concentration for IAQI_STEPS[i]."""

Averaging = Literal["24h", "1h"]

# HJ 633 §5: the daily report (日报) and the real-time report (实时报) use these columns.
DAILY_METRICS: tuple[Metric, ...] = (
    Metric.SO2_24H,
    Metric.NO2_24H,
    Metric.PM10_24H,
    Metric.CO_24H,
    Metric.O3_1H,
    Metric.O3_8H,
    Metric.PM2_5_24H,
)
REALTIME_METRICS: tuple[Metric, ...] = (
    Metric.SO2_1H,
    Metric.NO2_1H,
    Metric.PM10_24H,
    Metric.CO_1H,
    Metric.O3_1H,
    Metric.O3_8H,
    Metric.PM2_5_24H,
)
_REPORT_METRICS: Mapping[str, tuple[Metric, ...]] = MappingProxyType(
    {"24h": DAILY_METRICS, "1h": REALTIME_METRICS}
)


class MissingSubstituteError(ValueError):
    """SO2 1 h or O3 8 h is above 800 µg/m³ and the concentration the standard substitutes is absent."""


@dataclass(frozen=True, slots=True)
class AqiBand:
    """One row of HJ 633 Table 2: AQI range, level, category and colour."""

    level: int
    level_zh: str
    category_zh: str
    category_en: str
    colour: Colour
    aqi_min: int
    aqi_max: int | None  # None: open-ended (六级, > 300)


AQI_BANDS: tuple[AqiBand, ...] = (
    AqiBand(1, "一级", "优", "Excellent", AQI_GREEN, 0, 50),
    AqiBand(2, "二级", "良", "Good", AQI_YELLOW, 51, 100),
    AqiBand(3, "三级", "轻度污染", "Lightly polluted", AQI_ORANGE, 101, 150),
    AqiBand(4, "四级", "中度污染", "Moderately polluted", AQI_RED, 151, 200),
    AqiBand(5, "五级", "重度污染", "Heavily polluted", AQI_PURPLE, 201, 300),
    AqiBand(6, "六级", "严重污染", "Severely polluted", AQI_MAROON, 301, None),
)


class SubIndex(BaseModel):
    """The IAQI of one metric, with how it was obtained."""

    model_config = ConfigDict(frozen=True)

    metric: Metric
    concentration: float
    iaqi: int
    substituted_from: Metric | None = None  # set when note (2)/(3) replaced this metric's IAQI
    substitute_concentration: float | None = None  # the concentration of substituted_from
    beyond_scale: bool = False  # concentration above the IAQI-500 breakpoint; iaqi capped at 500


class AqiResult(BaseModel):
    """An AQI with its sub-indices, primary and exceeding pollutants, band and edition."""

    model_config = ConfigDict(frozen=True)

    aqi: int
    level: int
    level_zh: str
    category_zh: str
    category_en: str
    colour: Colour
    sub_indices: tuple[SubIndex, ...]
    primary_pollutants: tuple[Metric, ...]  # 首要污染物: all metrics at the max IAQI, only if AQI > 50
    exceeding_pollutants: tuple[Metric, ...]  # 超标污染物: IAQI > 100
    edition: Edition
    averaging: Averaging

    @property
    def iaqi(self) -> Mapping[Metric, int]:
        """IAQI per metric, read-only."""
        return MappingProxyType({s.metric: s.iaqi for s in self.sub_indices})


def _exact(value: SupportsFloat | Decimal | Fraction, what: str) -> Fraction:
    """Convert a concentration to an exact fraction, as the decimal number it prints as."""
    if isinstance(value, bool | str | bytes):
        # float() would quietly accept "35"; feeds must parse text into numbers at the edge.
        raise TypeError(f"{what}: expected a number, got {type(value).__name__}")
    if isinstance(value, int | Fraction):
        exact = Fraction(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{what}: concentration must be finite, got {value}")
        exact = Fraction(value)
    else:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{what}: concentration must be finite, got {number}")
        # Via the shortest repr so 0.8 is 4/5, not the binary 0.8000000000000000444…, which
        # would round 1.0 up to 2.
        exact = Fraction(repr(number))
    if exact < 0:
        raise ValueError(f"{what}: concentration must be ≥ 0, got {value}")
    return exact


def _edition(edition: Edition | str) -> Edition:
    """Accept an Edition or its string value."""
    try:
        return Edition(edition)
    except ValueError:
        expected = [e.value for e in Edition]
        raise ValueError(f"unknown edition {edition!r}; expected one of {expected}") from None


def _metric(metric: Metric | str) -> Metric:
    """Accept a Metric or its string key."""
    try:
        return Metric(metric)
    except ValueError:
        raise ValueError(f"unknown metric {metric!r}; expected one of {[m.value for m in Metric]}") from None


def _interpolate(column: tuple[int, ...], c: Fraction) -> tuple[int, bool]:
    """IAQI for c on a column, rounded up, and whether c was beyond the column's top."""
    if c > column[-1]:
        return IAQI_STEPS[len(column) - 1], True
    for i in range(1, len(column)):
        if c <= column[i]:
            lo, hi = column[i - 1], column[i]
            i_lo, i_hi = IAQI_STEPS[i - 1], IAQI_STEPS[i]
            return math.ceil(Fraction(i_hi - i_lo, hi - lo) * (c - lo) + i_lo), False
    raise AssertionError("unreachable: c is within the column")


def _sub_index(
    metric: Metric, c: Fraction, edition: Edition, substitute: Fraction | None
) -> tuple[int | None, bool, Metric | None]:
    """(IAQI or None, beyond_scale, substituted_from) for one metric."""
    column = BREAKPOINTS[edition][metric]
    if metric in SUBSTITUTES and c > column[-1]:
        other = SUBSTITUTES[metric]
        if substitute is None:
            return None, False, other
        value, beyond = _interpolate(BREAKPOINTS[edition][other], substitute)
        return value, beyond, other
    value, beyond = _interpolate(column, c)
    return value, beyond, None


def iaqi(
    metric: Metric | str,
    concentration: SupportsFloat | Decimal | Fraction,
    edition: Edition | str = DEFAULT_EDITION,
    *,
    substitute: SupportsFloat | Decimal | Fraction | None = None,
) -> int | None:
    """IAQI of one concentration, rounded up; ``substitute`` serves the > 800 rules (see module doc)."""
    # substitute: the so2_24h concentration for so2_1h, the o3_1h one for o3_8h; used only
    # above 800 µg/m³. None is returned exactly when that rule applies and none was given.
    m = _metric(metric)
    ed = _edition(edition)
    c = _exact(concentration, m.value)
    sub = None
    if substitute is not None:
        if m not in SUBSTITUTES:
            raise ValueError(f"{m.value} has no substitution rule; substitute= applies to so2_1h and o3_8h")
        sub = _exact(substitute, SUBSTITUTES[m].value)
    value, _, _ = _sub_index(m, c, ed, sub)
    return value


def aqi_band(aqi: int) -> AqiBand:
    """Level, category and colour of an AQI value (HJ 633 Table 2)."""
    if isinstance(aqi, bool) or not isinstance(aqi, int):
        raise TypeError(f"AQI must be an int, got {aqi!r}")
    if aqi < 0:
        raise ValueError(f"AQI must be ≥ 0, got {aqi}")
    for band in AQI_BANDS:
        if band.aqi_max is None or aqi <= band.aqi_max:
            return band
    raise AssertionError("unreachable: the last band is open-ended")


def aqi(
    concentrations: Mapping[str, SupportsFloat | Decimal | Fraction | None],
    edition: Edition | str = DEFAULT_EDITION,
    averaging: Averaging = "24h",
) -> AqiResult:
    """AQI of the daily (24h) or real-time (1h) report's concentrations, keyed by metric (see module doc)."""
    ed = _edition(edition)
    if averaging not in _REPORT_METRICS:
        raise ValueError(f"averaging must be '24h' or '1h', got {averaging!r}")
    reported = _REPORT_METRICS[averaging]
    # In the real-time report so2_24h is only the stand-in for so2_1h above 800.
    helpers = (Metric.SO2_24H,) if averaging == "1h" else ()

    given: dict[Metric, Fraction] = {}
    raw: dict[Metric, float] = {}
    for key, value in concentrations.items():
        m = _metric(key)
        if m not in reported and m not in helpers:
            raise ValueError(
                f"{m.value} is not part of the {averaging} report; expected {[x.value for x in reported]}"
            )
        if value is None:
            continue
        given[m] = _exact(value, m.value)
        raw[m] = float(value)
    if not any(m in given for m in reported):
        raise ValueError("no concentrations given")

    subs: list[SubIndex] = []
    for m in reported:
        if m not in given:
            continue
        other = SUBSTITUTES.get(m)
        value, beyond, substituted = _sub_index(m, given[m], ed, given.get(other) if other else None)
        if value is None:
            raise MissingSubstituteError(
                f"{m.value} = {raw[m]} is above {BREAKPOINTS[ed][m][-1]} µg/m³: HJ 633 then uses the "
                f"IAQI of {substituted.value if substituted else '?'}, which was not given"
            )
        subs.append(
            SubIndex(
                metric=m,
                concentration=raw[m],
                iaqi=value,
                substituted_from=substituted,
                substitute_concentration=raw[substituted] if substituted else None,
                beyond_scale=beyond,
            )
        )

    top = max(s.iaqi for s in subs)
    band = aqi_band(top)
    return AqiResult(
        aqi=top,
        level=band.level,
        level_zh=band.level_zh,
        category_zh=band.category_zh,
        category_en=band.category_en,
        colour=band.colour,
        sub_indices=tuple(subs),
        primary_pollutants=tuple(s.metric for s in subs if s.iaqi == top) if top > 50 else (),
        exceeding_pollutants=tuple(s.metric for s in subs if s.iaqi > 100),
        edition=ed,
        averaging=averaging,
    )
