"""Input checks shared by the standards' functions."""

from __future__ import annotations

import math
from typing import SupportsFloat


def finite(value: SupportsFloat, what: str) -> float:
    """A finite float, or a clear error naming the input (a bool is refused, not read as 0/1)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got a bool")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {value}")
    return v
