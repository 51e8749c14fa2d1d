"""The `noise_threshold` rule kind: a meter's LAeq at or above a limit, cleared only back below `clear_at`."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from alerts.rules import Outcome, Reading, RuleSettings
from zq_noise.feed import FEED_NAME


class NoiseThreshold(RuleSettings):
    """噪声超标：LAeq 达到限值 / A meter's LAeq at or above a limit (GB 3096-2008: 70 dB(A) by day along roads)."""

    kind: Literal["noise_threshold"]
    limit_db: float = Field(70.0, ge=30, le=120, description="限值 dB(A) / The limit, dB(A)")
    clear_at_db: float | None = Field(None, ge=30, le=120, description="回落到此值才解除 / Clears only back below "
                                                                       "this (default: the limit)")
    feeds: ClassVar[tuple[str, ...]] = (FEED_NAME,)

    @model_validator(mode="after")
    def _clears_below(self) -> NoiseThreshold:
        if self.clear_at_db is not None and self.clear_at_db > self.limit_db:
            raise ValueError("clear_at_db must be at most limit_db (the alarm clears below the limit)")
        return self

    def check(self, r: Reading, memory: dict[str, Any], active: bool) -> Outcome | None:
        """Raised at or above the limit; once raised, held until the level is below clear_at_db."""
        level = r.values.get("laeq_db")
        if level is None:
            return None
        if active and self.clear_at_db is not None:
            holds = level > self.clear_at_db  # held by the hysteresis band until it is back below
        else:
            holds = level >= self.limit_db
        return Outcome(holds, self.severity_or(3), level,
                       f"{r.label} 噪声 {level:.1f} dB(A)，限值 {self.limit_db:g}",
                       f"{r.label}: noise {level:.1f} dB(A), limit {self.limit_db:g}")


RULE = NoiseThreshold
