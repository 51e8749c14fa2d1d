"""The service as an operations centre runs it, on real servers: PostgreSQL, Mosquitto, Redis; the web role under
gunicorn with two workers; two ingest processes on one MQTT shared subscription; two alerts candidates. An
outside publisher (mosquitto_pub) sends road-weather readings (twenty stations go into red fog) and grid events;
meanwhile the alerts leader and one ingest process are killed with SIGKILL (the ingest process comes back, as
its service manager would bring it). Afterwards every message is stored once, every fog alarm exists once, every
webhook arrived once, every grid event has its case, and the standby took over within 10 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from clock import process_clock
from roles import ALIVE_S, cluster_status
from store import ingest_log, make_engine
from store.models import Alarm, Case, DeadLetter, Delivery, GridEvent, Lease, Observation
from tests.alerts.receiver import Receiver
from tests.conftest import PgCopies
from tests.feeds.samples import event, iso, road
from tests.servers import Mosquitto, Redis, free_port, wait_for_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]
ROOT = Path(__file__).resolve().parents[2]
STATIONS, READINGS, FOGGY, EVENTS, ROUNDS = 40, 60, 20, 30, 6
OWNER_HOOK = "市委政法委"  # the social theme's owner: its fog alarms reach this hook


class Proc:
    """A process of the cluster, its output in a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logdir: Path) -> None:
        self.name, self.cmd, self.env = name, cmd, env
        self.url = ""  # the web role's address
        self.log = logdir / f"{name}.log"
        self.popen = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def restart(self) -> None:
        self.popen = self._start()

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> int | None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                return self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.poll()

    def output(self) -> str:
        # Alembic names each of its plugins at start: forty lines that would fill the tail a failure shows.
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if "alembic.runtime.plugins" not in line)[-4000:]


@contextmanager
def cluster(db: str, broker: Mosquitto, cache: Redis, hook: str, logdir: Path) -> Iterator[dict[str, Proc]]:
    env = {**os.environ, "ZQ_DB": db, "ZQ_CACHE": cache.url, "ZQ_SECRET_KEY": "cluster-test-secret",
           "ZQ_WEBHOOKS": json.dumps({OWNER_HOOK: hook}, ensure_ascii=False), "ZQ_MQTT": broker.url,
           "ZQ_MQTT_PREFIX": "zqc", "ZQ_TICK_SECONDS": "1"}
    app = [sys.executable, str(ROOT / "app.py")]
    port = free_port()
    procs: dict[str, Proc] = {}
    with ExitStack() as stack:
        procs["web"] = Proc("web", [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
                                    f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app"], env, logdir)
        for i in (1, 2):
            procs[f"ingest-{i}"] = Proc(f"ingest-{i}", [*app, "--roles", "ingest", "--mqtt-share-group", "zqc",
                                                        "--mqtt-client-id", f"zqc-ingest-{i}", "--batch-ms", "50"],
                                        env, logdir)
        for i in (1, 2):
            procs[f"alerts-{i}"] = Proc(f"alerts-{i}", [*app, "--roles", "alerts"], env, logdir)
        stack.callback(lambda: [p.stop() for p in procs.values()])
        wait_for_port(port, 60)
        procs["web"].url = f"http://127.0.0.1:{port}"
        yield procs


def leader(engine: Engine, name: str = "alerts") -> tuple[str, int] | None:
    with Session(engine) as s:
        row = s.execute(select(Lease.holder, Lease.epoch).where(Lease.name == name)).first()
    return (row[0], int(row[1])) if row and row[0] else None


def count(engine: Engine, *where: Any, model: Any) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_cluster_loses_nothing_and_does_nothing_twice_when_its_leader_and_a_worker_die(
        pg_copies: PgCopies, mosquitto: Mosquitto, redis: Redis, receiver: Callable[..., Receiver],
        tmp_path: Path) -> None:
    db = pg_copies.take()  # migrated already: the processes find nothing to migrate
    engine = make_engine(db)
    hook = receiver([200])
    base = process_clock().now() - timedelta(minutes=15)

    def station(i: int) -> str:
        return f"4412040004131600{i:04d}"

    def reading(i: int, k: int) -> bytes:
        foggy = i < FOGGY and k >= READINGS // 2  # the first twenty stations go into red fog halfway
        body = road("441204", 9000 + i, ts=iso(base + timedelta(seconds=k)), visibility_m=30.0 if foggy else 900.0,
                    name=f"测试{i}号站", device_id=station(i))
        return json.dumps(body, ensure_ascii=False).encode()

    with cluster(db, mosquitto, redis, hook.url, tmp_path) as procs:
        web = procs["web"].url
        # Five processes start at once: on a busy two-core machine their imports alone took 20 s.
        first = wait_until(lambda: leader(engine), "an alerts leader", 120, procs, interval=0.2)
        # A shared subscription with no member yet drops what is published to it (there is no session to keep it):
        # the devices' stream starts once both ingest workers have subscribed, as it would in a running city.
        wait_until(lambda: _subscribed(engine) >= 2, "both ingest workers subscribed", 60, procs, interval=0.2)
        per_round = READINGS // ROUNDS
        for r in range(ROUNDS):
            for i in range(STATIONS):
                mosquitto.pub_lines(f"zqc/441204/road_weather/{station(i)}",
                                    [reading(i, k) for k in range(r * per_round, (r + 1) * per_round)])
            for n in range(r * EVENTS // ROUNDS, (r + 1) * EVENTS // ROUNDS):
                for step in (1, 2, 3):
                    ev = event("441202", 700 + n, step=step, ts=iso(base + timedelta(minutes=step)))
                    mosquitto.pub(f"zqc/441202/grid_event/{ev['event_id']}", json.dumps(ev, ensure_ascii=False))
            if r == 2:  # the alerts leader dies mid-stream
                holder = first[0]
                victim = next(p for n, p in procs.items() if n.startswith("alerts") and f":{p.popen.pid}:" in holder)
                killed = time.monotonic()
                victim.kill()
                second = wait_until(lambda: (lead := leader(engine)) and lead[0] != holder and lead, "the standby "
                                    "to take over", 15, procs, must_run=False, interval=0.2)
                took_over = time.monotonic() - killed
                assert second[1] == first[1] + 1  # a new term
            if r == 3:  # an ingest worker dies with messages in flight; its service manager restarts it
                procs["ingest-1"].kill()
                time.sleep(1.0)  # an outage, not a wait: systemd brings it back after RestartSec (deploy/systemd)
                procs["ingest-1"].restart()

        total = STATIONS * READINGS
        try:
            wait_until(lambda: count(engine, model=Observation) == total, f"all {total} readings stored", 90, procs,
                       must_run=False, interval=0.2)
        except AssertionError as e:
            with Session(engine) as s:
                have = {(d, ts) for d, ts in s.execute(select(Observation.device_id, Observation.ts))}
                dead = [(d.topic, d.reason[:80]) for d in s.scalars(select(DeadLetter)).all()][:5]
            start = base.replace(microsecond=0)
            have_s = {(d, int(ts.timestamp())) for d, ts in have}
            missing = sorted((i, k) for i in range(STATIONS) for k in range(READINGS)
                             if (station(i), int((start + timedelta(seconds=k)).timestamp())) not in have_s)
            per = Counter(i for i, _ in missing)
            raise AssertionError(f"{len(have)} of {total} stored; missing per station {dict(per)}; first "
                                 f"{missing[:12]}; dead letters {dead}") from e
        running = {"must_run": False, "interval": 0.2}  # the killed leader stays dead
        wait_until(lambda: count(engine, model=GridEvent) == EVENTS, "all grid events stored", 30, procs, **running)
        with Session(engine) as s:
            last = ingest_log.last_seq(s)
        wait_until(lambda: _cursor(engine) >= last, "the log judged to its end", 60, procs, **running)
        wait_until(lambda: count(engine, Case.origin == "grid_event", model=Case) == EVENTS, "a case per event", 30,
                   procs, **running)
        # The log is judged to its end, so every delivery is queued (in the alarm's transaction). Once none is
        # pending, every request has reached the hook (it records before answering, the notifier marks a delivery
        # sent after the answer): nothing sent twice can arrive later. A delivery the killed leader had claimed
        # is sent again when its claim runs out (Notifier.claim_s, 50 s), within the 90 s.
        wait_until(lambda: count(engine, model=Delivery) >= FOGGY
                   and count(engine, Delivery.status == "pending", model=Delivery) == 0,
                   "every queued webhook sent", 90, procs, **running)
        assert len([r for r in hook.requests if _event(r) == "raised"]) >= FOGGY, "a webhook per alarm"

        with Session(engine) as s:
            alarms = s.scalars(select(Alarm).where(Alarm.rule == "social/fog")).all()
        sources = Counter(a.source for a in alarms)
        assert sorted(sources) == sorted(station(i) for i in range(FOGGY)) and set(sources.values()) == {1}
        keys = Counter(r["headers"]["Idempotency-Key"] for r in hook.requests)
        assert set(keys.values()) == {1}, keys  # no delivery twice
        raised = Counter(json.loads(r["body"])["alarm"]["id"] for r in hook.requests if _event(r) == "raised")
        assert sorted(raised) == sorted(a.id for a in alarms) and set(raised.values()) == {1}
        assert took_over <= 10, took_over
        print(f"standby took over {took_over:.1f} s after the leader was killed")  # for the record (pytest -s)

        # The web role under gunicorn: both workers answer, and /healthz tells the cluster's state.
        def healthz() -> tuple[dict[str, Any], str | None]:
            with urllib.request.urlopen(web + "/healthz", timeout=30) as r:
                return json.loads(r.read()), r.headers.get("Server")

        def ingest_alive(health: dict[str, Any]) -> int:
            alive = [p for p in health["cluster"]["processes"] if p["alive"]]
            return sorted(r for p in alive for r in p["roles"]).count("ingest")

        # The killed worker (SIGKILL: no goodbye) counts as alive until its last report is ALIVE_S old; when the
        # run above was quick that is not yet so. Two alive, the restarted one included, once it has aged out.
        wait_until(lambda: ingest_alive(healthz()[0]) == 2, "the killed ingest worker aged out of the list",
                   ALIVE_S + 15, procs, **running)
        health, server = healthz()
        assert server == "zq"  # not gunicorn's name and version: a scanner's first clue (docs/security.md)
        assert health["process"]["roles"] == [] and health["process"]["web"] is True
        assert {lease["name"] for lease in health["cluster"]["leases"]} >= {"alerts", "notify"}
        assert health["cluster"]["lag_batches"]["alerts"] == 0
        alive = [p for p in health["cluster"]["processes"] if p["alive"]]
        assert [p["leases"].get("alerts") for p in alive if "alerts" in p["roles"]].count("leader") == 1
        for name in ("web", "ingest-1", "ingest-2", "alerts-1", "alerts-2"):
            if procs[name].popen.poll() is None:
                assert procs[name].stop() == 0, (name, procs[name].output())  # SIGTERM: a clean exit


def _subscribed(engine: Engine) -> int:
    """Ingest processes that report their MQTT subscription acknowledged."""
    return sum(1 for p in cluster_status(engine, process_clock().now())["processes"]
               if p["alive"] and "ingest" in p["roles"] and p.get("subscribed"))


def _cursor(engine: Engine) -> int:
    with Session(engine) as s:
        return ingest_log.cursor(s, "alerts")


def _event(request: dict[str, Any]) -> str:
    return request["headers"]["X-ZQ-Event"]


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())
