"""review: rounds that require review, a submission's review state and its history

Revision ID: 0009_review
Revises: 0008_web_login
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0009_review'
down_revision: Union[str, None] = '0008_web_login'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_review', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('approval_notice', sa.Boolean(), server_default='1', nullable=False))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.create_table(
        'submission_review',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('submission_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_review_submission_id'), ['submission_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submission_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_review_submission_id'))
    op.drop_table('submission_review')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('review')
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('approval_notice')
        batch_op.drop_column('requires_review')
