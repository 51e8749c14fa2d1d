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
from words import Words

LAYER = Words("layer")  # the built-in layers' titles (<name>) and descriptions (<name>.description)

# The built-in layers, each typed by its function: `registry.build(DEVICES, rows, lang)` is checked by mypy.
COUNTY_CHOROPLETH = Layer("county_choropleth", *LAYER.both("county_choropleth"), county_choropleth,
                          description_zh=LAYER("county_choropleth.description", "zh"),
                          description_en=LAYER("county_choropleth.description", "en"))
GRID_CHOROPLETH = Layer("grid_choropleth", *LAYER.both("grid_choropleth"), region_choropleth,
                        description_zh=LAYER("grid_choropleth.description", "zh"),
                        description_en=LAYER("grid_choropleth.description", "en"))
DEVICES = Layer("devices", *LAYER.both("devices"), device_points,
                description_zh=LAYER("devices.description", "zh"),
                description_en=LAYER("devices.description", "en"))
EVENTS = Layer("events", *LAYER.both("events"), event_points,
               description_zh=LAYER("events.description", "zh"),
               description_en=LAYER("events.description", "en"))
HEXBIN = Layer("hexbin", *LAYER.both("hexbin"), hex_layer, default_on=False,
               description_zh=LAYER("hexbin.description", "zh"),
               description_en=LAYER("hexbin.description", "en"))
HEAT = Layer("heat", *LAYER.both("heat"), heat_layer, default_on=False,
             description_zh=LAYER("heat.description", "zh"),
             description_en=LAYER("heat.description", "en"))
BUILTIN_LAYERS: tuple[Layer[...], ...] = (COUNTY_CHOROPLETH, GRID_CHOROPLETH, DEVICES, EVENTS, HEXBIN, HEAT)


def register_builtin_layers(registry: LayerRegistry) -> None:
    """Register the built-in layers through the public registry call."""
    for layer in BUILTIN_LAYERS:
        registry.register(layer)


__all__ = ["BUILTIN_LAYERS", "COUNTY_CHOROPLETH", "DEVICES", "EVENTS", "GRID_CHOROPLETH", "HEAT", "HEXBIN", "Layer",
           "LayerRegistry", "PointRow", "map_figure", "map_figure_dict", "register_builtin_layers", "trace_layer"]
