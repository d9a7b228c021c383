"""Processed Stripe events: webhook deliveries already applied, so a replay changes nothing.

Revision ID: 0002_stripe_event
Revises: 0001
Create Date: 2026-12-03 16:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0002_stripe_event'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('processed_stripe_event',
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processed_stripe_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_processed_stripe_event_event_id'))
    )


def downgrade():
    op.drop_table('processed_stripe_event')
