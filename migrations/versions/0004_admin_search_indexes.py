"""Trigram indexes for the admin's substring search on users (email, username, phone) and entry paths.

Revision ID: 0004_admin_search
Revises: 0003_job_queue
Create Date: 2026-12-03 17:55:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_admin_search'
down_revision = '0003_job_queue'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_khoj_user_email_trgm', 'khoj_user', 'email'),
    ('ix_khoj_user_username_trgm', 'khoj_user', 'username'),
    ('ix_khoj_user_phone_number_trgm', 'khoj_user', 'phone_number'),
    ('ix_entry_file_path_trgm', 'entry', 'file_path'),
)


def upgrade():
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False, postgresql_using='gin',
                        postgresql_ops={column: 'gin_trgm_ops'})


def downgrade():
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table, postgresql_using='gin')
    # pg_trgm stays installed, like the vector extension: other objects may use it.
