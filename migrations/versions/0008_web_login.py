"""web_login: single-use sign-in links of the web dashboard and the sessions they start

Revision ID: 0008_web_login
Revises: 0007_send_pace
Create Date: 2026-12-03
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008_web_login'
down_revision: Union[str, None] = '0007_send_pace'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'web_login',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('session_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('session_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
        sa.UniqueConstraint('session_hash'),
    )
    with op.batch_alter_table('web_login', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_login_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_login', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_login_person_id'))
    op.drop_table('web_login')
