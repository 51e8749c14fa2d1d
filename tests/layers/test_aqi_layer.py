"""The ecology map measure: HJ 633 band colours at every band boundary, the legend, the labels."""

from __future__ import annotations

import pytest

from layers.aqi import aqi_choropleth_values, aqi_labels
from layers.choropleth import NO_DATA

# DOMAIN.md §2, HJ 633-2012 Table 2: AQI band → RGB.
RGB = {"优": (0, 228, 0), "良": (255, 255, 0), "轻度污染": (255, 126, 0), "中度污染": (255, 0, 0),
       "重度污染": (153, 0, 76), "严重污染": (126, 0, 35)}


def hex_of(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


@pytest.mark.parametrize(("value", "category"), [
    (0, "优"), (50, "优"), (51, "良"), (100, "良"), (101, "轻度污染"), (150, "轻度污染"), (151, "中度污染"),
    (200, "中度污染"), (201, "重度污染"), (300, "重度污染"), (301, "严重污染"), (500, "严重污染"), (612, "严重污染"),
])
def test_band_colours_at_the_boundaries_match_domain_md(value: int, category: str) -> None:
    colours, _ = aqi_choropleth_values({"441202": value})
    assert colours == {"441202": hex_of(RGB[category])}


def test_a_county_without_an_aqi_is_neutral_grey_and_the_legend_says_so() -> None:
    colours, legend = aqi_choropleth_values({"441202": 68, "441223": None})
    assert colours == {"441202": hex_of(RGB["良"]), "441223": NO_DATA}
    assert legend[-1] == (NO_DATA, "无数据")


def test_the_legend_lists_all_six_bands_in_order() -> None:
    _, legend = aqi_choropleth_values({"441202": 30})
    assert legend == [(hex_of(RGB["优"]), "0–50 优"), (hex_of(RGB["良"]), "51–100 良"),
                      (hex_of(RGB["轻度污染"]), "101–150 轻度污染"), (hex_of(RGB["中度污染"]), "151–200 中度污染"),
                      (hex_of(RGB["重度污染"]), "201–300 重度污染"), (hex_of(RGB["严重污染"]), ">300 严重污染")]
    _, en = aqi_choropleth_values({"441202": None}, lang="en")
    assert [label for _, label in en] == ["0–50 Excellent", "51–100 Good", "101–150 Lightly polluted",
                                          "151–200 Moderately polluted", "201–300 Heavily polluted",
                                          ">300 Severely polluted", "no data"]


def test_labels_and_hover_name_the_aqi_and_its_category() -> None:
    labels, hover = aqi_labels({"441202": 158, "441223": None}, {"441202": "端州区", "441223": "广宁县"})
    assert labels == {"441202": "端州区<br><b>158</b>", "441223": "广宁县<br>—"}
    assert hover == {"441202": "端州区: AQI 158 中度污染", "441223": "广宁县: 无数据"}
    _, hover_en = aqi_labels({"441202": 158}, {"441202": "Duanzhou"}, lang="en")
    assert hover_en == {"441202": "Duanzhou: AQI 158 Moderately polluted"}
