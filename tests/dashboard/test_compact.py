"""Figures sent compactly (dashboard/compact.py): long arrays by reference, only those the browser lacks sent."""

from __future__ import annotations

import copy

import numpy as np

from dashboard.compact import MIN_LEN, REF, decode, pack, unpack


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
    held = {k: decode(v) for k, v in first["chunks"].items()}  # the browser keeps them decoded
    again = pack(figure(), list(held))
    assert again["chunks"] == {}
    rebuilt = unpack(again, held)
    whole = unpack(first, {})
    assert rebuilt == whole
    assert rebuilt["data"][0]["y"] == [float(i) for i in range(300)]
    changed = figure()
    changed["data"][2]["customdata"] = ["b"] * MIN_LEN  # a changed array is a new key, sent
    assert [decode(v) for v in pack(changed, list(held))["chunks"].values()] == [["b"] * MIN_LEN]


def test_an_array_goes_in_its_shortest_form_and_comes_back_the_same() -> None:
    from dashboard.compact import encode

    texts = ["暴露垃圾<br>任务派遣", "占道经营<br>信息收集"] * 40
    assert encode(texts)["$d"] == ["暴露垃圾<br>任务派遣", "占道经营<br>信息收集"]
    assert encode(texts)["$w"] == 1 and isinstance(encode(texts)["$u"], str)  # one byte an item, as base64
    many = [f"t{n % 300}" for n in range(1500)]  # over 256 distinct: two bytes an index
    assert encode(many)["$w"] == 2 and decode(encode(many)) == many
    ids = [f"case:AJ4412{c}20261203{n:05d}" for c in ("03", "24") for n in range(20)]  # in order
    assert encode(ids)["$f"].split("|")[:3] == ["0case:AJ4412032026120300000", "I1", "I2"]  # shares 25 ("I"), then its own
    assert decode(encode(ids)) == ids
    assert encode(ids[:20])["$p"] == ids[0][:-2]  # one county: a common prefix is shorter still
    shuffled = [f"case:AJ4412{(n * 7919) % 100:02d}{n:05d}" for n in range(40)]  # out of order: a prefix
    assert encode(shuffled)["$p"] == "case:AJ4412" and isinstance(encode(shuffled)["$j"], str)  # one string, not 40
    assert decode(encode(shuffled)) == shuffled
    xs = [112.0 + n / 1000 for n in range(40)]
    assert encode(xs)["$q"] == 3 and decode(encode(xs)) == xs  # 3 decimals give them all back
    lons = [round(112.4 + n * 0.0123457, 5) for n in range(40)] + [None, float("nan"), 111.5]
    got = decode(encode(lons))
    assert encode(lons)["$q"] == 5 and got[:40] == lons[:40] and got[40:] == [None, None, 111.5]  # gaps stay gaps
    ring = [112.5, 112.5003, 112.5001, 112.5, None, 112.4, 112.4002, 112.3999, 112.4] * 5  # outlines' x, 4 decimals
    assert encode(ring)["$o"] == 1125000 and decode(encode(ring)) == ring
    spread = [112.0 + (n % 2) * 0.5 for n in range(40)]  # steps of 50,000 × 10^-5: beyond int16, absolute int32
    assert "$b" in encode([round(v + n * 1e-5, 5) for n, v in enumerate(spread)])
    ints = list(range(-20, 40))
    assert encode(ints)["$q"] == 0 and decode(encode(ints)) == ints
    fine = [112.0 + n / 3 for n in range(40)]  # more decimals than 6: as they are, never rounded
    assert encode(fine) is fine
    huge = [1e12 + n for n in range(40)]  # beyond int32
    assert encode(huge) is huge
    flags = [True, False] * 20  # booleans are not numbers here: a dictionary of two
    assert decode(encode(flags)) == flags and "$d" in encode(flags)
    ragged = [[1, 2], [3]] * 20
    assert encode(ragged) is ragged
    separated = ["a|b", "c"] + [f"z{n}" for n in range(30)]  # carries the separator: not joined
    assert encode(separated) is separated
    mixed = ["", "a", "ab", "abc", "b", "名字", "ab"]  # empty, growing, shrinking, non-ASCII
    for values in (texts, ids, xs, ["a", "ab"] * 3 + [f"z{n}" for n in range(30)], ["same"] * 2, ["x"], mixed,
                   [f"device-{n:03d}" for n in range(300)], ["x" * 80 + str(n) for n in range(30)]):
        assert decode(encode(values)) == values


def test_per_point_colours_go_by_reference_too() -> None:
    colours = ["#ef5350", "#66bb6a"] * 30
    fig = {"data": [{"type": "scatter", "x": list(range(60)), "marker": {"size": 9, "color": colours}}],
           "layout": {}}
    packed = pack(fig, None)
    marker = packed["figure"]["data"][0]["marker"]
    assert set(marker["color"]) == {REF} and marker["size"] == 9
    assert unpack(packed, {})["data"][0]["marker"] == {"size": 9, "color": colours}
    assert fig["data"][0]["marker"]["color"] is colours  # the given figure keeps its own
