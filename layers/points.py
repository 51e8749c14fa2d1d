"""Point layers: devices coloured by kind and status, grid events by workflow step and category class."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import plotly.graph_objects as go

from standards.colours import RED
from layers.figure import scatter, scattergl
from words import Words

WORDS = Words("layers.points")  # kinds (kind_<kind>), statuses (status_<status>), class groups (group_<key>)
STEP = Words("workflow")  # the workflow's step names, step_1 … step_7

# (colour, symbol) per device kind; its legend name is the word kind_<kind>.
KIND_STYLE = {
    "video_point": ("#4fc3f7", "circle"),
    "road_weather": ("#b39ddb", "diamond"),
    "fire_risk": ("#ffb74d", "triangle-up"),
}

Status = Literal["online", "offline", "alarm", "stale"]
ALARM_RED = RED.hex  # the warning-signal red of standards.colours
STALE_GREY = "#7b8794"  # the muted grey of a stale panel: "we do not know", not "off"


class _Point(NamedTuple):
    id: str
    kind: str
    lon: float
    lat: float
    label: str
    ok: bool = True
    status: Status | None = None


class PointRow(_Point):
    """One thing to draw at a place; status defaults to online/offline from ok.

    An immutable tuple rather than a frozen dataclass: a city map makes one per device, and 50,000 frozen
    dataclasses took 163 ms to make (`make bench`, points)."""

    __slots__ = ()

    def __new__(cls, id: str, kind: str, lon: float, lat: float, label: str, ok: bool = True,  # noqa: A002
                status: Status | None = None) -> PointRow:
        if status is None:
            status = "online" if ok else "offline"
        elif status not in STATUS_RANK:
            raise ValueError(f"unknown status {status!r}; expected one of {STATUS_ORDER}")
        return tuple.__new__(cls, (id, kind, lon, lat, label, ok, status))


STATUS_ORDER: tuple[Status, ...] = ("online", "offline", "stale", "alarm")  # alarms drawn last, on top


def device_marker(status: Status, colour: str, symbol: str, size: float = 13) -> dict:
    """Marker of one kind's devices in one status: online filled, offline hollow, stale grey, alarm red-ringed."""
    fill = {"online": colour, "offline": "rgba(0,0,0,0)", "stale": STALE_GREY, "alarm": colour}
    line = {"online": colour, "offline": colour, "stale": STALE_GREY, "alarm": ALARM_RED}
    width = {"online": 2, "offline": 2, "stale": 2, "alarm": 3.5}
    return {"size": size, "symbol": symbol, "color": fill[status], "line": {"color": line[status], "width": width[status]}}


# From this many devices a map draws them aggregated into cells of a square grid over the map (CELLS_ALONG along
# its longer side: ≈10 px on a 1920×1080 screen); a cell holding one device still draws that device. 50,000 SVG markers took
# seconds to draw and hundreds of MB of JS heap (`make bench`, points); WebGL would draw them, but plotly's WebGL
# (regl) compiles its draw calls with new Function(), which the app's Content-Security-Policy forbids.
CLUSTER_FROM = 5_000
CELLS_ALONG = 64
# WebGL from this many devices (None: never; see above). The points bench sets it to compare.
WEBGL_FROM: int | None = None
STATUS_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}  # worse later: a cell shows its worst device's status


def device_points(rows: Sequence[PointRow], lang: str = "zh", webgl: bool | None = None,
                  bounds: Sequence[float] | None = None, size: float = 13, along: int = CELLS_ALONG
                  ) -> list[go.Scatter | go.Scattergl]:
    """One trace per device kind and status (one legend entry per kind); the hover names the status. With the
    map's bounds and CLUSTER_FROM devices or more, devices sharing a grid cell are drawn as one square per cell
    (device_cells); WebGL traces from WEBGL_FROM devices on (`webgl` forces either way).

    Styles are per trace rather than per point: with 1,900 devices in a county, per-point colour and line
    arrays were a third of the devices' bytes (`make bench`, drill). Rows are split into traces in one pass
    with numpy rather than once per kind and status (12 passes over 50,000 rows).
    """
    n = len(rows)
    if n == 0:
        return []
    if bounds is not None and n >= CLUSTER_FROM and not webgl:
        return device_cells(rows, bounds, lang, along)
    gl = (WEBGL_FROM is not None and n >= WEBGL_FROM) if webgl is None else webgl
    make = scattergl if gl else scatter
    kinds = np.array([r.kind for r in rows])
    statuses = np.array([r.status for r in rows])
    lon = np.fromiter((r.lon for r in rows), float, n).round(5)
    lat = np.fromiter((r.lat for r in rows), float, n).round(5)
    traces: list[go.Scatter | go.Scattergl] = []
    for kind, (colour, symbol) in KIND_STYLE.items():
        of_kind = kinds == kind
        if not of_kind.any():
            continue
        first = True
        for status in STATUS_ORDER:
            sel = np.flatnonzero(of_kind & (statuses == status)).tolist()
            if not sel:
                continue
            word = WORDS(f"status_{status}", lang)
            traces.append(make(
                x=lon[sel].tolist(), y=lat[sel].tolist(), mode="markers",
                name=kind_name(kind, lang), legendgroup=kind, showlegend=first,
                marker=device_marker(status, colour, symbol, size), text=[rows[i].label for i in sel],
                hovertemplate=f"%{{text}}<br>{word}<extra></extra>", customdata=[rows[i].id for i in sel],
                meta={"layer": "devices", "kind": kind, "status": status},
            ))
            first = False
    return traces


def device_cells(rows: Sequence[PointRow], bounds: Sequence[float], lang: str = "zh",
                 along: int = CELLS_ALONG) -> list[go.Scatter]:
    """Devices on a grid of square cells over the bounds (`along` cells along the longer side): a cell of one device draws that
    device (hover names it, a click opens it); a cell of several draws one square at their mean place, sized by
    their number, coloured by the kind most of them are and marked by the worst status among them (alarm, stale,
    offline, online), the hover counting each status. One trace per kind and worst status."""
    minx, miny, maxx, maxy = bounds[:4]
    n = len(rows)
    lon = np.fromiter((r.lon for r in rows), float, n)
    lat = np.fromiter((r.lat for r in rows), float, n)
    shrink = np.cos(np.radians((miny + maxy) / 2))  # the map's y is stretched by 1/cos(latitude): square on screen
    step = max(maxx - minx, (maxy - miny) / shrink) / along
    step_y = step * shrink
    ix = np.floor((lon - minx) / step).astype(np.int64)
    iy = np.floor((lat - miny) / step_y).astype(np.int64)
    _, cell, counts = np.unique(ix * 1_000_003 + iy, return_inverse=True, return_counts=True)
    single = counts[cell] == 1
    # Lone devices no bigger than a busy cell's square: the grid reads as one layer.
    traces: list[go.Scatter] = list(device_points([rows[i] for i in np.flatnonzero(single)], lang, size=9))
    many = np.flatnonzero(~single)
    if many.size == 0:
        return traces
    # Cells of several devices, renumbered 0..m-1.
    _, group = np.unique(cell[many], return_inverse=True)
    m = int(group.max()) + 1
    size = np.bincount(group, minlength=m)
    # Each cell's square at the cell's centre: a regular grid, so no two squares overlap and a pointer over one
    # hovers that one (its devices' mean place drifts toward the next cell's).
    where = np.zeros(m, dtype=np.int64)
    where[group] = many
    x = (minx + (ix[where] + 0.5) * step).round(5)
    y = (miny + (iy[where] + 0.5) * step_y).round(5)
    kind_names = list(KIND_STYLE)
    kind_code = np.array([kind_names.index(rows[i].kind) if rows[i].kind in KIND_STYLE else -1 for i in many])
    status_code = np.array([STATUS_RANK[rows[i].status] for i in many])  # type: ignore[index]
    by_status = np.zeros((m, len(STATUS_ORDER)), dtype=np.int64)
    np.add.at(by_status, (group, status_code), 1)
    by_kind = np.zeros((m, len(kind_names)), dtype=np.int64)
    known = kind_code >= 0
    np.add.at(by_kind, (group[known], kind_code[known]), 1)
    worst = np.zeros(m, dtype=np.int64)
    np.maximum.at(worst, group, status_code)
    major = by_kind.argmax(axis=1)
    words = [WORDS(f"status_{s}", lang) for s in STATUS_ORDER]
    text = [WORDS("n_devices", lang, n=f"{c:,}") + "<br>"
            + " · ".join(f"{w} {k:,}" for w, k in zip(words, row, strict=True) if k)
            for c, row in zip(size.tolist(), by_status.tolist(), strict=True)]
    marker_px = np.minimum(5 + 1.2 * np.log2(size), 10).round(1)  # at most a cell's pitch on a 1920×1080 map
    first = True
    for k, kind in enumerate(kind_names):
        colour, _ = KIND_STYLE[kind]
        for s, status in enumerate(STATUS_ORDER):
            sel = np.flatnonzero((major == k) & (worst == s)).tolist()
            if not sel:
                continue
            # Translucent: the counties' colours show through a dense grid (a phone's map is a third as wide).
            marker = {**device_marker(status, colour, "square"), "size": marker_px[sel].tolist(), "opacity": 0.6}
            traces.append(scatter(
                x=x[sel].tolist(), y=y[sel].tolist(), mode="markers",
                name=WORDS("devices_per_cell", lang), legendgroup="device-cells",
                showlegend=first, marker=marker, text=[text[i] for i in sel],
                customdata=[f"{x[i]},{y[i]}" for i in sel],  # the cell's place: a click opens what holds it
                hovertemplate="%{text}<extra></extra>",
                meta={"layer": "devices", "cell": True, "kind": kind, "status": status},
            ))
            first = False
    return traces


STEP_COLOURS = ("#ef5350", "#ff7043", "#ffa726", "#ffca28", "#9ccc65", "#66bb6a", "#26a69a")
UNKNOWN_STEP = "#9e9e9e"
# CJJ/T 106 / GB/T 30428 case workflow (DOMAIN.md §4), step 1 to 7; the English names are the ones the
# grid-event feed uses (feeds.payloads.WORKFLOW_STEPS_EN): the catalog's workflow words, as panels show them.
STEPS = 7

# The 7 部件 and 6 事件 top-level classes (DOMAIN.md §4) drawn with six symbols, grouped by what is on the
# street: 市容环境 is both a 部件 and an 事件 class and gets one symbol; the kind is named in the hover.
# (key, symbol, classes); a group's legend name is the word group_<key>.
CATEGORY_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("appearance", "square", frozenset({"市容环境", "园林绿化", "宣传广告"})),
    ("streets", "triangle-down", frozenset({"道路交通", "街面秩序"})),
    ("facilities", "pentagon", frozenset({"公用设施"})),
    ("building", "hexagon", frozenset({"房屋土地", "施工管理"})),
    ("emergency", "star", frozenset({"突发事件"})),
    ("other", "x", frozenset({"其他设施", "扩展部件", "扩展事件"})),
)
Category = str | tuple[str, str] | None  # "市容环境", or (kind, category) such as ("事件", "市容环境")


def kind_name(kind: str, lang: str) -> str:
    """A device kind's legend name in a language (the word kind_<kind>)."""
    return WORDS(f"kind_{kind}", lang)


def category_group(category: Category) -> tuple[str, str]:
    """(key, symbol) of the group a top-level class is drawn with ("other" for unknown ones)."""
    name = category[1] if isinstance(category, tuple) else category
    for key, symbol, classes in CATEGORY_GROUPS:
        if name in classes:
            return key, symbol
    key, symbol, _ = CATEGORY_GROUPS[-1]
    return key, symbol


def step_text(step: int, lang: str = "zh") -> str:
    """The workflow step as hover text, e.g. "任务派遣 (3/7)"."""
    if not 1 <= step <= STEPS:
        return f"? ({step}/7)"
    return f"{STEP(f'step_{step}', lang)} ({step}/7)"


def step_colour(step: int) -> str:
    """Colour of a workflow step; grey for a step outside 1–7 rather than a wrapped index."""
    return STEP_COLOURS[step - 1] if 1 <= step <= len(STEP_COLOURS) else UNKNOWN_STEP


def category_text(category: Category, lang: str = "zh") -> str:
    """The class as hover text: "事件 · 市容环境" (kind known) or "市容环境"."""
    if isinstance(category, tuple):
        kind, name = category
        return f"{WORDS.get(f'case_kind_{kind}', lang, kind)} · {name}"
    return category or ""


def event_points(rows: Sequence[PointRow], steps: Sequence[int], lang: str = "zh",
                 categories: Sequence[Category] | None = None) -> list[go.Scatter]:
    """Open grid events coloured by workflow step; with categories, one trace per class group (own symbol)."""
    if not rows:
        return []
    if len(steps) != len(rows) or (categories is not None and len(categories) != len(rows)):
        raise ValueError("rows, steps and categories must have the same length")
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
        buckets = [("all", "square", index_of["all"])]
    else:
        buckets = [(key, symbol, index_of.get(key, [])) for key, symbol, _ in CATEGORY_GROUPS]
    lon = np.fromiter((r.lon for r in rows), float, n).round(5)
    lat = np.fromiter((r.lat for r in rows), float, n).round(5)
    colours = {st: step_colour(st) for st in set(steps)}
    traces = []
    for key, symbol, index in buckets:
        if not index:
            continue
        name = WORDS(f"group_{key}", lang)
        traces.append(scatter(
            x=lon[index].tolist(), y=lat[index].tolist(), mode="markers",
            name=name,
            marker={"size": 9, "color": [colours[steps[i]] for i in index], "symbol": symbol,
                    "line": {"color": "#0b1220", "width": 1}},
            text=[text_of[i] for i in index], customdata=[rows[i].id for i in index], hoverinfo="text",
            meta={"layer": "events", "group": key},
        ))
    return traces
