"""Classes for any measure: mapclassify schemes made robust, legends that read well, standard bands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from layers.choropleth import NO_DATA, SEQUENTIAL
from layers.classify import (
    JENKS_SAMPLE,
    YLORRD,
    classify,
    number_formatter,
    shading_for_metric,
)

# DOMAIN.md §2, HJ 633-2012: AQI band → RGB.
AQI_RGB = {"优": (0, 228, 0), "良": (255, 255, 0), "轻度污染": (255, 126, 0), "中度污染": (255, 0, 0),
           "重度污染": (153, 0, 76), "严重污染": (126, 0, 35)}


def hex_of(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def bimodal(n_low: int, n_high: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two well separated clusters: around 10 and around 100."""
    rng = np.random.default_rng(seed)
    return rng.uniform(5, 15, n_low).round(2), rng.uniform(90, 110, n_high).round(2)


@pytest.mark.parametrize("scheme", ["natural_breaks", "fisher_jenks"])
def test_natural_breaks_put_the_gap_of_a_bimodal_series_between_classes(scheme: str) -> None:
    low, high = bimodal(30, 20)
    c = classify(list(np.concatenate([low, high])), scheme, k=2)
    assert c.bins == (low.max(), high.max())
    assert {c.class_of(v) for v in low} == {0} and {c.class_of(v) for v in high} == {1}


def test_natural_breaks_on_many_values_still_find_the_gap_and_never_change() -> None:
    low, high = bimodal(4000, 1000, seed=3)
    values = list(np.concatenate([low, high]))
    assert len(values) > JENKS_SAMPLE  # the sampled path
    first = classify(values, k=2)
    assert 15 <= first.bins[0] < 90 and first.bins[-1] == high.max()
    # mapclassify.NaturalBreaks (k-means from random starts) differs between runs; the wall must not.
    assert all(classify(values, k=5) == classify(values, k=5) for _ in range(5))


def test_natural_breaks_equal_the_exact_fisher_jenks_on_small_data() -> None:
    y = list(np.random.default_rng(7).lognormal(3, 1, 90).round(1))
    assert classify(y, "natural_breaks").bins == classify(y, "fisher_jenks").bins


def test_quantiles_put_the_same_number_of_values_in_each_class() -> None:
    c = classify(list(range(1, 101)), "quantiles", k=4)
    counts = np.bincount([c.class_of(v) for v in range(1, 101)])
    assert counts.tolist() == [25, 25, 25, 25]


def test_equal_intervals_are_equally_wide_even_with_few_distinct_values() -> None:
    c = classify([0.0, 0.5, 3.3, 10.0], "equal_interval", k=5)
    assert c.bins == pytest.approx((2.0, 4.0, 6.0, 8.0, 10.0))
    assert c.legend[0][1] == "0–2" and c.legend[-1][1] == "8–10"
    assert [c.class_of(v) for v in (0.0, 0.5, 3.3, 10.0)] == [0, 0, 1, 4]


def test_five_classes_use_the_existing_ylorrd_palette() -> None:
    c = classify(list(range(50)), k=5)
    assert c.colours == SEQUENTIAL


def test_fewer_distinct_values_than_k_reduce_k_and_spread_the_colours() -> None:
    c = classify({"a": 1, "b": 1, "c": 2, "d": 3, "e": 3}, "quantiles", k=5)
    assert c.bins == (1.0, 2.0, 3.0)
    assert c.colours == ("#ffeda0", "#feb24c", "#f03b20")  # ColorBrewer YlOrRd, 3 classes
    assert [c.colour_of(v) for v in (1, 2, 3)] == list(YLORRD[3])
    assert [label for _, label in c.legend] == ["1", "2", "3"]


def test_all_equal_values_make_one_class() -> None:
    for scheme in ("natural_breaks", "quantiles", "equal_interval", "fisher_jenks"):
        c = classify([7, 7, 7, 7], scheme)  # type: ignore[arg-type]
        assert c.k == 1 and c.colour_of(7) == YLORRD[1][0]
        assert c.legend == [(YLORRD[1][0], "7")]


def test_none_and_nan_are_no_data_with_their_own_legend_entry() -> None:
    c = classify({"a": 1.0, "b": None, "c": float("nan"), "d": 4.0, "e": 9.0}, k=3)
    assert c.k == 3 and c.no_data
    assert c.colour_of(None) == NO_DATA and c.colour_of(float("nan")) == NO_DATA
    assert c.legend[-1] == (NO_DATA, "无数据")
    assert classify([None, 2.0], lang="en").legend[-1] == (NO_DATA, "no data")


def test_no_values_and_one_value() -> None:
    empty = classify({})
    assert empty.bins == () and empty.legend == [] and empty.colour_of(5) == NO_DATA
    only_none = classify({"a": None})
    assert only_none.legend == [(NO_DATA, "无数据")]
    one = classify({"a": 42})
    assert one.bins == (42.0,) and one.colour_of(42) == YLORRD[1][0]


def test_values_beyond_the_classified_range_take_the_end_classes() -> None:
    c = classify([10, 20, 30, 40, 50, 60], k=3)
    assert c.colour_of(-5) == c.colours[0] and c.colour_of(1000) == c.colours[-1]


def test_integer_legends_have_no_decimals_and_do_not_overlap() -> None:
    c = classify([0, 1, 2, 3, 10, 11, 12, 30, 31, 80], k=4)
    labels = [label for _, label in c.legend]
    assert all("." not in label for label in labels)
    # Whole-number classes read "a–b" with the next class starting at b+1.
    lows = [int(label.split("–")[0]) for label in labels]
    highs = [int(label.split("–")[-1]) for label in labels]
    assert lows[0] == 0 and highs[-1] == 80
    assert all(lo == hi + 1 for lo, hi in zip(lows[1:], highs[:-1], strict=True))


def test_large_numbers_use_wan_in_chinese_and_separators_in_english() -> None:
    zh = number_formatter([0, 12_000, 250_000])
    assert [zh(v) for v in (0, 12_000, 250_000)] == ["0", "1.2万", "25万"]
    assert number_formatter([3.2e8, 1.5e9])(3.2e8) == "3.2亿"
    en = number_formatter([0, 12_000, 250_000], "en")
    assert [en(v) for v in (12_000, 250_000)] == ["12,000", "250,000"]
    assert number_formatter([9999])(9999) == "9999"


def test_fractions_get_just_enough_decimals_to_tell_numbers_apart() -> None:
    fmt = number_formatter([0.012, 0.05, 0.33])
    assert [fmt(v) for v in (0.012, 0.05, 0.33)] == ["0.012", "0.05", "0.33"]
    fmt = number_formatter([12.31, 12.34, 40.0])
    assert fmt(12.31) != fmt(12.34) and fmt(40.0) == "40"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="scheme"):
        classify([1, 2], "jenks")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must"):
        classify([1, 2], k=0)
    with pytest.raises(ValueError, match="finite"):
        classify([1, math.inf])


# ---- shading_for_metric -------------------------------------------------------------------------

NAMES = {"441202": "端州区", "441203": "鼎湖区", "441204": "高要区", "441223": "广宁县"}


@pytest.mark.parametrize(("value", "category"), [
    (0, "优"), (50, "优"), (50.2, "良"), (51, "良"), (100, "良"), (101, "轻度污染"), (150, "轻度污染"),
    (151, "中度污染"), (200, "中度污染"), (201, "重度污染"), (300, "重度污染"), (301, "严重污染"), (612, "严重污染"),
])
def test_aqi_standard_shading_uses_the_hj633_colours(value: float, category: str) -> None:
    # 50.2 is banded as 51: HJ 633 rounds the AQI up.
    s = shading_for_metric({"441202": value}, NAMES, "", ["441202"], standard="aqi")
    assert s.colours == {"441202": hex_of(AQI_RGB[category])}


def test_aqi_standard_shading_names_the_standard_and_lists_every_band() -> None:
    s = shading_for_metric({"441202": 151, "441203": 30, "441204": None}, NAMES, "", list(NAMES), standard="aqi")
    assert s.colours["441202"] == hex_of((255, 0, 0))
    assert s.colours["441204"] == NO_DATA and s.colours["441223"] == NO_DATA
    assert "HJ 633" in s.title
    assert [c for c, _ in s.legend] == [hex_of(rgb) for rgb in AQI_RGB.values()] + [NO_DATA]
    assert s.legend[3][1] == "151–200 中度污染" and s.legend[-1][1] == "无数据"
    assert s.hover["441202"] == "端州区: AQI 151 中度污染" and s.labels["441202"] == "端州区<br><b>151</b>"
    en = shading_for_metric({"441202": 151}, {"441202": "Duanzhou"}, "", standard="aqi", lang="en")
    assert en.hover["441202"] == "Duanzhou: AQI 151 Moderately polluted" and "HJ 633" in en.title


def test_fire_level_standard_shading() -> None:
    s = shading_for_metric({"441202": 4, "441203": 1}, NAMES, "", standard="fire_level")
    assert s.colours == {"441202": hex_of((255, 126, 0)), "441203": hex_of((0, 228, 0))}
    assert s.hover["441202"] == "端州区: 四级 高火险"
    assert len(s.legend) == 5


def test_a_measure_without_a_standard_is_classified() -> None:
    values = {"441202": 2.0, "441203": 3.0, "441204": 95.0, "441223": None}
    s = shading_for_metric(values, NAMES, "件", list(NAMES), k=2)
    assert s.title == "自然断点分级"
    assert s.colours["441202"] == s.colours["441203"] != s.colours["441204"]
    assert s.colours["441223"] == NO_DATA
    assert s.hover["441204"] == "高要区: 95 件" and s.hover["441223"] == "广宁县: 无数据"
    assert s.labels["441204"] == "高要区<br><b>95</b>"
    assert s.legend[-1] == (NO_DATA, "无数据")
    big = shading_for_metric({"441202": 3_200_000.0, "441203": 1_200_000.0}, NAMES, "人")
    assert big.hover["441202"] == "端州区: 320万 人"


def test_ids_without_a_value_are_no_data() -> None:
    s = shading_for_metric({"g1": 4.0}, {}, "", ["g1", "g2"])
    assert s.colours["g2"] == NO_DATA and s.hover["g2"] == "g2: 无数据"
