"""GB/T 28181 device IDs: decode the DOMAIN.md example, reject bad IDs, build IDs, county check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standards.gbt28181 import (
    CountyAgreement,
    InvalidDeviceId,
    check_county,
    decode,
    is_video_device,
    make_id,
)

EXAMPLE = "44120200081326000001"  # DOMAIN.md §3: a 端州 city-management IPC on the government network


def test_decode_domain_example() -> None:
    d = decode(EXAMPLE)
    assert d.centre_code == "44120200"
    assert (d.province_code, d.city_code, d.county_code, d.unit_code) == ("44", "12", "02", "00")
    assert d.county_adcode == "441202"  # 端州区
    assert d.city_adcode == "441200"  # 肇庆市
    assert (d.industry_code, d.industry_zh, d.industry_en) == ("08", "城市管理", "City management")
    assert d.type_code == "132"
    assert "IPC" in d.type_zh and "IP camera" in d.type_en
    assert (d.network_code, d.network_zh, d.network_en) == ("6", "政务网", "E-government network")
    assert d.serial == "000001"
    assert d.is_video
    assert d.model_dump()["county_adcode"] == "441202"


@pytest.mark.parametrize(
    ("industry", "zh"),
    [
        ("00", "社会治安"),
        ("03", "社会治安"),
        ("04", "交通"),
        ("07", "交通"),
        ("08", "城市管理"),
        ("09", "卫生环保"),
        ("40", "企业"),
        ("44", "电力企业"),
        ("54", "水利企业"),
        ("55", "企业"),
        ("10", "未知行业"),
        ("39", "未知行业"),
        ("56", "未知行业"),
        ("99", "未知行业"),
    ],
)
def test_industry_codes(industry: str, zh: str) -> None:
    assert decode(f"44120200{industry}1326000001").industry_zh == zh


@pytest.mark.parametrize(
    ("type_code", "en", "video"),
    [
        ("111", "Digital video recorder (DVR)", False),
        ("118", "Network video recorder (NVR)", False),
        ("131", "Camera", True),
        ("132", "IP camera (IPC)", True),
        ("134", "Alarm input device", False),
        ("200", "Central signalling (SIP) server", False),
        ("999", "Unknown type", False),
        ("130", "Unknown type", False),
    ],
)
def test_type_codes(type_code: str, en: str, video: bool) -> None:
    device_id = f"4412020008{type_code}6000001"
    assert decode(device_id).type_en == en
    assert is_video_device(device_id) is video


@pytest.mark.parametrize(
    ("network", "zh"),
    [("0", "专网"), ("4", "专网"), ("5", "公安网"), ("6", "政务网"), ("7", "互联网"), ("8", "社会资源"),
     ("9", "未知网络")],
)  # fmt: skip
def test_network_codes(network: str, zh: str) -> None:
    assert decode(f"4412020008132{network}000001").network_zh == zh


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("4412020008132600000", "expected 20 digits, got 19 characters"),
        ("441202000813260000011", "expected 20 digits, got 21 characters"),
        ("", "expected 20 digits, got 0 characters"),
        ("4412020008132600000A", "position 20 ('A')"),
        ("44120200 08132600001", "position 9 (' ')"),
        ("４4120200081326000001", "position 1 ('４')"),  # full-width digit: str.isdigit() would pass it
        ("-4120200081326000001", "position 1 ('-')"),
        ("A412020008132600000B", "positions 1 ('A'), 20 ('B')"),
        (44120200081326000001, "expected a string, got int"),
        (None, "expected a string, got NoneType"),
    ],
)
def test_invalid_ids_say_why(bad: object, reason: str) -> None:
    with pytest.raises(InvalidDeviceId) as info:
        decode(bad)  # type: ignore[arg-type]
    assert reason in info.value.reason
    assert isinstance(info.value, ValueError)
    assert info.value.device_id == bad
    with pytest.raises(InvalidDeviceId):
        is_video_device(bad)  # type: ignore[arg-type]


def test_make_id() -> None:
    assert make_id("441202", 0, 8, 132, 6, 1) == EXAMPLE
    assert make_id("441202", "00", "08", "132", "6", "000001") == EXAMPLE
    assert make_id("441284", 12, 54, 131, 7, 999_999) == "44128412541317999999"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("44120", 0, 8, 132, 6, 1), "county_adcode must be 6 digits"),
        (("441202", 100, 8, 132, 6, 1), "unit must be 0–99"),
        (("441202", 0, 8, 132, 10, 1), "network must be 0–9"),
        (("441202", 0, 8, 132, 6, 1_000_000), "serial must be 0–999999"),
        (("441202", 0, 8, "13", 6, 1), "type_code must be 3 digits"),
        (("441202", -1, 8, 132, 6, 1), "unit must be 0–99"),
        (("441202", 0, True, 132, 6, 1), "industry must be an int or a digit string"),
    ],
)
def test_make_id_rejects_bad_parts(args: tuple, reason: str) -> None:
    with pytest.raises(InvalidDeviceId, match=reason):
        make_id(*args)


@given(
    st.sampled_from(["441202", "441203", "441204", "441223", "441224", "441225", "441226", "441284"]),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
    st.integers(0, 9),
    st.integers(0, 999_999),
)
def test_make_id_decodes_back(
    county: str, unit: int, industry: int, type_: int, net: int, serial: int
) -> None:
    d = decode(make_id(county, unit, industry, type_, net, serial))
    assert d.county_adcode == county
    assert (int(d.unit_code), int(d.industry_code), int(d.type_code), int(d.network_code), int(d.serial)) == (
        unit,
        industry,
        type_,
        net,
        serial,
    )


@pytest.mark.parametrize(
    ("device_id", "located", "status", "finding"),
    [
        (EXAMPLE, "441202", CountyAgreement.AGREES, False),
        (EXAMPLE, "441203", CountyAgreement.DISAGREES, True),
        (EXAMPLE, None, CountyAgreement.OUTSIDE_CITY, True),
        ("44120000081326000001", "441202", CountyAgreement.NO_COUNTY_IN_ID, True),
        ("44120000081326000001", None, CountyAgreement.OUTSIDE_CITY, True),
    ],
)
def test_check_county(device_id: str, located: str | None, status: CountyAgreement, finding: bool) -> None:
    c = check_county(device_id, located)
    assert c.status is status
    assert c.is_finding is finding
    assert c.id_county_adcode == device_id[:6]
    assert c.located_adcode == located
    assert c.label_zh and c.label_en


def test_check_county_labels() -> None:
    disagree = check_county(EXAMPLE, "441203")
    assert (disagree.label_zh, disagree.label_en) == ("编码区县与位置不符", "ID county differs from located county")
    assert check_county(EXAMPLE, None).label_zh == "位置在本市范围外"


def test_check_county_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="located_adcode"):
        check_county(EXAMPLE, "4412")
    with pytest.raises(InvalidDeviceId):
        check_county("123", "441202")
