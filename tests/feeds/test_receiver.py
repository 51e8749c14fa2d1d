"""The MQTT receiver in its own process (feeds.receiver), against a real Mosquitto and mosquitto_pub."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feeds.ingest import Ingestor, Message
from feeds.mqtt import Broker
from feeds.receiver import ReceiverProcess
from store.models import DeadLetter, FeedStatus, Observation
from tests.feeds.samples import T0, make_decoder, road
from tests.feeds.test_faults import RW, reading, sqlite_engine, stored_readings
from tests.waiting import wait_until
from tests.servers import Mosquitto

pytestmark = pytest.mark.mqtt
ROOT = Path(__file__).resolve().parents[2]
_ids = itertools.count()


def children(pid: int) -> set[int]:
    """The processes whose parent is pid (any of its threads)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        out |= {int(c) for c in task.read_text().split()}
    return out


def alive(pid: int) -> bool:
    """Whether pid runs (a zombie, exited and not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def receiving(mosquitto: Mosquitto, ingestor: Ingestor, prefix: str, client_id: str) -> Iterator[ReceiverProcess]:
    """A receiver child feeding `ingestor`, wired as the ingest worker wires it; stopped (drained) on the way out."""
    rec = ReceiverProcess(Broker("127.0.0.1", mosquitto.port), prefix, client_id, ingestor.submit_many,
                          session_expiry_s=600)
    ingestor.on_acked = rec.flush_acks
    rec.start()
    try:
        assert rec.subscribed.wait(20), "the receiver never subscribed"
        yield rec
    finally:
        rec.pause()
        ingestor.stop()
        rec.stop()


def test_messages_cross_the_process_boundary_and_bad_ones_become_dead_letters(mosquitto: Mosquitto,
                                                                              tmp_path: Path) -> None:
    prefix = f"zqrx{next(_ids)}"
    engine = sqlite_engine(tmp_path)
    ingestor = Ingestor(engine, make_decoder(prefix), batch_size=100, batch_ms=50).start()
    topic = f"{prefix}/441204/road_weather/{RW}"
    with receiving(mosquitto, ingestor, prefix, f"rx-{next(_ids)}") as rec:
        # A malformed message among good ones, and one naming another station than its topic.
        other = orjson.dumps(road("441204", 7, ts=T0 + timedelta(hours=1)))
        mosquitto.pub_lines(topic, [reading(0), b"{not json", reading(1), other, reading(2)], qos=1)
        wait_until(lambda: ingestor.stats.stored + ingestor.stats.dead == 5, "five messages handled", 30)
        assert rec.received == 5
    assert stored_readings(engine) == 3
    with Session(engine) as s:
        letters = {d.payload: d.reason for d in s.scalars(select(DeadLetter))}
        status = s.get(FeedStatus, "road_weather")
    assert set(letters) == {b"{not json", other}
    assert "not valid UTF-8 JSON" in letters[b"{not json"]
    assert "topic names device_id" in letters[other]
    assert status is not None and (status.messages, status.dead_letters) == (3, 2)


def test_a_dead_receiver_is_noticed_and_replaced_and_nothing_is_lost(mosquitto: Mosquitto, tmp_path: Path) -> None:
    prefix, client_id = f"zqrx{next(_ids)}", f"rx-{next(_ids)}"
    engine = sqlite_engine(tmp_path)
    ingestor = Ingestor(engine, make_decoder(prefix), batch_size=100, batch_ms=50).start()
    topic = f"{prefix}/441204/road_weather/{RW}"
    with receiving(mosquitto, ingestor, prefix, client_id) as rec:
        mosquitto.pub_lines(topic, [reading(i) for i in range(100)], qos=1)
        wait_until(lambda: stored_readings(engine) == 100, "the first hundred", 30)
        first = rec.pid
        assert first is not None and first in children(os.getpid())
        # Ctrl-C and a service manager's SIGTERM reach the child too: it stays until the worker stops it.
        os.kill(first, signal.SIGTERM)
        os.kill(first, signal.SIGINT)
        mosquitto.pub_lines(topic, [reading(i) for i in range(100, 150)], qos=1)
        wait_until(lambda: stored_readings(engine) == 150, "more, through the same receiver", 30)
        assert rec.restarts == 0 and rec.pid == first and alive(first)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: rec.restarts == 1 and rec.pid != first, "the receiver replaced", 30)
        assert not alive(first)
        assert rec.subscribed.wait(20), "the new receiver never subscribed"
        mosquitto.pub_lines(topic, [reading(i) for i in range(150, 300)], qos=1)
        wait_until(lambda: stored_readings(engine) == 300, "the rest, through the new receiver", 30)
    assert ingestor.stats.dead == 0
    assert not alive(rec.pid or 0), "the receiver outlived stop()"


def test_a_worker_killed_between_receive_and_commit_loses_nothing_and_leaves_no_receiver(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    # QoS 1 acknowledgements cross back to the receiver only after the commit: a worker killed with messages
    # received but uncommitted has acknowledged none of them, so the broker sends them to the next worker.
    prefix, client_id = f"zqrx{next(_ids)}", f"rx-{next(_ids)}"
    engine = sqlite_engine(tmp_path)
    db = tmp_path / "zq.sqlite3"
    topic = f"{prefix}/441204/road_weather/{RW}"
    probe_topic = f"{prefix}/441204/road_weather/44120400041316000098"
    probes = itertools.count()

    def probe() -> None:
        ts = T0 - timedelta(hours=1) + timedelta(seconds=next(probes))
        mosquitto.pub_lines(probe_topic, [orjson.dumps(road("441204", 98, ts=ts))], qos=1)

    def probed() -> bool:
        with Session(engine) as s:
            return bool(s.scalar(select(func.count()).select_from(Observation)
                                 .where(Observation.device_id == "44120400041316000098")))

    @contextmanager
    def worker(log: Path) -> Iterator[subprocess.Popen[bytes]]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZQ_") or k == "ZQ_PLUGINS"}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "feeds", "ingest", "--db", f"sqlite:///{db}", "--mqtt",
                 f"mqtt://127.0.0.1:{mosquitto.port}", "--mqtt-prefix", prefix, "--mqtt-client-id", client_id,
                 "--mqtt-qos", "1", "--mqtt-session-expiry-s", "600", "--no-simulate", "--no-poll",
                 "--batch-ms", "50"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group, signalled whole as systemd or Ctrl-C would
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def until(condition, what: str, proc: subprocess.Popen[bytes], log: Path, poke=None) -> None:  # noqa: ANN001
        def check() -> bool:
            assert proc.poll() is None, f"worker exited waiting for {what}: {log.read_text(errors='replace')}"
            if poke is not None and not condition():
                poke()
            return bool(condition())
        wait_until(check, what, 60)

    first_log = tmp_path / "first.log"
    with worker(first_log) as first:
        until(probed, "the worker subscribed (a probe stored)", first, first_log, probe)
        (receiver,) = children(first.pid)
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # the worker can receive but not commit
        try:
            mosquitto.pub_lines(topic, [reading(i) for i in range(200)], qos=1)
            until(lambda: "store unavailable writing" in first_log.read_text(errors="replace"),
                  "a batch received and held uncommitted", first, first_log)
            first.kill()  # SIGKILL: no drain, no goodbye
            first.wait()
            wait_until(lambda: not alive(receiver), "the receiver to follow its worker", 30)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
    assert stored_readings(engine) == 0

    second_log = tmp_path / "second.log"
    with worker(second_log) as second:
        until(lambda: stored_readings(engine) == 200, "every message, redelivered", second, second_log)
        (receiver,) = children(second.pid)
        os.killpg(second.pid, signal.SIGTERM)  # the receiver too: it waits for the worker to drain and stop it
        assert second.wait(30) == 0, second_log.read_text(errors="replace")
        wait_until(lambda: not alive(receiver), "the receiver to stop with its worker", 30)
    with Session(engine) as s:
        values = s.scalars(select(Observation.data["visibility_m"].as_float()).where(Observation.device_id == RW))
        assert sorted(values) == sorted(1000.0 + i % 7000 for i in range(200))


def test_lists_longer_than_a_batch_are_split_into_batches_in_order(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    committed: list[list[str]] = []
    ingestor = Ingestor(engine, make_decoder(), batch_size=10, batch_ms=50,
                        on_commit=lambda ms, good, bad: committed.append([m.payload.decode() for m in ms]))
    topic = f"zq/441204/road_weather/{RW}"
    msgs = [Message(topic, reading(i), T0 + timedelta(seconds=i)) for i in range(25)]
    ingestor.submit_many(msgs)
    ingestor.start()
    assert ingestor.drain(30)
    ingestor.stop()
    assert [len(b) for b in committed] == [10, 10, 5]
    assert sum(committed, []) == [m.payload.decode() for m in msgs]
    assert stored_readings(engine) == 25 and ingestor.stats.batches == 3
