"""Point layers: devices styled by status within their kind, grid events by step colour and class symbol."""

from __future__ import annotations

import math

import numpy as np
import pytest

from feeds.payloads import COMPONENT_CATEGORIES, EVENT_CATEGORIES, WORKFLOW_STEPS, WORKFLOW_STEPS_EN
from layers.points import (
    ALARM_RED,
    CATEGORY_GROUPS,
    CELLS_ALONG,
    CLUSTER_FROM,
    KIND_STYLE,
    STALE_GREY,
    STEP_COLOURS,
    UNKNOWN_STEP,
    PointRow,
    category_group,
    device_cells,
    device_points,
    event_points,
    step_text,
)

VIDEO_BLUE = KIND_STYLE["video_point"][0]


def devices() -> list[PointRow]:
    return [
        PointRow("v1", "video_point", 112.46, 23.05, "桥头"),
        PointRow("v2", "video_point", 112.47, 23.06, "码头", False),
        PointRow("v3", "video_point", 112.48, 23.07, "河口", status="stale"),
        PointRow("v4", "video_point", 112.49, 23.08, "闸口", status="alarm"),
        PointRow("r1", "road_weather", 112.50, 23.09, "高速K12"),
    ]


def test_status_defaults_from_ok_and_unknown_statuses_are_refused() -> None:
    assert PointRow("a", "video_point", 0, 0, "").status == "online"
    assert PointRow("a", "video_point", 0, 0, "", False).status == "offline"
    assert PointRow("a", "video_point", 0, 0, "", True, status="alarm").status == "alarm"
    with pytest.raises(ValueError, match="status"):
        PointRow("a", "video_point", 0, 0, "", status="broken")  # type: ignore[arg-type]


def test_each_status_has_its_own_marker_within_the_kind_colour() -> None:
    traces = device_points(devices())
    assert [(t.meta["kind"], t.meta["status"]) for t in traces] == [
        ("video_point", "online"), ("video_point", "offline"), ("video_point", "stale"), ("video_point", "alarm"),
        ("road_weather", "online")]
    assert {t.meta["layer"] for t in traces} == {"devices"}
    online, offline, stale, alarm = traces[:4]
    assert online.marker.color == online.marker.line.color == VIDEO_BLUE  # online: filled
    assert offline.marker.color == "rgba(0,0,0,0)" and offline.marker.line.color == VIDEO_BLUE  # hollow
    assert stale.marker.color == stale.marker.line.color == STALE_GREY  # stale: grey
    assert alarm.marker.color == VIDEO_BLUE and alarm.marker.line.color == ALARM_RED  # alarm: red ring
    assert alarm.marker.line.width > online.marker.line.width
    assert ALARM_RED == "#{:02X}{:02X}{:02X}".format(255, 0, 0)  # the warning-signal red
    assert [list(t.customdata) for t in traces[:4]] == [["v1"], ["v2"], ["v3"], ["v4"]]


def test_legend_names_kinds_once_and_hover_names_the_status() -> None:
    zh = device_points(devices())
    assert [t.name for t in zh if t.showlegend] == ["河长视频点位", "交通气象站"]
    assert {t.legendgroup for t in zh[:4]} == {"video_point"}  # one legend click toggles the kind
    assert zh[3].text[0] == "闸口" and zh[3].hovertemplate == "%{text}<br>告警<extra></extra>"
    assert zh[2].hovertemplate == "%{text}<br>数据延迟<extra></extra>"
    en = device_points(devices(), "en")
    assert [t.name for t in en if t.showlegend] == ["Video points", "Road-weather stations"]
    assert en[1].hovertemplate == "%{text}<br>offline<extra></extra>"


def test_events_without_categories_are_one_trace_coloured_by_step() -> None:
    rows = [PointRow(f"e{i}", "event", 112.4 + i / 100, 23.0, f"暴露垃圾<br>e{i}") for i in range(7)]
    steps = [1, 2, 3, 4, 5, 6, 7]
    (trace,) = event_points(rows, steps)
    assert trace.meta["layer"] == "events" and trace.name == "网格事件"
    assert list(trace.marker.color) == list(STEP_COLOURS)
    assert trace.text[2] == "暴露垃圾<br>e2<br>任务派遣 (3/7)"
    (en,) = event_points(rows, steps, "en")
    assert en.text[5].endswith("Verification & closing (6/7)")


def test_events_with_categories_get_a_symbol_per_class_group() -> None:
    rows = [PointRow(f"e{i}", "event", 112.4, 23.0 + i / 100, f"e{i}") for i in range(5)]
    categories = [("部件", "市容环境"), ("事件", "市容环境"), ("事件", "突发事件"), ("部件", "公用设施"),
                  ("事件", "宣传广告")]
    traces = event_points(rows, [2, 3, 4, 4, 9], "zh", categories=categories)
    by_group = {t.meta["group"]: t for t in traces}
    assert set(by_group) == {"appearance", "emergency", "facilities"}
    assert all(t.meta["layer"] == "events" for t in traces)
    appearance = by_group["appearance"]
    # 市容环境 is a 部件 class and an 事件 class: one symbol, the kind named in the hover.
    assert list(appearance.customdata) == ["e0", "e1", "e4"] and appearance.marker.symbol == "square"
    assert appearance.text[0] == "e0<br>部件 · 市容环境<br>案卷建立 (2/7)"
    assert appearance.text[1] == "e1<br>事件 · 市容环境<br>任务派遣 (3/7)"
    assert appearance.marker.color[2] == UNKNOWN_STEP  # step 9 does not exist: grey, not a wrapped colour
    assert by_group["emergency"].marker.symbol == "star"
    assert len({t.marker.symbol for t in traces}) == 3
    en = event_points(rows, [2, 3, 4, 4, 5], "en", categories=categories)
    assert {t.name for t in en} >= {"Emergencies"} and en[0].text[0] == "e0<br>component · 市容环境<br>Filing (2/7)"


def test_every_domain_class_has_a_group_and_only_other_and_extended_share_the_fallback() -> None:
    classes = set(COMPONENT_CATEGORIES) | set(EVENT_CATEGORIES)
    assert len(classes) == 12  # 7 部件 + 6 事件 classes, 市容环境 in both
    grouped = set().union(*(g[2] for g in CATEGORY_GROUPS))
    assert grouped == classes
    assert {c for c in classes if category_group(c)[0] == "other"} == {"其他设施", "扩展部件", "扩展事件"}
    assert category_group("不存在的类")[0] == "other"
    assert len({g[1] for g in CATEGORY_GROUPS}) == len(CATEGORY_GROUPS)  # one symbol per group


def test_step_names_are_the_workflow_of_domain_md() -> None:
    assert tuple(step_text(i, "zh").split(" (")[0] for i in range(1, 8)) == WORKFLOW_STEPS
    assert tuple(step_text(i, "en").split(" (")[0] for i in range(1, 8)) == WORKFLOW_STEPS_EN


def test_mismatched_lengths_and_no_rows() -> None:
    assert event_points([], []) == []
    with pytest.raises(ValueError, match="same length"):
        event_points([PointRow("e", "event", 0, 0, "")], [1, 2])
    with pytest.raises(ValueError, match="same length"):
        event_points([PointRow("e", "event", 0, 0, "")], [1], categories=[])


BOUNDS = (112.0, 23.0, 113.0, 24.0)


def test_many_devices_are_drawn_per_grid_cell_and_a_lone_device_as_itself() -> None:
    near = [PointRow("v1", "video_point", 112.5001, 23.5001, "桥头"),
            PointRow("v2", "video_point", 112.5002, 23.5002, "码头", status="alarm"),
            PointRow("r1", "road_weather", 112.5003, 23.5003, "高速K12", False)]
    alone = PointRow("f1", "fire_risk", 112.1, 23.9, "山顶")
    traces = device_points([*near, alone], "zh", bounds=BOUNDS)
    assert len(traces) == 4  # below CLUSTER_FROM: each device as itself
    traces = device_cells([*near, alone], BOUNDS, "zh")
    lone = [t for t in traces if not t.meta.get("cell")]
    cells = [t for t in traces if t.meta.get("cell")]
    assert [list(t.customdata) for t in lone] == [["f1"]] and lone[0].text[0] == "山顶"
    (cell,) = cells
    assert cell.meta == {"layer": "devices", "cell": True, "kind": "video_point", "status": "alarm"}  # most, worst
    assert list(cell.customdata) == [f"{cell.x[0]},{cell.y[0]}"]  # its place: a click opens what holds it
    assert cell.text[0] == "3 台设备<br>在线 1 · 离线 1 · 告警 1"
    assert cell.marker.line.color == ALARM_RED and cell.marker.symbol == "square"
    shrink = math.cos(math.radians(23.5))
    step = 1 / shrink / CELLS_ALONG  # the bounds are taller than wide on screen
    assert (cell.x[0] - 112) / step % 1 == pytest.approx(0.5, abs=1e-3)  # the centre of the cell they are in
    assert (cell.y[0] - 23) / (step * shrink) % 1 == pytest.approx(0.5, abs=1e-3)
    assert cell.marker.size[0] == pytest.approx(5 + 1.2 * math.log2(3), abs=0.1)
    en = device_cells(near, BOUNDS, "en")
    assert en[0].text[0] == "3 devices<br>online 1 · offline 1 · alarm 1" and en[0].name == "Devices per cell"


def test_devices_in_cells_from_cluster_from_on_and_webgl_only_when_asked() -> None:
    rng = np.random.default_rng(7)
    n = CLUSTER_FROM
    rows = [PointRow(f"d{i}", "video_point", float(x), float(y), f"d{i}", status="online")
            for i, (x, y) in enumerate(zip(rng.uniform(112, 113, n), rng.uniform(23, 24, n), strict=True))]
    cells = device_points(rows, bounds=BOUNDS)
    assert any(t.meta.get("cell") for t in cells)
    drawn = sum(len(t.x) for t in cells)
    assert drawn < n
    counted = sum(int(t.split(" ")[0].replace(",", "")) for tr in cells if tr.meta.get("cell") for t in tr.text)
    alone = sum(len(t.x) for t in cells if not t.meta.get("cell"))
    assert counted + alone == n  # every device is in one cell or drawn alone
    assert {t.plotly_name for t in device_points(rows)} == {"scatter"}  # without bounds: each device, SVG
    gl = device_points(rows[:10], webgl=True)
    assert {t.plotly_name for t in gl} == {"scattergl"} and list(gl[0].customdata) == [f"d{i}" for i in range(10)]
