"""Map layers: pure functions from data to plotly traces, and the registry they hang on.

Imports geo/ and standards/ and plotting libraries; never dashboard/ or store/ sessions.
"""

from collections.abc import Callable
from typing import ParamSpec

from plotly.basedatatypes import BaseTraceType

from layers.choropleth import county_choropleth
from layers.figure import map_figure, map_figure_dict
from layers.heat import heat_layer
from layers.hexbin import hex_layer
from layers.points import PointRow, device_points, event_points
from layers.regions import region_choropleth
from layers.registry import Layer, LayerRegistry, trace_layer
from words import Words

P = ParamSpec("P")
LAYER = Words("layer")  # the built-in layers' titles (<name>) and descriptions (<name>.description)


def _builtin(name: str, build: Callable[P, list[BaseTraceType]], default_on: bool = True) -> Layer[P]:
    """A built-in layer, its title and description read from the catalog (layer context)."""
    return Layer(name, *LAYER.both(name), build, default_on=default_on,
                 description_zh=LAYER(f"{name}.description", "zh"), description_en=LAYER(f"{name}.description", "en"))


# The built-in layers, each typed by its function: `registry.build(DEVICES, rows, lang)` is checked by mypy.
COUNTY_CHOROPLETH = _builtin("county_choropleth", county_choropleth)
GRID_CHOROPLETH = _builtin("grid_choropleth", region_choropleth)
DEVICES = _builtin("devices", device_points)
EVENTS = _builtin("events", event_points)
HEXBIN = _builtin("hexbin", hex_layer, default_on=False)
HEAT = _builtin("heat", heat_layer, default_on=False)
BUILTIN_LAYERS: tuple[Layer[...], ...] = (COUNTY_CHOROPLETH, GRID_CHOROPLETH, DEVICES, EVENTS, HEXBIN, HEAT)


def register_builtin_layers(registry: LayerRegistry) -> None:
    """Register the built-in layers through the public registry call."""
    for layer in BUILTIN_LAYERS:
        registry.register(layer)


__all__ = ["BUILTIN_LAYERS", "COUNTY_CHOROPLETH", "DEVICES", "EVENTS", "GRID_CHOROPLETH", "HEAT", "HEXBIN", "Layer",
           "LayerRegistry", "PointRow", "map_figure", "map_figure_dict", "register_builtin_layers", "trace_layer"]
