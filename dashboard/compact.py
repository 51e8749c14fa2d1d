"""Figures sent compactly: a long array the browser holds already goes as a reference, not again.

A drill map is mostly arrays that do not change from one drill or tick to the next — county and grid-cell outlines,
device positions, ids and names. The server names each long array by a digest of its content; the browser keeps
the arrays it was sent (assets/zq-compact.js, in memory, for the page's life) and says in every request which it
holds (a dcc.Store of their keys); the server sends only the ones it lacks. Nothing is kept on the server, so any
web worker answers any request, and a browser that lost its arrays (a reload) simply holds none and is sent all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import orjson

# Trace attributes worth sending by reference, and the shortest array that is (a reference costs ~30 bytes).
ARRAYS = ("x", "y", "customdata", "text", "hovertext")
MIN_LEN = 24
REF = "$ref"


def key_of(raw: bytes) -> str:
    """The key of an array: 16 hex digits of its JSON's BLAKE2b digest."""
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _plain(value: Any) -> Any:
    """An array as JSON-ready Python (numpy arrays to lists)."""
    return value.tolist() if isinstance(value, np.ndarray) else list(value)


def pack(figure: Mapping[str, Any], held: Collection[str] | None) -> dict[str, Any]:
    """{"figure": the figure with each long array replaced by {"$ref": key}, "chunks": {key: array}} for the
    arrays the browser does not hold (`held`: the keys it says it has; None or [] for a browser holding none).

    The figure given is not changed (it may be shared by several screens' answers)."""
    have = frozenset(held or ())
    chunks: dict[str, Any] = {}
    traces = []
    for trace in figure.get("data", []):
        out = dict(trace)
        for attr in ARRAYS:
            value = trace.get(attr)
            if value is None or isinstance(value, str | dict) or len(value) < MIN_LEN:
                continue
            plain = _plain(value)
            key = key_of(orjson.dumps(plain, option=orjson.OPT_SERIALIZE_NUMPY))
            out[attr] = {REF: key}
            if key not in have:
                chunks[key] = plain
        traces.append(out)
    return {"figure": {**figure, "data": traces}, "chunks": chunks}


def unpack(packed: Mapping[str, Any], held: Mapping[str, Any]) -> dict[str, Any]:
    """The whole figure from a packed one and the arrays a browser holds (what assets/zq-compact.js does, for
    tests and tools); KeyError names an array neither sent nor held."""
    arrays = {**held, **packed.get("chunks", {})}
    data = []
    for trace in packed["figure"].get("data", []):
        data.append({k: (arrays[v[REF]] if isinstance(v, dict) and set(v) == {REF} else v) for k, v in trace.items()})
    return {**packed["figure"], "data": data}
