"""indexes for the audit log's filters and the run history, each with its order

The audit log's filters (the user by the name recorded, regardless of case; the
action; the object type; one object's history) each get an index that continues
with created_at, id, so a filtered page reads its newest rows in order and stops.
The user filter compares audit_log.actor_key, the name in lower case, new here and
filled from actor_name: a plain column, so its index needs no function of the app's
and any SQLite client can check it (an index on lower(actor_name) would not pass a
stock client's integrity_check once a name has a non-ASCII capital).
The new indexes replace the single-column ones on action and object_type, their
prefixes. job_runs: (status, scheduled_at) replaces the index on status, and the
index on job_id goes, since the unique (job_id, scheduled_at) serves a job's runs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column, plain CREATE / DROP INDEX (no batch mode): SQLite copies no table.
    op.add_column('audit_log', sa.Column('actor_key', sa.String(length=64), nullable=True))
    # As models.audit.actor_key_of: SQLite's lower() is the app's (Python's) on its connections.
    op.execute("UPDATE audit_log SET actor_key = substr(lower(actor_name), 1, 64)")
    op.create_index('ix_audit_log_actor_key_created_at', 'audit_log', ['actor_key', 'created_at', 'id'],
                    unique=False)
    op.create_index('ix_audit_log_action_created_at', 'audit_log', ['action', 'created_at', 'id'], unique=False)
    op.create_index('ix_audit_log_object_type_created_at', 'audit_log', ['object_type', 'created_at', 'id'],
                    unique=False)
    op.create_index('ix_audit_log_object_created_at', 'audit_log',
                    ['object_type', 'object_id', 'created_at', 'id'], unique=False)
    op.drop_index('ix_audit_log_action', table_name='audit_log')
    op.drop_index('ix_audit_log_object_type', table_name='audit_log')
    op.create_index('ix_job_runs_status_scheduled_at', 'job_runs', ['status', 'scheduled_at'], unique=False)
    op.drop_index('ix_job_runs_status', table_name='job_runs')
    op.drop_index('ix_job_runs_job_id', table_name='job_runs')


def downgrade():
    op.create_index('ix_job_runs_job_id', 'job_runs', ['job_id'], unique=False)
    op.create_index('ix_job_runs_status', 'job_runs', ['status'], unique=False)
    op.drop_index('ix_job_runs_status_scheduled_at', table_name='job_runs')
    op.create_index('ix_audit_log_object_type', 'audit_log', ['object_type'], unique=False)
    op.create_index('ix_audit_log_action', 'audit_log', ['action'], unique=False)
    op.drop_index('ix_audit_log_object_created_at', table_name='audit_log')
    op.drop_index('ix_audit_log_object_type_created_at', table_name='audit_log')
    op.drop_index('ix_audit_log_action_created_at', table_name='audit_log')
    op.drop_index('ix_audit_log_actor_key_created_at', table_name='audit_log')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('actor_key')
