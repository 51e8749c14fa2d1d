"""Figures sent compactly: a long array the browser holds already goes as a reference, not again, and a long array
goes in a shorter form.

A drill map is mostly arrays that do not change from one drill or tick to the next — county and grid-cell outlines,
device positions, ids and names. The server names each long array by a digest of its content; the browser keeps
the arrays it was sent (assets/zq-compact.js, in memory, for the page's life) and says in every request which it
holds (a dcc.Store of their keys); the server sends only the ones it lacks. Nothing is kept on the server, so any
web worker answers any request, and a browser that lost its arrays (a reload) simply holds none and is sent all.

An array sent goes in the shortest of these forms, each a handful of JSON strings rather than thousands of items
(Dash's encoder walks every item of a list in Python: a city replay step's 9,000 cases were 20 ms of it):

- numbers with at most 6 decimals (positions are rounded to 5, ≈1 m), nulls as gaps: {"$q": decimals, "$b":
  base64 of little-endian int32 value × 10^decimals} — 5.3 characters a number instead of ~10; or, when each is
  a small step from the one before (outlines, rounded to 4), {"$q", "$o": the first × 10^decimals, "$h": base64
  of int16 steps} — 2.7 characters;
- a dozen distinct values among thousands (hover texts, colours): {"$d": values, "$u": base64 of one uint8 (or,
  over 256 values, uint16) index per item};
- strings in order, sharing their beginnings (ids by id): {"$f": each as one character saying how much it
  shares with the string before, then its own rest, joined by "|"} — a case id in 3 characters instead of 27;
- other strings: {"$j": the strings joined by "|", "$p": their common prefix, cut from each};
- anything else as it is.
"""

from __future__ import annotations

import base64
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


SEP = "|"  # one character in JSON (a control character would be six); joined only when no string carries it
NULL = -(2**31)  # a gap (None or NaN) among quantised numbers
NULL16 = -(2**15)  # a gap among quantised steps
_INT32 = 2**31 - 1
_INT16 = 2**15 - 1
_NUMBERS = frozenset({int, float, type(None)})


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()).decode("ascii")


def _quantised(values: list[Any]) -> dict[str, Any] | None:
    """Numbers as int32 × 10^-k for the fewest decimals k ≤ 6 that give every value back exactly, else None."""
    if not set(map(type, values)) <= _NUMBERS:  # bool and str are not numbers here
        return None
    a = np.asarray(values, dtype=float)
    gaps = np.isnan(a)
    real = a[~gaps]
    if real.size == 0 or not np.isfinite(real).all():
        return None
    for k in range(7):
        scaled = np.rint(real * 10.0**k)
        if np.abs(scaled).max() > _INT32:
            return None
        # The browser divides by 10^k as this does: equal here means equal there (IEEE 754 both).
        if np.array_equal(scaled / 10.0**k, real):
            ints = scaled.astype(np.int64)
            steps = np.diff(ints, prepend=ints[0])
            if np.abs(steps).max() <= _INT16:
                # Outlines: each point a small step from the one before (a county spans < 32,767 × 10^-4 degree).
                out16 = np.full(a.shape, NULL16, dtype=np.int16)
                out16[~gaps] = steps.astype(np.int16)
                return {"$q": k, "$o": int(ints[0]), "$h": _b64(out16)}
            out = np.full(a.shape, NULL, dtype=np.int32)
            out[~gaps] = ints.astype(np.int32)
            return {"$q": k, "$b": _b64(out)}
    return None


def encode(values: list[Any]) -> Any:
    """The array in its shortest form (see the module's docstring)."""
    quantised = _quantised(values)
    if quantised is not None:
        return quantised
    try:
        few = len(set(values)) * 4 <= len(values)  # counted in C before indexing in Python
    except TypeError:  # unhashable items (lists of lists): as they are
        return values
    if few:
        distinct: dict[Any, int] = {}
        indices = [distinct.setdefault(v, len(distinct)) for v in values]
        width = np.uint8 if len(distinct) <= 256 else np.uint16 if len(distinct) <= 65536 else None
        if width is not None:
            return {"$d": list(distinct), "$u": _b64(np.asarray(indices, dtype=width)), "$w": np.dtype(width).itemsize}
        return {"$d": list(distinct), "$i": indices}
    if values and set(map(type, values)) == {str} and SEP not in (whole := "".join(values)):
        first, last = min(values), max(values)  # the common prefix of all is that of the extremes
        n = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
        joined = {"$p": first[:n], "$j": SEP.join(v[n:] for v in values)}
        fronted = _front_coded(values) if whole.isascii() and "\0" not in whole else None
        return fronted if fronted is not None and len(fronted["$f"]) < len(joined["$j"]) else joined
    return values


FRONT_MAX = 74  # a shared length goes as one character, chr(48 + n): "0" to "z"


def _front_coded(values: list[str]) -> dict[str, str] | None:
    """ASCII strings each as the length it shares with the one before (one character) and its own rest, joined: ids
    in order ("case:AJ…0802", "case:AJ…0803") shrink to a few characters each. ASCII without NUL only (numpy's
    fixed width would drop trailing NULs); None for an empty width."""
    rows = np.array([v.encode() for v in values])  # fixed width, padded with NUL
    if rows.dtype.itemsize == 0:
        return None
    m = rows.view(np.uint8).reshape(len(values), rows.dtype.itemsize)
    differ = m[1:] != m[:-1]
    first = np.where(differ.any(axis=1), differ.argmax(axis=1), m.shape[1])
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    shared = np.minimum(np.minimum(first, np.minimum(lengths[1:], lengths[:-1])), FRONT_MAX)
    shared = [0, *shared.tolist()]
    return {"$f": SEP.join(chr(48 + n) + v[n:] for n, v in zip(shared, values, strict=True))}


def decode(value: Any) -> list[Any]:
    """An array from its sent form (what assets/zq-compact.js does)."""
    if not isinstance(value, dict):
        return value
    if "$q" in value:
        scale = 10.0 ** value["$q"]
        if "$h" in value:
            ints, at = [], value["$o"]
            for step in np.frombuffer(base64.b64decode(value["$h"]), dtype="<i2").tolist():
                if step == NULL16:
                    ints.append(None)
                else:
                    at += step
                    ints.append(at)
        else:
            ints = [None if i == NULL else i for i in np.frombuffer(base64.b64decode(value["$b"]), dtype="<i4").tolist()]
        return [None if i is None else float(i) / scale if value["$q"] else float(i) for i in ints]
    if "$d" in value:
        table = value["$d"]
        if "$u" in value:
            idx = np.frombuffer(base64.b64decode(value["$u"]), dtype="<u1" if value["$w"] == 1 else "<u2").tolist()
        else:
            idx = value["$i"]
        return [table[i] for i in idx]
    if "$j" in value:
        return [value["$p"] + s for s in value["$j"].split(SEP)]
    if "$f" in value:
        out, prev = [], ""
        for part in value["$f"].split(SEP):
            prev = prev[:ord(part[0]) - 48] + part[1:]
            out.append(prev)
        return out
    return value  # type: ignore[return-value]


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
