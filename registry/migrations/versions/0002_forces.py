"""Forces: the runtime table's forced count and Broken cause (status kwargs), and the record
of every force and release (docs/force-model.md).

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('runtime', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forced', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cause', sa.Text(), nullable=True))
    op.create_table('force_change',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('time', sa.Float(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=True),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('by', sa.String(length=255), nullable=True),
    sa.Column('since', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('force_change', schema=None) as batch_op:
        batch_op.create_index('ix_force_change_runtime_time', ['runtime_id', 'time'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('force_change', schema=None) as batch_op:
        batch_op.drop_index('ix_force_change_runtime_time')
    op.drop_table('force_change')
    with op.batch_alter_table('runtime', schema=None) as batch_op:
        batch_op.drop_column('cause')
        batch_op.drop_column('forced')
