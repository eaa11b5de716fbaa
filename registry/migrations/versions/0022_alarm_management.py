"""Alarm management (issue 22): an alarm's priority, acknowledgement comment and shelving.

Revision ID: 0022
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('ack_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('shelved_at', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('shelved_until', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('shelved_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('shelve_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        for column in ('shelve_reason', 'shelved_by', 'shelved_until', 'shelved_at',
                       'ack_comment', 'priority'):
            batch_op.drop_column(column)
