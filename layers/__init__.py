"""Map layers: pure functions from data to plotly traces, and the registry they hang on.

Imports geo/ and plotting libraries; never dashboard/ or store/ sessions.
"""

from layers.choropleth import county_choropleth
from layers.figure import map_figure
from layers.points import PointRow, device_points, event_points
from layers.registry import Layer, LayerRegistry

BUILTIN_LAYERS = (
    Layer("county_choropleth", "区县分级设色", "County choropleth", county_choropleth),
    Layer("devices", "设备点位", "Devices", device_points),
    Layer("events", "网格事件", "Grid events", event_points),
)


def register_builtin_layers(registry: LayerRegistry) -> None:
    """Register the built-in layers through the public registry call."""
    for layer in BUILTIN_LAYERS:
        registry.register(layer)


__all__ = ["BUILTIN_LAYERS", "Layer", "LayerRegistry", "PointRow", "map_figure", "register_builtin_layers"]
