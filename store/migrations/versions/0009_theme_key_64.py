"""theme version keys up to 64 characters: a county override's key is <theme>@<adcode>

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('theme_versions', schema=None) as batch_op:
        batch_op.alter_column('theme_key', existing_type=sa.String(length=32), type_=sa.String(length=64),
                              existing_nullable=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('theme_versions', schema=None) as batch_op:
        batch_op.alter_column('theme_key', existing_type=sa.String(length=64), type_=sa.String(length=32),
                              existing_nullable=False)
