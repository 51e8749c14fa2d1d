"""the counties a user is bound to (county scope): empty for city-level users

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 16:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counties', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('counties')
