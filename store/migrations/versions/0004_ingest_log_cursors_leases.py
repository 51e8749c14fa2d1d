"""ingest log, cursors, leases, processes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('ingest_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('cursors',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('leases',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('acquired_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('processes',
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('roles', sa.String(length=64), nullable=False),
    sa.Column('started_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('holder')
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('processes')
    op.drop_table('leases')
    op.drop_table('cursors')
    op.drop_table('ingest_log')
