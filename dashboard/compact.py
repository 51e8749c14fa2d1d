"""Figures sent compactly: a long array the browser holds already goes as a reference, not again, and a long array
goes in a shorter form.

A drill map is mostly arrays that do not change from one drill or tick to the next — county and grid-cell outlines,
device positions, ids and names. The server names each long array by a digest of its content; the browser keeps
the arrays it was sent (assets/zq-compact.js, in memory, for the page's life) and says in every request which it
holds (a dcc.Store of their keys); the server sends only the ones it lacks. Nothing is kept on the server, so any
web worker answers any request, and a browser that lost its arrays (a reload) simply holds none and is sent all.

An array sent is written in the shortest of three forms: as it is; as a dictionary of its distinct values and one
index per item ({"$d": values, "$i": indices}: hover texts, colours — a dozen distinct among thousands); or as a
common prefix and the rest of each string ({"$p": prefix, "$s": rests}: "case:AJ4412…" ids).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import orjson

# Trace attributes worth sending by reference (marker.color as "marker.color"), and the shortest array that is
# (a reference costs ~30 bytes).
ARRAYS = ("x", "y", "customdata", "text", "hovertext", "marker.color")
MIN_LEN = 24
REF = "$ref"


def key_of(raw: bytes) -> str:
    """The key of an array: 16 hex digits of its JSON's BLAKE2b digest."""
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _plain(value: Any) -> list[Any]:
    """An array as JSON-ready Python (numpy arrays to lists)."""
    return value.tolist() if isinstance(value, np.ndarray) else list(value)


def encode(values: list[Any]) -> Any:
    """The array in its shortest form: as it is, as a dictionary and indices, or as a prefix and rests."""
    try:
        distinct: dict[Any, int] = {}
        indices = [distinct.setdefault(v, len(distinct)) for v in values]
    except TypeError:  # unhashable items (lists of lists): as they are
        return values
    if len(distinct) * 4 <= len(values):
        return {"$d": list(distinct), "$i": indices}
    if all(isinstance(v, str) for v in values):
        first, last = min(values), max(values)  # the common prefix of all is that of the extremes
        n = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
        if n >= 3:
            return {"$p": first[:n], "$s": [v[n:] for v in values]}
    return values


def decode(value: Any) -> list[Any]:
    """An array from its sent form (what assets/zq-compact.js does)."""
    if isinstance(value, dict) and "$d" in value:
        table = value["$d"]
        return [table[i] for i in value["$i"]]
    if isinstance(value, dict) and "$p" in value:
        return [value["$p"] + s for s in value["$s"]]
    return value


def _get(trace: Mapping[str, Any], attr: str) -> Any:
    if attr == "marker.color":
        marker = trace.get("marker")
        return marker.get("color") if isinstance(marker, Mapping) else None
    return trace.get(attr)


def _set(trace: dict[str, Any], attr: str, value: Any) -> None:
    if attr == "marker.color":
        trace["marker"] = {**trace["marker"], "color": value}
    else:
        trace[attr] = value


def pack(figure: Mapping[str, Any], held: Collection[str] | None) -> dict[str, Any]:
    """{"figure": the figure with each long array replaced by {"$ref": key}, "chunks": {key: encoded array}} for
    the arrays the browser does not hold (`held`: the keys it says it has; None or [] for a browser holding none).

    The figure given is not changed (it may be shared by several screens' answers)."""
    have = frozenset(held or ())
    chunks: dict[str, Any] = {}
    traces = []
    for trace in figure.get("data", []):
        out = dict(trace)
        for attr in ARRAYS:
            value = _get(trace, attr)
            if value is None or isinstance(value, str | dict) or len(value) < MIN_LEN:
                continue
            plain = _plain(value)
            key = key_of(orjson.dumps(plain, option=orjson.OPT_SERIALIZE_NUMPY))
            _set(out, attr, {REF: key})
            if key not in have:
                chunks[key] = encode(plain)
        traces.append(out)
    return {"figure": {**figure, "data": traces}, "chunks": chunks}


def unpack(packed: Mapping[str, Any], held: Mapping[str, Any]) -> dict[str, Any]:
    """The whole figure from a packed one and the (decoded) arrays a browser holds, as assets/zq-compact.js
    rebuilds it, for tests and tools; KeyError names an array neither sent nor held."""
    arrays = {**held, **{k: decode(v) for k, v in packed.get("chunks", {}).items()}}
    data = []
    for trace in packed["figure"].get("data", []):
        out = dict(trace)
        for attr in ARRAYS:
            value = _get(trace, attr)
            if isinstance(value, dict) and set(value) == {REF}:
                _set(out, attr, arrays[value[REF]])
        data.append(out)
    return {**packed["figure"], "data": data}
