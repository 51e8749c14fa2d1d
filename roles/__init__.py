"""The roles a process runs besides the pages: ingest, alerts, poll, simulate (settings.ROLES).

`python app.py --roles …` chooses them; by default one process runs them all (`make run`). Any role may run in
any number of processes on any machine against one store and broker: ingest workers split the MQTT stream on a
shared subscription, and alerts, notify, poll and simulate each lead in one process at a time under a lease in
the store (store.leases), the others standing by to take over. The web role (dashboard/) starts none of this:
gunicorn's web workers run no background threads (wsgi.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alerts.calendar import WorkingCalendar, load_calendar
from alerts.cases import open_case_for_alarm, sync_cases_from_grid_events
from alerts.engine import AlertEngine
from alerts.notify import Notifier
from alerts.role import AlertRole
from alerts.rules import RuleRegistry
from clock import Clock
from feeds import FeedRegistry
from feeds.service import FeedService
from geo import City
from settings import Settings
from measures import MeasureRegistry, register_builtin_measures
from roles.maintenance import MaintenanceRole
from store import ingest_log
from store.leases import forget_process, leases, new_holder, processes, report_process
from topics.cases import CaseLimits, case_limits
from topics.themes import Theme

log = logging.getLogger(__name__)

BACKGROUND = ("ingest", "alerts", "poll", "simulate")
REPORT_S = 5.0  # how often a process says it is alive
ALIVE_S = 20.0  # heard from within this: alive


@dataclass
class AlertParts:
    """The alert engine with what it writes through: notifications, cases, the working calendar."""

    engine: AlertEngine
    notifier: Notifier
    calendar: WorkingCalendar
    limits: CaseLimits
    open_case: Callable[[Session, Any, Any], Any]  # alarm → its case of the seven steps, opened at a time


def builtin_measures(settings: Settings) -> MeasureRegistry:
    """The built-in measures of the settings' city (a process without pages builds its own; the same figures)."""
    from feeds.known import default_feeds

    cadences = {f.name: f.cadence_s for f in default_feeds()} | dict(settings.feed_cadences)
    reg = MeasureRegistry()
    register_builtin_measures(reg, settings.city, settings.aqi_edition, cadences, settings.stale_after_s)
    return reg


def alert_parts(settings: Settings, engine: Engine, rules: RuleRegistry, themes: Callable[[], Sequence[Theme]],
                clock: Clock, measures: MeasureRegistry | None = None, city: City | None = None) -> AlertParts:
    """The alert engine as every process builds it (the web role too: its console opens cases); city: the
    settings' (geo.City), built from them when not given."""
    notifier = Notifier(engine, settings.webhooks, clock=clock.now)
    calendar, limits = load_calendar(), case_limits()

    def owner_of(theme: str | None) -> str | None:
        return next((t.owner for t in themes() if t.key == theme), None)

    def open_case(session: Session, alarm: Any, now: Any) -> Any:
        return open_case_for_alarm(session, alarm, now, calendar, limits, owner=owner_of(alarm.theme))

    alerts = AlertEngine(
        engine, rules, themes, notify=notifier.enqueue, hook_known=settings.webhooks.__contains__,
        case_for_alarm=lambda session, alarm, rule: open_case(session, alarm, alarm.opened_at),
        on_events=lambda session, events: sync_cases_from_grid_events(session, events, calendar, limits),
        clock=clock.now, measures=measures or builtin_measures(settings),
        city=city or City.load(settings.city))
    return AlertParts(alerts, notifier, calendar, limits, open_case)


class Runtime:
    """The background roles of one process: started and stopped as one, reported in /healthz and /metrics."""

    def __init__(self, settings: Settings, engine: Engine, feeds: FeedRegistry, parts: AlertParts,
                 clock: Clock, derived: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.parts = parts
        self.holder = new_holder()
        self.roles: frozenset[str] = frozenset()
        self.alert_role: AlertRole | None = None
        self.maintenance: MaintenanceRole | None = None
        self.attached: dict[str, Any] = {}  # roles started by a layer above (the briefing): stopped with the rest
        self.started_at = clock.now()
        self._stop = threading.Event()
        self._reporter: threading.Thread | None = None
        # derived: the measures computed here from raw data (key → how): KPI messages for them are refused.
        self.feeds = FeedService(settings, engine, feeds, clock=clock, holder=self.holder,
                                 on_batch=self._committed, derived=derived)

    def attach(self, name: str, role: Any) -> None:
        """Count a role a layer above started (it has stop() and a `leadership` lease) as one of this process's:
        reported, and stopped with the others."""
        self.attached[name] = role
        self.roles = self.roles | {name}
        if self._reporter is None:
            self._stop.clear()
            self._reporter = threading.Thread(target=self._report_loop, name="report", daemon=True)
            self._reporter.start()

    def _committed(self, _batch: Any) -> None:
        if self.alert_role is not None:
            self.alert_role.wake()

    def start(self, roles: Iterable[str]) -> Runtime:
        """Start the given background roles (web, if named, is not started here)."""
        self.roles = frozenset(roles) & set(BACKGROUND)
        if "alerts" in self.roles:
            self.alert_role = AlertRole(self.engine, self.parts.engine, self.parts.notifier, self.holder,
                                        log_hours=self.settings.ingest_log_hours).start()
            # Partitions ahead, roll-ups and retention, under a lease of their own (roles.maintenance).
            self.maintenance = MaintenanceRole(self.engine, self.clock.now, self.settings.observation_retention_days,
                                               self.holder).start()
        if self.roles & {"ingest", "poll", "simulate"}:
            self.feeds.start(self.roles)
        if self.roles:
            self._stop.clear()
            self._reporter = threading.Thread(target=self._report_loop, name="report", daemon=True)
            self._reporter.start()
        log.info("roles %s started as %s", ", ".join(sorted(self.roles)) or "none", self.holder)
        return self

    def _report_loop(self) -> None:
        """Say every few seconds that this process is alive, with its roles and counters (for /healthz)."""
        while True:
            try:
                with Session(self.engine) as s, s.begin():
                    report_process(s, self.holder, ",".join(sorted(self.roles)), self.started_at, self.clock.now(),
                                   orjson.loads(orjson.dumps({**self.status(), "ingest": self.ingest_stats()})))
            except Exception as e:  # noqa: BLE001 — a store outage: say it again next time
                log.debug("could not report this process: %s", e)
            if self._stop.wait(REPORT_S):
                return

    def stop(self) -> None:
        """Stop producing, write what was received, finish judging, hand every lease back, leave the list."""
        if self.roles & {"ingest", "poll", "simulate"}:
            self.feeds.stop()
        if self.alert_role is not None:
            self.alert_role.stop()
        if self.maintenance is not None:
            self.maintenance.stop()
            self.maintenance = None
        for role in self.attached.values():
            role.stop()
        self.attached.clear()
        if self._reporter is not None:
            self._stop.set()
            self._reporter.join(10)
            self._reporter = None
            try:
                with Session(self.engine) as s, s.begin():
                    forget_process(s, self.holder)
            except Exception:  # noqa: BLE001 — it ages out of the list by itself
                log.warning("could not take %s off the process list", self.holder)
        self.roles = frozenset()

    def ingest_stats(self) -> dict[str, Any] | None:
        """This process's ingest worker's counters, or None when it writes nothing."""
        return asdict(self.feeds.ingestor.stats) if self.roles & {"ingest", "poll", "simulate"} else None

    def status(self) -> dict[str, Any]:
        """This process's roles, which leases it leads or stands by for, and the alert role's lag."""
        local = {name: lease for name, lease in self.feeds.leases.items()}
        out: dict[str, Any] = {"holder": self.holder, "roles": sorted(self.roles), "leases": {}}
        for name, lease in local.items():
            out["leases"][name] = "leader" if lease.leading else "standby"
        if self.feeds.subscriber is not None:
            out["broker"] = dict(self.feeds.subscriber.broker_stats)
            # Connected with its subscription acknowledged: from here on the broker keeps what is meant for it.
            out["subscribed"] = self.feeds.subscriber.subscribed.is_set()
        if self.alert_role is not None:
            for st in self.alert_role.status():
                out["leases"][st.name] = "leader" if st.leading else "standby"
                if st.name == "alerts":
                    out["alerts"] = st.detail
        if self.maintenance is not None:
            out["leases"]["maintenance"] = "leader" if self.maintenance.leadership.leading else "standby"
            out["maintenance"] = self.maintenance.status()
        for name, role in self.attached.items():
            lease = getattr(role, "leadership", None)
            if lease is not None:
                out["leases"][name] = "leader" if lease.leading else "standby"
        return out


def broker_report(process: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    """What the broker says of itself, as the ingest subscribers heard it ($SYS), and a warning when it dropped
    messages (its queue limits were reached: data was lost before it reached us)."""
    heard = [process.get("broker")] + [p.get("broker") for p in cluster.get("processes", []) if p.get("alive")]
    stats = [b for b in heard if b]
    if not stats:
        return {"heard": False, "dropped": None, "warning": None}
    dropped = max(int(b.get("publish/messages/dropped", "0") or 0) for b in stats)
    version = next((b["version"] for b in stats if b.get("version")), None)
    warning = (f"the broker dropped {dropped} messages since it started: its queue limits were reached while a "
               f"subscriber was away; raise max_queued_messages / max_queued_bytes (deploy/mosquitto/zq.conf)"
               if dropped else None)
    return {"heard": True, "dropped": dropped, "version": version, "warning": warning}


def cluster_status(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """What the store says of every process: each lease's holder and expiry, the processes heard from in the last
    hour (alive: within ALIVE_S), the log and how far judging lags."""
    with Session(engine) as s:
        rows = leases(s)
        procs = processes(s, (now - timedelta(hours=1))) if now is not None else []
        cursors = {"alerts": 0, **ingest_log.cursors(s)}
        lag = {name: ingest_log.pending(s, seq) for name, seq in cursors.items()}
        last = ingest_log.last_seq(s)
    members = [{"holder": p.holder, "roles": p.roles.split(",") if p.roles else [], "started_at":
                p.started_at.isoformat(), "seen_at": p.seen_at.isoformat(),
                "alive": now is not None and (now - p.seen_at).total_seconds() <= ALIVE_S,
                "leases": (p.status or {}).get("leases", {}), "ingest": (p.status or {}).get("ingest"),
                "broker": (p.status or {}).get("broker"), "subscribed": (p.status or {}).get("subscribed")}
               for p in procs]
    return {"leases": [asdict(r) for r in rows], "processes": members, "log_seq": last, "cursors": cursors,
            "lag_batches": lag}
