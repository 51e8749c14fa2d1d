"""The web role under a WSGI server: `gunicorn --workers 4 --bind 0.0.0.0:8050 wsgi:app`.

Settings come from the environment (`ZQ_*`, as for app.py). A web worker runs the pages and nothing else: no
ingest, no rules, no threads of its own; run the other roles with `python app.py --roles ingest,alerts,…`
(docs/deployment.md). Workers that share a wall need the same ZQ_SECRET_KEY (sign-in) and, to share their
rendered ticks, ZQ_CACHE=redis://…
"""

from __future__ import annotations

from clock import use
from dashboard import create_app
from dashboard.factory import settle
from settings import Settings, clock_of

try:
    # gunicorn answers `Server: gunicorn` and has no setting to change it; its response class reads
    # this module global when it is made (app.py's server says `Server: zq` the same way, docs/security.md).
    import gunicorn.http.wsgi as _gunicorn_wsgi

    _gunicorn_wsgi.SERVER = "zq"
except ImportError:  # another WSGI server
    pass

settings = Settings()
use(clock_of(settings))
# Web workers start no background roles whatever ZQ_ROLES says: those run in their own processes.
dash_app = create_app(settings, start_feeds=False)
settle(dash_app)  # as app.py: grid cells loaded, the built app frozen out of the collector, collections spaced
app = dash_app.server
