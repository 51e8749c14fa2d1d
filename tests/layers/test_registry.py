"""The built-in layers register like additions, and every trace names the layer that toggles it."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import shapely

from geo import bounds, load_counties, load_outline, sample_points
from layers import BUILTIN_LAYERS, Layer, LayerRegistry, PointRow, register_builtin_layers, trace_layer
from layers.choropleth import plain
from layers.classify import shading_for_metric
from layers.figure import map_figure, map_figure_dict, validate_traces


def registry() -> LayerRegistry:
    reg = LayerRegistry()
    register_builtin_layers(reg)
    return reg


def test_builtins_names_titles_and_defaults() -> None:
    reg = registry()
    assert reg.names() == ["county_choropleth", "grid_choropleth", "devices", "events", "hexbin", "heat"]
    assert {layer.name for layer in reg if not layer.default_on} == {"hexbin", "heat"}
    assert all(layer.title_zh and layer.title_en and layer.description_zh and layer.description_en
               for layer in reg)
    assert reg["heat"].title("en") == "Heat map" and reg["heat"].title() == "热力图"
    assert "hexbin" in reg and "tiles" not in reg
    with pytest.raises(ValueError, match="already registered"):
        reg.register(BUILTIN_LAYERS[0])


def test_positional_construction_still_works_and_an_addition_registers_like_a_builtin() -> None:
    def rivers(lons: list[float], lats: list[float]) -> list[go.Scatter]:
        return [go.Scatter(x=lons, y=lats, mode="lines", meta={"layer": "rivers"})]

    reg = registry()
    reg.register(Layer("rivers", "河流", "Rivers", rivers))
    assert reg["rivers"].default_on and reg.names()[-1] == "rivers"
    assert trace_layer(reg.build("rivers", [112.4, 112.5], [23.0, 23.1])[0].meta) == "rivers"


def build_all(reg: LayerRegistry) -> dict[str, list]:
    """Every built-in layer built on small real data."""
    counties = load_counties("441200", "coarse")
    names = dict(zip(counties["adcode"], counties["name"], strict=True))
    rng = np.random.default_rng(0)
    lons, lats = sample_points(load_outline("441202", "coarse"), 200, rng)
    cells = gpd.GeoDataFrame({"grid_id": ["a", "b"], "name": ["甲", "乙"]},
                             geometry=[shapely.box(112.40, 23.0, 112.45, 23.05), shapely.box(112.45, 23.0, 112.5, 23.05)])
    rows = [PointRow("v", "video_point", 112.46, 23.05, "v", status="alarm")]
    built = {
        "county_choropleth": reg.build("county_choropleth", counties, plain(names, list(names)), names),
        "grid_choropleth": reg.build("grid_choropleth", cells, shading_for_metric({"a": 1.0, "b": 5.0}, {}, "", ["a", "b"])),
        "devices": reg.build("devices", rows, "zh"),
        "events": reg.build("events", [PointRow("e", "event", 112.46, 23.05, "e")], [3], "zh",
                            categories=[("事件", "突发事件")]),
        "hexbin": reg.build("hexbin", lons, lats, lang="zh"),
        "heat": reg.build("heat", lons, lats, bounds("441202"), lang="zh"),
    }
    return built


def test_every_builtin_trace_carries_its_layer_name() -> None:
    reg = registry()
    built = build_all(reg)
    assert set(built) == set(reg.names())
    for name, traces in built.items():
        assert traces, name
        assert {trace_layer(t.meta) for t in traces} == {name}, name
    # The county labels keep their own name (pages find them by it) but toggle with the fills.
    labels = built["county_choropleth"][-1]
    assert labels.meta["layer"] == "county-labels" and trace_layer(labels.meta) == "county_choropleth"
    assert trace_layer(None) is None and trace_layer({"x": 1}) is None


def test_serving_without_validation_draws_exactly_what_validation_accepts() -> None:
    # Validation is on in tests (conftest) and off when serving: both must give the same figures.
    reg = registry()
    checked = build_all(reg)
    validate_traces(False)
    try:
        served = build_all(reg)
        figure = map_figure(served["county_choropleth"], bounds("441202"))
    finally:
        validate_traces(True)
    for name in checked:
        assert [json.loads(pio.to_json(t)) for t in served[name]] == \
            [json.loads(pio.to_json(t)) for t in checked[name]], name
    assert json.loads(pio.to_json(figure)) == json.loads(pio.to_json(map_figure(checked["county_choropleth"],
                                                                                 bounds("441202"))))


def test_the_plain_dict_figure_equals_the_plotly_figure() -> None:
    traces = [t for ts in build_all(registry()).values() for t in ts]
    fig = map_figure(traces, bounds("441202"), legend=True)
    plain_fig = map_figure_dict(traces, bounds("441202"), legend=True)
    assert json.loads(pio.to_json(plain_fig)) == json.loads(pio.to_json(fig))
