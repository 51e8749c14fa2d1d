"""the report-time index of cases carries all a replay reads: a city's ~9,000 open cases read from the index alone

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# As store.models.REPLAY_COLUMNS is today (a migration keeps its own copy: the models may move on).
REPLAY_COLUMNS = ["updated_at", "step", "id", "kind", "category", "subcategory", "county_adcode", "lon", "lat"]


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index('ix_grid_events_reported', table_name='grid_events')
    op.create_index('ix_grid_events_reported', 'grid_events', ['reported_at', 'closed_at', *REPLAY_COLUMNS])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index('ix_grid_events_reported', table_name='grid_events')
    op.create_index('ix_grid_events_reported', 'grid_events', ['reported_at', 'closed_at'])
