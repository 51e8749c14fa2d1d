"""The map-layer registry: each layer turns data into plotly traces; built-ins register like additions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from plotly.basedatatypes import BaseTraceType

TraceBuilder = Callable[..., list[BaseTraceType]]


@dataclass(frozen=True)
class Layer:
    """A named map layer and the pure function that draws it.

    Every trace the function returns carries ``meta={"layer": name, ...}``, so a page shows or hides
    a layer by that key alone; ``default_on`` says whether a map shows it before anyone toggles it.
    """

    name: str
    title_zh: str
    title_en: str
    build: TraceBuilder
    default_on: bool = True
    description_zh: str = ""
    description_en: str = ""

    def title(self, lang: str = "zh") -> str:
        """The layer's title in a language (Chinese unless English is asked for)."""
        return self.title_en if lang == "en" else self.title_zh


def trace_layer(meta: Mapping[str, Any] | None) -> str | None:
    """The registered layer a trace belongs to, from its meta (a ``part_of`` entry wins over ``layer``)."""
    if not isinstance(meta, Mapping):
        return None
    return meta.get("part_of") or meta.get("layer")


class LayerRegistry:
    """Layers by name, in registration order."""

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

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def names(self) -> list[str]:
        """Names of the registered layers, in registration order."""
        return list(self._layers)

    def build(self, name: str, *args: Any, **kwargs: Any) -> list[BaseTraceType]:
        """Traces of one layer."""
        return self._layers[name].build(*args, **kwargs)
