"""Case handling time limits per subcategory, as configuration (DOMAIN.md §4: limits are set locally)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

LIMITS_FILE = Path(__file__).with_name("case_limits.json")


class CaseLimits(BaseModel):
    """Hours allowed to handle a case, by subcategory, with a default for the others."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    note: str = ""
    default_hours: PositiveFloat = Field(24, description="Limit of a subcategory not listed")
    limits: dict[str, PositiveFloat] = Field(default_factory=dict, description="Subcategory → hours")

    def hours(self, subcategory: str | None) -> float:
        """The limit of a subcategory, in hours."""
        return self.limits.get(subcategory or "", self.default_hours)


@cache
def case_limits(path: Path = LIMITS_FILE) -> CaseLimits:
    """The configured limits (read once)."""
    return CaseLimits.model_validate_json(path.read_text(encoding="utf-8"))
