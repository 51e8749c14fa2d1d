"""`python -m feeds ingest` and `python -m feeds simulate` as separate processes, through a real Mosquitto."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from feeds.__main__ import main
from feeds.simulator import CST, Simulator
from store import make_engine
from store.models import DeadLetter, Device, KpiMetric
from tests.feeds.samples import kpi
from tests.servers import Mosquitto
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30


class Proc:
    """A `python -m feeds …` process and the file its output goes to."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def feeds_process(tmp_path: Path, *args: str) -> Iterator[Proc]:
    """Run `python -m feeds …`; on the way out, SIGTERM it and require a clean exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZQ_") or k == "ZQ_PLUGINS"}
    log = tmp_path / f"{args[0]}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([sys.executable, "-m", "feeds", *args], cwd=ROOT, env=env, stdout=out,
                                 stderr=subprocess.STDOUT)
    proc = Proc(popen, log)
    try:
        yield proc
        assert popen.poll() is None, f"exited early: {proc.output()}"
        popen.send_signal(signal.SIGTERM)
        assert popen.wait(timeout=20) == 0, proc.output()
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()


def rows(engine: Engine, model: type, *where: object) -> int:
    with Session(engine) as s:
        if not inspect(s.get_bind()).has_table(model.__tablename__):
            return 0  # the process has not migrated the database yet
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_ingest_and_simulate_processes_through_the_broker(tmp_path: Path, mosquitto: Mosquitto) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(db)
    probes = iter(range(10_000))
    devices = {d.id for d in Simulator(seed=11).devices}

    def probe() -> None:
        """A KPI from an outside publisher: once one is stored, the ingest process is subscribed."""
        ts = datetime(2026, 11, 30, tzinfo=CST) + timedelta(seconds=next(probes))
        body = kpi("service.tongban", "441200", ts=ts)
        mosquitto.pub("zqcli/441200/kpi/service.tongban", orjson.dumps(body))

    def burst_stored() -> bool:
        # Devices and the plan's progress, which comes last in the simulator's first burst (27 of its 29 tasks
        # report; two never do).
        plan = rows(engine, KpiMetric, KpiMetric.key.like("plan.task.%"))
        return rows(engine, Device) == len(devices) and plan >= 27

    try:
        with feeds_process(tmp_path, "ingest", "--db", db, "--mqtt", mosquitto.url, "--mqtt-prefix", "zqcli",
                           "--mqtt-client-id", "cli-ingest", "--no-simulate", "--batch-ms", "50") as ingest:
            wait_until(lambda: rows(engine, KpiMetric) > 0, "the ingest process to subscribe", WAIT_S, [ingest],
                       interval=0.2, poke=probe)
            with feeds_process(tmp_path, "simulate", "--mqtt", mosquitto.url, "--mqtt-prefix", "zqcli",
                               "--mqtt-client-id", "cli", "--simulator-seed", "11") as sim:
                wait_until(burst_stored, "the simulator's first burst", WAIT_S, [sim, ingest])
        assert "ingesting into sqlite" in ingest.output() and "simulating 441200" in sim.output()
        with Session(engine) as s:
            assert set(s.scalars(select(Device.id))) == devices
        assert rows(engine, DeadLetter) == 0
    finally:
        engine.dispose()


def device_ids(engine: Engine) -> set[str]:
    if not rows(engine, Device):
        return set()  # not migrated yet, or nothing stored yet
    with Session(engine) as s:
        return set(s.scalars(select(Device.id)))


def device_kinds(engine: Engine) -> set[str]:
    if not rows(engine, Device):
        return set()
    with Session(engine) as s:
        return set(s.scalars(select(Device.kind).distinct()))


def test_ingest_follows_the_settings_and_runs_the_simulator_in_process(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'alone.sqlite3'}"
    engine = make_engine(db)
    devices = {d.id for d in Simulator(seed=12).devices}
    try:
        # No --mqtt and no --no-simulate: the settings' default runs the simulator in-process.
        args = ("ingest", "--db", db, "--simulator-seed", "12", "--batch-ms", "50")
        with feeds_process(tmp_path, *args) as ing:
            # The MQTT simulator's devices, and the polled stations of the simulated HTTP APIs beside them.
            wait_until(lambda: devices <= device_ids(engine) and {"air_quality", "hydrology"} <= device_kinds(engine),
                       "the simulator's devices", WAIT_S, [ing])
        assert rows(engine, DeadLetter) == 0
    finally:
        engine.dispose()


def test_simulate_without_a_broker_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    assert main(["simulate", "--mqtt-prefix", "zq"]) == 2
    assert "give --mqtt" in caplog.text


def test_schemas_refuses_unknown_arguments() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["schemas", "--db", "x"])
    assert exc.value.code == 2
