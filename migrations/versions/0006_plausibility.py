"""plausibility: per-indicator outlier factor, confirmed-outlier mark on submitted values

Revision ID: 0006_plausibility
Revises: 0005_inbox
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0006_plausibility'
down_revision: Union[str, None] = '0005_inbox'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outlier_factor', sa.Float(), nullable=True))
    with op.batch_alter_table('submission_value', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submission_value', schema=None) as batch_op:
        batch_op.drop_column('flag')
    with op.batch_alter_table('indicator', schema=None) as batch_op:
        batch_op.drop_column('outlier_factor')
