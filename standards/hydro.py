"""River water level against the warning (警戒水位) and guaranteed (保证水位) levels.

警戒水位: dikes may start to show danger and patrols are stepped up. 保证水位: the level up to
which dikes must stay safe. Reaching a level counts as being at it (≥), because the duties a
level triggers start when it is reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, SupportsFloat

from pydantic import BaseModel, ConfigDict, TypeAdapter, model_validator

from standards.colours import GREEN, ORANGE, RED, Colour
from standards.numbers import finite


class WaterState(StrEnum):
    """Where a water level stands relative to the warning and guaranteed levels."""

    NORMAL = "normal"
    ABOVE_WARNING = "above_warning"  # at or above 警戒水位, below 保证水位
    ABOVE_GUARANTEED = "above_guaranteed"  # at or above 保证水位


# Display colours are a choice (no standard RGB): green / orange / red as elsewhere on the wall.
_STATE_DISPLAY: Mapping[WaterState, tuple[str, str, Colour]] = MappingProxyType(
    {
        WaterState.NORMAL: ("低于警戒水位", "Below warning level", GREEN),
        WaterState.ABOVE_WARNING: ("达到或超过警戒水位", "At or above warning level", ORANGE),
        WaterState.ABOVE_GUARANTEED: ("达到或超过保证水位", "At or above guaranteed level", RED),
    }
)


class WaterStatus(BaseModel):
    """A water level's state, labels, colour and margins to the warning and guaranteed levels."""

    model_config = ConfigDict(frozen=True)

    level_m: float
    warning_m: float
    guaranteed_m: float | None
    state: WaterState
    label_zh: str
    label_en: str
    colour: Colour
    # Room left below each level, m, rounded to the millimetre; negative: above it by that much
    # (a bulletin's "超警戒 0.50 米" is margin_to_warning_m == -0.5).
    margin_to_warning_m: float
    margin_to_guaranteed_m: float | None


def water_status(
    level_m: SupportsFloat, warning_m: SupportsFloat, guaranteed_m: SupportsFloat | None = None
) -> WaterStatus:
    """State of a water level (m, same datum as the thresholds) against warning and guaranteed levels."""
    level = finite(level_m, "level_m")
    warning = finite(warning_m, "warning_m")
    guaranteed = None if guaranteed_m is None else finite(guaranteed_m, "guaranteed_m")
    if guaranteed is not None and guaranteed < warning:
        raise ValueError(f"guaranteed level {guaranteed} m is below the warning level {warning} m")
    if guaranteed is not None and level >= guaranteed:
        state = WaterState.ABOVE_GUARANTEED
    elif level >= warning:
        state = WaterState.ABOVE_WARNING
    else:
        state = WaterState.NORMAL
    zh, en, colour = _STATE_DISPLAY[state]
    return WaterStatus(
        level_m=level,
        warning_m=warning,
        guaranteed_m=guaranteed,
        state=state,
        label_zh=zh,
        label_en=en,
        colour=colour,
        # Rounded so 10.0 - 10.3 reads -0.3, not -0.3000000000000007; + 0.0 turns -0.0 into 0.0.
        margin_to_warning_m=round(warning - level, 3) + 0.0,
        margin_to_guaranteed_m=None if guaranteed is None else round(guaranteed - level, 3) + 0.0,
    )


class Station(BaseModel):
    """A gauging station and its characteristic levels (m)."""

    model_config = ConfigDict(frozen=True)

    key: str
    name_zh: str
    name_en: str
    river_zh: str
    river_en: str
    county_adcode: str | None = None
    warning_m: float
    guaranteed_m: float | None = None
    datum: str | None = None  # elevation datum of the levels; None: not known
    verified: bool = False  # False: levels not checked against the hydrology bureau's tables
    source: str = ""

    @model_validator(mode="after")
    def _check_levels(self) -> Station:
        """The guaranteed level cannot be below the warning level."""
        if self.guaranteed_m is not None and self.guaranteed_m < self.warning_m:
            raise ValueError(f"{self.key}: guaranteed_m {self.guaranteed_m} < warning_m {self.warning_m}")
        return self

    def status(self, level_m: SupportsFloat) -> WaterStatus:
        """Status of a level observed at this station."""
        return water_status(level_m, self.warning_m, self.guaranteed_m)


_STATION_LIST = TypeAdapter(list[Station])


def load_stations(data: str | bytes | Iterable[Mapping[str, Any]]) -> Mapping[str, Station]:
    """Station table from a JSON array or a list of dicts, keyed by ``key`` (a deployment's override)."""
    stations = (
        _STATION_LIST.validate_json(data)
        if isinstance(data, str | bytes)
        else _STATION_LIST.validate_python(list(data))
    )
    keys = [s.key for s in stations]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate station keys: {duplicates}")
    return MappingProxyType({s.key: s for s in stations})


# The stations' facts are data (standards/hydro_stations.json): warning levels from news reports (DOMAIN.md §1),
# datum unverified.
STATIONS_FILE = Path(__file__).with_name("hydro_stations.json")
STATIONS: Mapping[str, Station] = load_stations(STATIONS_FILE.read_text(encoding="utf-8"))
"""Default stations: warning levels only, from news reports, datum unverified; override with load_stations."""
