"""Wires the feeds together: registry, decoder, ingest worker, MQTT subscriber and simulator."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from feeds.decode import Decoder
from feeds.ingest import Ingestor
from feeds.mqtt import MqttPublisher, MqttSubscriber
from feeds.registry import FeedRegistry
from feeds.simulator import Simulator, SimulatorThread
from geo import CountyLocator, county_names
from settings import Settings

log = logging.getLogger(__name__)


class FeedService:
    """Everything that moves data into the store; `start()` and `stop()` are the only switches."""

    def __init__(self, settings: Settings, engine: Engine, feeds: FeedRegistry) -> None:
        self.settings = settings
        self.decoder = Decoder(settings.mqtt_prefix, feeds, CountyLocator.for_city(settings.city), settings.city,
                               county_names(settings.city))
        self.ingestor = Ingestor(engine, self.decoder, settings.batch_size, settings.batch_ms)
        self.subscriber: MqttSubscriber | None = None
        self.publisher: MqttPublisher | None = None
        self.simulator: SimulatorThread | None = None

    def start(self, ingest: bool = True, simulate: bool | None = None) -> FeedService:
        """Start ingest (MQTT subscriber when a broker is set) and, if asked, the simulator."""
        s = self.settings
        if ingest:
            self.ingestor.start()
            if s.mqtt:
                self.subscriber = MqttSubscriber(s.mqtt, s.mqtt_prefix, s.mqtt_client_id,
                                                 self.ingestor.submit).start()
        if s.simulate if simulate is None else simulate:
            sim = Simulator(s.city, s.mqtt_prefix, s.simulator_seed, s.simulator_speed)
            if s.mqtt:
                # With a broker the simulator is one more outside publisher, exercising the MQTT path.
                self.publisher = MqttPublisher(s.mqtt, f"{s.mqtt_client_id}-simulator").start()
                sink = self.publisher.publish
            else:
                sink = self.ingestor.submit
            self.simulator = SimulatorThread(sim, sink).start()
        return self

    def stop(self) -> None:
        """Stop producing, then write what was received, then disconnect."""
        if self.simulator:
            self.simulator.stop()
        if self.publisher:
            self.publisher.stop()
        if self.subscriber:
            self.subscriber.stop()
        self.ingestor.stop()
