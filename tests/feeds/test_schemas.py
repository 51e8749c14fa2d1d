"""The published JSON Schemas: equal to a fresh export, faithful to the models, with examples that decode."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from feeds import Accepted, BUILTIN_FEEDS
from feeds.__main__ import main
from feeds.schemas import EXAMPLE_AT, EXPORTED_FEEDS, dumps, feed_schema, render, topic_pattern
from tests.feeds.samples import event, fire, kpi, make_decoder, road, video

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
FEEDS = {f.name: f for f in BUILTIN_FEEDS}


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return render()


def test_committed_schemas_equal_a_fresh_export(fresh: dict[str, str]) -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in DOCS.iterdir() if p.is_file()}
    hint = "docs/schemas is out of date: run `python -m feeds schemas` (make schemas)"
    assert sorted(committed) == sorted(fresh), hint
    for name, text in fresh.items():
        assert committed[name] == text, f"{name}: {hint}"


def test_the_cli_writes_the_same_files(tmp_path: Path, fresh: dict[str, str],
                                       capsys: pytest.CaptureFixture) -> None:
    assert main(["schemas", "--out", str(tmp_path / "out")]) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    assert written == fresh
    assert capsys.readouterr().out.count(".schema.json") == len(EXPORTED_FEEDS)


def test_files_are_canonical_json_with_readable_chinese(fresh: dict[str, str]) -> None:
    for f in BUILTIN_FEEDS:
        text = fresh[f"{f.name}.schema.json"]
        assert text == dumps(json.loads(text)) and text.endswith("}\n") and '\n  "' in text
        assert f.title_zh in text and "\\u" not in text


@pytest.mark.parametrize("name", list(FEEDS))
def test_each_schema_names_its_feed_and_topic(name: str) -> None:
    feed = FEEDS[name]
    schema = feed_schema(feed)
    model = feed.payload.model_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{name}.schema.json"
    assert name in schema["title"] and feed.title_zh in schema["title"] and feed.title_en in schema["title"]
    assert schema["x-mqtt-topic"] == f"{{prefix}}/{{county_adcode}}/{name}/{{{feed.key_field}}}"
    assert schema["x-mqtt-topic"] in schema["description"]
    assert model["description"] in schema["description"]
    # The model's own shape is untouched.
    assert schema["properties"] == model["properties"] and schema["required"] == model["required"]
    assert set(schema["required"]) == {n for n, fi in feed.payload.model_fields.items() if fi.is_required()}


def test_topic_patterns_follow_the_contract() -> None:
    assert {n: topic_pattern(f, "zq") for n, f in FEEDS.items()} == {
        "video_point": "zq/{county_adcode}/video_point/{device_id}",
        "road_weather": "zq/{county_adcode}/road_weather/{device_id}",
        "fire_risk": "zq/{county_adcode}/fire_risk/{device_id}",
        "grid_event": "zq/{county_adcode}/grid_event/{event_id}",
        "kpi": "zq/{county_adcode}/kpi/{metric}",
    }
    assert "441200" in feed_schema(FEEDS["kpi"])["description"]  # KPIs may be published for the city


def _readme_examples(readme: str) -> list[tuple[str, bytes]]:
    found = re.findall(r"Example, topic `([^`]+)`:\n\n```json\n(.*?)\n```", readme, flags=re.S)
    return [(topic, body.encode()) for topic, body in found]


def test_readme_lists_every_feed_with_examples_that_decode(fresh: dict[str, str]) -> None:
    readme = fresh["README.md"]
    for f in EXPORTED_FEEDS:
        assert f"`{topic_pattern(f, 'zq')}`" in readme and f"]({f.name}.schema.json)" in readme
    examples = _readme_examples(readme)
    assert sorted({t.split("/")[2] for t, _ in examples}) == sorted(f.name for f in EXPORTED_FEEDS)
    assert {t.split("/")[1] for t, _ in examples if "/kpi/" in t} >= {"441200"}  # a city-level KPI among them
    decoder = make_decoder()
    for topic, payload in examples:
        result = decoder.decode(topic, payload, EXAMPLE_AT)
        assert isinstance(result, Accepted), f"{topic}: {result.reason}"
        assert validate(feed_schema(result.feed), orjson.loads(payload)) == [], topic


# ---- the schemas themselves accept what the models accept (a small 2020-12 subset) ------------------------

def validate(schema: dict[str, Any], value: Any, root: dict[str, Any] | None = None,
             at: str = "$") -> list[str]:
    """Errors of `value` against the keywords pydantic emits (enough to check the export, not a validator)."""
    root = root or schema
    if "$ref" in schema:
        return validate(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], value, root, at)
    errors: list[str] = []
    if "anyOf" in schema and all(validate(s, value, root, at) for s in schema["anyOf"]):
        errors.append(f"{at}: matches no anyOf branch")
    for sub in schema.get("allOf", []):
        if "if" in sub and not validate(sub["if"], value, root, at):
            errors += validate(sub["then"], value, root, at)
    types = {"string": str, "number": (int, float), "integer": int, "boolean": bool, "object": dict,
             "array": list, "null": type(None)}
    if "type" in schema:
        t = types[schema["type"]]
        if not isinstance(value, t) or (isinstance(value, bool) and schema["type"] in ("number", "integer")):
            return [*errors, f"{at}: not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: not one of {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{at}: does not match {schema['pattern']}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{at}: longer than {schema['maxLength']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{at}: below {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{at}: above {schema['maximum']}")
    if isinstance(value, dict):
        errors += [f"{at}.{k}: required" for k in schema.get("required", []) if k not in value]
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                errors += validate(sub, value[k], root, f"{at}.{k}")
    if isinstance(value, list) and "items" in schema:
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{at}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += validate(schema["items"], item, root, f"{at}[{i}]")
    return errors


VALID = {"video_point": video(), "road_weather": road(), "fire_risk": fire(), "grid_event": event(),
         "kpi": kpi()}


@pytest.mark.parametrize("name", list(FEEDS))
def test_the_schema_accepts_valid_payloads(name: str) -> None:
    assert validate(feed_schema(FEEDS[name]), VALID[name]) == []


@pytest.mark.parametrize("name, body, error", [
    ("road_weather", road(visibility_m="far"), "$.visibility_m: not number"),
    ("road_weather", {k: v for k, v in road().items() if k != "ts"}, "$.ts: required"),
    ("video_point", video(device_id="FR44122301"), "$.device_id: does not match"),
    ("video_point", video(detections=[{"type": "ufo", "confidence": 0.5}]),
     "$.detections[0].type: not one of"),
    ("grid_event", event(step=8), "$.step: above 7"),
    ("grid_event", event(kind="部件", category="宣传广告"), "$.category: not one of"),  # the allOf rule
    ("kpi", kpi(region="4412"), "$.region: does not match"),
])
def test_the_schema_refuses_what_the_model_refuses(name: str, body: dict, error: str) -> None:
    errors = validate(feed_schema(FEEDS[name]), body)
    assert any(e.startswith(error) for e in errors), errors


# ---- the decoder accepts nothing the published schema refuses: JSON types are strict ----------------------

WRONG_TYPES = [12345, 1.5, True, "12345", "2026-11-30T08:00:00+08:00", None, [], {}]


@pytest.mark.parametrize("name", list(FEEDS))
def test_the_decoder_accepts_no_wrong_json_type_the_schema_refuses(name: str) -> None:
    import jsonschema

    from tests.feeds.samples import arrival, msg

    feed, decoder = FEEDS[name], make_decoder()
    check = jsonschema.Draft202012Validator(feed_schema(feed))
    body = VALID[name]
    assert check.is_valid(body)
    lax = []
    for field in feed.payload.model_fields:
        for wrong in WRONG_TYPES:
            mutated = {**body, field: wrong}
            topic, payload = msg(name, body)  # the topic of the valid body: only the field changes
            accepted = isinstance(decoder.decode(topic, orjson.dumps(mutated), arrival(body)), Accepted)
            if accepted and not check.is_valid(mutated):
                lax.append((field, wrong))
    assert lax == [], f"accepted though the schema refuses: {lax}"


@pytest.mark.parametrize("field, wrong, words", [
    ("ts", 12345, ["ts", "datetime"]),  # a Unix time is not the ISO time the schema says (was stored as 1970)
    ("air_temp_c", True, ["air_temp_c", "valid number"]),  # true is not 1.0
    ("visibility_m", "150", ["visibility_m", "valid number"]),  # a number in a string
    ("name", 5, ["name", "valid string"]),
])
def test_wrong_json_types_are_refused_with_the_field_named(field: str, wrong: Any, words: list[str]) -> None:
    from feeds import Rejected
    from tests.feeds.samples import msg

    topic, _ = msg("road_weather", road())
    result = make_decoder().decode(topic, orjson.dumps({**road(), field: wrong}), EXAMPLE_AT)
    assert isinstance(result, Rejected) and all(w in result.reason for w in words), result
