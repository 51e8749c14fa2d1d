"""indexes for reading cases by when they were opened or reported (the 综合评价 over a period)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 15:35:00
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index('ix_cases_opened_at', 'cases', ['opened_at'], unique=False)
    op.create_index('ix_case_steps_step_at', 'case_steps', ['step', 'at'], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index('ix_case_steps_step_at', table_name='case_steps')
    op.drop_index('ix_cases_opened_at', table_name='cases')
