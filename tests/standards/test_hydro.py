"""Water level against warning and guaranteed levels; the default station table and its override."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from standards.hydro import STATIONS, WaterState, load_stations, water_status


@pytest.mark.parametrize(
    ("level", "state", "to_warning", "to_guaranteed", "rgb"),
    [
        (9.99, WaterState.NORMAL, 0.01, 1.01, (0, 228, 0)),
        (10.0, WaterState.ABOVE_WARNING, 0.0, 1.0, (255, 126, 0)),
        (10.01, WaterState.ABOVE_WARNING, -0.01, 0.99, (255, 126, 0)),
        (10.99, WaterState.ABOVE_WARNING, -0.99, 0.01, (255, 126, 0)),
        (11.0, WaterState.ABOVE_GUARANTEED, -1.0, 0.0, (255, 0, 0)),
        (11.5, WaterState.ABOVE_GUARANTEED, -1.5, -0.5, (255, 0, 0)),
        (-2.0, WaterState.NORMAL, 12.0, 13.0, (0, 228, 0)),
    ],
)
def test_status_at_and_around_the_levels(
    level: float, state: WaterState, to_warning: float, to_guaranteed: float, rgb: tuple
) -> None:
    s = water_status(level, 10.0, 11.0)
    assert s.state is state
    assert s.margin_to_warning_m == to_warning
    assert s.margin_to_guaranteed_m == to_guaranteed
    assert s.colour.rgb == rgb


def test_labels() -> None:
    assert (water_status(9, 10, 11).label_zh, water_status(9, 10, 11).label_en) == (
        "低于警戒水位",
        "Below warning level",
    )
    assert water_status(10.5, 10, 11).label_zh == "达到或超过警戒水位"
    assert water_status(11, 10, 11).label_en == "At or above guaranteed level"


def test_without_a_guaranteed_level_the_top_state_is_above_warning() -> None:
    s = water_status(50.0, 10.0)
    assert s.state is WaterState.ABOVE_WARNING
    assert s.guaranteed_m is None and s.margin_to_guaranteed_m is None
    assert s.margin_to_warning_m == -40.0


def test_margins_read_as_bulletins_do() -> None:
    # 10.3 m at a 10.0 m warning level: "超警戒 0.3 米", with no float residue
    assert water_status(10.3, 10.0).margin_to_warning_m == -0.3


def test_equal_warning_and_guaranteed_levels_are_allowed() -> None:
    assert water_status(10.0, 10.0, 10.0).state is WaterState.ABOVE_GUARANTEED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10.0, 11.0, 10.5), "below the warning level"),
        ((math.nan, 10.0, None), "level_m must be finite"),
        ((10.0, math.inf, None), "warning_m must be finite"),
    ],
)
def test_bad_input_is_rejected(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        water_status(*args)


def test_default_stations_are_the_three_reported_warning_levels() -> None:
    assert {k: (s.name_zh, s.warning_m) for k, s in STATIONS.items()} == {
        "gaoyao": ("高要站", 10.0),
        "deqing": ("德庆站", 15.0),
        "fengkai_jiangkou": ("封开江口", 17.0),
    }
    for s in STATIONS.values():
        assert s.guaranteed_m is None
        assert s.datum is None
        assert not s.verified
        assert "unverified" in s.source
        assert s.river_zh == "西江"


def test_station_status() -> None:
    deqing = STATIONS["deqing"]
    assert deqing.status(14.99).state is WaterState.NORMAL
    assert deqing.status(15.0).state is WaterState.ABOVE_WARNING
    assert STATIONS["fengkai_jiangkou"].status(16.5).margin_to_warning_m == 0.5


def test_stations_are_read_only() -> None:
    with pytest.raises(TypeError):
        STATIONS["x"] = STATIONS["deqing"]  # type: ignore[index]
    with pytest.raises(ValidationError):
        STATIONS["deqing"].warning_m = 1.0  # type: ignore[misc]


def test_a_deployment_can_override_the_stations() -> None:
    rows = [
        {
            "key": "gaoyao",
            "name_zh": "高要站",
            "name_en": "Gaoyao station",
            "river_zh": "西江",
            "river_en": "Xi River",
            "warning_m": 10.0,
            "guaranteed_m": 13.5,
            "datum": "珠江基面",
            "verified": True,
            "source": "test fixture",
        }
    ]
    for data in (rows, json.dumps(rows, ensure_ascii=False)):
        stations = load_stations(data)
        assert list(stations) == ["gaoyao"]
        assert stations["gaoyao"].status(13.6).state is WaterState.ABOVE_GUARANTEED


def test_station_overrides_are_validated() -> None:
    base = {"name_zh": "x", "name_en": "x", "river_zh": "x", "river_en": "x", "warning_m": 5.0}
    with pytest.raises(ValueError, match="duplicate station keys"):
        load_stations([{**base, "key": "a"}, {**base, "key": "a"}])
    with pytest.raises(ValidationError, match="guaranteed_m"):
        load_stations([{**base, "key": "a", "guaranteed_m": 4.0}])
