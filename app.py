"""Entry point: parse settings and serve the dashboard; nothing starts at import time."""

from __future__ import annotations

from pydantic_settings import CliApp

from settings import Settings


def main() -> None:
    """Parse `ZQ_*` variables and CLI flags, build the app and serve it."""
    settings = CliApp.run(Settings)
    from dashboard import create_app

    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, debug=settings.debug, use_reloader=False)


if __name__ == "__main__":
    main()
