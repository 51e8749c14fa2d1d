"""The ingest worker: messages in, one transaction per batch out, bad input to dead letters."""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import Session

from clock import Clock, process_clock
from feeds.decode import Accepted, Decoder
from store import Batch, ingest_log, write_batch

log = logging.getLogger(__name__)

Ack = Callable[[], None]


@dataclass(slots=True)  # not frozen: a frozen dataclass costs three times as much to build, per message
class Message:
    """A raw message as it arrived, and how to acknowledge it once it is safely stored."""

    topic: str
    payload: bytes
    received_at: datetime
    ack: Ack | None = None


@dataclass
class IngestStats:
    """Counters of the worker since it started."""

    received: int = 0
    stored: int = 0
    dead: int = 0
    batches: int = 0
    write_errors: int = 0
    last_commit_at: datetime | None = None


def _short(err: BaseException) -> str:
    """The first line of an error, bounded, for a dead letter's reason."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]


def build_batch(decoder: Decoder, messages: list[Message]) -> tuple[Batch, int, int]:
    """Decode messages into one batch; returns the batch and the good and bad counts."""
    batch = Batch()
    good = bad = 0
    for m, result in zip(messages, decoder.decode_many(messages), strict=True):
        if isinstance(result, Accepted):
            batch.feed = result.feed.name  # the rows that follow are this feed's (its stored-message count)
            try:
                result.feed.to_rows(batch, result.payload, result.context)
            except Exception as e:  # noqa: BLE001 - a feed's row maker must not stop the stream
                log.exception("feed %s failed to make rows", result.feed.name)
                batch.add_dead_letter(m.received_at, m.topic, result.feed.name, m.payload,
                                      f"internal error making {result.feed.name} rows: {_short(e)}")
                batch.count(result.feed.name, ok=False, message_at=None, received_at=m.received_at)
                bad += 1
                continue
            batch.count(result.feed.name, ok=True, message_at=result.payload.ts, received_at=m.received_at)
            good += 1
        else:
            batch.add_dead_letter(m.received_at, m.topic, result.feed, m.payload, result.reason)
            if result.feed is not None:
                batch.count(result.feed, ok=False, message_at=None, received_at=m.received_at)
            bad += 1
    batch.size = len(messages)
    return batch, good, bad


class Written(enum.Enum):
    """How a write attempt ended."""

    DONE = "done"
    REFUSED = "refused"  # the store rejected the data itself (integrity, range, encoding)
    STOPPED = "stopped"  # the worker was stopped while the store was unavailable


class Ingestor:
    """Background threads that batch submitted messages, decode them and write them to the store.

    A message is acknowledged (its `ack` called) only after the transaction holding it commits, so
    with MQTT QoS 1 and a persistent session a crash before the commit means redelivery, not loss;
    the store's unique keys make the redelivery harmless.
    """

    def __init__(self, engine: Engine, decoder: Decoder, batch_size: int = 500, batch_ms: int = 200,
                 on_commit: Callable[[list[Message], int, int], None] | None = None,
                 on_batch: Callable[[Batch], None] | None = None, clock: Clock | None = None,
                 log_hours: float | None = 24.0, on_acked: Callable[[], None] | None = None) -> None:
        self.engine = engine
        # Each batch is also logged in its transaction (store.ingest_log) for the alert role to judge; the log
        # keeps log_hours (None: no log, for tools that judge nothing).
        self.log_hours = log_hours
        self._trimmed_at = 0.0
        self.clock = clock or process_clock()  # stamps what arrives: the receive time of every message
        self.decoder = decoder
        self.batch_size = batch_size
        self.batch_wait = batch_ms / 1000
        self.on_commit = on_commit
        self.on_batch = on_batch  # called with each committed batch, after its commit
        # Called once the messages of a commit have been acknowledged: a receiver in another process
        # (feeds.receiver) sends the batch's acknowledgements over together rather than one by one.
        self.on_acked = on_acked
        self.stats = IngestStats()
        # Lists of messages: a receiver hands over hundreds at once, and one queue operation per message cost the
        # worker more (a lock and a GIL hand-over each) than decoding it.
        self._queue: queue.SimpleQueue[list[Message]] = queue.SimpleQueue()
        self._submitted = 0
        self._carry: list[Message] = []
        self._done = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Decoding is CPU, writing mostly waits for the store (its server, its fsync): a decoded batch waits here
        # (one at most) for the writer thread, so the two overlap.
        self._decoded: queue.Queue[tuple[list[Message], Batch, int, int]] = queue.Queue(maxsize=1)
        self._writer: threading.Thread | None = None
        self._decoding = threading.Lock()  # the decoder's caches: the writer decodes a refused batch one by one

    def submit(self, topic: str, payload: bytes, received_at: datetime | None = None, ack: Ack | None = None) -> None:
        """Queue one message; thread-safe and never blocks the caller (an MQTT callback)."""
        with self._done:
            self._submitted += 1
        self._queue.put([Message(topic, payload, received_at or self.clock.now(), ack)])

    def submit_many(self, messages: list[Message]) -> None:
        """Queue messages already stamped with their receive time; thread-safe, never blocks."""
        if not messages:
            return
        with self._done:
            self._submitted += len(messages)
        self._queue.put(messages)

    def start(self) -> Ingestor:
        """Start the worker's threads: one decodes the next batch while the other writes the last."""
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="ingest-write", daemon=True)
        self._writer.start()
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting up to `timeout`), then stop."""
        self.drain(timeout)
        self._stop.set()
        for thread in (self._thread, self._writer):
            if thread is not None:
                thread.join(timeout)

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

    @property
    def queued(self) -> int:
        """Messages received and not yet committed."""
        return self._submitted - self.stats.stored - self.stats.dead

    def _collect(self) -> list[Message]:
        messages, self._carry = self._carry, []  # what the last batch had no room for comes first
        if not messages:
            try:
                messages = list(self._queue.get(timeout=0.25))
            except queue.Empty:
                return []
        deadline = time.monotonic() + self.batch_wait
        while len(messages) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                messages.extend(self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        if len(messages) > self.batch_size:  # a batch never grows past batch_size; the rest starts the next
            messages, self._carry = messages[:self.batch_size], messages[self.batch_size:]
        return messages

    def _run(self) -> None:
        """Collect and decode batches, handing each to the writer thread."""
        while not self._stop.is_set():
            messages = self._collect()
            if not messages:
                continue
            try:
                with self._decoding:
                    decoded = (messages, *build_batch(self.decoder, messages))
            except Exception:  # noqa: BLE001 - the worker must outlive any single batch
                log.exception("decoding a batch of %d messages failed; they are not acknowledged", len(messages))
                continue
            while not self._stop.is_set():
                try:
                    self._decoded.put(decoded, timeout=0.25)
                    break
                except queue.Full:
                    pass

    def _write_loop(self) -> None:
        """Write decoded batches in order, one transaction each."""
        while True:
            try:
                messages, batch, good, bad = self._decoded.get(timeout=0.25)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            try:
                self._ingest(messages, batch, good, bad)
            except Exception:  # noqa: BLE001 - the worker must outlive any single batch
                log.exception("ingest of a batch of %d messages failed; they are not acknowledged", len(messages))

    def _ingest(self, messages: list[Message], batch: Batch, good: int, bad: int) -> None:
        outcome, error = self._write(batch)
        if outcome is Written.REFUSED:
            log.warning("store refused a batch of %d messages (%s); writing them one by one", len(messages), error)
            good, bad, stopped = self._write_one_by_one(messages)
            if stopped:
                return
        elif outcome is Written.STOPPED:
            return  # not committed, not acknowledged: the broker will deliver these again
        elif self.on_batch is not None:
            self.on_batch(batch)
        for m in messages:
            if m.ack is not None:
                m.ack()
        if self.on_acked is not None:
            self.on_acked()
        with self._done:
            self.stats.received += len(messages)
            self.stats.stored += good
            self.stats.dead += bad
            self.stats.batches += 1
            self.stats.last_commit_at = self.clock.now()
            self._done.notify_all()
        if self.on_commit is not None:
            self.on_commit(messages, good, bad)

    def _write(self, batch: Batch) -> tuple[Written, str | None]:
        """Write one batch, retrying while the store is unavailable."""
        delay = 0.2
        while True:
            try:
                with Session(self.engine) as s, s.begin():
                    write_batch(s, batch)
                    if self.log_hours is not None:
                        ingest_log.append(s, batch, self.clock.now())
                self._trim_log()
                return Written.DONE, None
            except (OperationalError, InterfaceError) as e:
                # The store is down or restarting: retry with backoff, so an outage delays data, never drops it.
                self.stats.write_errors += 1
                log.warning("store unavailable writing %d messages (%s); retrying in %.1fs", batch.size, _short(e),
                            delay)
                if self._stop.wait(delay):
                    return Written.STOPPED, _short(e)
                delay = min(delay * 2, 10.0)
            except StatementError as e:
                # Includes DBAPIError (integrity, range) and values that fail to bind, e.g. a year-1 date.
                self.stats.write_errors += 1
                return Written.REFUSED, _short(e)

    def _trim_log(self) -> None:
        """Once a minute, drop logged batches older than the log's hours: a bound on the log when no alert role
        reads it (the alert role trims what it has judged, sooner)."""
        if self.log_hours is None or time.monotonic() - self._trimmed_at < 60:
            return
        self._trimmed_at = time.monotonic()
        try:
            with Session(self.engine) as s, s.begin():
                ingest_log.trim(s, self.clock.now() - timedelta(hours=self.log_hours))
        except (OperationalError, InterfaceError) as e:
            log.warning("could not trim the ingest log: %s", _short(e))

    def _write_one_by_one(self, messages: list[Message]) -> tuple[int, int, bool]:
        """Isolate the message the store refuses, so it alone goes to dead letters."""
        good = bad = 0
        for m in messages:
            with self._decoding:
                batch, g, b = build_batch(self.decoder, [m])
            outcome, error = self._write(batch)
            if outcome is Written.STOPPED:
                return good, bad, True
            if outcome is Written.DONE:
                good, bad = good + g, bad + b
                if self.on_batch is not None:
                    self.on_batch(batch)
                continue
            refused = Batch()
            feed = next(iter(batch.feeds), None)  # the feed it decoded as, so the refusal counts against it
            refused.add_dead_letter(m.received_at, m.topic, feed, m.payload, f"the store refused this message: {error}")
            if feed is not None:
                refused.count(feed, ok=False, message_at=None, received_at=m.received_at)
            if self._write(refused)[0] is Written.STOPPED:
                return good, bad, True
            bad += 1
        return good, bad, False
