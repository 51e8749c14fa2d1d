"""A real HTTP server on loopback for webhook tests: scripted answers, every request kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Receiver:
    """A real HTTP server on loopback answering POSTs with scripted status codes; it keeps what it got."""

    codes: list[int]  # answered in turn; the last one repeats
    delay_s: float = 0.0
    location: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer(self) -> int:
        return self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the timeout test's client hangs up before the answer: expected, not worth a traceback


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on free ports; every one is stopped after the test."""
    started: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(codes: list[int], delay_s: float = 0.0, location: str | None = None) -> Receiver:
        rec = Receiver(list(codes), delay_s, location)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append({"path": self.path, "headers": self.headers, "body": body})
                code = rec.answer()
                if rec.delay_s:
                    time.sleep(rec.delay_s)  # a slow receiver, as the test asked
                self.send_response(code)
                if rec.location:
                    self.send_header("Location", rec.location)
                reply = b"receiver says no" if code >= 300 else b"ok"
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        rec.server = _Quiet(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=rec.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((rec.server, thread))
        return rec

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


