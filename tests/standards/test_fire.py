"""Fire danger weather level: factor tables, level cut-offs, configuration, Beaufort conversion."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from standards.fire import (
    DEFAULT_FIRE_TABLES,
    FireScoringTables,
    beaufort,
    fire_danger,
    fire_level,
)

T = DEFAULT_FIRE_TABLES


# The published rows (LY/T 1172-95 via 吕巍伟 et al. 2020) and DOMAIN.md end points.
@pytest.mark.parametrize(
    ("temp_c", "score"),
    [(-10, 0), (5.0, 0), (5.1, 4), (10.0, 4), (10.1, 8), (15.0, 8), (15.1, 12), (20.0, 12), (20.1, 16),
     (24.9, 16), (25.0, 20), (38, 20)],
)  # fmt: skip
def test_temperature_scores(temp_c: float, score: int) -> None:
    assert T.max_temperature.score(temp_c) == score


@pytest.mark.parametrize(
    ("rh", "score"),
    [(100, 0), (65, 0), (64, 4), (55, 4), (54, 8), (45, 8), (44, 12), (35, 12), (34, 16), (25, 16),
     (24, 20), (0, 20)],
)  # fmt: skip
def test_humidity_scores(rh: float, score: int) -> None:
    assert T.humidity_14h.score(rh) == score


@pytest.mark.parametrize(("days", "score"), [(0, 0), (1, 5), (2, 10), (5, 25), (9, 45), (10, 50), (30, 50)])
def test_dry_day_scores(days: int, score: int) -> None:
    assert T.dry_days.score(days) == score


@pytest.mark.parametrize(("force", "score"), [(0, 0), (1, 5), (4, 20), (7, 35), (8, 40), (12, 40)])
def test_wind_scores(force: int, score: int) -> None:
    assert T.wind_force.score(force) == score


def test_end_points() -> None:
    low = fire_danger(5, 65, 0, 0)
    assert (low.score, low.level, low.name_zh, low.name_en) == (0, 1, "低火险", "Low fire danger")
    high = fire_danger(25, 24, 10, 8)
    # 20 + 20 + 50 + 40
    assert (high.score, high.level, high.name_zh, high.name_en) == (
        130,
        5,
        "极高火险",
        "Extremely high fire danger",
    )
    assert high.factor_scores.model_dump() == {
        "max_temperature": 20,
        "humidity_14h": 20,
        "dry_days": 50,
        "wind_force": 40,
    }


@pytest.mark.parametrize(
    ("inputs", "score", "level"),
    [
        ((25, 65, 1, 0), 25, 1),  # 20 + 0 + 5 + 0
        ((20.1, 65, 1, 1), 26, 2),  # 16 + 0 + 5 + 5
        ((25, 24, 1, 1), 50, 2),  # 20 + 20 + 5 + 5
        ((20.1, 24, 2, 1), 51, 3),  # 16 + 20 + 10 + 5
        ((25, 40, 8, 0), 72, 3),  # 20 + 12 + 40 + 0
        ((12, 20, 9, 0), 73, 4),  # 8 + 20 + 45 + 0
        ((25, 24, 10, 0), 90, 4),  # 20 + 20 + 50 + 0
        ((20.1, 24, 10, 1), 91, 5),  # 16 + 20 + 50 + 5
    ],
)
def test_level_cut_offs_through_fire_danger(inputs: tuple, score: int, level: int) -> None:
    r = fire_danger(*inputs)
    assert (r.score, r.level) == (score, level)


@pytest.mark.parametrize(
    ("score", "level", "level_zh", "name_zh", "colour_zh"),
    [
        (0, 1, "一级", "低火险", "绿色"),
        (25, 1, "一级", "低火险", "绿色"),
        (26, 2, "二级", "较低火险", "蓝色"),
        (50, 2, "二级", "较低火险", "蓝色"),
        (51, 3, "三级", "较高火险", "黄色"),
        (72, 3, "三级", "较高火险", "黄色"),
        (73, 4, "四级", "高火险", "橙色"),
        (90, 4, "四级", "高火险", "橙色"),
        (91, 5, "五级", "极高火险", "红色"),
        (130, 5, "五级", "极高火险", "红色"),
    ],
)
def test_levels_names_and_colours(
    score: int, level: int, level_zh: str, name_zh: str, colour_zh: str
) -> None:
    lvl = fire_level(score)
    assert (lvl.level, lvl.level_zh, lvl.name_zh, lvl.colour.name_zh) == (level, level_zh, name_zh, colour_zh)


def test_every_result_names_the_method() -> None:
    assert fire_danger(20, 50, 3, 2).method == "LY/T 1172-95 (scores configurable)"


def test_tables_load_from_json_with_the_compact_step_form() -> None:
    config = {
        "method": "本地修订 (test)",
        "wind_force": {
            "name_zh": "风力",
            "name_en": "Wind",
            "unit": "Beaufort",
            "rising": True,
            "steps": [[3, 10], [6, 30, True]],
        },
        "level_upper_bounds": [10, 20, 30, 40],
    }
    tables = FireScoringTables.model_validate_json(json.dumps(config, ensure_ascii=False))
    # unchanged factors keep their defaults; wind 6 → 30; temp 25 → 20; total 50 > 40 → level 5
    r = fire_danger(25, 70, 0, 6, tables)
    assert (r.score, r.level, r.method) == (50, 5, "本地修订 (test)")
    assert fire_danger(0, 70, 0, 2, tables).score == 0
    # the defaults survive a JSON round trip unchanged
    assert FireScoringTables.model_validate_json(DEFAULT_FIRE_TABLES.model_dump_json()) == DEFAULT_FIRE_TABLES


_NAMES = {"name_zh": "x", "name_en": "x", "unit": "x"}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"level_upper_bounds": [25, 25, 72, 90]}, "strictly ascending"),
        ({"dry_days": {**_NAMES, "rising": True, "steps": [[2, 5], [1, 10]]}}, "strictly ascending"),
        ({"dry_days": {**_NAMES, "rising": True, "steps": [[1, 10], [2, 5]]}}, "must not fall"),
        # humidity falls: the lower threshold (drier) must not score less than the higher one
        ({"humidity_14h": {**_NAMES, "rising": False, "steps": [[24, 5], [65, 20]]}}, "must not fall"),
        ({"dry_days": {**_NAMES, "rising": True, "steps": [[1, 5, True, 0]]}}, "step list"),
    ],
)
def test_bad_tables_are_rejected(patch: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FireScoringTables.model_validate(patch)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((20, 101, 0, 0), ValueError),
        ((20, -1, 0, 0), ValueError),
        ((math.nan, 50, 0, 0), ValueError),
        ((20, 50, -1, 0), ValueError),
        ((20, 50, 0, 18), ValueError),
        ((20, 50, 1.5, 0), TypeError),
        ((20, 50, 0, True), TypeError),
    ],
)
def test_bad_inputs_are_rejected(args: tuple, error: type[Exception]) -> None:
    with pytest.raises(error):
        fire_danger(*args)


# GB/T 28591-2012 风力等级: both ends of each force's speed range (m/s).
@pytest.mark.parametrize(
    ("speed", "force"),
    [(0.0, 0), (0.2, 0), (0.3, 1), (1.5, 1), (1.6, 2), (3.3, 2), (3.4, 3), (5.4, 3), (5.5, 4), (7.9, 4),
     (8.0, 5), (10.7, 5), (10.8, 6), (13.8, 6), (13.9, 7), (17.1, 7), (17.2, 8), (20.7, 8), (20.8, 9),
     (24.4, 9), (24.5, 10), (28.4, 10), (28.5, 11), (32.6, 11), (32.7, 12), (36.9, 12), (37.0, 13),
     (41.4, 13), (41.5, 14), (46.1, 14), (46.2, 15), (50.9, 15), (51.0, 16), (56.0, 16), (56.1, 17),
     (61.2, 17), (80.0, 17)],
)  # fmt: skip
def test_beaufort_table(speed: float, force: int) -> None:
    assert beaufort(speed) == force


def test_beaufort_rounds_to_the_table_resolution() -> None:
    # 0.25 rounds half up to 0.3 (force 1); 0.24 rounds to 0.2 (force 0)
    assert (beaufort(0.24), beaufort(0.25), beaufort(17.15), beaufort(17.149)) == (0, 1, 8, 7)
    with pytest.raises(ValueError):
        beaufort(-0.1)


_WEATHER = st.tuples(
    st.floats(-20, 45), st.floats(0, 100), st.integers(0, 20), st.integers(0, 17)
)


@given(_WEATHER, _WEATHER)
def test_worse_weather_never_lowers_the_level(a: tuple, b: tuple) -> None:
    # hotter, drier air, more dry days and more wind, all at once
    worse = (max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
    better = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    assert fire_danger(*worse).score >= fire_danger(*better).score
    assert fire_danger(*worse).level >= fire_danger(*better).level
