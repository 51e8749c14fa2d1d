"""The models of a theme of 一网统管 (one YAML file each in topics/themes/, read by topics/loader.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

SCHEMA_VERSION: Final = 2  # topics/loader.py migrates older files up to this


class KpiDef(BaseModel):
    """One KPI as a panel shows it: name, unit, the plan's target and who answers for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$", description="Metric key, as business systems report it")
    name_zh: str
    name_en: str
    unit: str | None = None
    target: float | None = Field(None, description="The plan's target, when it names one")
    target_kind: str = Field("min", description="min: reach at least the target; max: stay at most")
    department: str = Field(description="Responsible department named by the plan")
    plan_item: str | None = Field(None, description="Where in the work plan the target comes from")
    target_year: int | None = Field(None, ge=2000, le=2100,
                                    description="The year the target belongs to (its plan's year): a target is "
                                                "shown with its year, so an earlier year's is never taken for now's")
    region: str | None = Field(None, pattern=r"^\d{6}$",
                               description="A county's adcode when the KPI is that county's; unset: the city's "
                                           "(the app's --city)")

    def region_in(self, city: str) -> str:
        """The region the KPI is reported for, given the city's adcode (an unset region is the city)."""
        return self.region or city


class MeasureDef(BaseModel):
    """A measure a theme owner defines from measures that exist (docs/measures.md): a ratio, a difference or a
    sum, computed for each region and moment from its operands' figures (measures/composite.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$", description="The new measure's key")
    name_zh: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=80)
    unit: str | None = Field(None, max_length=12)
    op: Literal["ratio", "difference", "sum"] = Field(
        description="ratio: the first over the second; difference: the first minus the second; sum: all of them")
    of: tuple[str, ...] = Field(min_length=2, max_length=12,
                                description="The operands: built-in measures (or aliases), this theme's KPIs, or "
                                            "measures defined above this one in the file")
    scale: float = Field(1.0, gt=0, description="Multiplies the result (100: a ratio as %)")
    digits: int | None = Field(None, ge=0, le=6, description="Round the result to this many decimals")
    worse_high: bool = Field(True, description="A higher value is worse (for colours and rankings)")

    @model_validator(mode="after")
    def _operands(self) -> MeasureDef:
        if self.op in ("ratio", "difference") and len(self.of) != 2:
            raise ValueError(f"a {self.op} takes two measures (the first and the second), not {len(self.of)}")
        if self.key in self.of:
            raise ValueError(f"{self.key} cannot be computed from itself")
        return self


KPI_STRIP = "kpi"  # the instance id of the KPI strip under the map, which every theme has


class Configured(BaseModel):
    """A panel or a rule of a theme: settings written beside its type, which the type's model reads once, when
    the file is loaded (topics/loader.py); the wall and the alert engine take that reading as it is."""

    _checked: BaseModel | None = PrivateAttr(None)

    @property
    def settings(self) -> dict[str, Any]:
        """The settings as written in the file."""
        raise NotImplementedError

    @property
    def checked(self) -> BaseModel | None:
        """The settings as the type's model read them when the file was loaded; None when it was not loaded
        with the models (a theme built in code, or read without the registries)."""
        return self._checked

    def keep_checked(self, settings: BaseModel) -> None:
        """Keep what the type's model read (the loader calls this once per file read)."""
        self._checked = settings


class PanelDef(Configured):
    """One panel of a theme: its type, the column it stands in (top down), and the type's own settings.

    Settings are written beside `type` (e.g. `kpi: eco.aqi`); the panel type's settings model checks them
    (topics/loader.py, given the registry's models), so a misspelt setting is named with its line.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = Field(description="A registered panel type, e.g. road_weather, kpi_target, markdown")
    column: Literal["left", "right"] = Field(description="left or right of the map")
    id: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,39}$",
                           description="Names this panel when a type appears twice (default: the type, type-2 …)")
    title_zh: str | None = Field(None, max_length=40, description="Title shown instead of the type's own")
    title_en: str | None = Field(None, max_length=60, description="English title (?lang=en)")

    @property
    def settings(self) -> dict[str, Any]:
        """The type's own settings as written in the file."""
        return dict(self.model_extra or {})


class RuleDef(Configured):
    """One alarm rule of a theme: its id, its kind (a registered rule kind), and the kind's own settings.

    Like a panel's, the settings are written beside `kind` and checked by the kind's model (alerts/rules.py) when
    the file is read.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,47}$", description="The rule's id within its theme")
    kind: str = Field(description="A registered rule kind: threshold, duration, rate, absence, geofence, aqi, fog, "
                                  "fire_danger, water_level, video_detection")

    @property
    def settings(self) -> dict[str, Any]:
        """Everything the file says of the rule, as its kind's model reads it."""
        return {"id": self.id, "kind": self.kind, **(self.model_extra or {})}


@dataclass(frozen=True)
class Placed:
    """A panel as the wall places it: its instance id (unique in the page) and its definition."""

    id: str
    panel: PanelDef

    @property
    def type(self) -> str:
        return self.panel.type


def place(panels: tuple[PanelDef, ...]) -> list[Placed]:
    """Instance ids for a theme's panels: the explicit id, else the type, else type-2, type-3 …"""
    taken = {KPI_STRIP} | {p.id for p in panels if p.id}
    out = []
    for p in panels:
        ident = p.id
        if ident is None:
            ident, n = p.type, 1
            while ident in taken:
                n += 1
                ident = f"{p.type}-{n}"
            taken.add(ident)
        out.append(Placed(ident, p))
    return out


class Theme(BaseModel):
    """One of the five functions of 一网统管."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="Short name used in URLs (?theme=…)")
    order: int = Field(100, description="Position among the theme tabs, smallest first")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    owner: str = Field(min_length=1, description="The department that owns the theme")
    map_measure: Literal["open_events", "aqi"] = Field("open_events", description="What colours the city map")
    by_county: tuple[str, ...] = Field((), description="KPI keys also reported per county (county view, "
                                                       "beside the city average)")
    panels: tuple[PanelDef, ...] = Field(description="The theme's panels around the map, top down per column")
    kpis: tuple[KpiDef, ...]
    rules: tuple[RuleDef, ...] = Field((), description="Alarm rules over the theme's live data (alerts/rules.py)")
    measures: tuple[MeasureDef, ...] = Field((), description="Measures defined from others: ratio, difference, sum "
                                                             "(docs/measures.md)")

    @model_validator(mode="after")
    def _by_county_are_kpis(self) -> Theme:
        known = {k.key for k in self.kpis}
        unknown = [k for k in self.by_county if k not in known]
        if unknown:
            raise ValueError(f"by_county names {', '.join(unknown)}, which is not among this theme's kpis")
        ids = [p.id for p in self.panels if p.id]
        clash = sorted({i for i in ids if ids.count(i) > 1 or i == KPI_STRIP})
        if clash:
            raise ValueError(f"panel id {', '.join(clash)} is used twice (or is {KPI_STRIP!r}, the KPI strip's)")
        rule_ids = [r.id for r in self.rules]
        twice = sorted({i for i in rule_ids if rule_ids.count(i) > 1})
        if twice:
            raise ValueError(f"rule id {', '.join(twice)} is used twice")
        keys = [m.key for m in self.measures]
        again = sorted({k for k in keys if keys.count(k) > 1})
        if again:
            raise ValueError(f"measure {', '.join(again)} is defined twice")
        return self

    def for_city(self, city: str) -> Theme:
        """This theme with every KPI's region spelt out (an unset region is the city of that adcode)."""
        if all(k.region is not None for k in self.kpis):
            return self
        kpis = tuple(k if k.region is not None else k.model_copy(update={"region": city}) for k in self.kpis)
        return self.model_copy(update={"kpis": kpis})

    def placed(self) -> list[Placed]:
        """The theme's panels with their instance ids, in file order."""
        return place(self.panels)

    @property
    def left(self) -> tuple[str, ...]:
        """Panel types of the left column, top down."""
        return tuple(p.type for p in self.panels if p.column == "left")

    @property
    def right(self) -> tuple[str, ...]:
        """Panel types of the right column, top down."""
        return tuple(p.type for p in self.panels if p.column == "right")


OVERRIDE_SCHEMA_VERSION: Final = 1


class CountyOverride(BaseModel):
    """A county's own version of a city theme (`counties/<adcode>/<theme>.yaml` beside the theme files): the panels of
    the county's wall and the county department that answers for it. Everything else — KPIs and their targets,
    rules, measures, the map — stays the city theme's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = OVERRIDE_SCHEMA_VERSION
    owner: str | None = Field(None, min_length=1, max_length=60,
                              description="The county department that answers for the theme in the county (shown "
                                          "instead of the city's owner)")
    panels: tuple[PanelDef, ...] | None = Field(None, description="The county wall's panels, written as a theme's "
                                                                  "(unset: the city theme's panels)")

    @model_validator(mode="after")
    def _says_something(self) -> CountyOverride:
        if self.owner is None and self.panels is None:
            raise ValueError("an override sets panels, owner or both (otherwise the city theme is shown as it is)")
        ids = [p.id for p in self.panels or () if p.id]
        clash = sorted({i for i in ids if ids.count(i) > 1 or i == KPI_STRIP})
        if clash:
            raise ValueError(f"panel id {', '.join(clash)} is used twice (or is {KPI_STRIP!r}, the KPI strip's)")
        return self

    def apply(self, theme: Theme) -> Theme:
        """The city theme as the county's wall shows it."""
        update: dict[str, Any] = {}
        if self.owner is not None:
            update["owner"] = self.owner
        if self.panels is not None:
            update["panels"] = self.panels
        return theme.model_copy(update=update)
