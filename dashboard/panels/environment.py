"""Panels of the ecology theme (生态环境保护): AQI by county, river levels against their warning levels.

A county's AQI is its worst current station's, not the mean of its stations' concentrations: on a wall
the question is where the air is bad, and a mean hides one bad station among clean ones. The city's
headline AQI follows the national practice (HJ 663): the mean of each concentration over the stations,
then the AQI of those means. The footnote says both; `store.env_queries` holds the county rule so the
ecology map colours counties by the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dash import html

from dashboard.panels.base import PanelInput, PanelOutput, PanelRegistry, PanelType, figure, silent_before
from layers.aqi import aqi_colour
from layers.choropleth import NO_DATA, text_colour
from measures.air import AQI_KEY, aqi_of, area_air, current_stations, realtime_inputs
from measures.stations import WATER_OVER_WARNING_KEY
from standards.aqi import AqiBand, AqiResult, Edition, Metric, aqi_band
from standards.hydro import STATIONS, WaterState, WaterStatus, water_status
from store.env_queries import AirStation, GaugeReading, gauge_readings
from words import Words, html_lang, pick, t


_POLLUTANT = {"pm2_5": "PM₂.₅", "pm10": "PM₁₀", "so2": "SO₂", "no2": "NO₂", "co": "CO", "o3": "O₃"}
MINUS = "\u2212"


tx = Words("panels.environment")  # this module's words in the catalog (words/locale)
PANEL = Words("panel")  # the built-in panel types' titles, by their names
RIVER = Words("river")  # rivers by their Chinese names


def no_data(inp: PanelInput, data_time: datetime | None = None) -> PanelOutput:
    """The no-data body every panel shows when it has nothing to show."""
    return PanelOutput(html.Div(t("no_data", inp.lang), className="empty"), data_time)


def _lang_attr(lang: str) -> str:
    """The HTML lang of a panel body, so the stylesheet can fit longer English labels."""
    return html_lang(lang)


def _newest(times: Iterable[datetime]) -> datetime | None:
    return max(times, default=None)


# ---- air quality ---------------------------------------------------------------------------------------


def pollutant_symbol(metric: str) -> str:
    """How a wall names a pollutant column: PM₂.₅, PM₁₀, O₃, O₃-8h, NO₂ …"""
    try:
        info = Metric(metric).info
    except ValueError:
        return metric
    symbol = _POLLUTANT.get(info.pollutant, info.symbol)
    return f"{symbol}-8h" if metric == Metric.O3_8H else symbol


def _aqi_of(inputs: dict[str, float | None], edition: str) -> AqiResult | None:
    return aqi_of(inputs, edition)


def station_primary(s: AirStation) -> tuple[str, ...]:
    """A station's primary pollutants: from its attrs, else recomputed from the stored concentrations."""
    if s.primary_pollutants is not None:
        return s.primary_pollutants
    result = _aqi_of(realtime_inputs(s.values), s.edition or Edition.HJ633_2012.value)
    return tuple(m.value for m in result.primary_pollutants) if result else ()


def city_aqi(stations: Sequence[AirStation]) -> AqiResult | None:
    """The city's real-time AQI: the eco.aqi measure's rule (HJ 663) over every current station."""
    area = area_air(stations, Edition.HJ633_2012.value)
    return area.result if area else None


@dataclass(frozen=True)
class AirRow:
    """One line of the AQI panel: a county (city view) or a station (county view)."""

    key: str
    name: str
    aqi: int | None
    primary: tuple[str, ...]

    @property
    def band(self) -> AqiBand | None:
        """The HJ 633 band of the AQI."""
        return None if self.aqi is None else aqi_band(self.aqi)


def _union(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for g in groups:
        for m in g:
            seen.setdefault(m, None)
    return tuple(seen)


def county_rows(stations: Sequence[AirStation], names: dict[str, str]) -> list[AirRow]:
    """Every county worst first, its AQI the eco.aqi measure's (HJ 663: the AQI of the mean concentrations over
    its current stations); counties without a current AQI last."""
    groups: dict[str, list[AirStation]] = {}
    for st in stations:
        if st.county_adcode:
            groups.setdefault(st.county_adcode, []).append(st)
    rows = []
    for c in [*names, *sorted(set(groups) - set(names))]:
        area = area_air(groups.get(c, []), Edition.HJ633_2012.value)
        result = area.result if area else None
        rows.append(AirRow(c, names.get(c, c), result.aqi if result else None,
                           tuple(m.value for m in result.primary_pollutants) if result else ()))
    return sorted(rows, key=lambda r: (r.aqi is None, -(r.aqi or 0)))


def station_rows(stations: Sequence[AirStation], county_name: str = "") -> list[AirRow]:
    """The stations of one county, worst first; names lose the county's name in front (the panel says it)."""
    def short(name: str) -> str:
        rest = name.removeprefix(county_name) if county_name else name
        return rest or name

    rows = [AirRow(s.device_id, short(s.name or s.device_id), s.aqi, station_primary(s)) for s in stations]
    return sorted(rows, key=lambda r: (-(r.aqi or 0), r.name))


def _pollutants(metrics: Sequence[str], lang: str) -> str:
    return t("list_sep", lang).join(pollutant_symbol(m) for m in metrics)


# Short English categories for the wall's narrow cells (the standard's full names are in standards.aqi).
CATEGORY_EN_SHORT = {1: "Excellent", 2: "Good", 3: "Light", 4: "Moderate", 5: "Heavy", 6: "Severe"}


def _category(band: AqiBand | None, lang: str) -> str:
    return "—" if band is None else pick(band.category_zh, CATEGORY_EN_SHORT[band.level], lang)


def _air_row(r: AirRow, lang: str, attrs: dict[str, str] | None = None) -> html.Li:
    colour = aqi_colour(r.aqi)
    return html.Li(className="row ev-aq-row", children=[
        html.Span(className="ev-swatch", style={"background": colour}),
        html.Span(r.name, className="name"),
        html.Span("—" if r.aqi is None else str(r.aqi), className="ev-aqi", **(attrs or {})),
        html.Span(_category(r.band, lang), className="tag ev-cat",
                  style={"background": colour, "color": text_colour(colour)}),
        html.Span(_pollutants(r.primary, lang) or "—", className="ev-pol"),
    ])


def _air_footnote(stations: Sequence[AirStation], lang: str, county: bool = False) -> str:
    editions = sorted({s.edition or Edition.HJ633_2012.value for s in stations})
    parts = [tx("aqi_rule_county" if county else "aqi_rule", lang)]
    for ed in editions:
        verified = Edition(ed).verified if ed in {e.value for e in Edition} else False
        parts.append(f"{ed.replace('HJ633', 'HJ 633')} {tx('realtime', lang)}"
                     + ("" if verified else f" ({tx('unverified', lang)})"))
    parts.append(tx("dept_env", lang))
    return " · ".join(parts)


def _air_details(stations: Sequence[AirStation], lang: str) -> str:
    """What the footnote has no room for on the wall, as its tooltip."""
    one_hour = sorted(s.name or s.device_id for s in stations if "1h" in s.pm_basis.values())
    return f"{tx('pm_1h', lang)}: {', '.join(one_hour)}" if one_hour else ""


def render_air_quality(inp: PanelInput) -> PanelOutput:
    """AQI per county (or per station of one county), worst first, in the HJ 633 colours."""
    stations = current_stations(inp.session, inp.county)  # the stations the eco.aqi measure reads
    if not stations:
        return no_data(inp)
    lang = inp.lang
    if inp.county:
        head_label = inp.names.get(inp.county, inp.county)
        rows = station_rows(stations, head_label)
        region = inp.county
    else:
        rows = county_rows(stations, inp.names)
        head_label = tx("city", lang)
        region = inp.city.adcode
    area = city_aqi(stations)  # the area's AQI by the eco.aqi measure's rule: the county's or the city's
    head_aqi = area.aqi if area else None
    head_primary = tuple(m.value for m in area.primary_pollutants) if area else ()
    colour = aqi_colour(head_aqi)
    band = None if head_aqi is None else aqi_band(head_aqi)
    side = html.Div(className="ev-aq-side", children=[
        html.Div(className="ev-badge", style={"background": colour, "color": text_colour(colour)}, children=[
            html.Div(f"{head_label} AQI", className="ev-badge-label"),
            html.Div("—" if head_aqi is None else str(head_aqi), className="ev-badge-value",
                     **figure(inp, AQI_KEY, region, head_aqi)),
            html.Div(_category(band, lang), className="ev-badge-cat"),
        ]),
        html.Div(className="ev-primary", children=[
            html.Span(tx("primary", lang), className="ev-primary-label"),
            html.Span(_pollutants(head_primary, lang) if head_primary else
                      ("—" if head_aqi is None else tx("none_primary", lang)), className="ev-primary-value"),
        ]),
        html.Div(_air_footnote(stations, lang, bool(inp.county)), title=_air_details(stations, lang),
                 className="footnote ev-aq-note"),
    ])
    body = html.Div(className="ev-aq", lang=_lang_attr(lang), children=[
        side, html.Ul([_air_row(r, lang, figure(inp, AQI_KEY, r.key, r.aqi) if not inp.county else {})
                       for r in rows[:8]], className="rows ev-aq-rows")])
    return PanelOutput(body, _newest(s.ts for s in stations))


# ---- water levels --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaugeView:
    """A gauging station as the panel lists it."""

    reading: GaugeReading
    status: WaterStatus | None

    @property
    def over_warning_m(self) -> float | None:
        """Level minus warning level, m: negative below it, positive above it."""
        return None if self.status is None else -self.status.margin_to_warning_m + 0.0


def gauge_views(readings: Iterable[GaugeReading]) -> list[GaugeView]:
    """Stations closest to (or furthest over) their warning level first; stations without levels last."""
    views = []
    for r in readings:
        status = None
        if r.warning_m is not None:
            try:
                status = water_status(r.level_m, r.warning_m, r.guaranteed_m)
            except ValueError:  # levels out of order in the attrs: show the level, no status
                status = None
        views.append(GaugeView(r, status))
    return sorted(views, key=lambda v: (v.status is None,
                                        -(v.over_warning_m or 0.0) if v.status else 0.0,
                                        v.reading.name or v.reading.device_id))


def _signed(v: float) -> str:
    """+0.15 / −0.42 with a true minus sign."""
    return f"{MINUS}{abs(v):.2f}" if v < 0 else f"+{v:.2f}"


def margin_text(v: GaugeView, lang: str) -> str:
    """"距警戒 −0.42 m", "超警戒 +0.15 m", "超保证 +0.05 m" or "无警戒水位"."""
    s = v.status
    if s is None:
        return tx("no_levels", lang)
    if s.state is WaterState.ABOVE_GUARANTEED and s.margin_to_guaranteed_m is not None:
        return tx("over_guaranteed", lang, v=_signed(-s.margin_to_guaranteed_m + 0.0))
    over = v.over_warning_m or 0.0
    return tx("over_warning" if s.state is WaterState.ABOVE_WARNING else "to_warning", lang, v=_signed(over))


def _levels_text(r: GaugeReading) -> str:
    if r.warning_m is None:
        return "—"
    g = "—" if r.guaranteed_m is None else f"{r.guaranteed_m:.2f}"
    return f"{r.warning_m:.2f}/{g}"


def _datum_note(views: Sequence[GaugeView], lang: str) -> str:
    """The datum caveat: which stations' levels come from our unverified table, which from the API."""
    from_table = []
    for v in views:
        r = v.reading
        station = STATIONS.get(r.station_key or "")
        if r.levels_from == "standards.hydro" and (station is None or not station.verified):
            name = pick(station.name_zh, station.name_en, lang) if station else (r.name or r.device_id)
            from_table.append(name)
    parts = [tx("datum_all", lang)]
    if from_table:
        parts.append(tx("datum_news", lang, names=t("list_sep", lang).join(from_table)))
        if any(v.reading.levels_from == "payload" for v in views):
            parts.append(tx("datum_api", lang))
    parts.append(tx("dept_water", lang))
    return " · ".join(parts)


def render_water_levels(inp: PanelInput) -> PanelOutput:
    """Each station's level against its warning and guaranteed levels, the margin and the status colour."""
    views = gauge_views(gauge_readings(inp.session, inp.county))
    if not views:
        return no_data(inp)
    lang = inp.lang
    known = [v for v in views if v.status]
    silent = silent_before(inp, WATER_OVER_WARNING_KEY)
    over_g = [v for v in known if v.status and v.status.state is WaterState.ABOVE_GUARANTEED
              and v.reading.ts >= silent]
    region = inp.county or inp.city.adcode
    got = inp.measures.value(inp.session, WATER_OVER_WARNING_KEY, region, inp.now)  # reporting gauges at or over warning
    over = int(got.value) if got is not None else 0
    head = html.Div(className="big-number ev-wl-head", children=[
        html.Span(str(over), className="value" + (" alert" if over else ""),
                  **figure(inp, WATER_OVER_WARNING_KEY, region, got)),
        html.Span(f" / {len(known)} {tx('above_warning', lang)}", className="unit"),
        *([html.Span(tx("above_guaranteed", lang, n=len(over_g)), className="tag ev-wl-guar")]
          if over_g else []),
    ])
    cells: list[Any] = [html.Span(tx(k, lang), className="ev-gh")
                        for k in ("station", "river_county", "level", "levels", "margin")]
    for v in views[:5]:  # the five most urgent: room for the two-line datum caveat
        r = v.reading
        colour = v.status.colour.hex if v.status else NO_DATA
        river = RIVER.get(r.river, lang, r.river) if r.river else "—"
        dim = " silent" if r.ts < silent else ""
        cells += [
            html.Span(className="ev-gname" + dim, children=[
                html.Span(className="ev-swatch", style={"background": colour}),
                html.Span(r.name or r.device_id)]),
            html.Span(f"{river}·{inp.names.get(r.county_adcode or '', '—')}", className="ev-muted"),
            html.Span(f"{r.level_m:.2f}", className="ev-num ev-level"),
            html.Span(_levels_text(r), className="ev-num ev-muted"),
            html.Span(margin_text(v, lang), className="tag ev-state",
                      style={"background": colour, "color": text_colour(colour)}),
        ]
    body = html.Div(className="ev-wl", lang=_lang_attr(lang), children=[
        head, html.Div(cells, className="ev-gauges"),
        html.Div(_datum_note(views, lang), title=tx("datum_source", lang), className="footnote")])
    return PanelOutput(body, _newest(v.reading.ts for v in views))


# ---- registration --------------------------------------------------------------------------------------

ENVIRONMENT_PANELS = (
    PanelType("air_quality", *PANEL.both("air_quality"), "air_quality",
              render_air_quality),
    PanelType("water_levels", *PANEL.both("water_levels"), "hydrology",
              render_water_levels),
)


def register_environment_panels(registry: PanelRegistry) -> None:
    """Register the ecology panels (air_quality, water_levels) through the public registry call."""
    for panel in ENVIRONMENT_PANELS:
        registry.register(panel)
