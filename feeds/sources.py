"""Polling sources as data: where to poll, how often, and how a response becomes feed messages.

A sources file (JSON, see docs/polling.md and feeds/sources.default.json) names each source's URL,
interval, timeout, backoff, headers, target feed and MAPPING. The mapping language is small on purpose:

- ``items``: dotted path to the list of items in the response ("" = the response itself).
- ``fields``: per payload field, a *value spec* — a dotted path in the item (a plain string is
  shorthand for ``{"path": …}``) or ``{"const": …}``, then optionally, in this order: ``default``
  (when the path is missing or null), ``lookup`` (a table of the file's ``tables`` or an inline object;
  a value not in the table passes through unchanged, so the decoder names it), ``as`` (``number``,
  ``integer``, ``string`` or ``time``), ``multiply``, and for times ``tz`` (the offset or IANA zone a
  time *without* an offset is in; a time with an offset keeps it) and ``format`` (strptime pattern,
  default ISO 8601). A value that cannot be converted passes through unchanged, so the payload model
  refuses it with a reason and the item becomes a dead letter.
- ``county`` and ``key``: value specs for the topic's county and last levels; they may also be
  ``{"field": name}``, the value the mapping gave a payload field.
- ``aggregate`` (optional): a named aggregation over the validated items, emitting messages of
  another feed; ``ticket_counts`` counts tickets per county and status into KPI messages.

A response that is not JSON, or whose ``items`` path is missing or not a list, is a failed poll;
an item that maps badly is sent anyway and becomes a dead letter with the decoder's reason.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from clock import process_clock
from feeds.registry import Feed, FeedRegistry

DEFAULT_SOURCES = Path(__file__).with_name("sources.default.json")
SCHEMA_VERSION = 1
# Text an API uses for "no value" in a numeric field (the national air-quality platform prints "—").
MISSING_MARKERS = frozenset({"", "—", "-", "--", "NA", "N/A", "null", "None"})
Message = tuple[str, bytes]


class SourcesError(ValueError):
    """A sources file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_tz(value: str) -> tzinfo:
    """A fixed offset (``+08:00``) or an IANA zone name (``Asia/Shanghai``)."""
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", value)
    if m:
        sign = 1 if m.group(1) == "+" else -1
        offset = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        if offset >= timedelta(hours=24):
            raise ValueError(f"offset {value!r} is out of range")
        return timezone(sign * offset)
    if value.upper() in ("Z", "UTC"):
        return timezone.utc
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; give an offset like +08:00 "
                         "or a zone like Asia/Shanghai") from None


def _path_spec(v: Any) -> Any:
    return {"path": v} if isinstance(v, str) else v


class ValueSpec(_Strict):
    """Where one value comes from and how it is converted (see the module doc)."""

    path: str | None = Field(None, description="Dotted path in the item; digits index lists")
    const: Any = Field(None, description="A literal value")
    field: str | None = Field(None, description="A payload field already mapped (county and key only)")
    default: Any = Field(None, description="Used when the path is missing or null")
    lookup: str | dict[str, Any] | None = Field(None, description="A table of `tables` by name, or inline")
    as_: Literal["number", "integer", "string", "time"] | None = Field(None, alias="as")
    multiply: float | None = None
    tz: str | None = Field(None, description="Zone of times given without an offset")
    format: str | None = Field(
        None, description="strptime pattern, or epoch / epoch_ms for Unix times; ISO 8601 when absent")
    _tz: tzinfo | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _coherent(self) -> ValueSpec:
        given = [k for k in ("path", "const", "field") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, const or field (got {', '.join(given) or 'none'})")
        kind = self.as_
        if self.tz is not None or self.format is not None:
            if kind not in (None, "time"):
                raise ValueError(f"tz/format apply to times, not to as={kind!r}")
            object.__setattr__(self, "as_", "time")
        if self.multiply is not None:
            if self.as_ not in (None, "number"):
                raise ValueError(f"multiply applies to numbers, not to as={self.as_!r}")
            object.__setattr__(self, "as_", "number")
        if self.tz is not None:
            self._tz = parse_tz(self.tz)
        return self


Spec = Annotated[ValueSpec, BeforeValidator(_path_spec)]


class TicketCounts(_Strict):
    """``ticket_counts``: tickets per county and status → KPI messages per county and for the city."""

    kind: Literal["ticket_counts"]
    feed: str = Field("kpi", description="Feed of the emitted messages (KPI payloads)")
    metric_prefix: str = Field("social.hotline_12345", pattern=r"^[a-z][a-z0-9_.]{1,40}[a-z0-9_]$")
    city: str = Field(pattern=r"^\d{6}$", description="Region of the city-wide totals")
    counties: list[Annotated[str, Field(pattern=r"^\d{6}$")]] = Field(
        default_factory=list, description="Counties always reported, with zeros when they have no tickets")
    statuses: list[str] = Field(["accepted", "dispatched", "in_progress", "closed"],
                                description="Statuses counted (zero-filled)")
    closed: list[str] = Field(["closed"], description="Statuses that are not open")
    tz: str = Field("+08:00", description="Zone whose calendar day 'today' is")
    unit: str = "件"
    as_of: Spec | None = Field(None, description="Snapshot time in the response document (not the item); "
                                                 "else the Last-Modified header, else the poll time")
    _tz: tzinfo = PrivateAttr(timezone(timedelta(hours=8)))

    @model_validator(mode="after")
    def _zone(self) -> TicketCounts:
        self._tz = parse_tz(self.tz)
        return self


class MappingSpec(_Strict):
    """How one response becomes messages of the source's feed."""

    items: str = Field("", description="Dotted path of the list of items; empty: the response itself")
    county: Spec
    key: Spec
    fields: dict[str, Spec]
    aggregate: TicketCounts | None = None


class Backoff(_Strict):
    """Delays after failed polls: exponential, capped, with jitter."""

    initial_s: float = Field(5.0, gt=0)
    max_s: float = Field(300.0, gt=0)
    multiplier: float = Field(2.0, ge=1)
    jitter: Literal["full", "equal", "none"] = Field(
        "full", description="full: uniform in [0, cap]; equal: uniform in [cap/2, cap]; none: the cap")
    floor_s: float = Field(0.5, ge=0, description="Never retry sooner than this")

    @model_validator(mode="after")
    def _ordered(self) -> Backoff:
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s {self.max_s} is below initial_s {self.initial_s}")
        return self

    def cap(self, failures: int) -> float:
        """Upper bound of the delay after `failures` consecutive failures (1 for the first)."""
        try:
            grown = self.initial_s * self.multiplier ** max(0, failures - 1)
        except OverflowError:  # a very long outage: the cap applied long ago
            return self.max_s
        return min(self.max_s, grown)

    def delay(self, failures: int, rng: random.Random) -> float:
        """A delay for the next attempt, drawn from `rng` when jittered."""
        cap = self.cap(failures)
        if self.jitter == "full":
            d = rng.uniform(0.0, cap)
        elif self.jitter == "equal":
            d = rng.uniform(cap / 2, cap)
        else:
            d = cap
        return max(self.floor_s, d)


class Source(_Strict):
    """One polled HTTP API."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,47}$")
    url: str = Field(description="http(s) URL; {name} is replaced from the variables given at load")
    feed: str
    interval_s: float = Field(60.0, ge=1)
    timeout_s: float = Field(10.0, gt=0)
    max_bytes: int = Field(8 * 1024 * 1024, gt=0, description="Largest response body accepted")
    backoff: Backoff = Backoff()
    headers: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True
    mapping: MappingSpec
    _tables: dict[str, dict[str, Any]] = PrivateAttr(default_factory=dict)
    _feed: Feed | None = PrivateAttr(None)
    _aggregate_feed: Feed | None = PrivateAttr(None)

    @field_validator("headers")
    @classmethod
    def _no_conditional_headers(cls, v: dict[str, str]) -> dict[str, str]:
        managed = {"if-none-match", "if-modified-since"} & {k.lower() for k in v}
        if managed:
            raise ValueError(f"{', '.join(sorted(managed))} is sent by the poller itself")
        return v


class SourcesFile(_Strict):
    """The whole file: named lookup tables and the sources."""

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    tables: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sources: list[Source]


# --- loading ----------------------------------------------------------------------------------------


def _where(loc: Iterable[Any], data: Any) -> str:
    """A validation error's place in the file, naming the source: sources[0] (air).url."""
    parts = list(loc)
    out = ""
    for i, part in enumerate(parts):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        if i == 1 and parts[0] == "sources" and isinstance(part, int):
            try:
                out += f" ({data['sources'][part]['name']})"
            except (KeyError, IndexError, TypeError):
                pass
    return out or "(top level)"


def _substitute(text: str, variables: Mapping[str, str], where: str) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in variables:
            known = ", ".join(sorted(variables)) or "none"
            raise SourcesError(f"{where}: unknown variable {{{name}}} (known: {known})")
        return variables[name]

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", one, text)


def _check_spec(spec: ValueSpec, tables: Mapping[str, Any], where: str, allow_field: set[str] | None) -> None:
    if isinstance(spec.lookup, str) and spec.lookup not in tables:
        known = ", ".join(sorted(tables)) or "none"
        raise SourcesError(f"{where}.lookup: no table {spec.lookup!r} (tables: {known})")
    if spec.field is not None:
        if allow_field is None:
            raise SourcesError(f"{where}.field: only the county and key levels may refer to a payload field")
        if spec.field not in allow_field:
            raise SourcesError(f"{where}.field: {spec.field!r} is not one of the mapped fields "
                               f"({', '.join(sorted(allow_field))})")


def _bind(source: Source, tables: dict[str, dict[str, Any]], feeds: FeedRegistry, where: str) -> None:
    """Check a source against the registry and its tables, and attach them."""
    feed = feeds.get(source.feed)
    if feed is None:
        raise SourcesError(f"{where}.feed: unknown feed {source.feed!r} (known: {', '.join(feeds.names())})")
    m = source.mapping
    known = set(feed.payload.model_fields)
    for name, spec in m.fields.items():
        if name not in known:
            raise SourcesError(f"{where}.mapping.fields.{name}: not a field of the {feed.name} payload "
                               f"(fields: {', '.join(sorted(known))})")
        _check_spec(spec, tables, f"{where}.mapping.fields.{name}", None)
    required = {n for n, f in feed.payload.model_fields.items() if f.is_required()}
    missing = sorted(required - set(m.fields))
    if missing:
        raise SourcesError(f"{where}.mapping.fields: the {feed.name} payload needs {', '.join(missing)}")
    _check_spec(m.county, tables, f"{where}.mapping.county", set(m.fields))
    _check_spec(m.key, tables, f"{where}.mapping.key", set(m.fields))
    source._tables = tables
    source._feed = feed
    if m.aggregate is not None:
        agg = feeds.get(m.aggregate.feed)
        if agg is None:
            raise SourcesError(f"{where}.mapping.aggregate.feed: unknown feed {m.aggregate.feed!r}")
        if not {"metric", "region", "ts", "value"} <= set(agg.payload.model_fields):
            raise SourcesError(f"{where}.mapping.aggregate.feed: {agg.name} does not take KPI payloads")
        if not {"status", "created_at", "region"} <= known:
            raise SourcesError(f"{where}.mapping.aggregate: ticket_counts needs a feed with status, "
                               f"created_at and region fields, not {feed.name}")
        if m.aggregate.as_of is not None:
            _check_spec(m.aggregate.as_of, tables, f"{where}.mapping.aggregate.as_of", None)
        source._aggregate_feed = agg


def parse_sources(data: bytes | str | Mapping[str, Any], feeds: FeedRegistry,
                  variables: Mapping[str, str] | None = None, origin: str = "<sources>") -> list[Source]:
    """Sources from a JSON document (or its parsed form), checked against the feeds; errors name the field."""
    variables = dict(variables or {})
    if isinstance(data, bytes | str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise SourcesError(f"{origin}: not valid JSON: {e}") from None
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as e:
        lines = [f"{origin}: {_where(err['loc'], data)}: {err['msg'].removeprefix('Value error, ')}"
                 for err in e.errors(include_url=False)]
        raise SourcesError("\n".join(lines)) from None
    names = [s.name for s in parsed.sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SourcesError(f"{origin}: sources: duplicate names {', '.join(dupes)}")
    out = []
    for i, s in enumerate(parsed.sources):
        where = f"{origin}: sources[{i}] ({s.name})"
        url = _substitute(s.url, variables, f"{where}.url")
        headers = {k: _substitute(v, variables, f"{where}.headers.{k}") for k, v in s.headers.items()}
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SourcesError(f"{where}.url: {url!r} is not an http(s) URL")
        s = s.model_copy(update={"url": url, "headers": headers})
        _bind(s, parsed.tables, feeds, where)
        if s.enabled:
            out.append(s)
    return out


def load_sources(path: Path | str, feeds: FeedRegistry,
                 variables: Mapping[str, str] | None = None) -> list[Source]:
    """Sources from a JSON file; ``{name}`` in URLs and headers is replaced from `variables`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SourcesError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_sources(raw, feeds, variables, str(path))


# --- mapping ----------------------------------------------------------------------------------------


class MappingError(ValueError):
    """The response as a whole does not fit the mapping (no items list): the poll failed."""


_MISSING = object()


def dig(doc: Any, path: str) -> Any:
    """The value at a dotted path ('' is the document itself); _MISSING when a step is absent."""
    if path == "":
        return doc
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict):
            if part not in cur:
                return _MISSING
            cur = cur[part]
        elif isinstance(cur, list) and re.fullmatch(r"-?\d+", part):
            i = int(part)
            if not -len(cur) <= i < len(cur):
                return _MISSING
            cur = cur[i]
        else:
            return _MISSING
    return cur


def _number(v: Any) -> Any:
    if isinstance(v, bool):
        return v  # true/false is not a number: let the model say so
    if isinstance(v, int | float):
        return v
    if isinstance(v, str):
        text = v.strip()
        if text in MISSING_MARKERS:
            return None
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return v
    return v


def _string(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    return v


def _time(v: Any, spec: ValueSpec) -> Any:
    if spec.format in ("epoch", "epoch_ms"):
        n = _number(v)
        if not isinstance(n, int | float) or isinstance(n, bool):
            return v
        try:
            seconds = n / 1000 if spec.format == "epoch_ms" else n
            return datetime.fromtimestamp(seconds, timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return v
    if not isinstance(v, str):
        return v
    text = v.strip()
    try:
        t = datetime.strptime(text, spec.format) if spec.format else datetime.fromisoformat(text)
    except ValueError:
        return v
    if t.tzinfo is None:
        if spec._tz is None:
            return text  # no offset and none declared: the model refuses it, naming the field
        t = t.replace(tzinfo=spec._tz)
    return t.isoformat()


def resolve(spec: ValueSpec, item: Any, tables: Mapping[str, Mapping[str, Any]],
            mapped: Mapping[str, Any] | None = None) -> Any:
    """The value of one spec for one item (never raises for bad data)."""
    if spec.field is not None:
        v = (mapped or {}).get(spec.field)
    elif "const" in spec.model_fields_set:
        v = spec.const
    else:
        v = dig(item, spec.path or "")
        if v is _MISSING:
            v = None
    if v is None:
        v = spec.default
    if v is not None and spec.lookup is not None:
        table = spec.lookup if isinstance(spec.lookup, dict) else tables[spec.lookup]
        k = _string(v) if not isinstance(v, str) else v.strip()
        if isinstance(k, str) and k in table:
            v = table[k]
    if v is None:
        return None
    if spec.as_ == "number":
        v = _number(v)
        if spec.multiply is not None and isinstance(v, int | float) and not isinstance(v, bool):
            v = v * spec.multiply
    elif spec.as_ == "integer":
        n = _number(v)
        v = int(n) if isinstance(n, float) and n.is_integer() else n
    elif spec.as_ == "string":
        v = _string(v)
    elif spec.as_ == "time":
        v = _time(v, spec)
    return v


def topic_level(value: Any) -> str:
    """A value as one MQTT topic level: never empty, never a separator or wildcard."""
    if value is None:
        return "none"
    text = str(_string(value)).strip()
    text = re.sub(r"[/+#\x00]", "_", text)
    return text or "none"


def _items(source: Source, doc: Any) -> list[Any]:
    path = source.mapping.items
    items = dig(doc, path)
    if items is _MISSING:
        raise MappingError(f"items path {path!r} not found in the response")
    if not isinstance(items, list):
        raise MappingError(f"items path {path or '(response)'!r} is a {type(items).__name__}, not a list")
    return items


def map_item(source: Source, item: Any, prefix: str) -> tuple[str, dict[str, Any] | Any]:
    """(topic, payload object) of one item; an item that is not an object is passed on as it is."""
    m = source.mapping
    if not isinstance(item, dict):
        return f"{prefix}/none/{source.feed}/none", item
    payload: dict[str, Any] = {}
    for name, spec in m.fields.items():
        v = resolve(spec, item, source._tables)
        if v is not None:
            payload[name] = v
    county = resolve(m.county, item, source._tables, payload)
    key = resolve(m.key, item, source._tables, payload)
    return f"{prefix}/{topic_level(county)}/{source.feed}/{topic_level(key)}", payload


def map_document(source: Source, doc: Any, prefix: str, *, last_modified: datetime | None = None,
                 now: Callable[[], datetime] | None = None) -> list[Message]:
    """Every message of one response: one per item, then any aggregate; MappingError without an items list."""
    out: list[Message] = []
    mapped: list[tuple[str, Any]] = []
    for item in _items(source, doc):
        topic, payload = map_item(source, item, prefix)
        mapped.append((topic, payload))
        out.append((topic, orjson.dumps(payload)))
    agg = source.mapping.aggregate
    if agg is not None:
        out.extend(ticket_counts(source, agg, doc, mapped, prefix, last_modified, now))
    return out


def _as_of(agg: TicketCounts, source: Source, doc: Any, last_modified: datetime | None,
           now: Callable[[], datetime] | None) -> datetime:
    if agg.as_of is not None:
        v = resolve(agg.as_of, doc, source._tables)
        if isinstance(v, str):
            try:
                t = datetime.fromisoformat(v)
                if t.tzinfo is not None:
                    return t
            except ValueError:
                pass
    if last_modified is not None:
        return last_modified
    return (now or process_clock().now)()


@runtime_checkable
class Ticket(Protocol):
    """What ticket_counts reads of a ticket feed's payload (feeds.polled's hotline tickets)."""

    status: object
    region: str
    created_at: datetime


def ticket_counts(source: Source, agg: TicketCounts, doc: Any, mapped: list[tuple[str, Any]], prefix: str,
                  last_modified: datetime | None, now: Callable[[], datetime] | None) -> list[Message]:
    """KPI messages: tickets created today, open tickets and tickets per status, per county and for the city.

    Only tickets that pass the ticket feed's own model are counted; the others reach dead letters as
    their own messages.
    """
    feed = source._feed
    assert feed is not None, "source not bound to a feed registry"
    as_of = _as_of(agg, source, doc, last_modified, now)
    today = as_of.astimezone(agg._tz).date()
    statuses = list(agg.statuses)
    closed = set(agg.closed)

    def zero() -> dict[str, int]:
        return {"today": 0, "open": 0, **{f"status.{s}": 0 for s in statuses}}

    counts: dict[str, dict[str, int]] = {c: zero() for c in agg.counties}
    city = counts.setdefault(agg.city, zero())
    for _topic, payload in mapped:
        if not isinstance(payload, dict):
            continue
        try:
            t = feed.payload.model_validate_json(orjson.dumps(payload), strict=True)  # as the decoder reads it
        except ValidationError:
            continue
        if not isinstance(t, Ticket):
            raise TypeError(f"feed {feed.name} does not carry tickets (status, region, created_at)")
        status, region, created = str(t.status), t.region, t.created_at
        rows = [city] if region == agg.city else [city, counts.setdefault(region, zero())]
        for row in rows:
            if created.astimezone(agg._tz).date() == today:
                row["today"] += 1
            if status not in closed:
                row["open"] += 1
            if status in statuses:
                row[f"status.{status}"] += 1
    ts = as_of.isoformat()
    out = []
    for region in sorted(counts):
        for name, value in counts[region].items():
            metric = f"{agg.metric_prefix}.{name}"
            body = {"metric": metric, "region": region, "ts": ts, "value": value, "unit": agg.unit}
            out.append((f"{prefix}/{region}/{agg.feed}/{metric}", orjson.dumps(body)))
    return out
