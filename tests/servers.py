"""Real servers for the tests: throw-away PostgreSQL clusters and Mosquitto brokers on free ports."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.waiting import wait_until


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on the port, or fail."""
    def accepts() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True

    wait_until(accepts, f"something to listen on 127.0.0.1:{port}", timeout, interval=0.05, retry_on=(OSError,))


def _pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: `make test` installs the Debian postgresql package")
    return Path(found[-1]).parent


@dataclass
class Postgres:
    """A running throw-away PostgreSQL cluster."""

    port: int
    datadir: Path
    bindir: Path
    as_postgres: list[str]
    options: str

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of a database on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are cut, as in a crash of the client's view)."""
        self.pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        """Start the stopped server again with its port and socket options."""
        self.pg_ctl("-o", self.options, "-l", str(self.datadir.parent / "log"), "start")

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on this cluster (stop, start, restart)."""
        subprocess.run(
            [*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", *args],
            check=True, capture_output=True,
        )


@contextmanager
def postgres_cluster(durable: bool = False) -> Iterator[Postgres]:
    """Initialise and start a cluster as the postgres user (it refuses root); stop and delete it after.

    Tests run it without fsync for speed; `durable` keeps PostgreSQL's defaults, as benchmarks must.
    """
    bindir = _pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="zq-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chmod(root, 0o755)
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    datadir = root / "data"
    port = free_port()
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
         "--no-sync", "-E", "UTF8", "--locale", "C"],
        check=True, capture_output=True,
    )
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    if not durable:
        opts += " -c fsync=off -c full_page_writes=off"
    pg = Postgres(port=port, datadir=datadir, bindir=bindir, as_postgres=as_postgres, options=opts)
    subprocess.run(
        [*as_postgres, str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(root / "log"),
         "-w", "start"],
        check=True, capture_output=True,
    )
    try:
        yield pg
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Mosquitto:
    """A running Mosquitto broker on loopback."""

    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path
    exe: str

    @property
    def url(self) -> str:
        """The broker as the app's --mqtt setting spells it."""
        return f"mqtt://127.0.0.1:{self.port}"

    def pub(self, topic: str, payload: str | bytes, qos: int = 1) -> None:
        """Publish one message with the real outside client, mosquitto_pub."""
        data = payload.encode() if isinstance(payload, str) else payload
        subprocess.run(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-V", "mqttv5", "-q", str(qos),
             "-t", topic, "-s"],
            input=data, check=True, capture_output=True, timeout=30,
        )

    def pub_many(self, lines: list[tuple[str, str]], qos: int = 1) -> None:
        """Publish several messages, one mosquitto_pub process each (as separate devices would)."""
        for topic, payload in lines:
            self.pub(topic, payload, qos)

    def pub_lines(self, topic: str, payloads: list[bytes], qos: int = 1) -> None:
        """Publish many messages on one topic through one mosquitto_pub (-l: a message per line)."""
        subprocess.run(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-V", "mqttv5", "-q", str(qos),
             "-t", topic, "-l"],
            input=b"\n".join(payloads) + b"\n", check=True, capture_output=True, timeout=120,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker (SIGTERM lets it write its persistence file)."""
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def start(self) -> None:
        """Start the broker again on the same port with the same config."""
        self.proc = subprocess.Popen([self.exe, "-c", str(self.workdir / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)


# What the harness sets for itself: where it listens, who may connect, where it keeps and logs things, how often.
HARNESS_KEYS = {"listener", "allow_anonymous", "password_file", "acl_file", "persistence", "persistence_location",
                "autosave_interval", "log_dest", "user", "sys_interval", "persistent_client_expiration"}


def shipped_broker_settings() -> list[str]:
    """The settings of deploy/mosquitto/zq.conf the tests share with production (queues, in-flight, sizes)."""
    conf = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / "zq.conf"
    out = []
    for line in conf.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and line.split()[0] not in HARNESS_KEYS:
            out.append(line)
    return out


@contextmanager
def mosquitto_broker(persistent: bool = False, extra: tuple[str, ...] = ()) -> Iterator[Mosquitto]:
    """Start Mosquitto with its own small config on a free loopback port; stop it after.

    `persistent` keeps sessions and queued QoS 1 messages on disk across a restart.
    """
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        raise RuntimeError("mosquitto not found: `make test` installs the Debian mosquitto package")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    workdir = Path(tempfile.mkdtemp(prefix="zq-mqtt-"))
    port = free_port()
    conf = workdir / "mosquitto.conf"
    # The production configuration's queue and size limits (deploy/mosquitto/zq.conf), on a test listener.
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", f"log_dest file {workdir / 'mosquitto.log'}",
             *shipped_broker_settings(), "sys_interval 1"]
    lines += (["persistence true", f"persistence_location {workdir}/", "autosave_interval 1"]
              if persistent else ["persistence false"])
    if os.geteuid() == 0:
        lines.append("user root")  # otherwise it drops to `mosquitto`, which cannot write our log
    lines += extra
    conf.write_text("\n".join(lines) + "\n")
    broker = Mosquitto(port=port, proc=subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                                        stderr=subprocess.DEVNULL), workdir=workdir, exe=exe)
    try:
        wait_for_port(port)
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Redis:
    """A running Redis server on loopback (no persistence)."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The server as the app's --cache setting spells it."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Start Debian's redis-server on a free loopback port, without saving anything; stop it after."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(exe).exists():
        raise RuntimeError("redis-server not found: `make test` installs the Debian redis-server package")
    workdir = Path(tempfile.mkdtemp(prefix="zq-redis-"))
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir), "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Redis(port=port, proc=proc)
    try:
        wait_for_port(port)
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def wsgi_thread(wsgi_app: Any) -> Iterator[str]:
    """A WSGI app (a Dash app's Flask server) on a free local port in a thread, for as long as the block runs:
    its URL. For pages a browser must load from the test's own process (its callbacks, its store)."""
    import logging
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
