"""daily briefings (运行日报): the PDFs with their history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('briefings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('lang', sa.String(length=4), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('made_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('covers_to', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('render_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.create_index('ix_briefings_region_day', ['region', 'day'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.drop_index('ix_briefings_region_day')
    op.drop_table('briefings')
