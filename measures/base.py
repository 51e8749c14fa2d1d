"""The registry every panel, map, page and rule reads figures through (what a measure is: measures/measure.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from clock import process_clock

from measures.composite import composite_measure
from measures.measure import Measure as Measure, Point as Point  # re-exported: measures.base names both
from store.kpi_queries import kpi_samples, kpis_as_of, latest_points


class MeasureRegistry:
    """The measures by key; a key no measure is registered for is a KPI reported through the KPI feed."""

    def __init__(self) -> None:
        self._measures: dict[str, Measure] = {}
        self._aliases: dict[str, str] = {}
        self._themes: Callable[[], Iterable[Any]] | None = None
        self._composed: tuple[tuple[Any, ...], dict[str, Measure]] = ((), {})

    def use_themes(self, source: Callable[[], Iterable[Any]]) -> None:
        """Also answer for the measures the theme files define (`measures:`), read from `source` (the theme
        store's current themes) as they change."""
        self._themes = source

    def _composites(self) -> dict[str, Measure]:
        """The theme files' measures, rebuilt when the themes change (the store hands out the same objects until
        then; the first theme to define a key keeps it)."""
        if self._themes is None:
            return {}
        themes = tuple(self._themes())
        seen, built = self._composed
        if len(seen) == len(themes) and all(a is b for a, b in zip(seen, themes, strict=True)):
            return built
        built = {}
        for th in themes:
            for d in getattr(th, "measures", ()):
                if d.key not in self._measures and d.key not in built:
                    built[d.key] = composite_measure(d, self, th.key)
        self._composed = (themes, built)
        return built

    def register(self, measure: Measure, *aliases: str) -> None:
        """Add a measure (and older names of it, as theme files may still write them)."""
        if measure.key in self._measures:
            raise ValueError(f"measure {measure.key!r} is registered twice")
        self._measures[measure.key] = measure
        for a in aliases:
            self._aliases[a] = measure.key

    def key(self, name: str) -> str:
        """A measure's key from its key or an alias."""
        return self._aliases.get(name, name)

    def aliases(self, key: str) -> list[str]:
        """The other names a measure answers to (what older theme files write)."""
        return [a for a, k in self._aliases.items() if k == key]

    def get(self, name: str) -> Measure | None:
        """The measure of that name, or None (a reported KPI without a definition of its own)."""
        key = self.key(name)
        return self._measures.get(key) or self._composites().get(key)

    def derived(self, name: str) -> bool:
        """Whether the figure is computed from raw data here (and so may not arrive as a KPI message)."""
        m = self.get(name)
        return m is not None and m.kind == "derived"

    def derived_keys(self) -> frozenset[str]:
        """Keys of every derived measure."""
        return frozenset(k for k, m in self._measures.items() if m.kind == "derived")

    def derived_view(self) -> Mapping[str, str]:
        """derived_sources() kept live: also the measures the theme files define now (what ingest refuses)."""
        return _DerivedView(self)

    def derived_sources(self) -> dict[str, str]:
        """Each derived measure's key (and aliases) → how it is computed: what ingest refuses as a KPI."""
        out = {k: m.source for k, m in self._measures.items() if m.kind == "derived"}
        out.update({a: out[k] for a, k in self._aliases.items() if k in out})
        return out

    def names(self) -> frozenset[str]:
        """Every registered measure's key and alias (what a theme file may name; the theme files' own measures
        are not among them)."""
        return frozenset(self._measures) | frozenset(self._aliases)

    def all(self) -> list[Measure]:
        """Every registered measure, then those the theme files define."""
        return [*self._measures.values(), *self._composites().values()]

    # ---- reads: the one way to a figure -----------------------------------------------------------------

    def latest(self, session: Session, names: Iterable[str], regions: Iterable[str],
               now: datetime | None = None) -> dict[str, dict[str, Point]]:
        """The newest value of each measure in each region: {name: {region: point}} (absent pairs left out).

        Answered under the names asked for, so callers keep the keys their theme files write. `now` (default:
        the process clock) is the moment a figure judged by time is judged at: which stations still report,
        which cases are past their limit.
        """
        regions = list(dict.fromkeys(regions))
        now = now or process_clock().now()
        out: dict[str, dict[str, Point]] = {}
        reported: list[str] = []
        for name in dict.fromkeys(names):
            m = self.get(name)
            if m is not None and m.latest_fn is not None:
                got = m.latest_fn(session, regions, now)
                if got:
                    out[name] = got
            else:
                reported.append(name)
        if reported:
            out.update(latest_points(session, reported, regions))
        return out

    def value(self, session: Session, name: str, region: str, now: datetime | None = None) -> Point | None:
        """One measure's newest value in one region."""
        return self.latest(session, [name], [region], now).get(name, {}).get(region)

    def samples(self, session: Session, name: str, region: str, edges: Sequence[datetime]) -> list[Point | None]:
        """One value per interval between consecutive edges; None where there is none (a gap stays a gap)."""
        m = self.get(name)
        if m is not None and m.samples_fn is not None:
            return m.samples_fn(session, region, edges)
        return kpi_samples(session, name, region, edges)

    def as_of(self, session: Session, names: Iterable[str], region: str, at: datetime,
              not_before: datetime | None = None) -> dict[str, Point]:
        """Each measure's newest value at or before `at` (and after `not_before`) in one region."""
        out: dict[str, Point] = {}
        reported = []
        for name in dict.fromkeys(names):
            m = self.get(name)
            if m is not None and m.samples_fn is not None:
                got = m.samples_fn(session, region, [not_before or at - timedelta(days=366), at])
                if got and got[0] is not None:
                    out[name] = got[0]
            else:
                reported.append(name)
        out.update(kpis_as_of(session, reported, region, at, not_before))
        return out


class _DerivedView(Mapping[str, str]):
    """A registry's derived measures (key or alias → how it is computed), the theme files' ones included."""

    def __init__(self, registry: MeasureRegistry) -> None:
        self._registry = registry
        self._fixed = registry.derived_sources()

    def __getitem__(self, key: str) -> str:
        if key in self._fixed:
            return self._fixed[key]
        m = self._registry._composites().get(key)
        if m is None:
            raise KeyError(key)
        return m.source

    def __iter__(self) -> Iterator[str]:
        return iter([*self._fixed, *self._registry._composites()])

    def __len__(self) -> int:
        return len(self._fixed) + len(self._registry._composites())
