"""The ingest worker: messages in, one transaction per batch out, bad input to dead letters."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import Session

from feeds.decode import Accepted, Decoder
from store import Batch, write_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A raw message as it arrived, before any decoding."""

    topic: str
    payload: bytes
    received_at: datetime


@dataclass
class IngestStats:
    """Counters of the worker since it started."""

    received: int = 0
    stored: int = 0
    dead: int = 0
    batches: int = 0
    write_errors: int = 0
    last_commit_at: datetime | None = None


def build_batch(decoder: Decoder, messages: list[Message]) -> tuple[Batch, int, int]:
    """Decode messages into one batch; returns the batch and the good and bad counts."""
    batch = Batch()
    good = bad = 0
    for m in messages:
        result = decoder.decode(m.topic, m.payload, m.received_at)
        if isinstance(result, Accepted):
            result.feed.to_rows(batch, result.payload, result.context)
            batch.count(result.feed.name, ok=True, message_at=result.payload.ts, received_at=m.received_at)
            good += 1
        else:
            batch.add_dead_letter({"received_at": m.received_at, "topic": m.topic[:256], "feed": result.feed,
                                   "payload": m.payload, "reason": result.reason})
            if result.feed is not None:
                batch.count(result.feed, ok=False, message_at=None, received_at=m.received_at)
            bad += 1
    batch.size = len(messages)
    return batch, good, bad


class Ingestor:
    """A background thread that batches submitted messages and writes them to the store."""

    def __init__(self, engine: Engine, decoder: Decoder, batch_size: int = 500, batch_ms: int = 200,
                 on_commit: Callable[[int, int], None] | None = None) -> None:
        self.engine = engine
        self.decoder = decoder
        self.batch_size = batch_size
        self.batch_wait = batch_ms / 1000
        self.on_commit = on_commit
        self.stats = IngestStats()
        self._queue: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._submitted = 0
        self._done = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, topic: str, payload: bytes, received_at: datetime | None = None) -> None:
        """Queue one message; thread-safe and never blocks the caller (an MQTT callback)."""
        with self._done:
            self._submitted += 1
        self._queue.put(Message(topic, payload, received_at or datetime.now(UTC)))

    def start(self) -> Ingestor:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        self.drain(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every message submitted so far is committed; False on time-out."""
        deadline = time.monotonic() + timeout
        with self._done:
            target = self._submitted
            while self.stats.stored + self.stats.dead < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._done.wait(left)
        return True

    def _collect(self) -> list[Message]:
        try:
            first = self._queue.get(timeout=0.25)
        except queue.Empty:
            return []
        messages = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(messages) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                messages.append(self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return messages

    def _run(self) -> None:
        while not self._stop.is_set():
            messages = self._collect()
            if not messages:
                continue
            batch, good, bad = build_batch(self.decoder, messages)
            if not self._write(batch):
                good, bad = self._write_one_by_one(messages)
            with self._done:
                self.stats.received += len(messages)
                self.stats.stored += good
                self.stats.dead += bad
                self.stats.batches += 1
                self.stats.last_commit_at = datetime.now(UTC)
                self._done.notify_all()
            if self.on_commit is not None:
                self.on_commit(good, bad)

    def _write(self, batch: Batch) -> bool:
        """Write one batch; False if the store refused its data (as opposed to being unreachable)."""
        delay = 0.2
        while True:
            try:
                with Session(self.engine) as s, s.begin():
                    write_batch(s, batch)
                return True
            except (OperationalError, InterfaceError):
                # The store is down or restarting: retry with backoff, so an outage delays data, never drops it.
                self.stats.write_errors += 1
                log.warning("store unavailable writing %d messages; retrying in %.1fs", batch.size, delay)
                if self._stop.wait(delay):
                    return True
                delay = min(delay * 2, 10.0)
            except StatementError:
                # Bind-time failures too (a time outside UTC's range): they must not kill the worker.
                self.stats.write_errors += 1
                log.exception("store refused a batch of %d messages; writing them one by one", batch.size)
                return False

    def _write_one_by_one(self, messages: list[Message]) -> tuple[int, int]:
        """Isolate the message the store refuses, so it alone goes to dead letters."""
        good = bad = 0
        for m in messages:
            batch, g, b = build_batch(self.decoder, [m])
            if self._write(batch):
                good, bad = good + g, bad + b
                continue
            refused = Batch()
            feed = next(iter(batch.feeds), None)  # the feed it decoded as, so the refusal counts against it
            refused.add_dead_letter({"received_at": m.received_at, "topic": m.topic[:256], "feed": feed,
                                     "payload": m.payload, "reason": "the store refused this message's rows"})
            if feed is not None:
                refused.count(feed, ok=False, message_at=None, received_at=m.received_at)
            self._write(refused)
            bad += 1
        return good, bad
