"""Point layers: devices coloured by kind and status, grid events by workflow step and category class."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import plotly.graph_objects as go

from standards.colours import RED
from layers.figure import scatter

KIND_STYLE = {
    "video_point": ("#4fc3f7", "circle", "河长视频点位", "Video points"),
    "road_weather": ("#b39ddb", "diamond", "交通气象站", "Road-weather stations"),
    "fire_risk": ("#ffb74d", "triangle-up", "森林火险站", "Fire-risk stations"),
}

Status = Literal["online", "offline", "alarm", "stale"]
STATUS_TEXT: dict[str, tuple[str, str]] = {
    "online": ("在线", "online"),
    "offline": ("离线", "offline"),
    "alarm": ("告警", "alarm"),
    "stale": ("数据延迟", "stale"),
}
ALARM_RED = RED.hex  # the warning-signal red of standards.colours
STALE_GREY = "#7b8794"  # the muted grey of a stale panel: "we do not know", not "off"


@dataclass(frozen=True)
class PointRow:
    """One thing to draw at a place; status defaults to online/offline from ok."""

    id: str
    kind: str
    lon: float
    lat: float
    label: str
    ok: bool = True
    status: Status | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            object.__setattr__(self, "status", "online" if self.ok else "offline")
        elif self.status not in STATUS_TEXT:
            raise ValueError(f"unknown status {self.status!r}; expected one of {tuple(STATUS_TEXT)}")


STATUS_ORDER: tuple[Status, ...] = ("online", "offline", "stale", "alarm")  # alarms drawn last, on top


def device_marker(status: Status, colour: str, symbol: str) -> dict:
    """Marker of one kind's devices in one status: online filled, offline hollow, stale grey, alarm red-ringed."""
    fill = {"online": colour, "offline": "rgba(0,0,0,0)", "stale": STALE_GREY, "alarm": colour}
    line = {"online": colour, "offline": colour, "stale": STALE_GREY, "alarm": ALARM_RED}
    width = {"online": 2, "offline": 2, "stale": 2, "alarm": 3.5}
    return {"size": 13, "symbol": symbol, "color": fill[status], "line": {"color": line[status], "width": width[status]}}


def device_points(rows: Sequence[PointRow], lang: str = "zh") -> list[go.Scatter]:
    """One trace per device kind and status (one legend entry per kind); the hover names the status.

    Styles are per trace rather than per point: with 1,900 devices in a county, per-point colour and line
    arrays were a third of the devices' bytes (`make bench`, drill).
    """
    en = lang == "en"
    traces = []
    for kind, (colour, symbol, zh, name_en) in KIND_STYLE.items():
        first = True
        for status in STATUS_ORDER:
            sel = [r for r in rows if r.kind == kind and r.status == status]
            if not sel:
                continue
            word = STATUS_TEXT[status][1 if en else 0]
            traces.append(scatter(
                x=[round(r.lon, 5) for r in sel], y=[round(r.lat, 5) for r in sel], mode="markers",
                name=name_en if en else zh, legendgroup=kind, showlegend=first,
                marker=device_marker(status, colour, symbol), text=[r.label for r in sel],
                hovertemplate=f"%{{text}}<br>{word}<extra></extra>", customdata=[r.id for r in sel],
                meta={"layer": "devices", "kind": kind, "status": status},
            ))
            first = False
    return traces


STEP_COLOURS = ("#ef5350", "#ff7043", "#ffa726", "#ffca28", "#9ccc65", "#66bb6a", "#26a69a")
UNKNOWN_STEP = "#9e9e9e"
# CJJ/T 106 / GB/T 30428 case workflow (DOMAIN.md §4), step 1 to 7; the English names are the ones the
# grid-event feed uses (feeds.payloads.WORKFLOW_STEPS_EN), so a case reads the same on the map and in panels.
STEP_NAMES = (
    ("信息收集", "Collection"),
    ("案卷建立", "Filing"),
    ("任务派遣", "Dispatch"),
    ("任务处理", "Handling"),
    ("处理反馈", "Feedback"),
    ("核查结案", "Verification & closing"),
    ("综合评价", "Evaluation"),
)

# The 7 部件 and 6 事件 top-level classes (DOMAIN.md §4) drawn with six symbols, grouped by what is on the
# street: 市容环境 is both a 部件 and an 事件 class and gets one symbol; the kind is named in the hover.
# (key, symbol, zh, en, classes)
CATEGORY_GROUPS: tuple[tuple[str, str, str, str, frozenset[str]], ...] = (
    ("appearance", "square", "市容环境·园林绿化·宣传广告", "Appearance, greenery, advertising",
     frozenset({"市容环境", "园林绿化", "宣传广告"})),
    ("streets", "triangle-down", "道路交通·街面秩序", "Roads and street order", frozenset({"道路交通", "街面秩序"})),
    ("facilities", "pentagon", "公用设施", "Public facilities", frozenset({"公用设施"})),
    ("building", "hexagon", "房屋土地·施工管理", "Buildings, land, construction", frozenset({"房屋土地", "施工管理"})),
    ("emergency", "star", "突发事件", "Emergencies", frozenset({"突发事件"})),
    ("other", "x", "其他·扩展类", "Other and extended classes", frozenset({"其他设施", "扩展部件", "扩展事件"})),
)
KIND_EN = {"部件": "component", "事件": "event"}
Category = str | tuple[str, str] | None  # "市容环境", or (kind, category) such as ("事件", "市容环境")


def category_group(category: Category) -> tuple[str, str, str, str]:
    """(key, symbol, zh, en) of the group a top-level class is drawn with ("other" for unknown ones)."""
    name = category[1] if isinstance(category, tuple) else category
    for key, symbol, zh, en, classes in CATEGORY_GROUPS:
        if name in classes:
            return key, symbol, zh, en
    key, symbol, zh, en, _ = CATEGORY_GROUPS[-1]
    return key, symbol, zh, en


def step_text(step: int, lang: str = "zh") -> str:
    """The workflow step as hover text, e.g. "任务派遣 (3/7)"."""
    if not 1 <= step <= len(STEP_NAMES):
        return f"? ({step}/7)"
    return f"{STEP_NAMES[step - 1][1 if lang == 'en' else 0]} ({step}/7)"


def step_colour(step: int) -> str:
    """Colour of a workflow step; grey for a step outside 1–7 rather than a wrapped index."""
    return STEP_COLOURS[step - 1] if 1 <= step <= len(STEP_COLOURS) else UNKNOWN_STEP


def category_text(category: Category, lang: str = "zh") -> str:
    """The class as hover text: "事件 · 市容环境" (kind known) or "市容环境"."""
    if isinstance(category, tuple):
        kind, name = category
        return f"{KIND_EN.get(kind, kind) if lang == 'en' else kind} · {name}"
    return category or ""


def event_points(rows: Sequence[PointRow], steps: Sequence[int], lang: str = "zh",
                 categories: Sequence[Category] | None = None) -> list[go.Scatter]:
    """Open grid events coloured by workflow step; with categories, one trace per class group (own symbol)."""
    if not rows:
        return []
    if len(steps) != len(rows) or (categories is not None and len(categories) != len(rows)):
        raise ValueError("rows, steps and categories must have the same length")
    en = lang == "en"
    n = len(rows)
    cats: Sequence[Category] = categories if categories is not None else [None] * n
    # A city replay draws ~9,000 cases of a few hundred distinct (label, class, step): each text, colour and
    # group is made once per distinct value, and positions are rounded as arrays (`make bench`, drill).
    texts: dict[tuple[str, Category, int], str] = {}
    groups: dict[Category, str] = {}
    index_of: dict[str, list[int]] = defaultdict(list)
    text_of: list[str] = []
    for i, (r, c, st) in enumerate(zip(rows, cats, steps, strict=True)):
        k = (r.label, c, st)
        t = texts.get(k)
        if t is None:
            t = texts[k] = "<br>".join(p for p in (r.label, category_text(c, lang), step_text(st, lang)) if p)
        text_of.append(t)
        if categories is None:
            index_of["all"].append(i)
        else:
            g = groups.get(c)
            if g is None:
                g = groups[c] = category_group(c)[0]
            index_of[g].append(i)
    if categories is None:
        buckets = [("all", "square", "网格事件", "Grid events", index_of["all"])]
    else:
        buckets = [(key, symbol, zh, name_en, index_of.get(key, [])) for key, symbol, zh, name_en, _ in CATEGORY_GROUPS]
    lon = np.fromiter((r.lon for r in rows), float, n).round(5)
    lat = np.fromiter((r.lat for r in rows), float, n).round(5)
    colours = {st: step_colour(st) for st in set(steps)}
    traces = []
    for key, symbol, zh, name_en, index in buckets:
        if not index:
            continue
        name = name_en if en else zh
        traces.append(scatter(
            x=lon[index].tolist(), y=lat[index].tolist(), mode="markers",
            name=name,
            marker={"size": 9, "color": [colours[steps[i]] for i in index], "symbol": symbol,
                    "line": {"color": "#0b1220", "width": 1}},
            text=[text_of[i] for i in index], customdata=[rows[i].id for i in index], hoverinfo="text",
            meta={"layer": "events", "group": key},
        ))
    return traces
