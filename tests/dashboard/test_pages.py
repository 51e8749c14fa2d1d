"""Pure pieces of the pages and the app without a browser: clicks, colours, panels, /healthz, --help."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dashboard import create_app
from dashboard.pages.common import href, query
from dashboard.pages.wall import clicked_county, render_panels
from clock import process_clock
from topics.themes import PanelDef, Placed
from dashboard.panels.builtin import fmt_value, kpi_progress, road_weather_view
from geo import load_counties
from layers.choropleth import class_breaks, colour_for, label_point, text_colour, SEQUENTIAL
from settings import Settings
from store import Batch, write_batch
from store.queries import LatestRow
from topics import THEMES, KpiDef
from tests.conftest import migrated_sqlite

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"441202": "端州区", "441224": "怀集县"}
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_a_click_inside_a_fill_or_on_a_label_names_the_county() -> None:
    figure = {"data": [{"meta": {"adcode": "441202"}}, {"meta": {"adcode": "441224"}}, {"meta": {"layer": "x"}}]}
    inside_fill = {"points": [{"curveNumber": 1, "customdata": ["441224", "441224"]}]}
    fill_without_customdata = {"points": [{"curveNumber": 0}]}
    label = {"points": [{"curveNumber": 2, "pointNumber": 0, "customdata": "441202"}]}
    assert clicked_county(inside_fill, figure, NAMES) == "441224"
    assert clicked_county(fill_without_customdata, figure, NAMES) == "441202"
    assert clicked_county(label, figure, NAMES) == "441202"
    assert clicked_county({"points": [{"curveNumber": 2}]}, figure, NAMES) is None
    assert clicked_county({"points": [{"customdata": "110101"}]}, figure, NAMES) is None
    assert clicked_county(None, figure, NAMES) is None


def test_classes_and_colours() -> None:
    assert class_breaks([0, 3, 10]) == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert class_breaks([]) == [1.0, 2.0, 3.0, 4.0, 5.0]  # an empty city still gets a legend
    breaks = class_breaks([0, 10])
    assert colour_for(0, breaks) == SEQUENTIAL[0]
    assert colour_for(10, breaks) == SEQUENTIAL[-1]
    assert colour_for(5, breaks) == SEQUENTIAL[2]
    assert text_colour("#ffffb2") == "#0b1220" and text_colour("#bd0026") == "#ffffff"


def test_labels_sit_inside_their_county_even_for_odd_shapes() -> None:
    counties = load_counties("441200", "coarse")
    for adcode, geom in zip(counties["adcode"], counties.geometry, strict=True):
        assert geom.contains(label_point(geom)), adcode


def test_road_weather_view_sorts_worst_first_with_cma_signals() -> None:
    rows = [LatestRow("A", "甲站", "441204", "visibility_m", NOW, 3000.0),
            LatestRow("B", "乙站", "441204", "visibility_m", NOW, 45.0),
            LatestRow("C", "丙站", "441224", "visibility_m", NOW, 150.0),
            LatestRow("C", "丙站", "441224", "air_temp_c", NOW, 12.5)]
    view = road_weather_view(rows)
    assert [s.name for s in view] == ["乙站", "丙站", "甲站"]
    assert [s.signal_zh for s in view][:2] == ["大雾红色预警信号", "大雾橙色预警信号"]
    assert view[2].signal_severity == 0 and view[1].air_temp_c == 12.5


def test_kpi_formatting_and_progress() -> None:
    k = KpiDef(key="kpi.x", name_zh="x", name_en="x", unit="人", target=3_200_000, department="市政数局")
    assert fmt_value(3_051_234, "人") == "305.1万"
    assert fmt_value(86.5, "%") == "86.5"
    assert round(kpi_progress(2_400_000, k) or 0) == 75
    cap = KpiDef(key="kpi.y", name_zh="y", name_en="y", target=100, target_kind="max", department="d")
    assert kpi_progress(50, cap) == 50


def test_every_theme_names_its_departments_and_targets_from_the_plan() -> None:
    assert [t.name_zh for t in THEMES] == ["经济调节", "市场监管", "社会管理", "公共服务", "生态环境保护"]
    targets = {k.key: k.target for t in THEMES for k in t.kpis}
    assert targets["service.yss_registered"] == 3_200_000 and targets["service.yss_mau"] == 1_200_000
    assert targets["service.haochaping_active_rate"] == 85 and targets["market.ysht_users"] == 230_000
    assert all(k.department for t in THEMES for k in t.kpis)


def test_url_helpers() -> None:
    assert query("?theme=service&lang=en") == {"theme": "service", "lang": "en"}
    assert href("/", theme="eco", lang=None) == "/?theme=eco"


@pytest.fixture
def quiet_app(tmp_path: Path):
    """The app on a fresh SQLite file, without ingest or simulator."""
    return create_app(Settings(db=migrated_sqlite(tmp_path / 'zq.sqlite3')), start_feeds=False)


def test_healthz_reports_every_feed_and_staleness(quiet_app) -> None:
    ctx = quiet_app.server.config["ZQ_CONTEXT"]
    fresh, old = process_clock().now(), process_clock().now() - timedelta(hours=2)
    b = Batch()
    b.count("road_weather", ok=True, message_at=fresh, received_at=fresh)
    b.count("fire_risk", ok=True, message_at=old, received_at=old)
    b.count("video_point", ok=False, message_at=None, received_at=fresh)
    with Session(ctx.engine) as s, s.begin():
        write_batch(s, b)
    body = quiet_app.server.test_client().get("/healthz").get_json()
    feeds = {f["feed"]: f for f in body["feeds"]}
    assert set(feeds) == {"video_point", "road_weather", "fire_risk", "grid_event", "kpi", "air_quality",
                          "hydrology", "hotline_12345"}
    assert feeds["road_weather"]["stale"] is False and feeds["road_weather"]["last_message_at"]
    assert feeds["fire_risk"]["stale"] is True and feeds["fire_risk"]["age_s"] > 3600
    assert feeds["video_point"]["stale"] is True and feeds["video_point"]["dead_letters"] == 1
    assert body["status"] == "degraded" and "grid_event" in body["stale_feeds"]


def test_a_stale_feed_greys_its_panel_with_a_delay_badge(quiet_app) -> None:
    ctx = quiet_app.server.config["ZQ_CONTEXT"]
    old = process_clock().now() - timedelta(minutes=42)
    b = Batch()
    b.add_device({"id": "RW1", "kind": "road_weather", "name": "测试站", "county_adcode": "441204",
                  "declared_adcode": "441204", "lon": 112.4, "lat": 23.0, "first_seen": old, "last_seen": old,
                  "attrs": {}})
    b.add_observations("RW1", "road_weather", old, "441204", {"visibility_m": 80.0})
    b.count("road_weather", ok=True, message_at=old, received_at=old)
    with Session(ctx.engine) as s, s.begin():
        write_batch(s, b)
    bodies, metas, classes = render_panels(ctx, [Placed("road_weather", PanelDef(type="road_weather", column="left"))],
                                           "zh", None, None)
    assert "stale" in classes[0]
    assert any("数据延迟 42 分钟" in str(m) for m in metas[0])
    assert "测试站" in str(bodies[0])  # the last values stay, greyed, never blanked


def test_help_lists_every_setting() -> None:
    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in out, name


def test_settings_doc_is_the_table_of_the_code() -> None:
    from settings import settings_table

    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert f"<!-- settings:start -->\n{settings_table()}<!-- settings:end -->" in doc, "run `make docs`"
