"""KPI reads for the theme panels: newest values, values as of a time, and sampled history.

Every read is a set of "newest row in a (key, region, time) range" probes, each answered by one
seek on the unique (key, region, ts) index, joined into one UNION ALL statement. The cost stays the
same however much history kpi_metrics holds and however often a KPI is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Integer, Select, bindparam, literal_column, select, union_all
from sqlalchemy.orm import Session

from store.models import KpiMetric

# SQLite allows 500 terms in one compound SELECT; stay well below it.
_MAX_TERMS = 200


@dataclass(frozen=True)
class KpiPoint:
    """One KPI value at one time."""

    ts: datetime
    value: float


@dataclass(frozen=True)
class _Probe:
    key: str
    region: str
    after: datetime | None  # exclusive
    upto: datetime | None  # inclusive


@lru_cache(maxsize=256)
def _statement(shapes: tuple[tuple[bool, bool], ...]
               ) -> Select[Any, Any, Any] | CompoundSelect[Any, Any, Any]:
    """One UNION ALL of probes with bound parameters, built once per shape: building it costs more than running it."""
    terms: list[Select[Any, Any, Any]] = []
    for i, (has_after, has_upto) in enumerate(shapes):
        stmt = select(literal_column(str(i), Integer).label("i"), KpiMetric.ts, KpiMetric.value).where(
            KpiMetric.key == bindparam(f"k{i}"), KpiMetric.region == bindparam(f"r{i}"))
        if has_after:
            stmt = stmt.where(KpiMetric.ts > bindparam(f"a{i}"))
        if has_upto:
            stmt = stmt.where(KpiMetric.ts <= bindparam(f"b{i}"))
        # Wrapped in a subquery: SQLite refuses LIMIT on a bare member of a compound SELECT.
        sub = stmt.order_by(KpiMetric.ts.desc()).limit(1).subquery()
        terms.append(select(sub.c.i, sub.c.ts, sub.c.value))
    return terms[0] if len(terms) == 1 else union_all(*terms)


def _newest(session: Session, probes: Sequence[_Probe]) -> list[KpiPoint | None]:
    """For each probe, the newest row in its range, or None."""
    out: list[KpiPoint | None] = [None] * len(probes)
    for start in range(0, len(probes), _MAX_TERMS):
        chunk = probes[start:start + _MAX_TERMS]
        params: dict[str, object] = {}
        for i, p in enumerate(chunk):
            params |= {f"k{i}": p.key, f"r{i}": p.region}
            if p.after is not None:
                params[f"a{i}"] = p.after
            if p.upto is not None:
                params[f"b{i}"] = p.upto
        stmt = _statement(tuple((p.after is not None, p.upto is not None) for p in chunk))
        for i, ts, value in session.execute(stmt, params):
            out[start + int(i)] = KpiPoint(ts, value)
    return out


def latest_points(session: Session, keys: Iterable[str], regions: Iterable[str]) -> dict[str, dict[str, KpiPoint]]:
    """The newest value of each key in each region: {key: {region: point}}; absent pairs are left out."""
    probes = [_Probe(k, r, None, None) for k in dict.fromkeys(keys) for r in dict.fromkeys(regions)]
    out: dict[str, dict[str, KpiPoint]] = {}
    for p, got in zip(probes, _newest(session, probes), strict=True):
        if got is not None:
            out.setdefault(p.key, {})[p.region] = got
    return out


def kpis_as_of(session: Session, keys: Iterable[str], region: str, at: datetime,
               not_before: datetime | None = None) -> dict[str, KpiPoint]:
    """Each key's newest value at or before `at` (and after `not_before`, when given) in one region."""
    probes = [_Probe(k, region, not_before, at) for k in dict.fromkeys(keys)]
    return {p.key: got for p, got in zip(probes, _newest(session, probes), strict=True) if got is not None}


def kpi_samples(session: Session, key: str, region: str, edges: Sequence[datetime]) -> list[KpiPoint | None]:
    """One sample per interval between consecutive edges: the newest value in (edges[i], edges[i+1]].

    An interval without a report gives None, so a gap in the data stays a gap on the chart.
    """
    probes = [_Probe(key, region, a, b) for a, b in zip(edges, edges[1:], strict=False)]
    return _newest(session, probes) if probes else []
