"""One polling coordinator for every HTTP source: a schedule, conditional requests, backoff on errors.

A single thread keeps a heap of (next due, source) and polls whichever is due. A successful poll
(200, or 304 Not Modified) schedules the next one after the source's interval; a failed one
(connection refused, timeout, HTTP error, a body that is not JSON or has no items list) after an
exponential backoff with jitter. Each 200 response becomes messages through the source's mapping
(feeds/sources.py) and goes to the sink — `Ingestor.submit` in production — so polled items are
decoded, validated, dead-lettered and stored exactly as MQTT messages are. A failing source sends
nothing: its feed goes stale by the ordinary feed-health rule, and the poller keeps trying.

Requests carry If-None-Match / If-Modified-Since from the last good response; a 304 (or a 200 whose
body is byte-identical to the last one mapped) sends nothing. Polls are sequential: a source that
hangs delays the others by at most its `timeout_s`.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from clock import process_clock
from feeds.sources import MappingError, Source, map_document

log = logging.getLogger(__name__)

Sink = Callable[[str, bytes], None]
USER_AGENT = "zq-poller/1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
READ_CHUNK = 64 * 1024


def _iso(t: datetime | None) -> str | None:
    """A time as ISO 8601, or None."""
    return t.isoformat() if t else None


class PollError(Exception):
    """A poll that failed as a whole, with the HTTP status and Retry-After when the server gave them."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True)
class PollResult:
    """What one poll did."""

    source: str
    outcome: Literal["ok", "not_modified", "unchanged", "error"]
    http_status: int | None
    messages: int
    error: str | None
    delay_s: float  # until the next poll of this source


@dataclass(frozen=True)
class SourceStatus:
    """A source's health for /healthz: its last success and error, failures in a row, when it polls next."""

    name: str
    feed: str
    url: str
    interval_s: float
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_due: float  # on the poller's clock
    next_poll_in_s: float
    polls: int
    failures: int
    not_modified: int
    messages: int

    @property
    def failing(self) -> bool:
        """Whether the latest poll failed."""
        return self.consecutive_failures > 0

    def as_json(self) -> dict[str, object]:
        """JSON-ready dict with ISO 8601 times (the URL without query, which may hold a key)."""
        parts = urlsplit(self.url)
        return {"name": self.name, "feed": self.feed, "url": f"{parts.scheme}://{parts.netloc}{parts.path}",
                "interval_s": self.interval_s, "last_success_at": _iso(self.last_success_at),
                "last_error": self.last_error, "last_error_at": _iso(self.last_error_at),
                "consecutive_failures": self.consecutive_failures, "failing": self.failing,
                "next_poll_in_s": round(self.next_poll_in_s, 1), "polls": self.polls,
                "failures": self.failures, "not_modified": self.not_modified, "messages": self.messages}


@dataclass
class _State:
    source: Source
    next_due: float
    etag: str | None = None
    last_modified: str | None = None
    body_digest: bytes | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    polls: int = 0
    failures: int = 0
    not_modified: int = 0
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def _reason(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


class Poller:
    """Polls every source on its own schedule from one thread; `start()` / `stop()`, `status()` for health."""

    def __init__(self, sources: Iterable[Source], submit: Sink, prefix: str,
                 clock: Callable[[], float] = time.monotonic, *, now: Callable[[], datetime] | None = None,
                 rng: Any = None) -> None:
        self.prefix = prefix
        self.submit = submit
        self.clock = clock
        self.now = now or process_clock().now  # data times; `clock` only paces the polls
        self.rng = rng if rng is not None else random.Random()
        self._states: dict[str, _State] = {}
        start = clock()
        for s in sources:
            if s.name in self._states:
                raise ValueError(f"two sources are named {s.name!r}")
            self._states[s.name] = _State(s, next_due=start)
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, str]] = [(start, next(self._seq), n) for n in self._states]
        heapq.heapify(self._heap)
        self._heap_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._proxied = urllib.request.build_opener()

    @property
    def sources(self) -> list[Source]:
        """The sources polled, in the order given."""
        return [st.source for st in self._states.values()]

    # ---- the thread ----------------------------------------------------------------------------------

    def start(self) -> Poller:
        """Start the polling thread (each source is polled at once, then on its schedule)."""
        if self._thread is not None:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling; an in-flight request is given up to its source's timeout to finish."""
        self._stop.set()
        if self._thread is not None:
            longest = max((s.source.timeout_s for s in self._states.values()), default=0.0)
            self._thread.join(timeout if timeout is not None else longest + 2.0)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            name = self._next_due()
            if name is None:
                continue
            try:
                self.poll_once(name)
            except Exception:  # noqa: BLE001 - one source's bug must not stop the others
                log.exception("polling %s failed unexpectedly", name)
                self._reschedule(self._states[name], self._states[name].source.backoff.max_s)

    def _next_due(self) -> str | None:
        """The name of a due source, after waiting for it; None when woken or stopping."""
        with self._heap_lock:
            while self._heap:
                due, _, name = self._heap[0]
                if due != self._states[name].next_due:
                    heapq.heappop(self._heap)  # superseded by a later schedule (poll_once from outside)
                    continue
                break
            else:
                due, name = float("inf"), None
        wait = due - self.clock()
        if wait > 0 or name is None:
            # Look again at least every second, in case the clock is not the one time.sleep follows.
            self._stop.wait(min(max(wait, 0.0), 1.0))
            return None
        return name

    def _reschedule(self, st: _State, delay: float) -> float:
        due = self.clock() + delay
        st.next_due = due
        with self._heap_lock:
            heapq.heappush(self._heap, (due, next(self._seq), st.source.name))
        return delay

    # ---- one poll ------------------------------------------------------------------------------------

    def poll_once(self, source: Source | str) -> PollResult:
        """Poll one source now, hand its messages to the sink and schedule its next poll."""
        name = source if isinstance(source, str) else source.name
        st = self._states[name]
        with st.lock:
            return self._poll(st)

    def _poll(self, st: _State) -> PollResult:
        src = st.source
        st.polls += 1
        status: int | None = None
        try:
            resp = self._fetch(src, st.etag, st.last_modified)
            status = resp.status
            if resp.status == 304:
                st.not_modified += 1
                st.etag = resp.etag or st.etag
                st.last_modified = resp.last_modified or st.last_modified
                return self._succeeded(st, "not_modified", status, 0)
            digest = hashlib.sha256(resp.body).digest()
            if digest == st.body_digest:
                # A server without conditional requests: the same body again has nothing new.
                st.etag, st.last_modified = resp.etag, resp.last_modified
                return self._succeeded(st, "unchanged", status, 0)
            try:
                doc = orjson.loads(resp.body)
            except orjson.JSONDecodeError as e:
                raise PollError(f"response is not JSON ({len(resp.body)} bytes): {e}") from None
            try:
                messages = map_document(src, doc, self.prefix, last_modified=_http_date(resp.last_modified),
                                        now=self.now)
            except MappingError as e:
                raise PollError(str(e)) from None
            for topic, payload in messages:
                self.submit(topic, payload)
            # Only now: a poll that failed before handing everything over is fetched in full again.
            st.etag, st.last_modified, st.body_digest = resp.etag, resp.last_modified, digest
            st.messages += len(messages)
            return self._succeeded(st, "ok", status, len(messages))
        except PollError as e:
            return self._failed(st, str(e), e.status or status, e.retry_after)
        except Exception as e:  # noqa: BLE001 - a sink or mapping bug fails this source, not the thread
            log.exception("source %s: unexpected error", src.name)
            return self._failed(st, f"internal error: {_reason(e)}", status, None)

    def _succeeded(self, st: _State, outcome: Literal["ok", "not_modified", "unchanged"], status: int,
                   messages: int) -> PollResult:
        if st.consecutive_failures:
            log.info("source %s recovered after %d failed polls", st.source.name, st.consecutive_failures)
        st.consecutive_failures = 0
        st.last_success_at = self.now()
        delay = self._reschedule(st, st.source.interval_s)
        return PollResult(st.source.name, outcome, status, messages, None, delay)

    def _failed(self, st: _State, error: str, status: int | None, retry_after: float | None) -> PollResult:
        st.failures += 1
        st.consecutive_failures += 1
        st.last_error, st.last_error_at = error, self.now()
        backoff = st.source.backoff
        delay = backoff.delay(st.consecutive_failures, self.rng)
        if retry_after is not None:
            delay = min(max(delay, retry_after), backoff.max_s)  # honour the server, within our own cap
        if st.consecutive_failures == 1:
            log.warning("source %s failed: %s; retrying in %.1fs", st.source.name, error, delay)
        else:
            log.debug("source %s failed %d times: %s; retrying in %.1fs", st.source.name,
                      st.consecutive_failures, error, delay)
        self._reschedule(st, delay)
        return PollResult(st.source.name, "error", status, 0, error, delay)

    def _fetch(self, src: Source, etag: str | None, last_modified: str | None) -> _Response:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **src.headers}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        req = urllib.request.Request(src.url, headers=headers, method="GET")
        opener = self._direct if urlsplit(src.url).hostname in LOOPBACK else self._proxied
        deadline = time.monotonic() + src.timeout_s
        try:
            with opener.open(req, timeout=src.timeout_s) as resp:
                body = _read(resp, src.max_bytes, deadline, src.timeout_s)
                got = resp.headers
                return _Response(resp.status, body, got.get("ETag"), got.get("Last-Modified"))
        except urllib.error.HTTPError as e:
            e.close()
            if e.code == 304:
                return _Response(304, b"", e.headers.get("ETag"), e.headers.get("Last-Modified"))
            retry = _retry_after(e.headers.get("Retry-After")) if e.code in (429, 503) else None
            raise PollError(f"HTTP {e.code} {e.reason}", retry, e.code) from None
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, TimeoutError | socket.timeout):
                raise PollError(f"timed out after {src.timeout_s:g}s connecting") from None
            text = _reason(reason) if isinstance(reason, BaseException) else reason
            raise PollError(f"cannot connect: {text}") from None
        except (TimeoutError, socket.timeout):
            raise PollError(f"timed out after {src.timeout_s:g}s") from None
        except (HTTPException, OSError) as e:
            raise PollError(f"connection failed: {_reason(e)}") from None

    # ---- health --------------------------------------------------------------------------------------

    def status(self) -> list[SourceStatus]:
        """Every source's state, in the order given."""
        now = self.clock()
        return [SourceStatus(
            name=st.source.name, feed=st.source.feed, url=st.source.url, interval_s=st.source.interval_s,
            last_success_at=st.last_success_at, last_error=st.last_error, last_error_at=st.last_error_at,
            consecutive_failures=st.consecutive_failures, next_due=st.next_due,
            next_poll_in_s=max(0.0, st.next_due - now), polls=st.polls, failures=st.failures,
            not_modified=st.not_modified, messages=st.messages) for st in self._states.values()]


def _read(resp: Any, max_bytes: int, deadline: float, timeout_s: float) -> bytes:
    """The body, bounded in size and in total time (a socket timeout alone bounds each read, not all)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise PollError(f"timed out after {timeout_s:g}s reading the response")
        chunk = resp.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise PollError(f"response larger than {max_bytes} bytes")
        chunks.append(chunk)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo is not None else None
