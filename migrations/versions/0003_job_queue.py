"""Background job queue (procrastinate's schema) and two sync status columns.

procrastinate's schema SQL comes from the installed, pinned package. The DBAPI cursor runs it as one
script without parameter substitution (the SQL contains % signs and colons).

Revision ID: 0003_job_queue
Revises: 0002_stripe_event
Create Date: 2026-12-03 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '0003_job_queue'
down_revision = '0002_stripe_event'
branch_labels = None
depends_on = None

STATUS_TABLES = ('github_repo_config', 'notion_config')


def upgrade():
    from portal.jobs.schema import schema_sql

    cursor = op.get_bind().connection.cursor()
    try:
        cursor.execute(schema_sql())
    finally:
        cursor.close()
    for table in STATUS_TABLES:
        op.add_column(table, sa.Column('chunks_embedded', sa.Integer(), server_default='0', nullable=False))
        op.add_column(table, sa.Column('sync_notes', sa.Text(), nullable=True))


def downgrade():
    for table in STATUS_TABLES:
        op.drop_column(table, 'sync_notes')
        op.drop_column(table, 'chunks_embedded')
    op.execute("""
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
            procrastinate_workers CASCADE;
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
    """)
