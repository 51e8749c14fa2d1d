"""The alert engine: judges each committed ingest batch against the themes' rules, incrementally, and keeps the
alarms' life cycle (raise, update, auto-clear, escalate) in the store.

Incremental: what a rule must remember of a source (is its alarm open, the newest reading judged, since when a
condition has held, recent values) is kept in memory per (rule, source); no history is rescanned. At start the
open alarms and the newest judged time of every (rule, source) are read back, so a restart neither forgets an
alarm nor, when a broker redelivers old messages, raises it twice: a reading not newer than the newest judged is
a replay and is skipped, and the reading that opened an alarm is unique per (rule, source) in the store.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.orm import Session

from clock import process_clock
from alerts.rules import (
    Absence,
    MeasureRule,
    Outcome,
    Reading,
    RuleRegistry,
    RuleSettings,
    default_city,
)
from geo import City
from measures import MeasureRegistry
from store import alarm_queries as aq
from store.models import Alarm, Device, Silence, table_of
from store.ingest_log import LoggedBatch
from store.writes import Batch
from topics.themes import Theme
from words import Words

WORDS = Words("alerts")  # the alarms' words (alerts.rules)

log = logging.getLogger(__name__)

Notify = Callable[[Session, Alarm, str, Sequence[str]], Any]  # (session, alarm, event, hook names)
CaseHook = Callable[[Session, Alarm, "BoundRule"], Any]
EventsHook = Callable[[Session, list[dict[str, Any]]], Any]


@dataclass(frozen=True)
class BoundRule:
    """A rule of a theme as the engine runs it: its store key, its theme and owner, its checked settings."""

    key: str  # <theme>/<rule id>
    theme: str
    owner: str
    settings: RuleSettings

    owner_hook: bool = False  # the owning department has a hook of its name

    @property
    def hooks(self) -> tuple[str, ...]:
        """Who hears of its alarms: the rule's hooks (named, so a missing URL shows as a failed delivery), and
        the owning department when a hook of its name is configured."""
        return tuple(dict.fromkeys([*self.settings.notify, *([self.owner] if self.owner_hook else [])]))


@dataclass
class Memory:
    """What the engine remembers of one (rule, source)."""

    alarm_id: int | None = None  # the open alarm, if any
    last_ts: datetime | None = None  # the newest reading judged
    data: dict[str, Any] = field(default_factory=dict)  # the rule's own memory (duration start, rate window)
    shown: str | None = None  # a silence's whole minutes last written to its alarm


@dataclass
class Changes:
    """What one evaluation did, for logs, tests and the bench."""

    raised: list[int] = field(default_factory=list)
    updated: int = 0
    cleared: list[int] = field(default_factory=list)
    skipped_replays: int = 0
    escalated: list[int] = field(default_factory=list)


def bind_rules(themes: Iterable[Theme], registry: RuleRegistry,
               hook_known: Callable[[str], bool] = lambda name: False, city: City | None = None) -> list[BoundRule]:
    """The themes' rules with their settings checked, counties against `city` (default: the default settings'
    city); a rule whose kind is unknown is left out, logged."""
    out = []
    for th in themes:
        for rule in th.rules:
            if rule.kind not in registry:
                log.warning("theme %s: rule %s has an unknown kind %s; left out", th.key, rule.id, rule.kind)
                continue
            # The settings as the theme's loader read them (topics/loader.py); read here only for a theme that
            # was not loaded with the rule models (one built in code, the packaged fallback).
            model = registry[rule.kind]
            settings = rule.checked
            if not isinstance(settings, model):
                settings = model.model_validate(rule.settings, context={"theme": th, "city": city})
            out.append(BoundRule(f"{th.key}/{rule.id}", th.key, th.owner, settings,
                                 hook_known(th.owner)))
    return out


def readings_of(batch: Batch | LoggedBatch, city: str) -> list[Reading]:
    """The batch's device messages and KPI values as readings, oldest first (a KPI of the city, adcode `city`,
    has no county)."""
    out = []
    for device_id, feed, ms, county, data in batch.observations:
        dev = batch.devices.get(device_id) or {}
        out.append(Reading(device_id, feed, datetime.fromtimestamp(ms / 1000, UTC), orjson.loads(data), county,
                           dev.get("name"), dev.get("lon"), dev.get("lat")))
    for row in batch.kpis.values():
        ts = row["ts"] if row["ts"].tzinfo else row["ts"].replace(tzinfo=UTC)
        out.append(Reading(f"{row['key']}@{row['region']}", "kpi", ts, {row["key"]: float(row["value"])},
                           row["region"] if row["region"] != city else None, row["key"]))
    out.sort(key=lambda r: r.ts)
    return out


def silenced_by(silences: Sequence[Silence], rule: str, source: str, county: str | None) -> bool:
    """Whether a silence in force covers an alarm of this rule, source and county."""
    return any((s.rule is None or s.rule == rule) and (s.source is None or s.source == source)
               and (s.county_adcode is None or s.county_adcode == county) for s in silences)


class AlertEngine:
    """Rules over live data: judges committed readings, ticked on the clock for absence and escalation
    (alerts.role runs both under the alerts lease). Thread-safe: judging and ticking share one lock."""

    def __init__(self, engine: Engine, registry: RuleRegistry, themes: Callable[[], Sequence[Theme]],
                 notify: Notify | None = None, case_for_alarm: CaseHook | None = None,
                 on_events: EventsHook | None = None, clock: Callable[[], datetime] | None = None,
                 tick_s: float = 5.0, hook_known: Callable[[str], bool] = lambda name: False,
                 measures: MeasureRegistry | None = None, city: City | str | None = None) -> None:
        self.engine = engine
        self.measures = measures  # the figures `measure` rules read: the wall's own registry
        # The settings' --city (its adcode or geo.City); the default settings' city when not given.
        self.city: City = city if isinstance(city, City) else City.load(city) if city else default_city()
        self.registry = registry
        self.themes = themes
        self.notify = notify
        self.case_for_alarm = case_for_alarm
        self.on_events = on_events
        self.clock = clock or process_clock().now  # absence, escalation, acknowledgement times
        self.tick_s = tick_s
        self.hook_known = hook_known  # whether a hook of that name is configured (a department's, implicitly)
        self._lock = threading.RLock()
        self._memory: dict[tuple[str, str], Memory] = {}
        self._themes_seen: tuple[Theme, ...] | None = None
        self._rules: list[BoundRule] = []
        self._by_feed: dict[str, list[BoundRule]] = {}
        self._last_heard: dict[str, dict[str, tuple[datetime, str | None, str | None]]] = defaultdict(dict)
        self._loaded = False

    # ---- rules and memory --------------------------------------------------------------------------------------

    def readings_of(self, batch: Batch | LoggedBatch) -> list[Reading]:
        """The batch's readings, oldest first (a KPI of this engine's city has no county)."""
        return readings_of(batch, self.city.adcode)

    def rules(self) -> list[BoundRule]:
        """The rules now (re-bound when the theme files change)."""
        themes = tuple(self.themes())
        if themes != self._themes_seen:
            self._rules = bind_rules(themes, self.registry, self.hook_known, self.city)
            by_feed: dict[str, list[BoundRule]] = defaultdict(list)
            for rule in self._rules:
                for feed in rule.settings.reads():
                    by_feed[feed].append(rule)
            self._by_feed = dict(by_feed)
            self._themes_seen = themes
        return self._rules

    def _load(self, session: Session) -> None:
        """Read back the open alarms, the newest judged times and when each device was last heard."""
        if self._loaded:
            return
        for (rule, source), ts in aq.last_seen_by_key(session).items():
            mem = self._memory.setdefault((rule, source), Memory())
            mem.last_ts = ts if mem.last_ts is None else max(ts, mem.last_ts)
        for rule, source, alarm_id in aq.open_alarm_keys(session):
            self._memory.setdefault((rule, source), Memory()).alarm_id = alarm_id
        for dev in session.execute(select(Device.id, Device.kind, Device.last_seen, Device.name,
                                          Device.county_adcode)):
            heard = self._last_heard[dev.kind]
            if dev.id not in heard or heard[dev.id][0] < dev.last_seen:
                heard[dev.id] = (dev.last_seen, dev.name, dev.county_adcode)
        self._loaded = True

    def _open_alarms(self, s: Session) -> list[Alarm]:
        """The open alarms the engine remembers, in one read: later lookups by id hit the session's map."""
        ids = [m.alarm_id for m in self._memory.values() if m.alarm_id is not None]
        out: list[Alarm] = []
        for i in range(0, len(ids), 500):
            out += s.scalars(select(Alarm).where(Alarm.id.in_(ids[i:i + 500]))).all()
        return out

    def memory(self, rule: str, source: str) -> Memory:
        """The engine's memory of one (rule, source) (for tests and the console)."""
        with self._lock:
            return self._memory.setdefault((rule, source), Memory())

    def forget(self, rule: str, source: str, alarm_id: int) -> None:
        """A console cleared this alarm: the next reading that meets the rule raises a new one."""
        with self._lock:
            mem = self._memory.get((rule, source))
            if mem is not None and mem.alarm_id == alarm_id:
                mem.alarm_id = None

    # ---- data as it arrives ------------------------------------------------------------------------------------

    def on_batch(self, batch: Batch | LoggedBatch) -> None:
        """Judge a committed batch in this process (tests and tools; the alert role reads the ingest log)."""
        try:
            self.evaluate(self.readings_of(batch), list(batch.events.values()))
        except Exception:  # noqa: BLE001 — a rule's fault must not stop ingest
            log.exception("alert evaluation of a batch of %d messages failed", batch.size)

    def evaluate(self, readings: Sequence[Reading], events: Sequence[dict[str, Any]] = ()) -> Changes:
        """Judge readings (oldest first) against the rules, writing alarm changes in one transaction."""
        # No autoflush: alarm updates are written once at commit, not before every read (≈3× the judging rate).
        with self._lock, Session(self.engine, autoflush=False) as s:
            try:
                with s.begin():
                    return self.judge(s, readings, events)
            except BaseException:
                self.reset()  # what was remembered moved with a transaction that did not commit
                raise

    def judge(self, s: Session, readings: Sequence[Reading], events: Sequence[dict[str, Any]] = ()) -> Changes:
        """Judge readings in the caller's transaction; a caller whose commit fails must call reset()."""
        changes = Changes()
        with self._lock:
            self._load(s)
            rules = self.rules()
            silences = aq.active_silences(s, self.clock()) if rules else []
            held = self._open_alarms(s) if readings else []  # noqa: F841 — held so the session's map keeps them
            for r in readings:
                self._heard(r)
                for rule in self._by_feed.get(r.feed, ()):
                    if isinstance(rule.settings, Absence) and rule.settings.per == "feed":
                        # A feed-wide silence ends with any of its messages.
                        self._judge(s, rule, Reading(r.feed, r.feed, r.ts, {}, None, r.feed), silences, changes)
                    elif not rule.settings.county or r.county == rule.settings.county:
                        self._judge(s, rule, r, silences, changes)
            if events and self.on_events is not None:
                self.on_events(s, list(events))
        return changes

    def _heard(self, r: Reading) -> None:
        heard = self._last_heard[r.feed]
        if r.source not in heard or heard[r.source][0] < r.ts:
            heard[r.source] = (r.ts, r.name, r.county)

    def reset(self) -> None:
        """Forget everything remembered; the next judgement reads it back from the store."""
        with self._lock:
            self._memory.clear()
            self._last_heard.clear()
            self._loaded = False

    def memory_window(self) -> timedelta:
        """How much recent data rebuilds the rules' memory (their longest duration or rate window)."""
        minutes = max((getattr(r.settings, "minutes", 0.0) for r in self.rules()
                       if not isinstance(r.settings, Absence)), default=0.0)
        return timedelta(minutes=minutes + 5)

    def rebuild(self, s: Session, readings: Sequence[Reading]) -> None:
        """Start from the store: run recent readings through the rules without writing anything (their windows
        and durations), then take the open alarms and the newest judged times from the alarms table."""
        with self._lock:
            self.reset()
            rules = self.rules()
            for r in readings:
                self._heard(r)
                for rule in self._by_feed.get(r.feed, ()):
                    source = r.feed if isinstance(rule.settings, Absence) and rule.settings.per == "feed" else r.source
                    mem = self._memory.setdefault((rule.key, source), Memory())
                    if mem.last_ts is not None and r.ts <= mem.last_ts:
                        continue
                    mem.last_ts = r.ts
                    if not isinstance(rule.settings, Absence):
                        rule.settings.check(r, mem.data, False)
            del rules
            self._load(s)

    def _judge(self, s: Session, rule: BoundRule, r: Reading, silences: Sequence[Silence], changes: Changes) -> None:
        mem = self._memory.setdefault((rule.key, r.source), Memory())
        if mem.last_ts is not None and r.ts <= mem.last_ts:
            changes.skipped_replays += 1  # a redelivered or out-of-order message: judged already
            return
        mem.last_ts = r.ts
        out = rule.settings.check(r, mem.data, mem.alarm_id is not None)
        if out is not None:
            self._apply(s, rule, r.source, r.label, r.county, r.ts, out, silences, changes)

    def _apply(self, s: Session, rule: BoundRule, source: str, label: str, county: str | None, ts: datetime,
               out: Outcome, silences: Sequence[Silence], changes: Changes) -> None:
        """Raise, keep up or clear the (rule, source)'s alarm by what the rule made of a reading."""
        mem = self._memory.setdefault((rule.key, source), Memory())
        alarm = s.get(Alarm, mem.alarm_id) if mem.alarm_id is not None else None
        if alarm is not None and alarm.cleared_at is not None:
            alarm = mem.alarm_id = None  # cleared at a console since: a condition still met raises anew
        if out.active and alarm is None:
            self._raise(s, rule, source, label, county, ts, out, silences, changes)
        elif out.active and alarm is not None:
            alarm.last_at, alarm.count, alarm.value = ts, alarm.count + 1, out.value
            alarm.severity = out.severity  # a fog signal turning red takes the wall from here on
            alarm.title_zh, alarm.title_en = self._titles(rule, out)  # the words say what the newest reading saw
            changes.updated += 1
        elif not out.active and alarm is not None and ts >= alarm.opened_at:  # older data cannot end it
            alarm.state, alarm.cleared_at, alarm.cleared_by = "cleared", ts, "auto"
            mem.alarm_id = None
            changes.cleared.append(alarm.id)
            if self.notify is not None and not alarm.silenced:
                self.notify(s, alarm, "cleared", rule.hooks)

    @staticmethod
    def _titles(rule: BoundRule, out: Outcome) -> tuple[str, str]:
        zh = f"{rule.settings.title_zh}：{out.zh}" if rule.settings.title_zh else out.zh
        en = f"{rule.settings.title_en or rule.settings.title_zh}: {out.en}" if rule.settings.title_zh else out.en
        return zh[:200], en[:200]

    def _raise(self, s: Session, rule: BoundRule, source: str, label: str, county: str | None, ts: datetime,
               out: Outcome, silences: Sequence[Silence], changes: Changes) -> None:
        mem = self._memory[(rule.key, source)]
        existing = aq.alarm_at(s, rule.key, source, ts)
        if existing is not None:  # raised by this very reading before a restart: adopt it, add nothing
            mem.alarm_id = existing.id if existing.cleared_at is None else None
            changes.skipped_replays += 1
            return
        zh, en = self._titles(rule, out)
        alarm = Alarm(rule=rule.key, kind=rule.settings.kind, theme=rule.theme, source=source, source_name=label,
                      county_adcode=county, severity=out.severity, state="active", title_zh=zh, title_en=en,
                      value=out.value, opened_at=ts, last_at=ts, count=1, escalations=0,
                      silenced=silenced_by(silences, rule.key, source, county))
        s.add(alarm)
        s.flush()
        mem.alarm_id = alarm.id
        changes.raised.append(alarm.id)
        if self.notify is not None and not alarm.silenced:
            self.notify(s, alarm, "raised", rule.hooks)
        if rule.settings.case and self.case_for_alarm is not None:
            self.case_for_alarm(s, alarm, rule)

    # ---- on the clock ------------------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> Changes:
        """Absence (sources silent too long) and escalation (alarms nobody acknowledged in time)."""
        with self._lock, Session(self.engine) as s:
            try:
                with s.begin():
                    return self.tick_in(s, now)
            except BaseException:
                self.reset()
                raise

    def tick_in(self, s: Session, now: datetime | None = None) -> Changes:
        """The tick in the caller's transaction; a caller whose commit fails must call reset()."""
        now = now or self.clock()
        changes = Changes()
        with self._lock:
            self._load(s)
            rules = self.rules()
            silences = aq.active_silences(s, now)
            for rule in rules:
                if isinstance(rule.settings, Absence):
                    self._silent_sources(s, rule, rule.settings, now, silences, changes)
                elif isinstance(rule.settings, MeasureRule):
                    self._measure(s, rule, rule.settings, now, silences, changes)
            by_key = {r.key: r for r in rules}
            waits = {r.key: timedelta(minutes=r.settings.escalate_after_min) for r in rules
                     if r.settings.escalate_after_min}
            for alarm in aq.unacknowledged_for_escalation(s, now, waits):
                bound = by_key[alarm.rule]
                due = (alarm.escalated_at or alarm.opened_at) + waits[alarm.rule]
                if now >= due:  # as the query chose; kept so the rule reads here whole
                    alarm.escalations += 1
                    alarm.escalated_at = now
                    changes.escalated.append(alarm.id)
                    if self.notify is not None:
                        self.notify(s, alarm, "escalated", tuple(dict.fromkeys([*bound.settings.escalate_to,
                                                                               *bound.hooks])))
        return changes

    def _measure(self, s: Session, rule: BoundRule, settings: MeasureRule, now: datetime,
                 silences: Sequence[Silence], changes: Changes) -> None:
        """A measure rule: the measure's value now in each region it watches, judged as the wall shows it."""
        if self.measures is None:
            return
        city = self.city
        if settings.scope == "city":
            regions = [city.adcode]
        else:
            regions = [settings.county] if settings.county else list(city.counties)
        defined = self.measures.get(settings.measure)
        name = defined.label_zh if defined is not None else settings.measure
        got = self.measures.latest(s, [settings.measure], regions, now).get(settings.measure, {})
        for region, point in got.items():
            county = None if region == city.adcode else region
            label = (WORDS("whole_city", "zh") if region == city.adcode else city.name_of(region)) + name
            out = settings.judge(label, point.value)
            source = f"{self.measures.key(settings.measure)}@{region}"
            mem = self._memory.setdefault((rule.key, source), Memory())
            if mem.last_ts is not None and point.ts < mem.last_ts:
                continue  # an older figure than one judged already
            mem.last_ts = point.ts
            self._apply(s, rule, source, label, county, point.ts, out, silences, changes)

    def _silent_sources(self, s: Session, rule: BoundRule, settings: Absence, now: datetime,
                        silences: Sequence[Silence], changes: Changes) -> None:
        heard = self._last_heard.get(settings.feed, {})
        refresh: list[dict[str, Any]] = []  # silences still on whose shown minutes changed
        if settings.per == "feed":
            if not heard:
                return
            last = max(ts for ts, _, _ in heard.values())
            sources: list[tuple[str, datetime, str, str | None]]
            sources = [(settings.feed, last, settings.feed, None)]
        else:
            sources = [(dev, ts, name or dev, county) for dev, (ts, name, county) in heard.items()
                       if not settings.county or county == settings.county]
        for source, last, label, county in sources:
            mem = self._memory.setdefault((rule.key, source), Memory())
            out = settings.silent(label, last, now)
            if out.active and mem.alarm_id is None:
                # Opened at the moment the silence reached its length: the same for every tick and restart.
                opened = last + timedelta(minutes=settings.minutes)
                self._raise(s, rule, source, label, county, opened, out, silences, changes)
            elif out.active and mem.alarm_id is not None:
                # Written when the whole minutes its title shows change, not every tick, and all in one
                # statement: a city of 50,000 devices with 42,000 silent loaded and wrote each alarm every 5 s
                # (a third of a core, idle). A restart writes each once more (`shown` is not kept).
                shown = f"{out.value or 0:.0f}"
                if shown == mem.shown:
                    continue
                zh, en = self._titles(rule, out)
                refresh.append({"aid": mem.alarm_id, "v": out.value, "zh": zh, "en": en})
                mem.shown = shown
        if refresh:
            table = table_of(Alarm)
            s.connection().execute(
                update(table).where(table.c.id == bindparam("aid"), table.c.cleared_at.is_(None))
                .values(value=bindparam("v"), last_at=now, title_zh=bindparam("zh"), title_en=bindparam("en")),
                refresh)
