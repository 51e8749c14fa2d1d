"""Entry point: parse settings and serve the dashboard; nothing starts at import time."""

from __future__ import annotations

import gc

from pydantic_settings import CliApp

from clock import use
from settings import Settings, clock_of


def main() -> None:
    """Parse `ZQ_*` variables and CLI flags, build the app and serve it."""
    settings = CliApp.run(Settings)
    use(clock_of(settings))  # the process's one clock, --clock-start included
    from dashboard import create_app

    app = create_app(settings)
    # Grid cells are loaded (or generated) now rather than on the first drill, so they are frozen too.
    app.server.config["ZQ_CONTEXT"].grids.get()
    # Everything built so far lives for the whole run: keep the collector from rescanning it on every pass,
    # which otherwise costs the ingest path a third of its time.
    gc.freeze()
    app.run(host=settings.host, port=settings.port, debug=settings.debug, use_reloader=False)


if __name__ == "__main__":
    main()
