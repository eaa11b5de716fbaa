"""Initial schema: runtimes, status changes, logs, values (raw and 1-minute), programs,
installs, control calls, alarms, rules, deployments, registry runs, settings.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-30 11:35:56.169377

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('alarm',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('raised_at', sa.Float(), nullable=False),
    sa.Column('cleared_at', sa.Float(), nullable=True),
    sa.Column('acked_at', sa.Float(), nullable=True),
    sa.Column('acked_by', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_open', ['cleared_at'], unique=False)

    op.create_table('control_call',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('time', sa.Float(), nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=64), nullable=False),
    sa.Column('authid', sa.String(length=255), nullable=True),
    sa.Column('authrole', sa.String(length=64), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('result_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('control_call', schema=None) as batch_op:
        batch_op.create_index('ix_control_call_runtime_time', ['runtime_id', 'time'], unique=False)

    op.create_table('deployment',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('time', sa.Float(), nullable=False),
    sa.Column('by', sa.String(length=255), nullable=True),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('runtimes', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('install',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('installed_at', sa.Float(), nullable=False),
    sa.Column('installed_by', sa.String(length=255), nullable=True),
    sa.Column('deployment', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('install', schema=None) as batch_op:
        batch_op.create_index('ix_install_runtime_time', ['runtime_id', 'installed_at'], unique=False)

    op.create_table('log_message',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('time', sa.Float(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('msg_id', sa.BigInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('tick', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('log_message', schema=None) as batch_op:
        batch_op.create_index('ix_log_message_runtime_time', ['runtime_id', 'time'], unique=False)

    op.create_table('program',
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('stored_at', sa.Float(), nullable=False),
    sa.Column('stored_by', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('md5')
    )
    op.create_table('program_file',
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('md5', 'name')
    )
    op.create_table('registry_run',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('alive_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('rule',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('pattern', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('runtime',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('platform', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=True),
    sa.Column('log_counts', sa.Text(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('first_seen', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.Column('connected_since', sa.Float(), nullable=True),
    sa.Column('offline_since', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('status_change',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('time', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('status_change', schema=None) as batch_op:
        batch_op.create_index('ix_status_change_runtime_time', ['runtime_id', 'time'], unique=False)

    op.create_table('value_minute',
    sa.Column('var_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('minute', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('vmin', sa.Float(), nullable=False),
    sa.Column('vmax', sa.Float(), nullable=False),
    sa.Column('vmean', sa.Float(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('var_id', 'minute'),
    sqlite_with_rowid=False
    )
    op.create_table('value_raw',
    sa.Column('var_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('ts', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('var_id', 'ts'),
    sqlite_with_rowid=False
    )
    op.create_table('variable',
    sa.Column('var_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('runtime_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('var_id')
    )
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.create_index('ux_variable_runtime_name', ['runtime_id', 'name'], unique=True)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('variable', schema=None) as batch_op:
        batch_op.drop_index('ux_variable_runtime_name')

    op.drop_table('variable')
    op.drop_table('value_raw')
    op.drop_table('value_minute')
    with op.batch_alter_table('status_change', schema=None) as batch_op:
        batch_op.drop_index('ix_status_change_runtime_time')

    op.drop_table('status_change')
    op.drop_table('setting')
    op.drop_table('runtime')
    op.drop_table('rule')
    op.drop_table('registry_run')
    op.drop_table('program_file')
    op.drop_table('program')
    with op.batch_alter_table('log_message', schema=None) as batch_op:
        batch_op.drop_index('ix_log_message_runtime_time')

    op.drop_table('log_message')
    with op.batch_alter_table('install', schema=None) as batch_op:
        batch_op.drop_index('ix_install_runtime_time')

    op.drop_table('install')
    op.drop_table('deployment')
    with op.batch_alter_table('control_call', schema=None) as batch_op:
        batch_op.drop_index('ix_control_call_runtime_time')

    op.drop_table('control_call')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_index('ix_alarm_open')

    op.drop_table('alarm')
