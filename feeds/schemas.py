"""JSON Schemas of the feeds' payloads, exported from their pydantic models for outside publishers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from feeds.builtin import BUILTIN_FEEDS
from feeds.payloads import COMPONENT_CATEGORIES, EVENT_CATEGORIES, GridEventPayload
from feeds.polled import POLLED_FEEDS
from feeds.registry import Feed
from settings import CITY_TZ, Settings

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_OUT = Path("docs/schemas")
# Examples come from the seeded simulator at a fixed time, so a fresh export is byte-identical; for the default
# settings' city (--city unset) unless another is asked for.
EXAMPLE_CITY = Settings.model_construct().city
EXAMPLE_SEED = 20211
EXAMPLE_AT = datetime(2026, 11, 30, 8, 0, tzinfo=CITY_TZ)
# Every feed register_builtin_feeds registers: the MQTT ones and those the HTTP poller feeds.
EXPORTED_FEEDS = (*BUILTIN_FEEDS, *POLLED_FEEDS)


def schema_file(feed: Feed) -> str:
    """File name of a feed's schema."""
    return f"{feed.name}.schema.json"


def topic_pattern(feed: Feed, prefix: str = "{prefix}") -> str:
    """The MQTT topic a feed's messages are published on: {prefix}/{county_adcode}/{feed}/{key}."""
    return f"{prefix}/{{county_adcode}}/{feed.name}/{{{feed.key_field}}}"


def _topic_rules(feed: Feed, city: str) -> str:
    rules = [f"The last level repeats the payload's `{feed.key_field}`."]
    if feed.region_field is not None:
        rules.append(f"The county level is the region's adcode, a county of the city or the city itself "
                     f"({city}), and repeats the payload's `{feed.region_field}`.")
    else:
        rules.append("The county level is the adcode of the county the publisher belongs to; a 20-digit "
                     "GB/T 28181 id must begin with it.")
    if feed.located:
        rules.append("`lon`/`lat` (WGS84) must lie inside the city; the county containing them is where the "
                     "message is shown, the topic's county is kept beside it.")
    return " ".join(rules)


def _grid_event_categories() -> dict[str, Any]:
    """The model validator's rule (category fits kind) spelled in JSON Schema."""
    return {"allOf": [
        {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
         "then": {"properties": {"category": {"enum": list(categories)}}}}
        for kind, categories in (("部件", COMPONENT_CATEGORIES), ("事件", EVENT_CATEGORIES))
    ]}


def feed_schema(feed: Feed, city: str = EXAMPLE_CITY) -> dict[str, Any]:
    """JSON Schema (2020-12) of one feed's payload, naming the feed and its MQTT topic."""
    schema = feed.payload.model_json_schema()
    model_doc = schema.get("description", "")
    schema.update({
        "$schema": SCHEMA_DIALECT,
        "$id": schema_file(feed),
        "title": f"{feed.name}: {feed.title_zh} / {feed.title_en}",
        "description": (f"{model_doc} MQTT topic `{topic_pattern(feed)}` (QoS 1, UTF-8 JSON, ISO 8601 times "
                        f"with an offset). {_topic_rules(feed, city)} Expected every {feed.cadence_s} s."),
        "x-feed": feed.name,
        "x-mqtt-topic": topic_pattern(feed),
        "x-cadence-s": feed.cadence_s,
    })
    if issubclass(feed.payload, GridEventPayload):
        schema.update(_grid_event_categories())
    return schema


def dumps(obj: Any) -> str:
    """Sorted keys, 2-space indent, Chinese left readable, trailing newline."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def examples(feeds: Iterable[Feed], city: str = EXAMPLE_CITY) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Real (topic, payload) examples per feed from the seeded simulator's first burst."""
    from feeds.simhttp import example_messages  # geo data and numpy: only when examples are asked for
    from feeds.simulator import Simulator

    feeds = list(feeds)
    names = {f.name for f in feeds}
    region_feeds = {f.name for f in feeds if f.region_field is not None}
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    seen: set[tuple[str, bool]] = set()
    simulated = Simulator(city, "zq", EXAMPLE_SEED).messages(EXAMPLE_AT)
    for topic, payload in [*simulated, *example_messages(city, EXAMPLE_SEED, EXAMPLE_AT)]:
        _, county, feed, _key = topic.split("/")
        # One example per feed; region feeds (KPIs) get one at city and one at county level.
        slot = (feed, feed in region_feeds and county == city)
        if feed in names and slot not in seen:
            seen.add(slot)
            out.setdefault(feed, []).append((topic, orjson.loads(payload)))
    return out


def readme(feeds: Iterable[Feed], city: str = EXAMPLE_CITY) -> str:
    """docs/schemas/README.md: the feeds, their topics and an example payload of each."""
    feeds = list(feeds)
    ex = examples(feeds, city)
    lines = [
        "# Feed payload schemas",
        "",
        "Generated by `python -m feeds schemas --out docs/schemas` from the pydantic models in "
        "`feeds/payloads.py` and `feeds/polled.py` (the feeds the HTTP poller fills, see "
        "[../polling.md](../polling.md)); do not edit by hand. `tests/feeds/test_schemas.py` fails when "
        "these files differ from a fresh export.",
        "",
        "Every message is UTF-8 JSON published at QoS 1 on `{prefix}/{county_adcode}/{feed}/{key}` "
        "(prefix `zq` unless configured with `--mqtt-prefix`), timestamps ISO 8601 with an offset "
        "(`+08:00` for local time). JSON types are strict, exactly as the schemas say: `true` is not a "
        "number, `\"150\"` is not a number, `12345` is not a time. Unknown fields are ignored. A message that fails any check is kept in "
        "dead letters with its reason and never reaches the panels.",
        "",
        "| feed | 名称 | name | topic | cadence | schema |",
        "|---|---|---|---|---|---|",
    ]
    for f in feeds:
        lines.append(f"| `{f.name}` | {f.title_zh} | {f.title_en} | `{topic_pattern(f, 'zq')}` "
                     f"| {f.cadence_s} s | [{schema_file(f)}]({schema_file(f)}) |")
    for f in feeds:
        lines += ["", f"## `{f.name}`: {f.title_zh} / {f.title_en}", "",
                  f"{f.payload.__doc__.strip() if f.payload.__doc__ else ''}", "",
                  f"Topic: `{topic_pattern(f, 'zq')}`. {_topic_rules(f, city)}"]
        for topic, payload in ex.get(f.name, []):
            lines += ["", f"Example, topic `{topic}`:", "", "```json",
                      json.dumps(payload, ensure_ascii=False, indent=2), "```"]
    return "\n".join(lines) + "\n"


def render(feeds: Iterable[Feed] = EXPORTED_FEEDS, city: str = EXAMPLE_CITY) -> dict[str, str]:
    """Every file of the export, by file name."""
    feeds = list(feeds)
    files = {schema_file(f): dumps(feed_schema(f, city)) for f in feeds}
    files["README.md"] = readme(feeds, city)
    return files


def export(out: Path = DEFAULT_OUT, feeds: Iterable[Feed] = EXPORTED_FEEDS,
           city: str = EXAMPLE_CITY) -> list[Path]:
    """Write the schemas and their README into `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(feeds, city).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
