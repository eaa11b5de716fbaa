"""Labels set on runtimes (fleet label) and staged rollouts (fleet deploy --canary ...).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 04:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('runtime_label',
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('set_at', sa.Float(), nullable=False),
    sa.Column('set_by', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('runtime_id', 'key')
    )
    op.create_table('rollout',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('by', sa.String(length=255), nullable=True),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )


def downgrade() -> None:
    op.drop_table('rollout')
    op.drop_table('runtime_label')
