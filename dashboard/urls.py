"""A URL's query string read and written: below the pages, so the server's scope checks read it as the pages do."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode


def query(search: str | None) -> dict[str, str]:
    """The URL's query string as a flat dict (first value of each key)."""
    return {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items() if v}


def href(path: str, **params: str | None) -> str:
    """A link with the given query parameters (None drops one)."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path
