"""Alembic environment: runs on the connection the caller hands in (see store.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store.models import Base
from store.partitions import not_a_partition

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Run migrations on the given connection, or on a URL for the alembic CLI."""
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          include_name=not_a_partition)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic.ini names no sqlalchemy.url and no connection was handed over")
    engine = create_engine(url)
    with engine.begin() as c:
        context.configure(connection=c, target_metadata=target_metadata, render_as_batch=True,
                          include_name=not_a_partition)
        with context.begin_transaction():
            context.run_migrations()


run()
