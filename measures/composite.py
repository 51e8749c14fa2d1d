"""Measures a theme owner defines in a theme file from measures that exist: a ratio, a difference or a sum.

The definition is data (topics.themes.MeasureDef, checked with its line when the file is read); this module
turns it into a Measure whose figures are computed from its operands' figures through the registry, so a
composite can never disagree with the operands the wall shows beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from measures.measure import Measure, Point

if TYPE_CHECKING:
    from topics.themes import MeasureDef


class Operands(Protocol):
    """What a composite reads its operands through: measures.base.MeasureRegistry, which builds the composites
    (named by what it does, so this module stays below the registry)."""

    def get(self, name: str) -> Measure | None: ...

    def latest(self, session: Session, names: Iterable[str], regions: Iterable[str],
               now: datetime | None = None) -> dict[str, dict[str, Point]]: ...

    def samples(self, session: Session, name: str, region: str, edges: Sequence[datetime]) -> list[Point | None]: ...

OPS: dict[str, str] = {
    "ratio": "the first over the second",
    "difference": "the first minus the second",
    "sum": "the sum of all",
}


def combine(op: str, values: Sequence[float], scale: float = 1.0) -> float | None:
    """The composite's value from its operands' (in their order); None where a ratio's denominator is 0."""
    if op == "ratio":
        return None if values[1] == 0 else scale * values[0] / values[1]
    if op == "difference":
        return scale * (values[0] - values[1])
    return scale * sum(values)


def _point(op: str, points: Sequence[Point | None], scale: float, digits: int | None) -> Point | None:
    """One composite point: absent unless every operand is there; as old as its oldest operand (its freshness
    is its stalest input's)."""
    if any(p is None for p in points):
        return None
    got = [p for p in points if p is not None]
    value = combine(op, [p.value for p in got], scale)
    if value is None:
        return None
    return Point(min(p.ts for p in got), round(value, digits) if digits is not None else value)


def composite_measure(d: MeasureDef, registry: Operands, theme: str) -> Measure:
    """The Measure a theme file's definition describes, reading its operands through `registry`."""

    def latest(session: Session, regions: Sequence[str], now: datetime | None = None) -> dict[str, Point]:
        got = registry.latest(session, d.of, regions, now)
        out = {}
        for region in regions:
            p = _point(d.op, [got.get(k, {}).get(region) for k in d.of], d.scale, d.digits)
            if p is not None:
                out[region] = p
        return out

    def samples(session: Session, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        series = [registry.samples(session, k, region, edges) for k in d.of]
        return [_point(d.op, [s[i] for s in series], d.scale, d.digits) for i in range(len(edges) - 1)]

    operands = [registry.get(k) for k in d.of]
    feeds = sorted({m.feed for m in operands if m is not None and m.feed})
    return Measure(
        d.key, d.name_zh, d.name_en, d.unit or "", "derived", ("city", "county"),
        city_rule=f"the city's {d.op} of the city's operands", feed=feeds[0] if len(feeds) == 1 else None,
        source=f"{d.op} ({OPS[d.op]}) of {', '.join(d.of)}" + (f", × {d.scale:g}" if d.scale != 1 else "")
               + f" — defined in the theme {theme}",
        worse_high=d.worse_high, latest_fn=latest, samples_fn=samples)

