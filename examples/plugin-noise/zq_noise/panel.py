"""The `noise_level` panel type: each meter's newest LAeq, loudest first, with those at the limit marked."""

from __future__ import annotations

from typing import Any

from dash import html
from pydantic import Field

from dashboard.panels import PanelInput, PanelOutput, PanelType
from dashboard.panels.settings import PanelSettings
from store.queries import LatestRow, latest_values
from zq_noise.feed import FEED_NAME


class NoiseLevelSettings(PanelSettings):
    """噪声监测：各站等效声级 / Each meter's equivalent sound level, loudest first."""

    limit_db: float = Field(70.0, ge=30, le=120, description="标红的限值 dB(A) / Levels at or above this are marked")
    rows: int = Field(6, ge=1, le=20, description="最多行数 / Most meters listed")


def data_attrs(r: LatestRow) -> dict[str, Any]:
    """Which meter a row is and its value as stored: what a browser test (or an auditor) reads back."""
    return {"data-device": r.device_id, "data-value": repr(r.value)}


def render_noise_level(inp: PanelInput) -> PanelOutput:
    """Meters of the wall's county (or the city), loudest first."""
    s: NoiseLevelSettings = inp.settings or NoiseLevelSettings.model_validate({})
    en = inp.lang == "en"
    rows = sorted((r for r in latest_values(inp.session, FEED_NAME, ["laeq_db"], inp.county)
                   if inp.sees(r.county_adcode)), key=lambda r: -r.value)
    if not rows:
        return PanelOutput(html.Div("No data" if en else "暂无数据", className="empty"), None)
    loud = sum(r.value >= s.limit_db for r in rows)
    head = html.Div(f"{loud} of {len(rows)} at or above {s.limit_db:g} dB(A)" if en
                    else f"{len(rows)} 站中 {loud} 站达到 {s.limit_db:g} dB(A)", className="noise-head")
    lines = [html.Li(className="noise-row" + (" noise-loud" if r.value >= s.limit_db else ""), **data_attrs(r),
                     children=[html.Span(r.name or r.device_id, className="noise-name"),
                               html.Span(inp.names.get(r.county_adcode or "", ""), className="noise-county"),
                               html.B(f"{r.value:.1f}", className="noise-value"),
                               html.Span(" dB(A)", className="noise-unit")])
             for r in rows[:s.rows]]
    return PanelOutput(html.Div([head, html.Ul(lines, className="noise-list")]), max(r.ts for r in rows))


PANEL = PanelType("noise_level", "噪声监测", "Noise monitoring", FEED_NAME, render_noise_level, NoiseLevelSettings)
