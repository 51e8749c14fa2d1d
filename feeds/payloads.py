"""Pydantic models of every feed's JSON payload: the edge where outside input is validated."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

DEVICE_ID = r"^[A-Za-z0-9_-]{4,32}$"
ADCODE = r"^\d{6}$"

Lon = Annotated[float, Field(ge=-180, le=180, description="Longitude, WGS84 degrees")]
Lat = Annotated[float, Field(ge=-90, le=90, description="Latitude, WGS84 degrees")]
Timestamp = Annotated[
    AwareDatetime,
    Field(description="ISO 8601 time with an offset, e.g. 2026-11-30T08:00:00+08:00; no offset is refused"),
]


class Payload(BaseModel):
    """Base of every payload: unknown fields are ignored so devices can add fields safely."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, allow_inf_nan=False)


class DevicePayload(Payload):
    """A message from a located device."""

    device_id: str = Field(pattern=DEVICE_ID, description="Device id; 20 digits when it is a GB/T 28181 id")
    ts: Timestamp
    lon: Lon
    lat: Lat
    name: str | None = Field(None, max_length=128, description="Display name of the device")


class Detection(StrEnum):
    """What AI analysis of a river video point reports: the 四乱 and the other usual problems."""

    encroachment = "encroachment"  # 乱占
    illegal_mining = "illegal_mining"  # 乱采
    dumping = "dumping"  # 乱堆
    illegal_building = "illegal_building"  # 乱建
    floating_debris = "floating_debris"  # 水面漂浮物
    illegal_fishing = "illegal_fishing"  # 非法捕捞


DETECTION_NAMES: dict[Detection, tuple[str, str]] = {
    Detection.encroachment: ("乱占", "Encroachment"),
    Detection.illegal_mining: ("乱采", "Illegal sand mining"),
    Detection.dumping: ("乱堆", "Dumping"),
    Detection.illegal_building: ("乱建", "Illegal building"),
    Detection.floating_debris: ("漂浮物", "Floating debris"),
    Detection.illegal_fishing: ("非法捕捞", "Illegal fishing"),
}


class VideoDetection(Payload):
    """One AI finding in a video frame."""

    type: Detection
    confidence: float = Field(ge=0, le=1)


class VideoPointPayload(DevicePayload):
    """River-chief (河长) video point: heartbeat with online state and AI detections."""

    device_id: str = Field(pattern=r"^\d{20}$", description="GB/T 28181 20-digit device id")
    river: str | None = Field(None, max_length=32, description="River the point watches, e.g. 西江")
    online: StrictBool = Field(description="Whether the video stream is up (JSON true or false)")
    detections: list[VideoDetection] = Field(default_factory=list, max_length=50)


class RoadState(StrEnum):
    """Road-surface state reported by a road-weather station."""

    dry = "dry"
    wet = "wet"
    water = "water"
    icy = "icy"


class RoadWeatherPayload(DevicePayload):
    """Road weather (交通气象) station on an expressway."""

    road: str | None = Field(None, max_length=32, description="Road, e.g. G80 广昆高速")
    visibility_m: float = Field(ge=0, le=100_000, description="Visibility, metres")
    air_temp_c: float = Field(ge=-50, le=60, description="Air temperature, °C")
    road_temp_c: float | None = Field(None, ge=-50, le=80, description="Road-surface temperature, °C")
    humidity_pct: float = Field(ge=0, le=100, description="Relative humidity, %")
    wind_speed_ms: float = Field(ge=0, le=100, description="Wind speed, m/s")
    precipitation_mm: float = Field(0, ge=0, le=500, description="Precipitation in the last hour, mm")
    road_state: RoadState | None = None


class FireRiskPayload(DevicePayload):
    """Forest fire-risk weather station: the factors of the fire-danger rating."""

    max_temp_c: float = Field(ge=-50, le=60, description="Daily maximum temperature so far, °C")
    rh_pct: float = Field(ge=0, le=100, description="Relative humidity, %")
    wind_speed_ms: float = Field(ge=0, le=100, description="Wind speed, m/s")
    dry_days: int = Field(ge=0, le=365, description="Consecutive days without ≥0.1 mm precipitation")
    precipitation_mm: float = Field(0, ge=0, le=500, description="Precipitation today, mm")


# Top-level classes of the digital-urban-management standard (CJJ/T 106, GB/T 30428).
COMPONENT_CATEGORIES = ("公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施", "扩展部件")
EVENT_CATEGORIES = ("市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "扩展事件")
WORKFLOW_STEPS = ("信息收集", "案卷建立", "任务派遣", "任务处理", "处理反馈", "核查结案", "综合评价")
WORKFLOW_STEPS_EN = ("Collection", "Filing", "Dispatch", "Handling", "Feedback", "Verification & closing",
                     "Evaluation")
CLOSING_STEP = 6  # 核查结案: the case is closed once verified


class GridEventPayload(Payload):
    """A grid (网格) case update: where it is, what it is, which workflow step it reached."""

    event_id: str = Field(pattern=DEVICE_ID, description="Case number; the topic's last level repeats it")
    ts: Timestamp
    lon: Lon
    lat: Lat
    kind: Literal["部件", "事件"] = Field(description="部件 (component) or 事件 (event)")
    category: str = Field(description="Top-level class of the standard for that kind")
    subcategory: str | None = Field(None, max_length=48, description="Subcategory, e.g. 暴露垃圾")
    description: str | None = Field(None, max_length=2000)
    step: int = Field(ge=1, le=7, description="Workflow step 1–7: " + " → ".join(WORKFLOW_STEPS))
    actor: str | None = Field(None, max_length=64, description="Who moved the case to this step")
    grid_code: str | None = Field(None, max_length=32, description="Grid cell code, when the source knows it")
    reported_at: Timestamp | None = Field(None, description="When the case was first reported")

    @model_validator(mode="after")
    def _category_fits_kind(self) -> GridEventPayload:
        allowed = COMPONENT_CATEGORIES if self.kind == "部件" else EVENT_CATEGORIES
        if self.category not in allowed:
            raise ValueError(f"category {self.category!r} is not a {self.kind} class; expected one of {allowed}")
        return self


class KpiPayload(Payload):
    """A KPI value from a business system, for a region (the city or a county)."""

    metric: str = Field(pattern=r"^[a-z][a-z0-9_.]{1,63}$", description="Metric key, e.g. yss.registered")
    region: str = Field(pattern=ADCODE, description="Adcode of the region; the topic's county level repeats it")
    ts: Timestamp
    value: float
    unit: str | None = Field(None, max_length=16)

    @field_validator("metric")
    @classmethod
    def _no_double_dots(cls, v: str) -> str:
        if ".." in v or v.endswith("."):
            raise ValueError("metric key has an empty part")
        return v


def is_gbt28181(device_id: str) -> bool:
    """Whether an id has the 20-digit GB/T 28181 form."""
    return len(device_id) == 20 and device_id.isascii() and device_id.isdigit()
