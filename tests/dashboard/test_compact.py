"""Figures sent compactly (dashboard/compact.py): long arrays by reference, only those the browser lacks sent."""

from __future__ import annotations

import copy

import numpy as np

from dashboard.compact import MIN_LEN, REF, pack, unpack


def figure() -> dict:
    ring = [round(112 + i / 1000, 5) for i in range(300)]
    return {"layout": {"meta": {"k": 1}},
            "data": [{"type": "scatter", "x": ring, "y": np.arange(300, dtype=float), "meta": {"layer": "outline"}},
                     {"type": "scatter", "x": [1, 2], "y": [3, 4], "text": "short stays inline"},
                     {"type": "scatter", "x": ring, "y": list(range(300)), "customdata": ["a"] * MIN_LEN}]}


def test_a_browser_holding_nothing_is_sent_every_long_array_once() -> None:
    fig = figure()
    before = copy.deepcopy(fig)
    packed = pack(fig, None)
    traces = packed["figure"]["data"]
    assert traces[1] == fig["data"][1]  # short arrays and strings inline
    assert traces[0]["x"] == traces[2]["x"] and set(traces[0]["x"]) == {REF}  # one ring, one key
    assert len(packed["chunks"]) == 4  # the ring, two y arrays (floats and ints differ), the customdata
    assert unpack(packed, {})["data"][0]["x"] == fig["data"][0]["x"]
    assert unpack(packed, {})["data"][0]["y"] == [float(i) for i in range(300)]  # numpy arrays go as lists
    assert isinstance(fig["data"][0]["y"], np.ndarray) and np.array_equal(fig["data"][0]["y"], before["data"][0]["y"])
    assert fig["data"][2] == before["data"][2] and fig["layout"] == before["layout"]  # the figure given is unchanged


def test_a_browser_holding_the_arrays_is_sent_references_only_and_rebuilds_the_same_figure() -> None:
    first = pack(figure(), [])
    held = dict(first["chunks"])
    again = pack(figure(), list(held))
    assert again["chunks"] == {}
    rebuilt = unpack(again, held)
    whole = unpack(first, {})
    assert rebuilt == whole
    assert rebuilt["data"][0]["y"] == [float(i) for i in range(300)]
    changed = figure()
    changed["data"][2]["customdata"] = ["b"] * MIN_LEN  # a changed array is a new key, sent
    assert list(pack(changed, list(held))["chunks"].values()) == [["b"] * MIN_LEN]
