"""MQTT v5 clients (paho-mqtt 2, callback API v2): the ingest subscriber and a publisher."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from settings import Settings

log = logging.getLogger(__name__)

# The broker statistics the subscriber follows ($SYS, Mosquitto's names; other brokers may not have them).
BROKER_STATS = ("$SYS/broker/publish/messages/dropped", "$SYS/broker/version", "$SYS/broker/store/messages/count")
# topic, payload, receive time (None: the receiver stamps it with the process's clock), how to acknowledge
Deliver = Callable[[str, bytes, datetime | None, Callable[[], None] | None], None]


@dataclass(frozen=True)
class Broker:
    """Where and how to connect: host, port, credentials, TLS."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> Broker:
        """The broker named by --mqtt and the --mqtt-* settings."""
        assert s.mqtt, "no broker configured"
        host, port, tls = parse_broker(s.mqtt)
        return cls(host, port, tls or s.mqtt_tls, s.mqtt_username,
                   s.mqtt_password.get_secret_value() if s.mqtt_password else None,
                   s.mqtt_ca_file, s.mqtt_cert_file, s.mqtt_key_file)


def parse_broker(url: str) -> tuple[str, int, bool]:
    """Host, port and TLS of an mqtt://host:port or mqtts://host:port URL."""
    u = urlparse(url if "://" in url else f"mqtt://{url}")
    if u.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
        raise ValueError(f"unsupported MQTT URL scheme {u.scheme!r}; use mqtt://host:port or mqtts://host:port")
    tls = u.scheme in ("mqtts", "ssl")
    return u.hostname or "127.0.0.1", u.port or (8883 if tls else 1883), tls


def _client(client_id: str, broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.reconnect_delay_set(min_delay=1, max_delay=30)  # paho's own exponential backoff
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=broker.ca_file, certfile=broker.cert_file, keyfile=broker.key_file,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return client


class MqttSubscriber:
    """Subscribes to `{prefix}/#` and hands each message, with a way to acknowledge it, to `deliver`.

    The session outlives disconnects (clean start off, a session expiry), so QoS 1 messages published while
    ingest is away wait at the broker. Acknowledgements are manual: `deliver` gets an `ack` that the
    ingest worker calls after the message's transaction commits, so nothing is acknowledged unstored.
    """

    def __init__(self, broker: Broker, prefix: str, client_id: str, deliver: Deliver, qos: int = 1,
                 session_expiry_s: int = 86400, share_group: str | None = None,
                 max_message_bytes: int | None = None) -> None:
        self.broker = broker
        self.max_message_bytes = max_message_bytes
        self.broker_stats: dict[str, str] = {}  # $SYS/broker/… as the broker last said them
        # The whole subtree, not `+/+/+`: a message on a malformed topic must reach dead letters too.
        self.topic = f"$share/{share_group}/{prefix}/#" if share_group else f"{prefix}/#"
        self.qos = qos
        self.session_expiry_s = session_expiry_s
        self.deliver = deliver
        self.subscribed = threading.Event()
        self.client = _client(client_id, broker)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    @classmethod
    def from_settings(cls, s: Settings, deliver: Deliver) -> MqttSubscriber:
        """A subscriber configured by the --mqtt-* settings."""
        return cls(Broker.from_settings(s), s.mqtt_prefix, s.mqtt_client_id, deliver, s.mqtt_qos,
                   s.mqtt_session_expiry_s, s.mqtt_share_group, s.mqtt_max_message_bytes)

    def start(self) -> MqttSubscriber:
        """Connect in the background; paho reconnects by itself if the broker goes away."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        if self.max_message_bytes:
            # MQTT v5's Maximum Packet Size: the broker never sends us more (a 50 MB message is not read into memory
            # at all); the topic and headers get their room on top of the payload's limit.
            props.MaximumPacketSize = self.max_message_bytes + 64 * 1024
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30,
                                  clean_start=self.session_expiry_s == 0, properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect (the broker keeps the session) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags, reason: ReasonCode,
                    _props: Properties | None) -> None:
        if reason.is_failure:
            log.error("MQTT connect to %s:%d refused: %s", self.broker.host, self.broker.port, reason)
            return
        log.info("MQTT connected to %s:%d (session present: %s)", self.broker.host, self.broker.port,
                 flags.session_present)
        client.subscribe(self.topic, qos=self.qos)
        # The broker's own statistics, for /healthz: a broker whose queue limits were reached drops messages and
        # says so here (a broker that forbids $SYS to this user just refuses it; ingest goes on).
        client.subscribe([(t, 0) for t in BROKER_STATS])

    def _on_subscribe(self, _client: mqtt.Client, _userdata: object, _mid: int, reasons: list[ReasonCode],
                      _props: Properties | None) -> None:
        if len(reasons) == len(BROKER_STATS):  # the $SYS subscription: optional
            if any(r.is_failure for r in reasons):
                log.info("the broker does not share its $SYS statistics with this user: %s", reasons)
            return
        if all(not r.is_failure for r in reasons):
            self.subscribed.set()
        else:
            log.error("MQTT subscription to %s refused: %s", self.topic, reasons)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object, reason: ReasonCode,
                       _props: Properties | None) -> None:
        self.subscribed.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.startswith("$SYS/"):
            self.broker_stats[msg.topic.removeprefix("$SYS/broker/")] = msg.payload.decode("utf-8", "replace")[:200]
            return
        ack: Callable[[], None] | None = None
        if msg.qos > 0:
            mid, qos = msg.mid, msg.qos

            def ack() -> None:  # called from the ingest thread after commit
                client.ack(mid, qos)

        # paho types a payload bytes or bytearray; a received one is bytes, which bytes() returns as it is.
        self.deliver(msg.topic, bytes(msg.payload), None, ack)


class MqttPublisher:
    """Publishes JSON payloads at QoS 1; used by the simulator when a broker is configured."""

    def __init__(self, broker: Broker, client_id: str) -> None:
        self.broker = broker
        self.client = _client(client_id, broker)
        self.connected = threading.Event()
        self.client.on_connect = self._on_connect

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        if not reason.is_failure:
            self.connected.set()

    def start(self) -> MqttPublisher:
        """Connect in the background."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        return self

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message for delivery at QoS 1."""
        self.client.publish(topic, payload, qos=1)

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()
