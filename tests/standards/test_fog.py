"""CMA 大雾 signal criteria and the Art. 81 expressway rule at and just below each threshold."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standards.fog import assess_visibility, expressway_rule, fog_signal


@pytest.mark.parametrize(
    ("visibility_m", "name_zh", "name_en", "rgb", "horizon_h"),
    [
        (10_000, None, None, None, None),
        (500, None, None, None, None),
        (499.9, "大雾黄色预警信号", "Dense fog yellow warning signal", (255, 255, 0), 12),
        (200, "大雾黄色预警信号", "Dense fog yellow warning signal", (255, 255, 0), 12),
        (199.9, "大雾橙色预警信号", "Dense fog orange warning signal", (255, 126, 0), 6),
        (100, "大雾橙色预警信号", "Dense fog orange warning signal", (255, 126, 0), 6),
        (50, "大雾橙色预警信号", "Dense fog orange warning signal", (255, 126, 0), 6),
        (49.9, "大雾红色预警信号", "Dense fog red warning signal", (255, 0, 0), 2),
        (0, "大雾红色预警信号", "Dense fog red warning signal", (255, 0, 0), 2),
    ],
)
def test_fog_signal_thresholds(
    visibility_m: float, name_zh: str | None, name_en: str | None, rgb: tuple | None, horizon_h: int | None
) -> None:
    signal = fog_signal(visibility_m)
    if name_zh is None:
        assert signal is None
        return
    assert signal is not None
    assert (signal.name_zh, signal.name_en, signal.colour.rgb, signal.horizon_h) == (
        name_zh,
        name_en,
        rgb,
        horizon_h,
    )


def test_fog_signal_colour_names() -> None:
    signals = [fog_signal(v) for v in (400, 150, 10)]
    assert [s.colour.name_zh for s in signals if s] == ["黄色", "橙色", "红色"]
    assert [s.severity for s in signals if s] == [1, 2, 3]


@pytest.mark.parametrize(
    ("visibility_m", "speed", "gap", "hazard", "leave"),
    [
        (500, None, None, None, None),
        (200, None, None, None, None),
        (199.9, 60, 100, False, False),
        (100, 60, 100, False, False),
        (99.9, 40, 50, True, False),
        (50, 40, 50, True, False),
        (49.9, 20, None, True, True),
        (0, 20, None, True, True),
    ],
)
def test_art81_thresholds(
    visibility_m: float, speed: int | None, gap: int | None, hazard: bool | None, leave: bool | None
) -> None:
    rule = expressway_rule(visibility_m)
    if speed is None:
        assert rule is None
        return
    assert rule is not None
    assert (rule.speed_limit_kmh, rule.min_gap_m, rule.hazard_lights, rule.leave_at_nearest_exit) == (
        speed,
        gap,
        hazard,
        leave,
    )


def test_art81_actions_are_cumulative_and_bilingual() -> None:
    below_200, below_100, below_50 = (expressway_rule(v) for v in (150, 80, 30))
    assert below_200 is not None and below_100 is not None and below_50 is not None
    lamps = "开启雾灯、近光灯、示廓灯和前后位灯"
    assert lamps in below_200.actions_zh and lamps in below_100.actions_zh and lamps in below_50.actions_zh
    assert "开启危险报警闪光灯" not in below_200.actions_zh
    assert "开启危险报警闪光灯" in below_100.actions_zh and "开启危险报警闪光灯" in below_50.actions_zh
    assert "从最近的出口尽快驶离高速公路" in below_50.actions_zh
    assert "与同车道前车保持100米以上的距离" in below_200.actions_zh
    assert "与同车道前车保持50米以上的距离" in below_100.actions_zh
    for rule in (below_200, below_100, below_50):
        assert len(rule.actions_zh) == len(rule.actions_en)
        assert "第八十一条" in rule.source_zh
    assert any("nearest exit" in a for a in below_50.actions_en)
    assert any("hazard" in a for a in below_100.actions_en)


def test_assess_visibility_combines_both() -> None:
    a = assess_visibility(150)
    assert a.visibility_m == 150
    assert a.signal is not None and a.signal.name_zh == "大雾橙色预警信号"
    assert a.expressway is not None and a.expressway.speed_limit_kmh == 60
    clear = assess_visibility(300)
    assert clear.signal is not None and clear.signal.severity == 1
    assert clear.expressway is None


@pytest.mark.parametrize("bad", [-1, math.nan])
def test_bad_visibility_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="visibility"):
        fog_signal(bad)
    with pytest.raises(ValueError, match="visibility"):
        expressway_rule(bad)


@given(st.floats(0, 1000), st.floats(0, 1000))
def test_lower_visibility_is_never_less_severe(a: float, b: float) -> None:
    worse, better = sorted((a, b))
    sig_w, sig_b = fog_signal(worse), fog_signal(better)
    assert (sig_w.severity if sig_w else 0) >= (sig_b.severity if sig_b else 0)
    rule_w, rule_b = expressway_rule(worse), expressway_rule(better)
    assert (rule_w.speed_limit_kmh if rule_w else 999) <= (rule_b.speed_limit_kmh if rule_b else 999)
