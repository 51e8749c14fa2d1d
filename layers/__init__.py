"""Map layers: pure functions from data to plotly traces, and the registry they hang on.

Imports geo/ and standards/ and plotting libraries; never dashboard/ or store/ sessions.
"""

from layers.choropleth import county_choropleth
from layers.figure import map_figure, map_figure_dict
from layers.heat import heat_layer
from layers.hexbin import hex_layer
from layers.points import PointRow, device_points, event_points
from layers.regions import region_choropleth
from layers.registry import Layer, LayerRegistry, trace_layer

# The built-in layers, each typed by its function: `registry.build(DEVICES, rows, lang)` is checked by mypy.
COUNTY_CHOROPLETH = Layer("county_choropleth", "区县分级设色", "County choropleth", county_choropleth,
                          description_zh="各区县按所选指标着色：有标准的用标准分级（如 HJ 633 AQI），否则按自然断点分级",
                          description_en="Counties coloured by the chosen measure: a standard's bands where one exists "
                                         "(HJ 633 AQI), otherwise natural-breaks classes")
GRID_CHOROPLETH = Layer("grid_choropleth", "网格分级设色", "Grid-cell choropleth", region_choropleth,
                        description_zh="网格单元按所选指标着色，悬停或点击识别网格",
                        description_en="Grid cells coloured by the chosen measure; hover or click names the cell")
DEVICES = Layer("devices", "设备点位", "Devices", device_points,
                description_zh="视频点位和监测站，按类型着色、按状态（在线/离线/告警/数据延迟）标记",
                description_en="Video points and stations by kind, marked by status (online, offline, alarm, stale)")
EVENTS = Layer("events", "网格事件", "Grid events", event_points,
               description_zh="在办网格事件：颜色表示处置环节（七步流程），符号表示大类",
               description_en="Open grid cases: colour is the workflow step (seven steps), symbol the top-level class")
HEXBIN = Layer("hexbin", "六边形聚合", "Hexagon counts", hex_layer, default_on=False,
               description_zh="H3 六边形内的事件数，按自然断点分级着色",
               description_en="Events per H3 hexagon, in natural-breaks classes")
HEAT = Layer("heat", "热力图", "Heat map", heat_layer, default_on=False,
             description_zh="事件密度，等值面平滑显示，零值处透明",
             description_en="Event density as smoothed filled contours, transparent where there are none")
BUILTIN_LAYERS: tuple[Layer[...], ...] = (COUNTY_CHOROPLETH, GRID_CHOROPLETH, DEVICES, EVENTS, HEXBIN, HEAT)


def register_builtin_layers(registry: LayerRegistry) -> None:
    """Register the built-in layers through the public registry call."""
    for layer in BUILTIN_LAYERS:
        registry.register(layer)


__all__ = ["BUILTIN_LAYERS", "COUNTY_CHOROPLETH", "DEVICES", "EVENTS", "GRID_CHOROPLETH", "HEAT", "HEXBIN", "Layer",
           "LayerRegistry", "PointRow", "map_figure", "map_figure_dict", "register_builtin_layers", "trace_layer"]
