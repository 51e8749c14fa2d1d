"""Forest fire danger weather level (森林火险气象等级) by a configurable LY/T 1172-95 style score.

The method sums four factor scores (daily max temperature, 14:00 relative humidity, days since
≥ 0.1 mm of precipitation, daily max wind force) and maps the sum to five levels. The exact
tables are UNVERIFIED, so they are configuration: :class:`FireScoringTables`, loadable with
``FireScoringTables.model_validate(dict)`` or ``.model_validate_json(text)``. Every result
carries the table's ``method`` name so a panel can say which method produced it.

The default tables follow the LY/T 1172-95 tables as reproduced in a secondary source (吕巍伟
et al., 林业世界 2020, doi:10.12677/wjf.2020.93016) and meet the end points in DOMAIN.md.
LY/T 1172-95 itself also has a rain-amount factor and a phenology correction, left out here.
Level names and colours are those of QX/T 77-2007.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, SupportsFloat

from pydantic import BaseModel, ConfigDict, Field, model_validator

from standards.colours import BLUE, GREEN, ORANGE, RED, YELLOW, Colour
from standards.numbers import finite


class Step(BaseModel):
    """One step of a factor table: at or beyond ``threshold`` the factor scores ``score``."""

    # JSON may give a step as an object or as [threshold, score] / [threshold, score, inclusive].
    # inclusive=False puts the threshold itself on the lower-scoring side (">5", not "≥5").

    model_config = ConfigDict(frozen=True)

    threshold: float
    score: int
    inclusive: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_sequence(cls, data: Any) -> Any:
        """Accept the compact list form used in JSON configuration."""
        if isinstance(data, Sequence) and not isinstance(data, str | bytes):
            if len(data) not in (2, 3):
                raise ValueError("a step list is [threshold, score] or [threshold, score, inclusive]")
            return dict(zip(("threshold", "score", "inclusive"), data, strict=False))
        return data


class FactorTable(BaseModel):
    """A step table for one factor: the most extreme step the value reaches gives the score."""

    model_config = ConfigDict(frozen=True)

    name_zh: str
    name_en: str
    unit: str
    # rising: a step applies when value ≥ threshold (> if not inclusive); the highest applying
    # threshold wins. Falling (humidity): value ≤ threshold (<), the lowest applying one wins.
    rising: bool
    steps: tuple[Step, ...] = Field(min_length=1)  # thresholds strictly ascending
    base_score: int = 0  # when no step applies

    @model_validator(mode="after")
    def _check_monotone(self) -> FactorTable:
        """Thresholds ascend and scores move away from the base, so the danger is monotone."""
        thresholds = [s.threshold for s in self.steps]
        if any(b <= a for a, b in zip(thresholds, thresholds[1:])):
            raise ValueError(f"{self.name_en}: step thresholds must be strictly ascending")
        # Order the scores from least to most extreme value of the factor.
        scores = [self.base_score, *(s.score for s in (self.steps if self.rising else reversed(self.steps)))]
        if any(b < a for a, b in zip(scores, scores[1:])):
            raise ValueError(f"{self.name_en}: scores must not fall as the factor gets more dangerous")
        return self

    def score(self, value: float) -> int:
        """Score of one factor value."""
        if self.rising:
            hits = [s for s in self.steps if value > s.threshold or (s.inclusive and value == s.threshold)]
            return hits[-1].score if hits else self.base_score
        hits = [s for s in self.steps if value < s.threshold or (s.inclusive and value == s.threshold)]
        return hits[0].score if hits else self.base_score


def _steps(*pairs: tuple[float, int] | tuple[float, int, bool]) -> tuple[Step, ...]:
    """Build steps from compact tuples."""
    return tuple(Step.model_validate(p) for p in pairs)


class FireScoringTables(BaseModel):
    """The configurable scoring tables and level cut-offs, with the method name shown on panels."""

    model_config = ConfigDict(frozen=True)

    method: str = "LY/T 1172-95 (scores configurable)"
    max_temperature: FactorTable = FactorTable(
        name_zh="日最高气温",
        name_en="Daily maximum temperature",
        unit="°C",
        rising=True,
        # ≤5.0 → 0 | 5.1–10.0 → 4 | 10.1–15.0 → 8 | 15.1–20.0 → 12 | 20.1–24.9 → 16 | ≥25 → 20
        steps=_steps((5, 4, False), (10, 8, False), (15, 12, False), (20, 16, False), (25, 20)),
    )
    humidity_14h: FactorTable = FactorTable(
        name_zh="14时相对湿度",
        name_en="Relative humidity at 14:00",
        unit="%",
        rising=False,
        # ≥65 → 0 | 55–64 → 4 | 45–54 → 8 | 35–44 → 12 | 25–34 → 16 | ≤24 → 20
        steps=_steps((24, 20), (35, 16, False), (45, 12, False), (55, 8, False), (65, 4, False)),
    )
    dry_days: FactorTable = FactorTable(
        name_zh="连续无降水日数",
        name_en="Consecutive days without ≥0.1 mm precipitation",
        unit="d",
        rising=True,
        steps=_steps(*((d, 5 * d) for d in range(1, 11))),  # +5 a day, 10 days and more → 50
    )
    wind_force: FactorTable = FactorTable(
        name_zh="日最大风力",
        name_en="Daily maximum wind force",
        unit="Beaufort",
        rising=True,
        steps=_steps(*((f, 5 * f) for f in range(1, 9))),  # force 0…8 → 0…40, above 8 stays 40
    )
    # Highest score of levels 1–4; any higher score is level 5. Default: ≤25/26–50/51–72/73–90/≥91.
    level_upper_bounds: tuple[int, int, int, int] = (25, 50, 72, 90)

    @model_validator(mode="after")
    def _check_bounds(self) -> FireScoringTables:
        """Level cut-offs must ascend strictly."""
        b = self.level_upper_bounds
        if any(y <= x for x, y in zip(b, b[1:])):
            raise ValueError(f"level_upper_bounds must be strictly ascending, got {b}")
        return self


DEFAULT_FIRE_TABLES = FireScoringTables()


@dataclass(frozen=True, slots=True)
class FireLevel:
    """One 森林火险气象等级 with its name and colour (QX/T 77-2007)."""

    level: int
    level_zh: str
    name_zh: str
    name_en: str
    colour: Colour


FIRE_LEVELS: tuple[FireLevel, ...] = (
    FireLevel(1, "一级", "低火险", "Low fire danger", GREEN),
    FireLevel(2, "二级", "较低火险", "Moderately low fire danger", BLUE),
    FireLevel(3, "三级", "较高火险", "Moderately high fire danger", YELLOW),
    FireLevel(4, "四级", "高火险", "High fire danger", ORANGE),
    FireLevel(5, "五级", "极高火险", "Extremely high fire danger", RED),
)


class FactorScores(BaseModel):
    """The four factor scores that add up to the fire danger score."""

    model_config = ConfigDict(frozen=True)

    max_temperature: int
    humidity_14h: int
    dry_days: int
    wind_force: int


class FireDangerResult(BaseModel):
    """Fire danger score, level with zh/en name and colour, the method and the factor scores."""

    model_config = ConfigDict(frozen=True)

    score: int
    level: int
    level_zh: str
    name_zh: str
    name_en: str
    colour: Colour
    method: str
    factor_scores: FactorScores


def fire_level(score: int, tables: FireScoringTables = DEFAULT_FIRE_TABLES) -> FireLevel:
    """The fire danger level of a total score under the tables' cut-offs."""
    return FIRE_LEVELS[sum(score > bound for bound in tables.level_upper_bounds)]


def _count(value: int, what: str, maximum: int | None = None) -> int:
    """A non-negative int (optionally bounded), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {value!r}")
    if value < 0 or (maximum is not None and value > maximum):
        raise ValueError(f"{what} must be 0–{maximum if maximum is not None else '∞'}, got {value}")
    return value


def fire_danger(
    max_temp_c: SupportsFloat,
    rh_14h_pct: SupportsFloat,
    dry_days: int,
    wind_force: int,
    tables: FireScoringTables = DEFAULT_FIRE_TABLES,
) -> FireDangerResult:
    """Fire danger level from daily max temperature (°C), 14:00 RH (%), dry days and max wind force."""
    t = finite(max_temp_c, "max_temp_c")
    rh = finite(rh_14h_pct, "rh_14h_pct")
    if not 0 <= rh <= 100:
        raise ValueError(f"rh_14h_pct must be 0–100, got {rh_14h_pct}")
    scores = FactorScores(
        max_temperature=tables.max_temperature.score(t),
        humidity_14h=tables.humidity_14h.score(rh),
        dry_days=tables.dry_days.score(_count(dry_days, "dry_days")),
        wind_force=tables.wind_force.score(_count(wind_force, "wind_force", MAX_BEAUFORT)),
    )
    total = scores.max_temperature + scores.humidity_14h + scores.dry_days + scores.wind_force
    lvl = fire_level(total, tables)
    return FireDangerResult(
        score=total,
        level=lvl.level,
        level_zh=lvl.level_zh,
        name_zh=lvl.name_zh,
        name_en=lvl.name_en,
        colour=lvl.colour,
        method=tables.method,
        factor_scores=scores,
    )


# GB/T 28591-2012 风力等级: lowest 10 m wind speed (m/s, to 0.1) of forces 0–17.
BEAUFORT_LOWER_MS: tuple[Decimal, ...] = tuple(
    Decimal(v)
    for v in (
        "0.0", "0.3", "1.6", "3.4", "5.5", "8.0", "10.8", "13.9", "17.2",
        "20.8", "24.5", "28.5", "32.7", "37.0", "41.5", "46.2", "51.0", "56.1",
    )
)  # fmt: skip
MAX_BEAUFORT = len(BEAUFORT_LOWER_MS) - 1


def beaufort(speed_ms: SupportsFloat) -> int:
    """Wind force (0–17, GB/T 28591-2012) of a 10 m wind speed in m/s; 17 for ≥ 56.1 m/s."""
    v = finite(speed_ms, "speed_ms")
    if v < 0:
        raise ValueError(f"speed_ms must be ≥ 0, got {speed_ms}")
    # The table is written to 0.1 m/s, so round half up to that first: 0.25 → 0.3 → force 1.
    rounded = Decimal(repr(v)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return sum(rounded >= lower for lower in BEAUFORT_LOWER_MS) - 1
