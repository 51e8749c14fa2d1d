"""Entry point: parse settings and run the roles they name; nothing starts at import time.

`python app.py` serves the pages and runs every background role in one process (the default); `--roles`
chooses (web, ingest, alerts, poll, simulate). SIGTERM or Ctrl-C stops it gracefully: every role finishes its
batch, hands its lease back, and the process exits 0.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from types import FrameType

from pydantic_settings import CliApp

from clock import use
from settings import Settings, clock_of

log = logging.getLogger("app")


def main() -> None:
    """Parse `ZQ_*` variables and CLI flags, start the roles, serve the pages if the web role is one."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = CliApp.run(Settings)
    use(clock_of(settings))  # the process's one clock, --clock-start included
    roles = settings.active_roles()
    if "web" not in roles:
        run_background(settings)
        return
    from dashboard import create_app
    from dashboard.factory import settle
    from dashboard.headers import QuietRequestHandler

    app = create_app(settings)
    # Everything built so far lives for the whole run: keep the collector from rescanning it on every pass,
    # which otherwise costs the ingest path a third of its time (grid cells loaded first, so they are too).
    settle(app)
    # SIGTERM ends the development server's loop as Ctrl-C does (werkzeug returns from serve_forever on
    # KeyboardInterrupt); the roles are stopped below, not killed with the process.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app.run(host=settings.host, port=settings.port, debug=settings.debug, use_reloader=False,
                request_handler=QuietRequestHandler)
    finally:
        app.server.config["ZQ_RUNTIME"].stop()
        log.info("stopped")


def _interrupt(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_background(settings: Settings) -> None:
    """A process without pages: run its roles until SIGTERM or SIGINT, then stop them gracefully."""
    from dashboard.factory import create_runtime

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime = create_runtime(settings)
    gc.freeze()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runtime.stop()
        log.info("stopped")


if __name__ == "__main__":
    main()
