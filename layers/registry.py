"""The map-layer registry: each layer turns data into plotly traces; built-ins register like additions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, overload

from plotly.basedatatypes import BaseTraceType

from plugins import Registry
from words import pick

P = ParamSpec("P")
TraceBuilder = Callable[..., list[BaseTraceType]]


@dataclass(frozen=True)
class Layer(Generic[P]):
    """A named map layer and the pure function that draws it, typed by that function's parameters.

    Every trace the function returns carries ``meta={"layer": name, ...}``, so a page shows or hides
    a layer by that key alone; ``default_on`` says whether a map shows it before anyone toggles it.
    """

    name: str
    title_zh: str
    title_en: str
    build: Callable[P, list[BaseTraceType]]
    default_on: bool = True
    description_zh: str = ""
    description_en: str = ""

    def title(self, lang: str = "zh") -> str:
        """The layer's title in a language (Chinese unless English is asked for)."""
        return pick(self.title_zh, self.title_en, lang)


def trace_layer(meta: Mapping[str, Any] | None) -> str | None:
    """The registered layer a trace belongs to, from its meta (a ``part_of`` entry wins over ``layer``)."""
    if not isinstance(meta, Mapping):
        return None
    return meta.get("part_of") or meta.get("layer")


class LayerRegistry(Registry[Layer[...]]):
    """Layers by name, in registration order; built-ins and plugins (zq.layers) register alike."""

    def __init__(self) -> None:
        super().__init__("layer", lambda layer: layer.name, lambda o: isinstance(o, Layer))

    @overload
    def build(self, layer: Layer[P], *args: P.args, **kwargs: P.kwargs) -> list[BaseTraceType]: ...

    @overload
    def build(self, layer: str, *args: Any, **kwargs: Any) -> list[BaseTraceType]: ...

    def build(self, layer: Layer[Any] | str, *args: Any, **kwargs: Any) -> list[BaseTraceType]:
        """Traces of one registered layer. Given the Layer itself (layers.DEVICES …) the arguments are checked
        against its function's parameters; given a name (what a URL or a theme file says) they cannot be."""
        return self[layer if isinstance(layer, str) else layer.name].build(*args, **kwargs)
