"""Configuration of the comprehensive evaluation (综合评价): the composite score's weights, each with its source."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

EVALUATION_FILE = Path(__file__).with_name("evaluation.yaml")

IndicatorKey = Literal["filing_rate", "on_time_dispatch_rate", "handling_rate", "on_time_handling_rate",
                       "closing_rate", "on_time_closing_rate", "rework_rate"]


class Weight(BaseModel):
    """One indicator's weight in the composite score, and where that weight comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: IndicatorKey
    weight: PositiveFloat
    source: str = Field(min_length=1, description="Where the weight was found; 'local' when the city set it")


class EvaluationConfig(BaseModel):
    """The composite's weights and the dispatch limit (working hours), as the city sets them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    composite: tuple[Weight, ...] = Field(min_length=1)
    dispatch_limit_working_hours: PositiveFloat | None = None

    @model_validator(mode="after")
    def _each_once(self) -> EvaluationConfig:
        keys = [w.indicator for w in self.composite]
        if len(keys) != len(set(keys)):
            raise ValueError(f"an indicator is weighted twice: {keys}")
        return self


@cache
def evaluation_config(path: Path = EVALUATION_FILE) -> EvaluationConfig:
    """The configured evaluation (read once)."""
    return EvaluationConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
