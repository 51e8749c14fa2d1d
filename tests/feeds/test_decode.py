"""The decoder: every malformed class is Rejected with a clear reason, never raised; good input is located."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds import Accepted, Decoder, Rejected
from feeds.decode import MAX_PAYLOAD_BYTES
from feeds.payloads import GridEventPayload, KpiPayload, RoadWeatherPayload, VideoPointPayload
from standards import gbt28181
from tests.feeds.samples import (
    CITY,
    GUANGZHOU,
    INSIDE,
    T0,
    event,
    fire,
    kpi,
    locator,
    make_decoder,
    msg,
    road,
    video,
)

NOW = datetime(2026, 11, 30, 0, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return make_decoder()


def rejected(decoder: Decoder, topic: str, payload: bytes) -> Rejected:
    result = decoder.decode(topic, payload, NOW)
    assert isinstance(result, Rejected), f"expected a rejection, got {result}"
    assert "\n" not in result.reason
    return result


def without(body: dict, *keys: str) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


def test_sample_points_lie_in_their_counties() -> None:
    assert {c: locator().locate_one(*p) for c, p in INSIDE.items()} == {c: c for c in INSIDE}
    assert locator().locate_one(*GUANGZHOU) is None


# ---- accepted ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("feed, body, model", [
    ("video_point", video("441202"), VideoPointPayload),
    ("road_weather", road("441204"), RoadWeatherPayload),
    ("grid_event", event("441284"), GridEventPayload),
])
def test_valid_messages_are_accepted_and_located(decoder: Decoder, feed: str, body: dict,
                                                 model: type) -> None:
    topic, payload = msg(feed, body)
    result = decoder.decode(topic, payload, NOW)
    assert isinstance(result, Accepted), result
    assert result.feed.name == feed
    assert isinstance(result.payload, model)
    county = topic.split("/")[1]
    assert result.context.county_adcode == county == result.context.declared_adcode
    assert result.context.topic == topic and result.context.received_at == NOW
    assert result.payload.ts == T0


def test_every_county_is_located_from_coordinates(decoder: Decoder) -> None:
    for county in INSIDE:
        result = decoder.decode(*msg("fire_risk", fire(county)), NOW)
        assert isinstance(result, Accepted) and result.context.county_adcode == county


def test_a_device_published_under_one_county_is_located_where_its_coordinates_are(decoder: Decoder) -> None:
    # A 端州 camera (its GB/T 28181 id and topic say 441202) standing across the line in 鼎湖.
    lon, lat = INSIDE["441203"]
    body = video("441202", lon=lon, lat=lat)
    result = decoder.decode(*msg("video_point", body), NOW)
    assert isinstance(result, Accepted), result
    assert result.context.declared_adcode == "441202"
    assert result.context.county_adcode == "441203"
    # The standards module calls this a data-quality finding; the decoder keeps both so it can be shown.
    check = gbt28181.check_county(body["device_id"], result.context.county_adcode)
    assert check.status is gbt28181.CountyAgreement.DISAGREES

    # A non-GB/T id is free to be published under any county and is located all the same.
    lon, lat = INSIDE["441224"]
    result = decoder.decode(*msg("fire_risk", fire("441223", lon=lon, lat=lat)), NOW)
    assert isinstance(result, Accepted)
    assert (result.context.declared_adcode, result.context.county_adcode) == ("441223", "441224")


def test_kpis_for_the_city_and_for_a_county_are_accepted_unlocated(decoder: Decoder) -> None:
    for region in (CITY, "441202"):
        result = decoder.decode(*msg("kpi", kpi("eco.aqi", region, value=57, unit=None)), NOW)
        assert isinstance(result, Accepted), result
        assert isinstance(result.payload, KpiPayload)
        assert result.context.declared_adcode == region and result.context.county_adcode is None


def test_unknown_fields_are_ignored_and_optional_fields_may_be_missing(decoder: Decoder) -> None:
    body = without(road(), "name", "road", "road_temp_c", "precipitation_mm", "road_state")
    body["firmware"] = "2.1.7"
    result = decoder.decode(*msg("road_weather", body), NOW)
    assert isinstance(result, Accepted), result
    assert result.payload.precipitation_mm == 0 and result.payload.road_state is None


def test_offsets_other_than_utc8_are_accepted_as_the_same_instant(decoder: Decoder) -> None:
    result = decoder.decode(*msg("road_weather", road(ts=T0.astimezone(UTC))), NOW)
    assert isinstance(result, Accepted) and result.payload.ts == T0


# ---- rejected: one class per case ------------------------------------------------------------------------

RW_TOPIC, RW_OK = msg("road_weather", road())
DEV = road()["device_id"]

CASES = [
    # (id, topic, payload, reason fragments, feed named in the rejection)
    ("bad json", RW_TOPIC, b'{"device_id": "x", ', ["not valid UTF-8 JSON"], "road_weather"),
    ("empty payload", RW_TOPIC, b"", ["not valid UTF-8 JSON"], "road_weather"),
    ("json array", RW_TOPIC, b"[1, 2]", ["must be a JSON object", "list"], "road_weather"),
    ("json string", RW_TOPIC, b'"hello"', ["must be a JSON object", "str"], "road_weather"),
    ("json null", RW_TOPIC, b"null", ["must be a JSON object", "NoneType"], "road_weather"),
    ("non-utf8", RW_TOPIC, RW_OK.replace("广昆".encode(), b"\xb9\xe3\xc0\xa5"), ["not valid UTF-8"],
     "road_weather"),
    ("gbk encoded", RW_TOPIC, orjson.dumps(road()).decode().encode("gbk"), ["not valid UTF-8"],
     "road_weather"),
    ("string for number", RW_TOPIC, orjson.dumps(road(visibility_m="far")),
     ["invalid road_weather payload", "visibility_m", "valid number"], "road_weather"),
    # A 20-digit id sent as a JSON number (it would lose digits as a double).
    ("number for string", RW_TOPIC, RW_OK.replace(f'"{DEV}"'.encode(), DEV.encode()),
     ["device_id", "valid string"], "road_weather"),
    ("object for bool", *msg("video_point", video(online={"up": True})), ["online", "valid boolean"],
     "video_point"),
    ("fractional step", *msg("grid_event", event(step=2.5)), ["step", "valid integer"], "grid_event"),
    ("bad enum", *msg("video_point", video(detections=[{"type": "ufo", "confidence": 0.9}])),
     ["detections.0.type", "encroachment"], "video_point"),
    ("missing field", RW_TOPIC, orjson.dumps(without(road(), "visibility_m")),
     ["visibility_m: Field required"], "road_weather"),
    ("missing fields", RW_TOPIC, orjson.dumps(without(road(), "ts", "lon")),
     ["ts: Field required", "lon: Field required"], "road_weather"),
    ("NaN literal", RW_TOPIC, RW_OK.replace(b'"visibility_m":150.0', b'"visibility_m":NaN'),
     ["not valid UTF-8 JSON"], "road_weather"),
    ("Infinity literal", RW_TOPIC, RW_OK.replace(b'"air_temp_c":14.2', b'"air_temp_c":-Infinity'),
     ["not valid UTF-8 JSON"], "road_weather"),
    ("overflowing number", RW_TOPIC, RW_OK.replace(b'"air_temp_c":14.2', b'"air_temp_c":1e999'),
     ["infinity"], "road_weather"),
    ("NaN string", RW_TOPIC, orjson.dumps(road(visibility_m="NaN")), ["visibility_m", "valid number"],
     "road_weather"),
    ("inf string", *msg("kpi", kpi(value="inf")), ["value", "valid number"], "kpi"),
    ("out of range", RW_TOPIC, orjson.dumps(road(humidity_pct=140)),
     ["humidity_pct", "less than or equal to 100"], "road_weather"),
    ("unknown feed", f"zq/441204/radar_echo/{DEV}", RW_OK, ["unknown feed 'radar_echo'", "road_weather"],
     None),
    ("three levels", "zq/441202/road_weather", RW_OK, ["does not follow zq/{county}/{feed}/{device}"], None),
    ("five levels", f"zq/441204/road_weather/{DEV}/extra", RW_OK, ["does not follow"], None),
    ("empty level", f"zq//road_weather/{DEV}", RW_OK, ["does not follow"], None),
    ("wrong prefix", f"gz/441204/road_weather/{DEV}", RW_OK, ["does not follow zq/"], None),
    ("guangzhou county", f"zq/440103/road_weather/{DEV}", RW_OK, ["'440103' is not a county of 441200"],
     "road_weather"),
    # 高要 was 高要市 441283 until 2015: old datasets still carry the code.
    ("retired adcode", f"zq/441283/road_weather/{DEV}", RW_OK, ["'441283' is not a county of 441200"],
     "road_weather"),
    ("city level for a device", f"zq/441200/road_weather/{DEV}", RW_OK, ["not a county of 441200"],
     "road_weather"),
    ("device id mismatch", RW_TOPIC.replace(DEV, "44120400041316000099"), RW_OK,
     ["topic names device_id '44120400041316000099'", f"payload says '{DEV}'"], "road_weather"),
    ("outside the city", *msg("road_weather", road(lon=GUANGZHOU[0], lat=GUANGZHOU[1])),
     ["coordinates (113.26, 23.13) are outside the city 441200"], "road_weather"),
    ("outside the world", *msg("road_weather", road(lon=190.0)), ["lon", "less than or equal to 180"],
     "road_weather"),
    ("no offset", *msg("road_weather", road(ts="2026-11-30T08:00:00")), ["ts", "timezone"], "road_weather"),
    ("no offset on reported_at", *msg("grid_event", event(reported_at="2026-11-30 07:30:00")),
     ["reported_at", "timezone"], "grid_event"),
    ("not a time", *msg("fire_risk", fire(ts="yesterday")), ["ts", "datetime"], "fire_risk"),
    ("gb28181 county mismatch", *msg("road_weather", road("441204"), county="441202"),
     ["GB/T 28181 id 44120400041316000002 belongs to county 441204 (高要区)",
      "published under county 441202 (端州区)"], "road_weather"),
    ("category does not fit kind", *msg("grid_event", event(kind="部件", category="宣传广告")),
     ["'宣传广告' is not a 部件 class"], "grid_event"),
    ("unknown category", *msg("grid_event", event(category="天气")), ["'天气' is not a 事件 class"], "grid_event"),
    ("step 0", *msg("grid_event", event(step=0)), ["step", "greater than or equal to 1"], "grid_event"),
    ("step 8", *msg("grid_event", event(step=8)), ["step", "less than or equal to 7"], "grid_event"),
    ("kpi region differs", *msg("kpi", kpi(region=CITY), county="441202"),
     ["topic names region 441202 but the payload says 441200"], "kpi"),
    ("kpi metric differs", "zq/441200/kpi/service.yss_mau", orjson.dumps(kpi()),
     ["topic names metric 'service.yss_mau'", "'service.yss_registered'"], "kpi"),
    ("kpi bad metric key", *msg("kpi", kpi(metric="service..mau")), ["metric key has an empty part"], "kpi"),
    ("kpi region outside the city", *msg("kpi", kpi(region="440100")), ["'440100' is not a county of 441200"],
     "kpi"),
    ("too big", RW_TOPIC, orjson.dumps(road(junk="x" * MAX_PAYLOAD_BYTES)), ["exceeds"], "road_weather"),
]


@pytest.mark.parametrize("topic, payload, fragments, feed", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_messages_are_rejected_with_a_clear_reason(decoder: Decoder, topic: str, payload: bytes,
                                                             fragments: list[str], feed: str | None) -> None:
    result = rejected(decoder, topic, payload)
    for fragment in fragments:
        assert fragment in result.reason, result.reason
    assert result.feed == feed


def test_a_validation_reason_names_every_bad_field_once(decoder: Decoder) -> None:
    body = road(visibility_m=-1, air_temp_c="warm", humidity_pct=None)
    reason = rejected(decoder, *msg("road_weather", body)).reason
    assert reason.startswith("invalid road_weather payload: ")
    parts = reason.removeprefix("invalid road_weather payload: ").split("; ")
    fields = [part.split(":")[0] for part in parts]
    assert sorted(fields) == ["air_temp_c", "humidity_pct", "visibility_m"]


# ---- never raises ---------------------------------------------------------------------------------------

def _mutations(seed: int) -> list[tuple[str, bytes]]:
    """Seeded damage to valid messages: truncation, flipped bytes, spliced topics."""
    rng = random.Random(seed)
    good = [msg("video_point", video()), msg("road_weather", road()), msg("fire_risk", fire()),
            msg("grid_event", event()), msg("kpi", kpi())]
    out = []
    for _ in range(300):
        topic, payload = rng.choice(good)
        data = bytearray(payload)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            if op == 0 and data:
                del data[rng.randrange(len(data)):]
            elif op == 1 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            else:
                at = rng.randrange(len(data) + 1)
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        levels = topic.split("/")
        if rng.random() < 0.3:
            levels[rng.randrange(4)] = rng.choice(["", "441200", "x", "#", "road_weather", "0" * 20])
        out.append(("/".join(levels), bytes(data)))
    return out


def test_damaged_messages_never_raise(decoder: Decoder) -> None:
    results = [decoder.decode(t, p, NOW) for t, p in _mutations(20211)]
    assert all(isinstance(r, Accepted | Rejected) for r in results)
    assert sum(isinstance(r, Rejected) for r in results) > 250
    assert all(r.reason for r in results if isinstance(r, Rejected))


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(),
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=12), children, max_size=6)),
    max_leaves=20,
)
payload_dicts = st.fixed_dictionaries({}, optional={
    "device_id": st.sampled_from([DEV, "FR44122301", ""]) | st.text(max_size=25),
    "ts": (st.sampled_from([road()["ts"], "2026-11-30T08:00:00", "0001-01-01T00:00:00+14:00"])
           | st.text(max_size=30)),
    "lon": st.floats() | st.text(max_size=5), "lat": st.floats() | st.text(max_size=5),
    "visibility_m": json_values, "air_temp_c": json_values, "humidity_pct": json_values,
    "wind_speed_ms": json_values,
    "step": json_values, "kind": st.sampled_from(["部件", "事件"]) | st.text(max_size=3), "category": json_values,
    "metric": st.text(max_size=70), "region": st.sampled_from(["441200", "441202"]) | st.text(max_size=7),
    "value": json_values,
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=payload_dicts,
       feed=st.sampled_from(["video_point", "road_weather", "fire_risk", "grid_event", "kpi"]),
       county=st.sampled_from(["441200", "441204", "441202", "999999"]),
       key=st.sampled_from([DEV, "service.yss_mau"]))
def test_arbitrary_json_never_raises(decoder: Decoder, body: dict, feed: str, county: str, key: str) -> None:
    try:
        payload = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        payload = repr(body).encode()  # not JSON at all: as good a test input
    result = decoder.decode(f"zq/{county}/{feed}/{key}", payload, NOW)
    assert isinstance(result, Accepted | Rejected)
