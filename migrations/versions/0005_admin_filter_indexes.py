"""B-tree indexes for the admin's entry type/source filters and the users' "joined" filter.

Revision ID: 0005_admin_filters
Revises: 0004_admin_search
Create Date: 2026-12-03 17:45:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_admin_filters'
down_revision = '0004_admin_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_entry_file_type_id', 'entry', ['file_type', 'id'], unique=False)
    op.create_index('ix_entry_file_source_id', 'entry', ['file_source', 'id'], unique=False)
    op.create_index('ix_khoj_user_date_joined', 'khoj_user', ['date_joined'], unique=False)


def downgrade():
    op.drop_index('ix_khoj_user_date_joined', table_name='khoj_user')
    op.drop_index('ix_entry_file_source_id', table_name='entry')
    op.drop_index('ix_entry_file_type_id', table_name='entry')
