"""Case handling time limits per subcategory, as configuration (DOMAIN.md §4: limits are set locally).

Version 2 gives each subcategory its limit in working hours or working days, and may name the department
that handles it and at which level (市, 县, 镇, 村). Version 1 files (subcategory → hours) still load.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, PrivateAttr, model_validator

LIMITS_FILE = Path(__file__).with_name("case_limits.json")
SCHEMA_VERSION: Final = 2

Level = Literal["市", "县", "镇", "村"]


class CaseLimit(BaseModel):
    """One subcategory's limit (working hours or working days), and who handles it at which level."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    working_hours: PositiveFloat | None = Field(None, description="Working hours allowed")
    working_days: PositiveInt | None = Field(None, description="Working days allowed")
    department: str | None = Field(None, min_length=1, max_length=64,
                                   description="Department that handles it")
    level: Level | None = Field(None, description="Level that handles it: 市, 县, 镇 or 村")

    @model_validator(mode="after")
    def _one_unit(self) -> CaseLimit:
        if (self.working_hours is None) == (self.working_days is None):
            raise ValueError("give the limit as working_hours or as working_days, one of the two")
        return self

    def hours(self, hours_per_day: float) -> float:
        """The limit in working hours (days × the working day's hours for a day limit)."""
        if self.working_hours is not None:
            return self.working_hours
        return (self.working_days or 0) * hours_per_day


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 mapped subcategory → hours, with `default_hours`; version 2 has entries with units."""
    out: dict[str, Any] = {"schema_version": 2, "note": data.get("note", "")}
    if "default_hours" in data:
        out["default"] = {"working_hours": data["default_hours"]}
    out["subcategories"] = {k: {"working_hours": v} for k, v in (data.get("limits") or {}).items()}
    return out


class CaseLimits(BaseModel):
    """Limits by subcategory, with a default entry for the others."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    note: str = ""
    working_hours_per_day: PositiveFloat = Field(
        7, description="Working hours of a working day, to express day limits in hours; the working calendar "
                       "(topics/calendar.yaml) is the authority and a test keeps the two equal")
    default: CaseLimit = Field(CaseLimit(working_hours=24), description="Limit of a subcategory not listed")
    subcategories: dict[str, CaseLimit] = Field(default_factory=dict, description="Subcategory → its limit")

    _hours: Mapping[str, float] = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("schema_version", 1) == 1:
            return _v1_to_v2(data)
        return data

    def model_post_init(self, context: Any, /) -> None:
        """Keep the hours of each subcategory for the callers that want a plain mapping."""
        per_day = self.working_hours_per_day
        self._hours = MappingProxyType({k: v.hours(per_day) for k, v in self.subcategories.items()})

    @property
    def limits(self) -> Mapping[str, float]:
        """Subcategory → working hours (as version 1 had it), for the queries that take a mapping."""
        return self._hours

    @property
    def default_hours(self) -> float:
        """The default limit in working hours."""
        return self.default.hours(self.working_hours_per_day)

    def hours(self, subcategory: str | None) -> float:
        """The limit of a subcategory, in working hours."""
        return self._hours.get(subcategory or "", self.default_hours)

    def limit(self, subcategory: str | None) -> CaseLimit:
        """The full entry of a subcategory; department and level left unsaid come from the default entry."""
        entry = self.subcategories.get(subcategory or "")
        if entry is None:
            return self.default
        return entry.model_copy(update={"department": entry.department or self.default.department,
                                        "level": entry.level or self.default.level})


@cache
def case_limits(path: Path = LIMITS_FILE) -> CaseLimits:
    """The configured limits (read once)."""
    return CaseLimits.model_validate_json(path.read_text(encoding="utf-8"))
