"""GB/T 28181 20-digit device IDs: decode, build, and check the county against the location.

Layout (digits, 1-based): 1–8 centre code = province 2 · city 2 · county 2 · unit 2;
9–10 industry; 11–13 type; 14 network; 15–20 serial. The description tables below cover
the codes documented in DOMAIN.md and are data a deployment can extend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, computed_field


class InvalidDeviceId(ValueError):
    """A string that is not a GB/T 28181 device ID; ``reason`` says why in plain words."""

    def __init__(self, device_id: object, reason: str) -> None:
        self.device_id = device_id
        self.reason = reason
        super().__init__(f"invalid GB/T 28181 device ID {device_id!r}: {reason}")


# (first code, last code) → (zh, en). Looked up in order; the first range holding the code wins,
# so a specific code (44 power) sits before the range that contains it (40–55 enterprises).
INDUSTRY_RANGES: tuple[tuple[int, int, str, str], ...] = (
    (0, 3, "社会治安", "Public security"),
    (4, 7, "交通", "Traffic"),
    (8, 8, "城市管理", "City management"),
    (9, 9, "卫生环保", "Health and environmental protection"),
    (44, 44, "电力企业", "Power enterprise"),
    (54, 54, "水利企业", "Water enterprise"),
    (40, 55, "企业", "Enterprise"),
)
UNKNOWN_INDUSTRY = ("未知行业", "Unknown industry")

TYPE_CODES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "111": ("数字视频录像机 DVR", "Digital video recorder (DVR)"),
        "118": ("网络视频录像机 NVR", "Network video recorder (NVR)"),
        "131": ("摄像机", "Camera"),
        "132": ("网络摄像机 IPC", "IP camera (IPC)"),
        "134": ("报警输入设备", "Alarm input device"),
        "200": ("中心信令控制服务器 SIP", "Central signalling (SIP) server"),
    }
)
UNKNOWN_TYPE = ("未知类型", "Unknown type")
VIDEO_TYPES: frozenset[str] = frozenset({"131", "132"})

NETWORK_CODES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        **{str(d): ("专网", "Private network") for d in range(5)},
        "5": ("公安网", "Public-security network"),
        "6": ("政务网", "E-government network"),
        "7": ("互联网", "Internet"),
        "8": ("社会资源", "Social resources network"),
    }
)
UNKNOWN_NETWORK = ("未知网络", "Unknown network")

_DIGITS = re.compile(r"[0-9]+")


def _industry(code: str) -> tuple[str, str]:
    """zh/en description of an industry code."""
    n = int(code)
    return next(((zh, en) for lo, hi, zh, en in INDUSTRY_RANGES if lo <= n <= hi), UNKNOWN_INDUSTRY)


class DeviceId(BaseModel):
    """A decoded GB/T 28181 device ID."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    centre_code: str  # 8 digits
    province_code: str  # 2
    city_code: str  # 2
    county_code: str  # 2
    unit_code: str  # 2 (基层接入单位)
    industry_code: str  # 2
    industry_zh: str
    industry_en: str
    type_code: str  # 3
    type_zh: str
    type_en: str
    network_code: str  # 1
    network_zh: str
    network_en: str
    serial: str  # 6

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator over a property (pydantic docs)
    @property
    def county_adcode(self) -> str:
        """The 6-digit administrative division code: the first six digits."""
        return self.device_id[:6]

    @computed_field  # type: ignore[prop-decorator]  # mypy takes no decorator over a property (pydantic docs)
    @property
    def city_adcode(self) -> str:
        """The city-level adcode: the first four digits and 00."""
        return self.device_id[:4] + "00"

    @property
    def is_video(self) -> bool:
        """Whether the type is a camera (131) or IP camera (132)."""
        return self.type_code in VIDEO_TYPES


def _validate(device_id: object) -> str:
    """Return the ID if it is 20 ASCII digits, else raise InvalidDeviceId with the reason."""
    if not isinstance(device_id, str):
        # An int would already have lost any leading zeros.
        raise InvalidDeviceId(device_id, f"expected a string, got {type(device_id).__name__}")
    if len(device_id) != 20:
        raise InvalidDeviceId(device_id, f"expected 20 digits, got {len(device_id)} characters")
    if not _DIGITS.fullmatch(device_id):
        bad = [f"{i + 1} ({ch!r})" for i, ch in enumerate(device_id) if ch not in "0123456789"]
        where = "position" if len(bad) == 1 else "positions"
        raise InvalidDeviceId(device_id, f"only digits 0–9 allowed; found others at {where} {', '.join(bad)}")
    return device_id


def decode(device_id: str) -> DeviceId:
    """Decode a 20-digit GB/T 28181 device ID; raises InvalidDeviceId."""
    d = _validate(device_id)
    industry = _industry(d[8:10])
    type_zh, type_en = TYPE_CODES.get(d[10:13], UNKNOWN_TYPE)
    net_zh, net_en = NETWORK_CODES.get(d[13], UNKNOWN_NETWORK)
    return DeviceId(
        device_id=d,
        centre_code=d[:8],
        province_code=d[0:2],
        city_code=d[2:4],
        county_code=d[4:6],
        unit_code=d[6:8],
        industry_code=d[8:10],
        industry_zh=industry[0],
        industry_en=industry[1],
        type_code=d[10:13],
        type_zh=type_zh,
        type_en=type_en,
        network_code=d[13],
        network_zh=net_zh,
        network_en=net_en,
        serial=d[14:20],
    )


def is_video_device(device_id: str) -> bool:
    """Whether a device ID names a camera (131) or IP camera (132); raises InvalidDeviceId."""
    return _validate(device_id)[10:13] in VIDEO_TYPES


def _field(value: int | str, width: int, what: str) -> str:
    """Zero-padded digits of a fixed width, from an int or a digit string."""
    if isinstance(value, bool):
        raise InvalidDeviceId(value, f"{what} must be an int or a digit string, got a bool")
    if isinstance(value, int):
        if not 0 <= value < 10**width:
            raise InvalidDeviceId(value, f"{what} must be 0–{10**width - 1}, got {value}")
        return f"{value:0{width}d}"
    if isinstance(value, str) and len(value) == width and _DIGITS.fullmatch(value):
        return value
    raise InvalidDeviceId(value, f"{what} must be {width} digits, got {value!r}")


def make_id(
    county_adcode: str,
    unit: int | str,
    industry: int | str,
    type_code: int | str,
    network: int | str,
    serial: int | str,
) -> str:
    """Build a 20-digit device ID from its parts (ints are zero-padded); raises InvalidDeviceId."""
    if not (isinstance(county_adcode, str) and len(county_adcode) == 6 and _DIGITS.fullmatch(county_adcode)):
        raise InvalidDeviceId(county_adcode, f"county_adcode must be 6 digits, got {county_adcode!r}")
    return _validate(
        county_adcode
        + _field(unit, 2, "unit")
        + _field(industry, 2, "industry")
        + _field(type_code, 3, "type_code")
        + _field(network, 1, "network")
        + _field(serial, 6, "serial")
    )


class CountyAgreement(StrEnum):
    """How the county in a device ID compares with the county containing its position."""

    AGREES = "agrees"
    DISAGREES = "disagrees"
    OUTSIDE_CITY = "outside_city"
    NO_COUNTY_IN_ID = "no_county_in_id"


_AGREEMENT_LABELS: Mapping[CountyAgreement, tuple[str, str]] = MappingProxyType(
    {
        CountyAgreement.AGREES: ("区县一致", "County matches"),
        CountyAgreement.DISAGREES: ("编码区县与位置不符", "ID county differs from located county"),
        CountyAgreement.OUTSIDE_CITY: ("位置在本市范围外", "Position is outside the city"),
        CountyAgreement.NO_COUNTY_IN_ID: ("编码仅到市级", "ID names the city only, no county"),
    }
)


class CountyCheck(BaseModel):
    """Result of comparing the ID's county with the located county; a finding unless they agree."""

    model_config = ConfigDict(frozen=True)

    device_id: str
    id_county_adcode: str
    located_adcode: str | None
    status: CountyAgreement
    label_zh: str
    label_en: str

    @property
    def is_finding(self) -> bool:
        """Whether this is a data-quality finding worth showing."""
        return self.status is not CountyAgreement.AGREES


def check_county(device_id: str, located_adcode: str | None) -> CountyCheck:
    """Compare the ID's county with the located one (None: in no county of the city)."""
    # The point-in-polygon lookup that yields located_adcode is the caller's (geo/).
    d = _validate(device_id)
    if located_adcode is not None and not (
        isinstance(located_adcode, str) and len(located_adcode) == 6 and _DIGITS.fullmatch(located_adcode)
    ):
        raise ValueError(f"located_adcode must be 6 digits or None, got {located_adcode!r}")
    id_county = d[:6]
    if located_adcode is None:
        status = CountyAgreement.OUTSIDE_CITY
    elif d[4:6] == "00":  # a city-level centre code can neither agree nor disagree with a county
        status = CountyAgreement.NO_COUNTY_IN_ID
    elif id_county == located_adcode:
        status = CountyAgreement.AGREES
    else:
        status = CountyAgreement.DISAGREES
    zh, en = _AGREEMENT_LABELS[status]
    return CountyCheck(
        device_id=d,
        id_county_adcode=id_county,
        located_adcode=located_adcode,
        status=status,
        label_zh=zh,
        label_en=en,
    )
