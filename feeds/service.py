"""Wires the feeds together: decoder, ingest worker, MQTT subscriber, HTTP poller and the simulators."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from clock import Clock
from feeds.decode import Decoder
from feeds.ingest import Ingestor
from feeds.mqtt import Broker, MqttPublisher, MqttSubscriber
from feeds.polling import Poller
from feeds.registry import FeedRegistry
from feeds.simhttp import SimulatedApis
from feeds.sources import DEFAULT_SOURCES, load_sources
from feeds.simulator import Simulator, SimulatorThread
from geo import CountyLocator, county_names
from settings import CITY_TZ, Settings, clock_of
from store import Batch

log = logging.getLogger(__name__)


class FeedService:
    """Everything that moves data into the store; `start()` and `stop()` are the only switches."""

    def __init__(self, settings: Settings, engine: Engine, feeds: FeedRegistry,
                 on_batch: Callable[[Batch], None] | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or clock_of(settings)
        self.decoder = Decoder(settings.mqtt_prefix, feeds, CountyLocator.for_city(settings.city), settings.city,
                               county_names(settings.city))
        # on_batch: who judges each committed batch (the alert engine); feeds know nothing of rules.
        self.ingestor = Ingestor(engine, self.decoder, settings.batch_size, settings.batch_ms, on_batch=on_batch,
                                 clock=self.clock)
        self.feeds = feeds
        self.subscriber: MqttSubscriber | None = None
        self.publisher: MqttPublisher | None = None
        self.simulator: SimulatorThread | None = None
        self.apis: SimulatedApis | None = None
        self.poller: Poller | None = None

    def start(self, ingest: bool = True, simulate: bool | None = None) -> FeedService:
        """Start ingest (MQTT subscriber when a broker is set, HTTP poller) and, if asked, the simulator."""
        s = self.settings
        simulating = s.simulate if simulate is None else simulate
        variables: dict[str, str] = {}
        if simulating and s.sim_http:
            clock = self.clock
            self.apis = SimulatedApis(s.city, s.simulator_seed, clock=lambda: clock.now(CITY_TZ))
            variables["sim"] = self.apis.start()
        if ingest:
            self.ingestor.start()
            if s.mqtt:
                self.subscriber = MqttSubscriber.from_settings(s, self.ingestor.submit).start()
            if s.poll and (s.poll_sources or self.apis):
                sources = load_sources(Path(s.poll_sources) if s.poll_sources else DEFAULT_SOURCES, self.feeds,
                                       variables)
                self.poller = Poller(sources, self.ingestor.submit, s.mqtt_prefix, now=self.clock.now).start()
        if simulating:
            sim = Simulator(s.city, s.mqtt_prefix, s.simulator_seed, s.simulator_speed)
            if s.mqtt:
                # With a broker the simulator is one more outside publisher, exercising the MQTT path.
                self.publisher = MqttPublisher(Broker.from_settings(s), f"{s.mqtt_client_id}-simulator").start()
                sink = self.publisher.publish
            else:
                sink = self.ingestor.submit
            self.simulator = SimulatorThread(sim, sink, clock=self.clock).start()
        return self

    def stop(self) -> None:
        """Stop producing, write what was received (acknowledging it), then disconnect."""
        if self.poller:
            self.poller.stop()
        if self.apis:
            self.apis.stop()
        if self.simulator:
            self.simulator.stop()
        if self.publisher:
            self.publisher.stop()
        self.ingestor.stop()
        if self.subscriber:
            self.subscriber.stop()
