"""Wires the feeds together: decoder, ingest worker, MQTT subscriber, HTTP poller and the simulators."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from clock import Clock
from feeds.decode import Decoder
from feeds.ingest import Ingestor
from feeds.mqtt import Broker, MqttPublisher, MqttSubscriber
from feeds.polling import Poller
from feeds.receiver import ReceiverProcess
from feeds.registry import FeedRegistry
from feeds.simhttp import SimulatedApis
from feeds.sources import DEFAULT_SOURCES, load_sources
from feeds.simulator import Simulator, SimulatorThread
from geo import CountyLocator, county_names
from settings import CITY_TZ, Settings, clock_of
from store import Batch
from store.repair import repair_future
from store.leases import Leadership

log = logging.getLogger(__name__)


class FeedService:
    """Everything that moves data into the store, for the roles a process runs: `start(roles)` and `stop()`.

    - ingest: the ingest worker and, with a broker, the MQTT subscriber (several processes may run it: with
      --mqtt-share-group they split one stream).
    - poll: the HTTP poller, under the `poll` lease (one poller in the cluster); with the simulate role in the
      same process it also serves the simulated HTTP APIs it polls.
    - simulate: the device simulator, under the `simulate` lease; with a broker it publishes there like any
      outside device, without one it hands messages to this process's ingest worker.
    A poller or an in-process simulator writes through this process's ingest worker even without the ingest
    role: the worker is only the write path.
    """

    def __init__(self, settings: Settings, engine: Engine, feeds: FeedRegistry,
                 on_batch: Callable[[Batch], None] | None = None, clock: Clock | None = None,
                 holder: str | None = None, derived: Mapping[str, str] | None = None,
                 receiver_process: bool = True) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock or clock_of(settings)
        self.holder = holder
        self.decoder = Decoder(settings.mqtt_prefix, feeds, CountyLocator.for_city(settings.city), settings.city,
                               county_names(settings.city), settings.max_future_s, derived)
        # on_batch: told after each commit (the alert role wakes up); feeds know nothing of rules.
        self.ingestor = Ingestor(engine, self.decoder, settings.batch_size, settings.batch_ms, on_batch=on_batch,
                                 clock=self.clock, log_hours=settings.ingest_log_hours)
        self.feeds = feeds
        self.roles: frozenset[str] = frozenset()
        # MQTT is received in a child process (feeds.receiver), so paho's network loop and decode/write do not
        # share one GIL; receiver_process=False keeps it in this process.
        self.receiver_process = receiver_process
        self.subscriber: MqttSubscriber | ReceiverProcess | None = None
        self.publisher: MqttPublisher | None = None
        self.simulator: SimulatorThread | None = None
        self.apis: SimulatedApis | None = None
        self.poller: Poller | None = None
        self.leases: dict[str, Leadership] = {}
        self._writer = False

    def start(self, roles: Iterable[str] = ("ingest", "poll", "simulate")) -> FeedService:
        """Start what the roles ask for; the singletons contend for their leases."""
        s = self.settings
        self.roles = roles = frozenset(roles)
        if "ingest" in roles:
            self.repair()
        self._writer = "ingest" in roles or "poll" in roles or ("simulate" in roles and not s.mqtt)
        if self._writer:
            self.ingestor.start()
        if "ingest" in roles and s.mqtt and self.receiver_process:
            self.subscriber = ReceiverProcess(Broker.from_settings(s), s.mqtt_prefix, s.mqtt_client_id,
                                              self.ingestor.submit_many, s.mqtt_qos, s.mqtt_session_expiry_s,
                                              s.mqtt_share_group, s.mqtt_max_message_bytes, self.clock)
            self.ingestor.on_acked = self.subscriber.flush_acks
            self.subscriber.start()
        elif "ingest" in roles and s.mqtt:
            self.subscriber = MqttSubscriber.from_settings(s, self.ingestor.submit).start()
        if "poll" in roles and (s.poll_sources or ("simulate" in roles and s.sim_http)):
            self.leases["poll"] = Leadership(self.engine, "poll", self.holder, on_gain=self._start_polling,
                                             on_lose=self._stop_polling).start()
        if "simulate" in roles:
            self.leases["simulate"] = Leadership(self.engine, "simulate", self.holder,
                                                 on_gain=self._start_simulator,
                                                 on_lose=self._stop_simulator).start()
        return self

    def repair(self) -> dict[str, int]:
        """Move what the store kept from the future (before such times were refused) out of the way of new data."""
        now = self.clock.now()
        with Session(self.engine) as s, s.begin():
            done = repair_future(s, now + timedelta(seconds=self.settings.max_future_s), now)
        if any(done.values()):
            log.warning("moved stored rows from the future out of the way: %s", done)
        return done

    def _start_polling(self) -> None:
        s = self.settings
        variables: dict[str, str] = {}
        if "simulate" in self.roles and s.sim_http:
            clock = self.clock
            self.apis = SimulatedApis(s.city, s.simulator_seed, clock=lambda: clock.now(CITY_TZ))
            variables["sim"] = self.apis.start()
        sources = load_sources(Path(s.poll_sources) if s.poll_sources else DEFAULT_SOURCES, self.feeds, variables)
        self.poller = Poller(sources, self.ingestor.submit, s.mqtt_prefix, now=self.clock.now).start()

    def _stop_polling(self) -> None:
        if self.poller:
            self.poller.stop()
            self.poller = None
        if self.apis:
            self.apis.stop()
            self.apis = None

    def _start_simulator(self) -> None:
        s = self.settings
        sim = Simulator(s.city, s.mqtt_prefix, s.simulator_seed, s.simulator_speed)
        if s.mqtt:
            # With a broker the simulator is one more outside publisher, exercising the MQTT path.
            self.publisher = MqttPublisher(Broker.from_settings(s), f"{s.mqtt_client_id}-simulator").start()
            sink = self.publisher.publish
        else:
            sink = self.ingestor.submit
        self.simulator = SimulatorThread(sim, sink, clock=self.clock).start()

    def _stop_simulator(self) -> None:
        if self.simulator:
            self.simulator.stop()
            self.simulator = None
        if self.publisher:
            self.publisher.stop()
            self.publisher = None

    def stop(self) -> None:
        """Stop producing (handing the leases back), write what was received (acknowledging it), disconnect."""
        for lease in self.leases.values():
            lease.stop()
        if isinstance(self.subscriber, ReceiverProcess):
            self.subscriber.pause()  # what the child holds is handed over, then written below
        if self._writer:
            self.ingestor.stop()
        if self.subscriber:
            self.subscriber.stop()
