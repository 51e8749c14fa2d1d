"""Rule kinds: each a settings model (checked when a theme file is read, with its line) that judges one reading.

A rule judges readings of one source (a device, a KPI of a region) one at a time, oldest first; what it must
remember between readings (since when a condition has held, the recent values) lives in a per-source `memory`
dict the engine keeps. `check` says whether the condition holds after this reading (`Outcome`), or None when the
reading says nothing about it (the metric is absent). Absence is judged on the clock instead (`silent`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from feeds.payloads import DETECTION_NAMES, Detection
from geo import City
from plugins import Registry
from settings import Settings
from standards.aqi import aqi_band
from standards.fire import beaufort, fire_danger
from standards.fog import fog_signal
from words import Words

DESC = Words("settings")  # the settings' descriptions, both languages in one (the editor and the schemas)

if TYPE_CHECKING:  # shapely is imported when a geofence is first judged
    from shapely.geometry.base import BaseGeometry

WORDS = Words("alerts")  # the alarms' texts, stored in both languages when an alarm is raised
CRITICAL = 4  # a red alarm takes over the wall until someone acknowledges it


@dataclass(frozen=True)
class Reading:
    """One message's values from one source, as a rule sees them."""

    source: str
    feed: str
    ts: datetime
    values: Mapping[str, float]
    county: str | None = None
    name: str | None = None
    lon: float | None = None
    lat: float | None = None

    @property
    def label(self) -> str:
        return self.name or self.source


@dataclass(frozen=True)
class Outcome:
    """What a rule makes of a reading: whether its condition holds, how severe, the value and the words."""

    active: bool
    severity: int = 2
    value: float | None = None
    zh: str = ""
    en: str = ""


def default_city() -> City:
    """The default settings' city: what a rule's county is checked against when no city is given."""
    return City.load(Settings.model_construct().city)


def city_of(info: ValidationInfo) -> City:
    """The city a rule is checked against: the validation context's (`{"city": geo.City}`, as the alert engine
    gives it), else the default settings' city (a theme file checked on its own)."""
    city = (info.context or {}).get("city")
    return city if isinstance(city, City) else default_city()


def _county(value: str, info: ValidationInfo) -> str:
    city = city_of(info)
    if not city.is_county(value):
        raise ValueError(f"{value!r} is not a county of the city {city.name} ({', '.join(city.counties)})")
    return value


County = Annotated[str, AfterValidator(_county)]


def _past(value: float, above: float | None, below: float | None) -> bool:
    """Whether a value is at or above `above`, or (without one) at or below `below` (a model gives one)."""
    if above is not None:
        return value >= above
    if below is None:
        raise ValueError("a line needs above or below")
    return value <= below


def _feed(value: str, info: ValidationInfo) -> str:
    """A feed the wall has: the validation context's feed registry (`{"feeds": FeedRegistry}`, as the app gives
    it), else the built-in feeds and the plugins this process loads."""
    from feeds.known import feeds_in

    known = feeds_in(info.context).names()
    if value not in known:
        raise ValueError(f"{value!r} is not a feed of this wall ({', '.join(sorted(known))})")
    return value


FeedName = Annotated[str, Field(json_schema_extra={"x-choices": "feeds"}), AfterValidator(_feed)]


class RuleSettings(BaseModel):
    """What every rule has: an id, its kind, words, severity, where, and who hears of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,47}$", description=DESC.pair("RuleSettings.id"))
    kind: str
    title_zh: str | None = Field(None, max_length=60, description=DESC.pair("RuleSettings.title_zh"))
    title_en: str | None = Field(None, max_length=80, description="English name of the alarm")
    severity: int | None = Field(None, ge=1, le=4, description="级别 1蓝 2黄 3橙 4红 (default: the kind's, "
                                                                   "e.g. by the signal's colour); red takes the wall")
    county: County | None = Field(None, description=DESC.pair("RuleSettings.county"))
    escalate_after_min: float | None = Field(None, gt=0, description=DESC.pair("RuleSettings.escalate_after_min"))
    escalate_to: list[str] = Field(default_factory=list, description=DESC.pair("RuleSettings.escalate_to"))
    notify: list[str] = Field(default_factory=list, description=DESC.pair("RuleSettings.notify"))
    case: bool = Field(False, description=DESC.pair("RuleSettings.case"))

    feeds: ClassVar[tuple[str, ...]] = ()

    def reads(self) -> tuple[str, ...]:
        """The feeds whose readings this rule judges."""
        return self.feeds

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        """Whether the condition holds after this reading (None: the reading says nothing about it)."""
        raise NotImplementedError

    def severity_or(self, derived: int) -> int:
        return self.severity or derived


class MetricRule(RuleSettings):
    """A rule on one metric of one feed (a device's value, or a KPI: feed kpi, metric its key)."""

    feed: FeedName = Field(description=DESC.pair("MetricRule.feed"))
    metric: str = Field(description=DESC.pair("MetricRule.metric"))
    above: float | None = Field(None, description=DESC.pair("MetricRule.above"))
    below: float | None = Field(None, description=DESC.pair("MetricRule.below"))

    @model_validator(mode="after")
    def _one_side(self) -> MetricRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self

    def reads(self) -> tuple[str, ...]:
        return (self.feed,)

    def met(self, v: float) -> bool:
        return _past(v, self.above, self.below)

    def words(self, r: Reading, v: float, extra_zh: str = "", extra_en: str = "") -> tuple[str, str]:
        sign, line = ("≥", self.above) if self.above is not None else ("≤", self.below)
        zh, en = WORDS.both("past_line", label=r.label, metric=self.metric, v=v, sign=sign, line=line)
        return zh + extra_zh, en + extra_en


class Threshold(MetricRule):
    """A value past a line, with hysteresis: once raised it clears only back past `clear_at`."""

    kind: Literal["threshold"]
    clear_at: float | None = Field(None, description="回落到此值才解除（回差）/ Clears only back past this "
                                                     "(default: the line itself)")

    @model_validator(mode="after")
    def _clear_on_safe_side(self) -> Threshold:
        if self.clear_at is not None:
            if self.above is not None and self.clear_at > self.above:
                raise ValueError("clear_at must be at most above (the alarm clears below the line)")
            if self.below is not None and self.clear_at < self.below:
                raise ValueError("clear_at must be at least below (the alarm clears above the line)")
        return self

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        v = r.values.get(self.metric)
        if v is None:
            return None
        if active and self.clear_at is not None:
            holds = v > self.clear_at if self.above is not None else v < self.clear_at
        else:
            holds = self.met(v)
        if holds and not self.met(v):  # held by the hysteresis band: say so, not "300 ≤ 200"
            zh, en = WORDS.both("held_by_clear_line", label=r.label, metric=self.metric, v=v,
                                clear_at=self.clear_at)
        else:
            zh, en = self.words(r, v)
        return Outcome(holds, self.severity_or(2), v, zh, en)


class Duration(MetricRule):
    """A value past a line for a while: raised once every reading for `minutes` has been past it."""

    kind: Literal["duration"]
    minutes: float = Field(gt=0, description=DESC.pair("Duration.minutes"))

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        v = r.values.get(self.metric)
        if v is None:
            return None
        if not self.met(v):
            memory.pop("since", None)
            return Outcome(False, self.severity_or(2), v)
        since = memory.setdefault("since", r.ts)
        held = (r.ts - since).total_seconds() / 60
        zh, en = self.words(r, v, *WORDS.both("held_for", minutes=held))
        return Outcome(held >= self.minutes, self.severity_or(2), v, zh, en)


class Rate(RuleSettings):
    """A fast change: the value rose (or fell) by at least `change` within `minutes`."""

    kind: Literal["rate"]
    feed: FeedName = Field(description=DESC.pair("Rate.feed"))
    metric: str = Field(description=DESC.pair("Rate.metric"))
    change: float = Field(description=DESC.pair("Rate.change"))
    minutes: float = Field(gt=0, description="时间窗（分钟）/ Within this many minutes")

    @model_validator(mode="after")
    def _nonzero(self) -> Rate:
        if self.change == 0:
            raise ValueError("change must not be 0")
        return self

    def reads(self) -> tuple[str, ...]:
        return (self.feed,)

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        v = r.values.get(self.metric)
        if v is None:
            return None
        window: list[tuple[datetime, float]] = memory.setdefault("window", [])
        start = r.ts - timedelta(minutes=self.minutes)
        window[:] = [(t, x) for t, x in window if t >= start] + [(r.ts, v)]
        if self.change > 0:
            moved = v - min(x for _, x in window)
            holds = moved >= self.change
        else:
            moved = v - max(x for _, x in window)
            holds = moved <= self.change
        return Outcome(holds, self.severity_or(2), v,
                       *WORDS.both("changed_within", label=r.label, metric=self.metric, minutes=self.minutes,
                                   moved=moved))


class Absence(RuleSettings):
    """Silence: a device (or the whole feed) sent nothing for `minutes`; cleared by its next message."""

    kind: Literal["absence"]
    feed: FeedName = Field(description=DESC.pair("Absence.feed"))
    minutes: float = Field(gt=0, description=DESC.pair("Absence.minutes"))
    per: Literal["device", "feed"] = Field("device", description=DESC.pair("Absence.per"))

    def reads(self) -> tuple[str, ...]:
        return (self.feed,)

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        return Outcome(False, self.severity_or(2))  # a message arrived: not silent

    def silent(self, label: str, last_seen: datetime, now: datetime) -> Outcome:
        """Whether a source last heard at last_seen is silent at now."""
        quiet = (now - last_seen).total_seconds() / 60
        return Outcome(quiet >= self.minutes, self.severity_or(2), round(quiet, 1),
                       *WORDS.both("no_data_for", label=label, minutes=quiet))


class Geofence(RuleSettings):
    """A device's position inside (or outside) an area: some counties of the city, or a box."""

    kind: Literal["geofence"]
    feed: FeedName = Field(description="数据源（带位置的设备）/ Feed of the devices")
    counties: list[County] = Field(default_factory=list, description=DESC.pair("Geofence.counties"))
    bbox: list[float] | None = Field(None, min_length=4, max_length=4,
                                     description=DESC.pair("Geofence.bbox"))
    alarm_when: Literal["outside", "inside"] = Field("outside", description=DESC.pair("Geofence.alarm_when"))

    @model_validator(mode="after")
    def _area(self) -> Geofence:
        if bool(self.counties) == (self.bbox is not None):
            raise ValueError("give the area as counties or as a bbox, one of them")
        if self.bbox is not None and not (self.bbox[0] < self.bbox[2] and self.bbox[1] < self.bbox[3]):
            raise ValueError("bbox is [west, south, east, north] with west < east and south < north")
        return self

    def reads(self) -> tuple[str, ...]:
        return (self.feed,)

    @cached_property
    def _area_shape(self) -> BaseGeometry:
        from shapely import box, prepare, union_all

        from geo import load_outline

        shape: BaseGeometry
        if self.bbox is not None:
            west, south, east, north = self.bbox
            shape = box(west, south, east, north)
        else:  # each county's packaged outline (the same polygon as in its city's counties)
            shape = union_all([load_outline(c, "detail") for c in self.counties])
        prepare(shape)
        return shape

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        if r.lon is None or r.lat is None:
            return None
        from shapely import Point

        inside = self._area_shape.covers(Point(r.lon, r.lat))
        holds = inside if self.alarm_when == "inside" else not inside
        return Outcome(holds, self.severity_or(2), None,
                       *WORDS.both(f"fence_{self.alarm_when}", label=r.label))


class AirQuality(RuleSettings):
    """HJ 633: a station's AQI at or above a level (default 4, 中度污染)."""

    kind: Literal["aqi"]
    min_level: int = Field(4, ge=2, le=6, description=DESC.pair("AirQuality.min_level"))
    feeds: ClassVar[tuple[str, ...]] = ("air_quality",)

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        aqi = r.values.get("aqi")
        if aqi is None:
            return None
        band = aqi_band(int(aqi))
        return Outcome(band.level >= self.min_level, self.severity_or(4 if band.level >= 5 else 3), aqi,
                       WORDS("aqi", "zh", label=r.label, aqi=aqi, category=band.category_zh,
                             level=band.level_zh),
                       WORDS("aqi", "en", label=r.label, aqi=aqi, category=band.category_en, level=band.level))


class Fog(RuleSettings):
    """CMA 大雾 signals from a road-weather station's visibility (default: red, < 50 m)."""

    kind: Literal["fog"]
    min_signal: Literal["yellow", "orange", "red"] = Field("red", description=DESC.pair("Fog.min_signal"))
    feeds: ClassVar[tuple[str, ...]] = ("road_weather",)

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        vis = r.values.get("visibility_m")
        if vis is None:
            return None
        sig = fog_signal(vis)
        floor = {"yellow": 1, "orange": 2, "red": 3}[self.min_signal]
        if sig is None:
            return Outcome(False, self.severity_or(2), vis)
        return Outcome(sig.severity >= floor, self.severity_or(sig.severity + 1), vis,
                       WORDS("fog", "zh", label=r.label, vis=vis, signal=sig.name_zh),
                       WORDS("fog", "en", label=r.label, vis=vis, signal=sig.name_en))


class FireDanger(RuleSettings):
    """LY/T 1172-95 fire danger from a station's four factors, at or above a level (default 4, 高火险)."""

    kind: Literal["fire_danger"]
    min_level: int = Field(4, ge=2, le=5, description=DESC.pair("FireDanger.min_level"))
    feeds: ClassVar[tuple[str, ...]] = ("fire_risk",)
    FACTORS: ClassVar[tuple[str, ...]] = ("max_temp_c", "rh_pct", "dry_days", "wind_speed_ms")

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        if not all(f in r.values for f in self.FACTORS):
            return None
        v = r.values
        res = fire_danger(v["max_temp_c"], v["rh_pct"], int(v["dry_days"]), beaufort(v["wind_speed_ms"]))
        return Outcome(res.level >= self.min_level, self.severity_or(4 if res.level >= 5 else 3),
                       float(res.level),
                       WORDS("fire", "zh", label=r.label, level=res.level_zh, name=res.name_zh),
                       WORDS("fire", "en", label=r.label, level=res.level, name=res.name_en))


class WaterLevel(RuleSettings):
    """A gauge at or above its warning level (警戒水位), or its guaranteed level (保证水位)."""

    kind: Literal["water_level"]
    at_least: Literal["warning", "guaranteed"] = Field("warning", description=DESC.pair("WaterLevel.at_least"))
    feeds: ClassVar[tuple[str, ...]] = ("hydrology",)

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        status = r.values.get("water_status")
        if status is None:
            return None
        floor = 1 if self.at_least == "warning" else 2
        level = r.values.get("water_level_m")
        key = ("above_guaranteed" if status >= 2 else "above_warning") + ("_at" if level is not None else "")
        return Outcome(status >= floor, self.severity_or(4 if status >= 2 else 3), level,
                       *WORDS.both(key, label=r.label, level=level))


class VideoDetection(RuleSettings):
    """A river-video AI detection (四乱, floating debris …) at or above a confidence; cleared by a clean frame."""

    kind: Literal["video_detection"]
    min_confidence: float = Field(0.8, gt=0, le=1, description=DESC.pair("VideoDetection.min_confidence"))
    detections: list[Detection] = Field(default_factory=lambda: list(Detection),
                                        description=DESC.pair("VideoDetection.detections"))
    feeds: ClassVar[tuple[str, ...]] = ("video_point",)

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        found = [(d, r.values[f"detection.{d.value}"]) for d in self.detections
                 if r.values.get(f"detection.{d.value}", 0) >= self.min_confidence]
        if not found:
            return Outcome(False, self.severity_or(2))
        d, conf = max(found, key=lambda x: x[1])
        zh, en = DETECTION_NAMES[d]
        return Outcome(True, self.severity_or(2), conf,
                       WORDS("detection", "zh", label=r.label, what=zh, conf=conf),
                       WORDS("detection", "en", label=r.label, what=en, conf=conf))


class MeasureRule(RuleSettings):
    """A measure (docs/measures.md) past a line in each county (or one, or the city): judged on the clock from the
    very figures the wall shows — a county's AQI by HJ 663, its open cases — not from one device's readings."""

    kind: Literal["measure"]
    measure: str = Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$",
                         description=DESC.pair("MeasureRule.measure"))
    scope: Literal["county", "city"] = Field("county", description=DESC.pair("MeasureRule.scope"))
    above: float | None = Field(None, description=DESC.pair("MeasureRule.above"))
    below: float | None = Field(None, description=DESC.pair("MeasureRule.below"))

    @model_validator(mode="after")
    def _one_side(self) -> MeasureRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self

    def reads(self) -> tuple[str, ...]:
        return ()  # judged on the clock (AlertEngine.tick), from the measures

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        return None

    def judge(self, label: str, value: float) -> Outcome:
        """Whether the measure's value in a region is past the line."""
        met = _past(value, self.above, self.below)
        sign, line = ("≥", self.above) if self.above is not None else ("≤", self.below)
        return Outcome(met, self.severity_or(2), value, f"{label} {value:g} {sign} {line:g}",
                       f"{label}: {value:g} {sign} {line:g}")


BUILTIN_RULES: tuple[type[RuleSettings], ...] = (Threshold, Duration, Rate, Absence, Geofence, AirQuality, Fog,
                                                 FireDanger, WaterLevel, VideoDetection, MeasureRule)


class RuleRegistry(Registry[type[RuleSettings]]):
    """Rule kinds by name (each a settings model naming itself with `kind: Literal[...]`); the built-ins and the
    plugins (zq.rules) register alike."""

    def __init__(self) -> None:
        super().__init__("rule kind", kind_of, lambda o: isinstance(o, type) and issubclass(o, RuleSettings))

    def schemas(self) -> dict[str, type[BaseModel]]:
        """Each kind's settings model, by kind (what theme files' rules are checked against)."""
        return dict(self.items())


def kind_of(model: type[RuleSettings]) -> str:
    """The kind a settings model declares (`kind: Literal["threshold"]`)."""
    annotation = model.model_fields["kind"].annotation
    args: tuple[object, ...] = getattr(annotation, "__args__", ())
    if len(args) != 1 or not isinstance(args[0], str):
        raise TypeError(f"{model.__name__}.kind must be a Literal of one name")
    return args[0]


def register_builtin_rules(registry: RuleRegistry) -> None:
    """Register every built-in rule kind through the same call an addition uses."""
    for model in BUILTIN_RULES:
        registry.register(model)
