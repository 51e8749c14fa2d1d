"""Panel types: a registry of renderers, and the shell that gives every panel its freshness badge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from dash import html
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from dashboard import ids
from feeds.health import FeedHealth
from geo import City
from measures import MeasureRegistry
from plugins import Registry
from settings import Settings
from topics import Theme
from words import pick, t


@cache
def default_measures() -> MeasureRegistry:
    """The built-in measures for the default settings' city (an app hands its own registry down)."""
    from roles import builtin_measures  # the same built-ins a process without pages registers

    return builtin_measures(Settings.model_construct())


def default_city() -> City:
    """The default settings' city (--city unset), for what is built without an app to hand its own city down
    (a theme file checked without one, a panel rendered in a test)."""
    return City.load(Settings.model_construct().city)


@dataclass(frozen=True)
class PanelInput:
    """What a panel renderer may read: a session, the language, the county filter, feed health."""

    session: Session
    lang: str
    county: str | None
    health: dict[str, FeedHealth]
    now: datetime
    names: dict[str, str]
    theme: str | None = None  # the theme the wall shows, for panels that depend on it
    theme_def: Theme | None = None  # that theme as its file says now (theme files are re-read when they change)
    settings: BaseModel | None = None  # this panel's settings, an instance of its type's settings model
    counties: Any = None  # the city's counties (GeoDataFrame, the wall's level of detail), for map panels
    layers: Any = None  # the layer registry (layers.LayerRegistry), for map panels
    measures: MeasureRegistry = field(default_factory=lambda: default_measures())  # every figure is read here
    city: City = field(default_factory=default_city)  # the app's city (settings --city): its adcode and counties
    # The counties the viewer may see (None: the whole city): a panel comparing counties shows these only.
    visible: frozenset[str] | None = None

    def sees(self, county: str | None) -> bool:
        """Whether the viewer may see that county's figures."""
        return self.visible is None or county in self.visible


@dataclass(frozen=True)
class PanelOutput:
    """A rendered panel body and the time of the newest data it shows."""

    body: Any
    data_time: datetime | None
    feed: str | None = None  # the feed whose freshness applies, when the settings choose it (else the type's)


Renderer = Callable[[PanelInput], PanelOutput]


class NoSettings(BaseModel):
    """The settings of a panel type that has none: any setting written for it is a mistake."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class PanelType:
    """A kind of panel; `feed` names the feed whose freshness the panel must show, `settings` what a theme
    file may set for it (a pydantic model, which is also what the editor's form is generated from)."""

    name: str
    title_zh: str
    title_en: str
    feed: str | None
    render: Renderer
    settings: type[BaseModel] = NoSettings


class PanelRegistry(Registry[PanelType]):
    """Panel types by name; built-ins and plugins (zq.panels) register alike."""

    def __init__(self) -> None:
        super().__init__("panel type", lambda p: p.name, lambda o: isinstance(o, PanelType))

    def schemas(self) -> dict[str, type[BaseModel]]:
        """Each type's settings model, by type name (what theme files are checked against)."""
        return {panel.name: panel.settings for panel in self}


def fmt_time(ts: datetime | None, now: datetime) -> str:
    """HH:MM:SS in local time, with the date when it is not today."""
    if ts is None:
        return "—"
    local = ts.astimezone(now.tzinfo)
    return local.strftime("%H:%M:%S") if local.date() == now.date() else local.strftime("%m-%d %H:%M")


def freshness(panel: PanelType, out: PanelOutput, inp: PanelInput) -> tuple[list[Any], str]:
    """The panel's data-time line and class: greyed with a delay badge when its feed is stale."""
    feed = out.feed or panel.feed
    if feed is None and out.data_time is None:
        return [], "panel"  # a note, not data: no time to show
    health = inp.health.get(feed) if feed else None
    meta: list[Any] = [html.Span(f"{t('data_time', inp.lang)} {fmt_time(out.data_time, inp.now)}",
                                 className="data-time")]
    cls = "panel"
    if health is not None and health.stale:
        cls = "panel stale"
        minutes = int((health.age_s or 0) // 60) if health.age_s is not None else None
        label = t("stale", inp.lang, n=minutes) if minutes is not None else t("no_data", inp.lang)
        meta.append(html.Span(label, className="badge-stale"))
    return meta, cls


def shell(panel: PanelType, lang: str, extra_class: str = "", title: str | None = None,
          ident: str | None = None) -> html.Section:
    """The static frame of a panel (ident: its instance id, default the type); the tick fills body and meta."""
    key = {"name": ident or panel.name}
    return html.Section(
        id={"type": ids.PANEL, **key}, className=f"panel {extra_class}".strip(),
        children=[
            html.Header(className="panel-head", children=[
                html.H2(title or pick(panel.title_zh, panel.title_en, lang)),
                html.Div(id={"type": ids.PANEL_META, **key}, className="panel-meta"),
            ]),
            html.Div(id={"type": ids.PANEL_BODY, **key}, className=f"panel-body {panel.name}-body"),
        ],
    )


def figure_attrs(measures: MeasureRegistry, name: str, region: str, got: Any) -> dict[str, str]:
    """The data-* attributes of an element showing a measure's value: which measure (its canonical key), which
    region (adcode) and the value as computed, before formatting — so a browser, or anyone auditing the wall,
    can check that two places showing one figure agree."""
    value = getattr(got, "value", got)
    return {"data-measure": measures.key(name), "data-region": region,
            "data-value": "" if value is None else repr(float(value))}


def silent_before(inp: PanelInput, measure: str) -> datetime:
    """Readings older than this say nothing about now: the station measure's reporting window (measures.stations),
    so a panel dims exactly the stations its figure leaves out."""
    m = inp.measures.get(measure)
    return inp.now - (m.window if m is not None and m.window is not None else timedelta(0))


def figure(inp: PanelInput, name: str, region: str, got: Any) -> dict[str, str]:
    """A panel's figure_attrs."""
    return figure_attrs(inp.measures, name, region, got)
