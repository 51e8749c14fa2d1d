"""a covering index of case steps (event_id, step, ts): a replay reads a case's step then from the index alone

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index('ix_grid_event_steps_event_step_ts', 'grid_event_steps', ['event_id', 'step', 'ts'])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index('ix_grid_event_steps_event_step_ts', table_name='grid_event_steps')
