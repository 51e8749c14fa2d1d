"""Outbound notifications: an alarm's events POSTed as JSON to webhooks, retried with backoff, every delivery kept.

`Notifier.enqueue` adds one `Delivery` row per hook in the caller's transaction, so a notification exists
exactly when the alarm change that caused it is committed. A background thread (`start()`) runs
`deliver_due` every second: each due delivery is claimed (its next attempt pushed past the time a call can
take, committed), POSTed with no transaction open, and its outcome committed on its own. A crash loses
nothing: an unsent delivery is still pending and is tried again once its claim runs out. Delivery is at
least once; the `Idempotency-Key` header (the delivery's id, the same on every attempt) lets a receiver
drop a repeat.

Hooks are names: a rule's `notify:` list or a department's name, each mapped to a URL by the `webhooks`
setting. A name with no (usable) URL is recorded as failed at once, so a misconfiguration shows in the
deliveries list rather than vanishing.
"""

from __future__ import annotations

import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Engine, String
from sqlalchemy.orm import Session

from clock import process_clock
from settings import CITY_TZ
from store import delivery_queries as dq
from store.models import Alarm, Delivery

log = logging.getLogger(__name__)

EVENTS = ("raised", "escalated", "cleared", "acknowledged")
USER_AGENT = "zq-notifier/1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ERROR_BODY_BYTES = 200
# Column sizes of Delivery.url and Delivery.target: a longer value must not fail the caller's alarm write.
def _length(column: str) -> int:
    """The declared length of a text column of Delivery."""
    kind = Delivery.__table__.c[column].type
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"Delivery.{column} is not a text column of a fixed length")
    return kind.length


MAX_URL = _length("url")
MAX_TARGET = _length("target")


def _json_value(value: Any) -> Any:
    # Local time with its offset (+08:00), as every timestamp the centre's systems exchange.
    return value.astimezone(CITY_TZ).isoformat() if isinstance(value, datetime) else value


def alarm_fields(alarm: Alarm) -> dict[str, Any]:
    """Every column of an alarm, times as ISO 8601 with their offset."""
    return {attr.key: _json_value(getattr(alarm, attr.key)) for attr in Alarm.__mapper__.column_attrs}


def payload(alarm: Alarm, event: str, hook: str, now: datetime) -> bytes:
    """The JSON body of one notification: the event, the alarm as it is now, the hook, when it was queued."""
    return orjson.dumps({"event": event, "alarm": alarm_fields(alarm), "hook": hook, "created_at": _json_value(now)})


def url_problem(name: str, url: str | None) -> str | None:
    """Why a hook's URL cannot be used, or None when it can."""
    if not url:
        return f"no URL configured for hook {name}"
    if len(url) > MAX_URL:
        return f"URL of hook {name} is longer than {MAX_URL} characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"URL of hook {name} is not an http(s) URL: {url}"
    return None


@dataclass(frozen=True)
class _Due:
    """What one attempt needs, read before the HTTP call so no session stays open during it."""

    id: int
    event: str
    target: str
    url: str
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the body and report its 200 as success.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _reason(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


class Notifier:
    """Queues webhook deliveries of alarm events and sends them from a background thread, with retries."""

    def __init__(self, engine: Engine, targets: Mapping[str, str], clock: Callable[[], datetime] | None = None,
                 backoff_s: Sequence[float] = (2, 5, 15, 60, 300), timeout_s: float = 5) -> None:
        self.engine = engine
        self.targets = dict(targets)
        self.clock = clock or process_clock().now
        self.backoff_s = tuple(float(b) for b in backoff_s)
        self.max_attempts = len(self.backoff_s) + 1
        self.timeout_s = float(timeout_s)
        # A claim outlasts the slowest call (the timeout bounds each socket operation, not the whole call),
        # so a second worker does not send the same delivery meanwhile; a crashed worker's claim runs out.
        self.claim_s = 4 * self.timeout_s + 30
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        self._proxied = urllib.request.build_opener(_NoRedirect)
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        for name, url in self.targets.items():
            if problem := url_problem(name, url):
                log.warning("webhook %s", problem)

    # ---- queueing (in the caller's transaction) ---------------------------------------------------

    def enqueue(self, session: Session, alarm: Alarm, event: str, names: Sequence[str]) -> list[Delivery]:
        """Queue one delivery of `event` per distinct hook name; the caller's commit makes them real."""
        if event not in EVENTS:
            raise ValueError(f"unknown alarm event {event!r}; one of {', '.join(EVENTS)}")
        if alarm.id is None:
            session.flush()  # the payload names the alarm by id
        now = self.clock()
        out = []
        for name in dict.fromkeys(names):
            url = self.targets.get(name) or ""
            problem = url_problem(name, url)
            d = Delivery(alarm_id=alarm.id, event=event, target=name[:MAX_TARGET], url=url[:MAX_URL],
                         payload=payload(alarm, event, name, now).decode(), attempts=0, created_at=now)
            if problem:
                log.warning("alarm %s %s not notified: %s", alarm.id, event, problem)
                d.status, d.last_error, d.next_at = "failed", problem, None
            else:
                d.status, d.next_at = "pending", now
            session.add(d)
            out.append(d)
        session.flush()
        return out

    # ---- sending --------------------------------------------------------------------------------

    def deliver_due(self, limit: int = 100) -> int:
        """One pass over the due deliveries, oldest first; returns how many were attempted."""
        return self._deliver(limit, None)

    def _deliver(self, limit: int, stop: threading.Event | None) -> int:
        with Session(self.engine) as s:
            due = [_Due(d.id, d.event, d.target, d.url, d.payload.encode())
                   for d in dq.due_deliveries(s, self.clock(), limit)]
        attempted = 0
        failing: set[str] = set()
        for item in due:
            if stop is not None and stop.is_set():
                break  # the rest stay due; stop() should not wait for a whole backlog
            # One failure per receiver per pass: a receiver that hangs must not hold up every other hook
            # for its timeout times its backlog. Its other deliveries stay due for the next pass.
            if item.url in failing:
                continue
            if not self._claim(item):
                continue
            outcome = self._post(item)
            self._record(item, outcome)
            attempted += 1
            if not outcome.ok:
                failing.add(item.url)
        return attempted

    def _claim(self, item: _Due) -> bool:
        now = self.clock()
        with Session(self.engine) as s, s.begin():
            return dq.claim_delivery(s, item.id, now, now + timedelta(seconds=self.claim_s))

    def _post(self, item: _Due) -> _Outcome:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-ZQ-Event": item.event,
                   "Idempotency-Key": str(item.id)}
        opener = self._direct if urlsplit(item.url).hostname in LOOPBACK else self._proxied
        try:
            req = urllib.request.Request(item.url, data=item.body, headers=headers, method="POST")
            with opener.open(req, timeout=self.timeout_s) as resp:
                code = resp.status
            if 200 <= code < 300:
                return _Outcome(code, None)
            return _Outcome(code, f"HTTP {code}")
        except urllib.error.HTTPError as e:
            try:
                detail = e.read(ERROR_BODY_BYTES).decode("utf-8", "replace").strip()
            except (OSError, HTTPException):
                detail = ""
            finally:
                e.close()
            text = f"HTTP {e.code} {e.reason}" + (f": {detail.splitlines()[0]}" if detail else "")
            return _Outcome(e.code, text)
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                return _Outcome(None, f"timed out after {self.timeout_s:g}s connecting")
            text = _reason(reason) if isinstance(reason, BaseException) else str(reason)
            return _Outcome(None, f"cannot connect: {text}")
        except (TimeoutError, socket.timeout):
            return _Outcome(None, f"timed out after {self.timeout_s:g}s")
        except (HTTPException, OSError, ValueError) as e:
            return _Outcome(None, f"connection failed: {_reason(e)}")

    def _record(self, item: _Due, outcome: _Outcome) -> None:
        now = self.clock()
        with Session(self.engine) as s, s.begin():
            d = s.get(Delivery, item.id)
            if d is None or d.status != "pending":
                return
            d.attempts += 1
            d.last_code = outcome.code
            if outcome.ok:
                d.status, d.sent_at, d.next_at, d.last_error = "sent", now, None, None
                log.debug("delivery %s (%s to %s) sent", d.id, d.event, d.target)
                return
            d.last_error = outcome.error
            if d.attempts >= self.max_attempts:
                d.status, d.next_at = "failed", None
                log.warning("delivery %s (%s to %s) failed after %d attempts: %s", d.id, d.event, d.target,
                            d.attempts, outcome.error)
            else:
                delay = self.backoff_s[d.attempts - 1]
                d.next_at = now + timedelta(seconds=delay)
                log.info("delivery %s (%s to %s) attempt %d failed: %s; retrying in %gs", d.id, d.event,
                         d.target, d.attempts, outcome.error, delay)

    # ---- the thread -----------------------------------------------------------------------------

    def start(self) -> Notifier:
        """Start the background thread that runs `deliver_due` every second."""
        if self._thread is not None:
            return self
        # An event per thread: a thread that outlives stop()'s wait still sees its own stop.
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="notifier", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread, waiting for the call in flight (at most about its timeout)."""
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else 2 * self.timeout_s + 5)
            self._thread = None

    def _run(self, stop: threading.Event) -> None:
        last_error = None
        while not stop.is_set():
            try:
                self._deliver(100, stop)
                last_error = None
            except Exception as e:  # noqa: BLE001 - a database outage must not end notifications for good
                # Once per kind of failure, not every second while the database is away.
                if repr(e) != last_error:
                    log.exception("notifier pass failed; retrying every second")
                last_error = repr(e)
            stop.wait(1.0)
