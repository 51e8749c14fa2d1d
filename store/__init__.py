"""Persistence: typed SQLAlchemy models, migrations, the batch write path and panel queries.

A lower layer: it never imports dashboard/, layers/, topics/ or feeds/.
"""

from store.db import current_revision, lock, make_engine, migrate, snapshot
from store.writes import Batch, write_batch

__all__ = ["Batch", "current_revision", "lock", "make_engine", "migrate", "snapshot", "write_batch"]
