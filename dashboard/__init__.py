"""The Dash app: factory, pages, panels and callbacks. The top layer: nothing below imports it."""

from dashboard.factory import create_app

__all__ = ["create_app"]
