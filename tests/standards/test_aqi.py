"""HJ 633-2012 AQI: breakpoints, hand-worked examples, special rules, bands, editions."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standards.aqi import (
    BREAKPOINTS,
    AqiResult,
    Edition,
    Metric,
    MissingSubstituteError,
    aqi,
    aqi_band,
    iaqi,
)

# HJ 633-2012 Table 1 as printed in DOMAIN.md §2, typed in again here so the tests check the
# module against the standard, not against itself. None: no breakpoint (notes 2 and 3).
IAQI_ROWS = (0, 50, 100, 150, 200, 300, 400, 500)
TABLE_2012 = {
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800, None, None, None),
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800, None, None),
    "pm2_5_24h": (0, 35, 75, 115, 150, 250, 350, 500),
}
# The reported 2026 revision: PM2.5 24h IAQI-100 at 60, PM10 24h IAQI-100 at 120.
TABLE_2026 = {
    **TABLE_2012,
    "pm2_5_24h": (0, 35, 60, 115, 150, 250, 350, 500),
    "pm10_24h": (0, 50, 120, 250, 350, 420, 500, 600),
}


def _breakpoints(table: dict[str, tuple[int | None, ...]]) -> list[tuple[str, int, int]]:
    """(metric, concentration, IAQI) for every defined breakpoint of a table."""
    return [(m, c, i) for m, col in table.items() for c, i in zip(col, IAQI_ROWS) if c is not None]


@pytest.mark.parametrize(("metric", "conc", "expected"), _breakpoints(TABLE_2012))
def test_every_2012_breakpoint_gives_its_iaqi(metric: str, conc: int, expected: int) -> None:
    assert iaqi(metric, conc) == expected
    assert iaqi(metric, float(conc), "HJ633-2012") == expected
    assert iaqi(metric, Decimal(conc), Edition.HJ633_2012) == expected


@pytest.mark.parametrize(("metric", "conc", "expected"), _breakpoints(TABLE_2026))
def test_every_2026_breakpoint_gives_its_iaqi(metric: str, conc: int, expected: int) -> None:
    assert iaqi(metric, conc, Edition.HJ633_2026) == expected


def test_table_covers_every_metric_of_the_standard() -> None:
    assert {m.value for m in Metric} == set(TABLE_2012)
    assert {m.value for m in BREAKPOINTS[Edition.HJ633_2012]} == set(TABLE_2012)


@pytest.mark.parametrize(
    ("metric", "conc", "expected"),
    [
        # 100 + (80 - 75) * 50 / 40 = 106.25 → 107
        ("pm2_5_24h", 80, 107),
        # 50 + (36 - 35) * 50 / 40 = 51.25 → 52
        ("pm2_5_24h", 36, 52),
        # 50 + (35.01 - 35) * 50 / 40 = 50.0125 → 51: anything above a breakpoint rounds up
        ("pm2_5_24h", 35.01, 51),
        # 0.1 * 50 / 35 = 0.143 → 1
        ("pm2_5_24h", 0.1, 1),
        # 200 + (200 - 150) * 100 / 100 = 250
        ("pm2_5_24h", 200, 250),
        # 50 + (100 - 50) * 50 / 100 = 75
        ("pm10_24h", 100, 75),
        # 100 + (300 - 150) * 50 / 325 = 123.08 → 124
        ("so2_24h", 300, 124),
        # 50 + (120 - 100) * 50 / 60 = 66.67 → 67
        ("o3_8h", 120, 67),
        # 100 + (250 - 200) * 50 / 100 = 125
        ("o3_1h", 250, 125),
        # 50 + (3 - 2) * 50 / 2 = 75 (mg/m³)
        ("co_24h", 3, 75),
        # 50 + (6.5 - 5) * 50 / 5 = 65 (mg/m³)
        ("co_1h", 6.5, 65),
        # 100 + (450 - 200) * 50 / 500 = 125
        ("no2_1h", 450, 125),
        # 0.8 * 50 / 40 = 1 exactly; binary 0.8 is a hair above 4/5 and would give 2
        ("no2_24h", 0.8, 1),
        # 1000 lies in 800–1600 (IAQI 200–300): 200 + (1000 - 800) * 100 / 800 = 225
        ("so2_24h", 1000, 225),
    ],
)
def test_hand_worked_examples(metric: str, conc: float, expected: int) -> None:
    assert iaqi(metric, conc) == expected


def test_exact_inputs_of_every_numeric_kind_agree() -> None:
    # 100 + (80.5 - 75) * 50 / 40 = 106.875 → 107
    for value in (80.5, Decimal("80.5"), Fraction(161, 2)):
        assert iaqi(Metric.PM2_5_24H, value) == 107


@pytest.mark.parametrize(
    ("metric", "conc", "expected_2012", "expected_2026"),
    [
        # 2026: 50 + (47.5 - 35) * 50 / 25 = 75; 2012: 50 + 12.5 * 50 / 40 = 65.6 → 66
        ("pm2_5_24h", 47.5, 66, 75),
        # 2026: 100 + (80 - 60) * 50 / 55 = 118.18 → 119; 2012: 107
        ("pm2_5_24h", 80, 107, 119),
        # 2026: IAQI 100 at 60; 2012: 50 + 25 * 50 / 40 = 81.25 → 82
        ("pm2_5_24h", 60, 82, 100),
        # 2026: IAQI 100 at 120; 2012: 50 + 70 * 50 / 100 = 85
        ("pm10_24h", 120, 85, 100),
        # 2026: 100 + (200 - 120) * 50 / 130 = 130.77 → 131; 2012: 100 + 50 * 50 / 100 = 125
        ("pm10_24h", 200, 125, 131),
        # unchanged columns agree
        ("o3_8h", 120, 67, 67),
    ],
)
def test_2026_edition_changes(metric: str, conc: float, expected_2012: int, expected_2026: int) -> None:
    assert iaqi(metric, conc, "HJ633-2012") == expected_2012
    assert iaqi(metric, conc, "HJ633-2026") == expected_2026


def test_edition_verification_flag() -> None:
    assert Edition.HJ633_2012.verified
    assert not Edition.HJ633_2026.verified


def test_above_the_top_breakpoint_caps_at_500() -> None:
    assert iaqi("pm2_5_24h", 500.5) == 500
    assert iaqi("co_24h", 1000) == 500
    r = aqi({"pm2_5_24h": 620, "pm10_24h": 80})
    assert r.aqi == 500
    assert r.sub_indices[-1].metric is Metric.PM2_5_24H
    assert r.sub_indices[-1].beyond_scale
    assert not r.sub_indices[0].beyond_scale
    # exactly the top breakpoint is on the scale
    assert not aqi({"pm2_5_24h": 500}).sub_indices[0].beyond_scale


class TestSo2OneHourAbove800:
    def test_800_is_still_in_the_table(self) -> None:
        assert iaqi("so2_1h", 800) == 200

    def test_above_800_without_the_24h_value_is_withheld(self) -> None:
        assert iaqi("so2_1h", 800.1) is None

    def test_above_800_uses_the_24h_based_iaqi(self) -> None:
        # SO2 24h 300: 100 + 150 * 50 / 325 = 123.08 → 124, though the 1 h value is 900
        assert iaqi("so2_1h", 900, substitute=300) == 124

    def test_the_24h_value_is_ignored_at_or_below_800(self) -> None:
        # 150 + (700 - 650) * 50 / 150 = 166.67 → 167
        assert iaqi("so2_1h", 700, substitute=10) == 167

    def test_realtime_aqi_takes_so2_24h_from_the_mapping(self) -> None:
        r = aqi({"so2_1h": 900, "so2_24h": 300, "no2_1h": 100}, averaging="1h")
        assert r.aqi == 124
        (so2,) = [s for s in r.sub_indices if s.metric is Metric.SO2_1H]
        assert so2.iaqi == 124
        assert so2.substituted_from is Metric.SO2_24H
        assert so2.substitute_concentration == 300
        assert so2.concentration == 900
        # so2_24h only stands in; it is not a sub-index of the real-time report itself
        assert Metric.SO2_24H not in r.iaqi

    def test_realtime_aqi_without_so2_24h_raises(self) -> None:
        with pytest.raises(MissingSubstituteError, match="so2_24h"):
            aqi({"so2_1h": 801}, averaging="1h")


class TestO3EightHourAbove800:
    def test_800_is_still_in_the_table(self) -> None:
        assert iaqi("o3_8h", 800) == 300

    def test_above_800_uses_the_1h_based_iaqi(self) -> None:
        # O3 1h 1100: 400 + (1100 - 1000) * 100 / 200 = 450
        assert iaqi("o3_8h", 900, substitute=1100) == 450
        assert iaqi("o3_8h", 900) is None

    def test_daily_aqi_uses_o3_1h_and_both_tie_as_primary(self) -> None:
        r = aqi({"o3_8h": 900, "o3_1h": 1100, "pm2_5_24h": 30})
        assert r.aqi == 450
        assert r.iaqi[Metric.O3_8H] == 450
        assert r.iaqi[Metric.O3_1H] == 450
        assert r.primary_pollutants == (Metric.O3_1H, Metric.O3_8H)
        (o3_8h,) = [s for s in r.sub_indices if s.metric is Metric.O3_8H]
        assert o3_8h.substituted_from is Metric.O3_1H

    def test_daily_aqi_without_o3_1h_raises(self) -> None:
        with pytest.raises(MissingSubstituteError, match="o3_1h"):
            aqi({"o3_8h": 850})


def test_substitute_for_a_metric_without_the_rule_is_an_error() -> None:
    with pytest.raises(ValueError, match="no substitution rule"):
        iaqi("pm2_5_24h", 10, substitute=5)


def test_aqi_is_the_max_iaqi() -> None:
    # PM2.5 80 → 107; PM10 100 → 75; NO2 24h 60 → 50 + 20*50/40 = 75; CO 1 → 25
    r = aqi({"pm2_5_24h": 80, "pm10_24h": 100, "no2_24h": 60, "co_24h": 1})
    assert r.aqi == 107
    assert dict(r.iaqi) == {"pm2_5_24h": 107, "pm10_24h": 75, "no2_24h": 75, "co_24h": 25}
    assert r.primary_pollutants == (Metric.PM2_5_24H,)
    assert r.exceeding_pollutants == (Metric.PM2_5_24H,)
    assert (r.level, r.level_zh, r.category_zh, r.category_en) == (3, "三级", "轻度污染", "Lightly polluted")
    assert r.colour.rgb == (255, 126, 0)
    assert r.colour.hex == "#FF7E00"
    assert r.edition is Edition.HJ633_2012
    assert r.averaging == "24h"


def test_no_primary_pollutant_at_or_below_50() -> None:
    # PM2.5 35 → 50 exactly; PM10 40 → 40
    r = aqi({"pm2_5_24h": 35, "pm10_24h": 40})
    assert r.aqi == 50
    assert r.primary_pollutants == ()
    assert r.category_zh == "优"


def test_primary_pollutant_just_above_50() -> None:
    # PM2.5 35.5 → 50 + 0.5 * 50 / 40 = 50.625 → 51
    r = aqi({"pm2_5_24h": 35.5, "pm10_24h": 40})
    assert r.aqi == 51
    assert r.primary_pollutants == (Metric.PM2_5_24H,)
    assert r.category_zh == "良"


def test_all_tied_pollutants_are_primary_and_100_does_not_exceed() -> None:
    # PM10 150 → 100, PM2.5 75 → 100, NO2 24h 80 → 100, SO2 24h 50 → 50
    r = aqi({"pm10_24h": 150, "pm2_5_24h": 75, "no2_24h": 80, "so2_24h": 50})
    assert r.aqi == 100
    assert r.primary_pollutants == (Metric.NO2_24H, Metric.PM10_24H, Metric.PM2_5_24H)
    assert r.exceeding_pollutants == ()


def test_exceeding_pollutants_are_those_above_100() -> None:
    # PM2.5 80 → 107, PM10 160 → 100 + 10*50/100 = 105, NO2 24h 80 → 100, O3 8h 100 → 50
    r = aqi({"pm2_5_24h": 80, "pm10_24h": 160, "no2_24h": 80, "o3_8h": 100})
    assert r.exceeding_pollutants == (Metric.PM10_24H, Metric.PM2_5_24H)
    assert r.primary_pollutants == (Metric.PM2_5_24H,)


def test_2026_edition_in_aqi_is_reported() -> None:
    r = aqi({"pm2_5_24h": 60}, edition="HJ633-2026")
    assert r.aqi == 100
    assert r.edition is Edition.HJ633_2026
    assert aqi({"pm2_5_24h": 60}).aqi == 82


def test_realtime_report_uses_the_1h_columns() -> None:
    # NO2 1h 450 → 125; CO 1h 6.5 → 65; PM2.5 (24h breakpoints) 30 → 30*50/35 = 42.86 → 43
    r = aqi({"no2_1h": 450, "co_1h": 6.5, "pm2_5_24h": 30}, averaging="1h")
    assert dict(r.iaqi) == {"no2_1h": 125, "co_1h": 65, "pm2_5_24h": 43}
    assert r.averaging == "1h"


def test_none_means_not_measured() -> None:
    r = aqi({"pm2_5_24h": 80, "co_24h": None})
    assert Metric.CO_24H not in r.iaqi
    assert r.sub_indices[0].substituted_from is None
    assert r.sub_indices[0].substitute_concentration is None


@pytest.mark.parametrize(
    ("concentrations", "averaging", "message"),
    [
        ({"so2_1h": 10}, "24h", "not part of the 24h report"),
        ({"no2_24h": 10}, "1h", "not part of the 1h report"),
        ({"pm25": 10}, "24h", "unknown metric"),
        ({}, "24h", "no concentrations"),
        ({"pm2_5_24h": None}, "24h", "no concentrations"),
        ({"so2_24h": 10}, "1h", "no concentrations"),  # so2_24h alone is only a stand-in in 1h
        ({"pm2_5_24h": -1}, "24h", "≥ 0"),
        ({"pm2_5_24h": math.nan}, "24h", "finite"),
        ({"pm2_5_24h": math.inf}, "24h", "finite"),
        ({"pm2_5_24h": 10}, "8h", "averaging"),
    ],
)
def test_bad_aqi_input_is_rejected(concentrations: dict, averaging: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aqi(concentrations, averaging=averaging)  # type: ignore[arg-type]


def test_bad_iaqi_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown edition"):
        iaqi("pm2_5_24h", 10, "HJ633-2099")
    with pytest.raises(TypeError):
        iaqi("pm2_5_24h", True)
    with pytest.raises(TypeError, match="expected a number, got str"):
        iaqi("pm2_5_24h", "35")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        iaqi("pm2_5_24h", Decimal("NaN"))


@pytest.mark.parametrize(
    ("value", "level", "level_zh", "category_zh", "category_en", "rgb", "hex_"),
    [
        (0, 1, "一级", "优", "Excellent", (0, 228, 0), "#00E400"),
        (50, 1, "一级", "优", "Excellent", (0, 228, 0), "#00E400"),
        (51, 2, "二级", "良", "Good", (255, 255, 0), "#FFFF00"),
        (100, 2, "二级", "良", "Good", (255, 255, 0), "#FFFF00"),
        (101, 3, "三级", "轻度污染", "Lightly polluted", (255, 126, 0), "#FF7E00"),
        (150, 3, "三级", "轻度污染", "Lightly polluted", (255, 126, 0), "#FF7E00"),
        (151, 4, "四级", "中度污染", "Moderately polluted", (255, 0, 0), "#FF0000"),
        (200, 4, "四级", "中度污染", "Moderately polluted", (255, 0, 0), "#FF0000"),
        (201, 5, "五级", "重度污染", "Heavily polluted", (153, 0, 76), "#99004C"),
        (300, 5, "五级", "重度污染", "Heavily polluted", (153, 0, 76), "#99004C"),
        (301, 6, "六级", "严重污染", "Severely polluted", (126, 0, 35), "#7E0023"),
        (500, 6, "六级", "严重污染", "Severely polluted", (126, 0, 35), "#7E0023"),
    ],
)
def test_aqi_bands(
    value: int, level: int, level_zh: str, category_zh: str, category_en: str, rgb: tuple, hex_: str
) -> None:
    band = aqi_band(value)
    assert (band.level, band.level_zh, band.category_zh, band.category_en) == (
        level,
        level_zh,
        category_zh,
        category_en,
    )
    assert band.colour.rgb == rgb
    assert band.colour.hex == hex_


def test_aqi_band_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        aqi_band(-1)
    with pytest.raises(TypeError):
        aqi_band(50.5)  # type: ignore[arg-type]


def test_result_is_immutable_and_serialises() -> None:
    r = aqi({"pm2_5_24h": 80})
    with pytest.raises(ValueError):
        r.aqi = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.iaqi[Metric.PM2_5_24H] = 1  # type: ignore[index]
    again = AqiResult.model_validate_json(r.model_dump_json())
    assert again == r


# ---- properties -------------------------------------------------------------------------

_EDITIONS = st.sampled_from(list(Edition))
# Columns with a substitution rule are monotone only up to 800, where the rule takes over.
_METRIC_RANGES = st.sampled_from(
    [(m, 800 if m in ("so2_1h", "o3_8h") else col[-1] * 1.2) for m, col in TABLE_2012.items()]
)


@given(_METRIC_RANGES, st.floats(0, 1), st.floats(0, 1), _EDITIONS)
def test_iaqi_is_monotone_non_decreasing(
    metric_range: tuple[str, float], a: float, b: float, edition: Edition
) -> None:
    metric, top = metric_range
    lo, hi = sorted((a * top, b * top))
    i_lo, i_hi = iaqi(metric, lo, edition), iaqi(metric, hi, edition)
    assert i_lo is not None and i_hi is not None
    assert 0 <= i_lo <= i_hi <= 500


_DAILY = ["so2_24h", "no2_24h", "pm10_24h", "co_24h", "o3_1h", "o3_8h", "pm2_5_24h"]


@given(
    st.dictionaries(st.sampled_from(_DAILY), st.floats(0, 3000, allow_nan=False), min_size=1),
    _EDITIONS,
)
def test_aqi_is_at_least_every_iaqi_and_equal_to_one(conc: dict[str, float], edition: Edition) -> None:
    if conc.get("o3_8h", 0) > 800:
        conc.setdefault("o3_1h", conc["o3_8h"])
    r = aqi(conc, edition)
    assert all(r.aqi >= v for v in r.iaqi.values())
    assert r.aqi in r.iaqi.values()
    assert set(r.primary_pollutants) <= set(r.iaqi)
    assert all(r.iaqi[m] > 100 for m in r.exceeding_pollutants)
    assert aqi_band(r.aqi).level == r.level
