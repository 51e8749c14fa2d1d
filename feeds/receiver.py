"""The MQTT receiver in a process of its own: paho's network loop apart from decode and write.

One Python process cannot receive with paho and decode and write at the same time: they share one GIL, and paho's
receive alone fills a core (see `make bench`). So the ingest worker starts a receiver child (`python -m
feeds.receiver`) that only receives and hands (topic, payload, mid) batches to the worker over a socket pair; the
worker decodes, writes and commits, then sends the mids back and the child acknowledges them to the broker. The
child holds the MQTT session, so QoS 1 acknowledgements still follow the commit: a message is acknowledged only
after its row is stored, whichever process dies first.

- The child dies with the worker: it reads the socket until end of file, which the kernel gives it when the
  worker is gone (SIGKILL included), and exits without acknowledging anything more.
- If the child dies, the worker sees the end of file, logs it, counts it and starts another after a pause; the
  broker sends the unacknowledged messages again to the new connection (the store keeps them once).
- Stopping drains: the child stops forwarding, hands over what it holds, the worker commits it all and sends the
  acknowledgements, then the child disconnects (the broker keeps the session).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from clock import Clock, process_clock
from feeds.ingest import Message
from feeds.mqtt import Broker, MqttSubscriber

log = logging.getLogger(__name__)

FLUSH_S = 0.02  # the longest a received message waits in the child before it is handed over
FLUSH_AT = 1000  # or as soon as this many are waiting
RESTART_S = 1.0  # pause before a dead child is replaced


class _Link:
    """One child process, its socket and the acknowledgements owed to its connection."""

    def __init__(self, proc: subprocess.Popen[bytes], conn: Connection) -> None:
        self.proc = proc
        self.conn = conn
        self.pending: list[tuple[int, int]] = []  # (mid, qos) committed and not yet sent to the child
        self.alive = True
        self.paused = threading.Event()
        self.lock = threading.Lock()  # one writer at a time on the socket (ingest thread, service thread)

    def send(self, item: tuple[Any, ...]) -> bool:
        """Send to the child; False when it is gone."""
        with self.lock:
            if not self.alive:
                return False
            try:
                self.conn.send(item)
                return True
            except OSError:
                self.alive = False
                return False


class ReceiverProcess:
    """The worker's side of the receiver child: the same face as MqttSubscriber (`subscribed`, `broker_stats`).

    `submit` gets each batch of received messages (feeds.ingest.Ingestor.submit_many); each QoS 1 message carries
    an `ack` that only marks it owed, and `flush_acks` (the Ingestor's on_acked) sends what is owed to the child.
    """

    def __init__(self, broker: Broker, prefix: str, client_id: str, submit: Callable[[list[Message]], None],
                 qos: int = 1, session_expiry_s: int = 86400, share_group: str | None = None,
                 max_message_bytes: int | None = None, clock: Clock | None = None) -> None:
        self.config = {"broker": asdict(broker), "prefix": prefix, "client_id": client_id, "qos": qos,
                       "session_expiry_s": session_expiry_s, "share_group": share_group,
                       "max_message_bytes": max_message_bytes, "log_level": logging.getLogger().getEffectiveLevel()}
        self.submit = submit
        self.clock = clock or process_clock()
        self.subscribed = threading.Event()
        self.broker_stats: dict[str, str] = {}
        self.received = 0
        self.restarts = 0  # children that died and were replaced
        self._link: _Link | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The current child's process id."""
        return self._link.proc.pid if self._link else None

    def start(self) -> ReceiverProcess:
        """Start the child and the thread that reads from it (and replaces it if it dies)."""
        self._link = self._spawn()
        self._thread = threading.Thread(target=self._run, name="mqtt-receiver", daemon=True)
        self._thread.start()
        return self

    def _spawn(self) -> _Link:
        ours, theirs = socket.socketpair()
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        proc = subprocess.Popen([sys.executable, "-m", "feeds.receiver", str(theirs.fileno())],
                                pass_fds=(theirs.fileno(),), cwd=root, env=env)
        theirs.close()
        conn = Connection(ours.detach())
        conn.send(self.config)  # credentials go over the socket, not the command line
        return _Link(proc, conn)

    def _run(self) -> None:
        while True:
            link = self._link
            assert link is not None
            self._read(link)
            with link.lock:
                link.alive = False
            self.subscribed.clear()
            link.paused.set()  # nothing more will come from this one
            code = link.proc.wait()
            link.conn.close()
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.error("the MQTT receiver process %d exited (code %s); starting another in %.0f s (unacknowledged "
                      "messages come again)", link.proc.pid, code, RESTART_S)
            if self._stopping.wait(RESTART_S):
                return
            self._link = self._spawn()

    def _read(self, link: _Link) -> None:
        """Hand what the child sends to the ingest worker until it is gone."""
        while True:
            try:
                kind, body = link.conn.recv()
            except (EOFError, OSError):
                return
            if kind == "m":
                now = self.clock.now()
                ack = link.pending.append
                self.submit([Message(t, p, now, partial(ack, (mid, q)) if q else None) for t, p, mid, q in body])
                self.received += len(body)
            elif kind == "s":
                subscribed, stats = body
                self.broker_stats = stats
                (self.subscribed.set if subscribed else self.subscribed.clear)()
            elif kind == "paused":
                link.paused.set()

    def flush_acks(self) -> None:
        """Send the owed acknowledgements to the child (called after each commit)."""
        link = self._link
        if link is None or not link.pending:
            return
        owed, link.pending[:] = list(link.pending), []
        link.send(("ack", owed))

    def pause(self, timeout: float = 10.0) -> None:
        """Stop forwarding and wait until what the child held has been handed over."""
        self._stopping.set()  # a child that dies from here on is not replaced
        link = self._link
        if link is not None and link.send(("pause", None)):
            link.paused.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Send the last acknowledgements, let the child disconnect (the broker keeps the session), wait for it."""
        self._stopping.set()
        link = self._link
        if link is None:
            return
        self.flush_acks()
        link.send(("stop", None))
        try:
            link.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the MQTT receiver process %d did not stop; killing it", link.proc.pid)
            link.proc.kill()
            link.proc.wait()
        if self._thread is not None:
            self._thread.join(timeout)


class _Forwarder(MqttSubscriber):
    """The child's subscriber: keeps (topic, payload, mid, qos) for the sender instead of delivering."""

    def __init__(self, conn: Connection, config: dict[str, Any]) -> None:
        super().__init__(Broker(**config["broker"]), config["prefix"], config["client_id"], self._unused,
                         config["qos"], config["session_expiry_s"], config["share_group"],
                         config["max_message_bytes"])
        self.conn = conn
        # Appended by paho's network thread, taken by the sender: a deque's append and popleft are atomic.
        self.held: deque[tuple[str, bytes, int, int]] = deque()
        self.forwarding = True
        self.dropped = 0
        self.lock = threading.Lock()  # the socket: sender thread and control thread

    @staticmethod
    def _unused(*_: object) -> None:
        raise AssertionError("the forwarder keeps messages itself")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        topic = msg.topic
        if topic.startswith("$SYS/"):
            super()._on_message(client, userdata, msg)
        elif self.forwarding:
            self.held.append((topic, bytes(msg.payload), msg.mid, msg.qos))  # (received as bytes: no copy)
        else:
            self.dropped += 1  # after pause: QoS 1 comes again next session; QoS 0 is gone as for any consumer

    def send_held(self) -> None:
        """Hand over what is held (one socket message)."""
        take = self.held.popleft
        held = [take() for _ in range(len(self.held))]
        if held:
            with self.lock:
                self.conn.send(("m", held))

    def sender(self, stop: threading.Event) -> None:
        """Hand over held messages every FLUSH_S (sooner when FLUSH_AT wait), and the subscription's state."""
        said: tuple[bool, dict[str, str]] | None = None
        next_status = 0.0
        while not stop.is_set():
            deadline = time.monotonic() + FLUSH_S
            while len(self.held) < FLUSH_AT and time.monotonic() < deadline and not stop.is_set():
                time.sleep(0.002)
            try:
                self.send_held()
                if time.monotonic() >= next_status:
                    now = (self.subscribed.is_set(), dict(self.broker_stats))
                    if now != said:
                        with self.lock:
                            self.conn.send(("s", now))
                        said = now
                    next_status = time.monotonic() + 0.2
            except OSError:
                return


def main(fd: int) -> None:
    """The child: receive, forward, acknowledge what the worker says is committed; exit when the worker is gone."""
    # Ctrl-C reaches the whole process group and systemd signals the whole unit: the worker stops the child itself,
    # after it has drained, so the child leaves only when told or when the worker is gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(fd)
    config = conn.recv()
    logging.basicConfig(level=config["log_level"], format="%(asctime)s %(levelname)s %(name)s[receiver]: %(message)s")
    sub = _Forwarder(conn, config)
    stop = threading.Event()
    sender = threading.Thread(target=sub.sender, args=(stop,), name="forward", daemon=True)
    sub.start()
    sender.start()
    while True:
        try:
            kind, body = conn.recv()
        except (EOFError, OSError):
            # The worker is gone (a crash or SIGKILL): acknowledge nothing more, leave; unacknowledged QoS 1
            # messages wait at the broker for the session's next connection.
            os._exit(0)
        if kind == "ack":
            for mid, qos in body:
                sub.client.ack(mid, qos)
        elif kind == "pause":
            sub.forwarding = False
            time.sleep(FLUSH_S)  # a message being appended by the network thread lands in `held` first
            stop.set()
            sender.join()
            sub.send_held()
            with sub.lock:
                conn.send(("paused", None))
        elif kind == "stop":
            stop.set()
            sender.join()
            if sub.dropped:
                logging.getLogger(__name__).info("%d messages arrived after the pause and were not taken",
                                                 sub.dropped)
            sub.stop()
            return


if __name__ == "__main__":
    main(int(sys.argv[1]))
