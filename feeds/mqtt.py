"""MQTT v5 clients (paho-mqtt 2, callback API v2): the ingest subscriber and a publisher."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


def parse_broker(url: str) -> tuple[str, int]:
    """Host and port of an mqtt://host:port URL."""
    u = urlparse(url if "://" in url else f"mqtt://{url}")
    if u.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"unsupported MQTT URL scheme {u.scheme!r}; use mqtt://host:port")
    return u.hostname or "127.0.0.1", u.port or 1883


def _client(client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


class MqttSubscriber:
    """Subscribes to `{prefix}/#` at QoS 1 and hands every message to `on_message(topic, payload)`."""

    def __init__(self, url: str, prefix: str, client_id: str, on_message: Callable[[str, bytes], None]) -> None:
        self.host, self.port = parse_broker(url)
        # The whole subtree, not `+/+/+`: a message on a malformed topic must reach dead letters too.
        self.topic = f"{prefix}/#"
        self.on_message = on_message
        self.subscribed = threading.Event()
        self.client = _client(client_id)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def start(self) -> MqttSubscriber:
        """Connect in the background; paho reconnects by itself if the broker goes away."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode,
                    _props: Properties | None) -> None:
        if reason.is_failure:
            log.error("MQTT connect to %s:%d refused: %s", self.host, self.port, reason)
            return
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: object, _mid: int, reasons: list[ReasonCode],
                      _props: Properties | None) -> None:
        if all(not r.is_failure for r in reasons):
            self.subscribed.set()
        else:
            log.error("MQTT subscription to %s refused: %s", self.topic, reasons)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode,
                       _props: Properties | None) -> None:
        self.subscribed.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.on_message(msg.topic, msg.payload)


class MqttPublisher:
    """Publishes JSON payloads at QoS 1; used by the simulator when a broker is configured."""

    def __init__(self, url: str, client_id: str) -> None:
        self.host, self.port = parse_broker(url)
        self.client = _client(client_id)
        self.connected = threading.Event()
        self.client.on_connect = lambda *_a: self.connected.set()

    def start(self) -> MqttPublisher:
        """Connect in the background."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message for delivery at QoS 1."""
        self.client.publish(topic, payload, qos=1)

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()
