"""an index of case steps by time (ts, event_id): a replay step finds the cases whose step changed since the last

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 22:45:00
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index('ix_grid_event_steps_ts', 'grid_event_steps', ['ts', 'event_id'])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index('ix_grid_event_steps_ts', table_name='grid_event_steps')
