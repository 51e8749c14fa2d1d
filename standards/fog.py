"""Low visibility: CMA 大雾 warning-signal criteria and the expressway rule of Art. 81.

All thresholds are strict: a signal or rule applies when visibility is *less than* its
threshold, so exactly 500 m gives no signal and exactly 200 m gives no Art. 81 rule.
Issuing a signal is the meteorological bureau's act (it also weighs the forecast): these
functions only say which signal's criterion an observed visibility meets.
"""

from __future__ import annotations

import math
from typing import SupportsFloat

from pydantic import BaseModel, ConfigDict

from standards.colours import ORANGE, RED, YELLOW, Colour


class FogSignal(BaseModel):
    """A CMA 大雾 (dense fog) warning signal and its visibility criterion."""

    model_config = ConfigDict(frozen=True)

    severity: int  # 1 yellow, 2 orange, 3 red
    colour: Colour
    name_zh: str
    name_en: str
    visibility_below_m: int
    # CMA wording: fog below the threshold is expected within this many hours, or is present
    # and will persist; it is a forecast horizon, not how long the signal stays in force.
    horizon_h: int


# 气象灾害预警信号发布与传播办法 (CMA Order No. 16), 大雾预警信号. Most severe first.
FOG_SIGNALS: tuple[FogSignal, ...] = (
    FogSignal(
        severity=3,
        colour=RED,
        name_zh="大雾红色预警信号",
        name_en="Dense fog red warning signal",
        visibility_below_m=50,
        horizon_h=2,
    ),
    FogSignal(
        severity=2,
        colour=ORANGE,
        name_zh="大雾橙色预警信号",
        name_en="Dense fog orange warning signal",
        visibility_below_m=200,
        horizon_h=6,
    ),
    FogSignal(
        severity=1,
        colour=YELLOW,
        name_zh="大雾黄色预警信号",
        name_en="Dense fog yellow warning signal",
        visibility_below_m=500,
        horizon_h=12,
    ),
)


class ExpresswayRule(BaseModel):
    """What Art. 81 requires of drivers on an expressway at a given low visibility."""

    model_config = ConfigDict(frozen=True)

    visibility_below_m: int
    speed_limit_kmh: int
    min_gap_m: int | None  # None: Art. 81 sets no gap (below 50 m drivers must leave instead)
    hazard_lights: bool
    leave_at_nearest_exit: bool
    actions_zh: tuple[str, ...]
    actions_en: tuple[str, ...]
    source_zh: str = "《中华人民共和国道路交通安全法实施条例》第八十一条"
    source_en: str = "Regulation on the Implementation of the Road Traffic Safety Law of the PRC, Art. 81"


_LAMPS_ZH = "开启雾灯、近光灯、示廓灯和前后位灯"
_LAMPS_EN = "Switch on fog lamps, low beam, clearance lamps and front/rear position lamps"
_HAZARD_ZH = "开启危险报警闪光灯"
_HAZARD_EN = "Switch on hazard warning lights"

# Art. 81 items (三), (二), (一): most severe first. Each item repeats the lamps of the one
# before, so the actions are cumulative.
EXPRESSWAY_RULES: tuple[ExpresswayRule, ...] = (
    ExpresswayRule(
        visibility_below_m=50,
        speed_limit_kmh=20,
        min_gap_m=None,
        hazard_lights=True,
        leave_at_nearest_exit=True,
        actions_zh=("车速不得超过每小时20公里", _LAMPS_ZH, _HAZARD_ZH, "从最近的出口尽快驶离高速公路"),
        actions_en=(
            "Do not exceed 20 km/h",
            _LAMPS_EN,
            _HAZARD_EN,
            "Leave the expressway at the nearest exit as soon as possible",
        ),
    ),
    ExpresswayRule(
        visibility_below_m=100,
        speed_limit_kmh=40,
        min_gap_m=50,
        hazard_lights=True,
        leave_at_nearest_exit=False,
        actions_zh=("车速不得超过每小时40公里", "与同车道前车保持50米以上的距离", _LAMPS_ZH, _HAZARD_ZH),
        actions_en=(
            "Do not exceed 40 km/h",
            "Keep at least 50 m from the vehicle ahead in the same lane",
            _LAMPS_EN,
            _HAZARD_EN,
        ),
    ),
    ExpresswayRule(
        visibility_below_m=200,
        speed_limit_kmh=60,
        min_gap_m=100,
        hazard_lights=False,
        leave_at_nearest_exit=False,
        actions_zh=("车速不得超过每小时60公里", "与同车道前车保持100米以上的距离", _LAMPS_ZH),
        actions_en=(
            "Do not exceed 60 km/h",
            "Keep at least 100 m from the vehicle ahead in the same lane",
            _LAMPS_EN,
        ),
    ),
)


class VisibilityAssessment(BaseModel):
    """Both readings of one visibility value: the fog signal criterion met and the Art. 81 rule."""

    model_config = ConfigDict(frozen=True)

    visibility_m: float
    signal: FogSignal | None
    expressway: ExpresswayRule | None


def _visibility(visibility_m: SupportsFloat) -> float:
    """Validate a visibility in metres."""
    if isinstance(visibility_m, bool):
        raise TypeError("visibility must be a number, got a bool")
    v = float(visibility_m)
    if math.isnan(v) or v < 0:
        raise ValueError(f"visibility must be ≥ 0 m, got {visibility_m}")
    return v


def fog_signal(visibility_m: SupportsFloat) -> FogSignal | None:
    """The 大雾 signal whose visibility criterion the value meets, or None at 500 m and above."""
    v = _visibility(visibility_m)
    return next((s for s in FOG_SIGNALS if v < s.visibility_below_m), None)


def expressway_rule(visibility_m: SupportsFloat) -> ExpresswayRule | None:
    """The Art. 81 expressway rule for a visibility, or None at 200 m and above."""
    v = _visibility(visibility_m)
    return next((r for r in EXPRESSWAY_RULES if v < r.visibility_below_m), None)


def assess_visibility(visibility_m: SupportsFloat) -> VisibilityAssessment:
    """Fog signal criterion and expressway rule for one visibility in metres."""
    v = _visibility(visibility_m)
    return VisibilityAssessment(visibility_m=v, signal=fog_signal(v), expressway=expressway_rule(v))
