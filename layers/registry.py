"""The map-layer registry: each layer turns data into plotly traces; built-ins register like additions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

TraceBuilder = Callable[..., list[go.Scatter]]


@dataclass(frozen=True)
class Layer:
    """A named map layer and the pure function that draws it."""

    name: str
    title_zh: str
    title_en: str
    build: TraceBuilder


class LayerRegistry:
    """Layers by name."""

    def __init__(self) -> None:
        self._layers: dict[str, Layer] = {}

    def register(self, layer: Layer) -> Layer:
        """Add a layer; names are unique."""
        if layer.name in self._layers:
            raise ValueError(f"layer {layer.name!r} is already registered")
        self._layers[layer.name] = layer
        return layer

    def __getitem__(self, name: str) -> Layer:
        return self._layers[name]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers.values())

    def build(self, name: str, *args: Any, **kwargs: Any) -> list[go.Scatter]:
        """Traces of one layer."""
        return self._layers[name].build(*args, **kwargs)
