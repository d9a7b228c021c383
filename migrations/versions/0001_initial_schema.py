"""Initial schema: every table of the data model, on PostgreSQL with pgvector.

Choices are CHECK constraints (non-native enums), so downgrade leaves no enum types behind.

Revision ID: 0001
Revises: 
Create Date: 2026-12-03 16:29:42.607709

"""
from alembic import op
import sqlalchemy as sa
import pgvector.sqlalchemy  # noqa: F401  (vector columns)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # pgvector must exist before the entry table's vector(384) column and its HNSW index.
    op.execute('CREATE EXTENSION IF NOT EXISTS vector')
    op.create_table('ai_model_api',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('api_key', sa.Text(), nullable=False),
    sa.Column('api_base_url', sa.String(length=2048), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_model_api')),
    sa.UniqueConstraint('name', name=op.f('uq_ai_model_api_name'))
    )
    op.create_table('khoj_user',
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('first_name', sa.String(length=150), server_default='', nullable=False),
    sa.Column('last_name', sa.String(length=150), server_default='', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('is_staff', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_superuser', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('date_joined', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.Column('uuid', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('phone_number', sa.String(length=16), nullable=True),
    sa.Column('verified_phone_number', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('verified_email', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('email_verification_code', sa.String(length=128), nullable=True),
    sa.Column('email_verification_code_expiry', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phone_verification_code', sa.String(length=128), nullable=True),
    sa.Column('phone_verification_code_expiry', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("phone_number ~ '^\\+[1-9][0-9]{6,14}$'", name=op.f('ck_khoj_user_phone_e164')),
    sa.CheckConstraint('session_version > 0', name=op.f('ck_khoj_user_session_version_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_khoj_user')),
    sa.UniqueConstraint('username', name=op.f('uq_khoj_user_username')),
    sa.UniqueConstraint('uuid', name=op.f('uq_khoj_user_uuid'))
    )
    with op.batch_alter_table('khoj_user', schema=None) as batch_op:
        batch_op.create_index('uq_khoj_user_email_lower', [sa.literal_column('lower(email)')], unique=True)

    op.create_table('process_lock',
    sa.Column('name', sa.Enum('index_content', 'scheduled_job', 'schedule_leader', 'apply_migrations', name='process_lock_name', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('max_duration_in_seconds', sa.Integer(), server_default='43200', nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('max_duration_in_seconds > 0', name=op.f('ck_process_lock_max_duration_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_lock')),
    sa.UniqueConstraint('name', name=op.f('uq_process_lock_name'))
    )
    op.create_table('rate_limit_record',
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_record'))
    )
    with op.batch_alter_table('rate_limit_record', schema=None) as batch_op:
        batch_op.create_index('ix_rate_limit_record_lookup', ['slug', 'identifier', 'created_at'], unique=False)

    op.create_table('search_model_config',
    sa.Column('name', sa.String(length=200), server_default='default', nullable=False),
    sa.Column('model_type', sa.Enum('text', name='search_model_type', native_enum=False, create_constraint=True, length=32), server_default='text', nullable=False),
    sa.Column('bi_encoder', sa.String(length=200), server_default='all-MiniLM-L6-v2', nullable=False),
    sa.Column('embeddings_inference_endpoint_type', sa.Enum('local', 'openai', 'huggingface', name='search_endpoint_type', native_enum=False, create_constraint=True, length=32), server_default='local', nullable=False),
    sa.Column('embeddings_inference_endpoint', sa.String(length=2048), nullable=True),
    sa.Column('embeddings_inference_endpoint_api_key', sa.Text(), nullable=True),
    sa.Column('bi_encoder_confidence_threshold', sa.Double(), server_default='0.18', nullable=False),
    sa.Column('cross_encoder', sa.String(length=200), nullable=True),
    sa.Column('cross_encoder_inference_endpoint', sa.String(length=2048), nullable=True),
    sa.Column('cross_encoder_inference_endpoint_api_key', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('bi_encoder_confidence_threshold >= 0 AND bi_encoder_confidence_threshold <= 2', name=op.f('ck_search_model_config_confidence_threshold_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_model_config')),
    sa.UniqueConstraint('name', name=op.f('uq_search_model_config_name'))
    )
    with op.batch_alter_table('search_model_config', schema=None) as batch_op:
        batch_op.create_index('uq_search_model_config_active', ['is_active'], unique=True, postgresql_where=sa.text('is_active'))

    op.create_table('voice_model_option',
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('price_tier', sa.Enum('free', 'standard', name='voice_model_price_tier', native_enum=False, create_constraint=True, length=32), server_default='standard', nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_model_option')),
    sa.UniqueConstraint('model_id', name=op.f('uq_voice_model_option_model_id'))
    )
    op.create_table('web_scraper',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Enum('Firecrawl', 'Olostep', 'Exa', 'Jina', 'Direct', name='web_scraper_type', native_enum=False, create_constraint=True, length=32), server_default='Direct', nullable=False),
    sa.Column('api_key', sa.Text(), nullable=True),
    sa.Column('api_url', sa.String(length=2048), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_scraper')),
    sa.UniqueConstraint('name', name=op.f('uq_web_scraper_name')),
    sa.UniqueConstraint('priority', name=op.f('uq_web_scraper_priority'))
    )
    op.create_table('audit_log',
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('object_type', sa.String(length=100), nullable=True),
    sa.Column('object_id', sa.String(length=100), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['khoj_user.id'], name=op.f('fk_audit_log_actor_id_khoj_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action', ['action'], unique=False)
        batch_op.create_index('ix_audit_log_actor_id', ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_log_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id'], unique=False)

    op.create_table('chat_model',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('friendly_name', sa.String(length=200), nullable=True),
    sa.Column('model_type', sa.Enum('openai', 'offline', 'anthropic', 'google', name='chat_model_type', native_enum=False, create_constraint=True, length=32), server_default='openai', nullable=False),
    sa.Column('price_tier', sa.Enum('free', 'standard', name='chat_model_price_tier', native_enum=False, create_constraint=True, length=32), server_default='free', nullable=False),
    sa.Column('max_prompt_size', sa.Integer(), nullable=True),
    sa.Column('subscribed_max_prompt_size', sa.Integer(), nullable=True),
    sa.Column('tokenizer', sa.String(length=200), nullable=True),
    sa.Column('vision_enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('strengths', sa.Text(), nullable=True),
    sa.Column('ai_model_api_id', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('max_prompt_size IS NULL OR max_prompt_size > 0', name=op.f('ck_chat_model_max_prompt_size_positive')),
    sa.CheckConstraint('subscribed_max_prompt_size IS NULL OR subscribed_max_prompt_size > 0', name=op.f('ck_chat_model_subscribed_max_prompt_size_positive')),
    sa.ForeignKeyConstraint(['ai_model_api_id'], ['ai_model_api.id'], name=op.f('fk_chat_model_ai_model_api_id_ai_model_api'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_model')),
    sa.UniqueConstraint('name', 'ai_model_api_id', name=op.f('uq_chat_model_name_ai_model_api_id'), postgresql_nulls_not_distinct=True)
    )
    with op.batch_alter_table('chat_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_model_ai_model_api_id'), ['ai_model_api_id'], unique=False)

    op.create_table('github_config',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('pat_token', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_github_config_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_github_config')),
    sa.UniqueConstraint('user_id', name=op.f('uq_github_config_user_id'))
    )
    op.create_table('google_user',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('azp', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('given_name', sa.String(length=255), nullable=True),
    sa.Column('family_name', sa.String(length=255), nullable=True),
    sa.Column('picture', sa.String(length=2048), nullable=True),
    sa.Column('locale', sa.String(length=35), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_google_user_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_user')),
    sa.UniqueConstraint('issuer', 'sub', name=op.f('uq_google_user_issuer_sub')),
    sa.UniqueConstraint('user_id', name=op.f('uq_google_user_user_id'))
    )
    op.create_table('khoj_api_user',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_hint', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), server_default='', nullable=False),
    sa.Column('accessed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_khoj_api_user_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_khoj_api_user')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_khoj_api_user_token_hash'))
    )
    with op.batch_alter_table('khoj_api_user', schema=None) as batch_op:
        batch_op.create_index('ix_khoj_api_user_user_id', ['user_id'], unique=False)

    op.create_table('notion_config',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('sync_status', sa.Enum('never', 'queued', 'running', 'done', 'failed', name='sync_status', native_enum=False, create_constraint=True, length=32), server_default='never', nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('files_indexed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('chunks_indexed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_notion_config_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notion_config')),
    sa.UniqueConstraint('user_id', name=op.f('uq_notion_config_user_id'))
    )
    op.create_table('subscription',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.Enum('trial', 'standard', name='subscription_type', native_enum=False, create_constraint=True, length=32), server_default='standard', nullable=False),
    sa.Column('is_recurring', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('renewal_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled_trial_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_subscription_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
    sa.UniqueConstraint('user_id', name=op.f('uq_subscription_user_id'))
    )
    op.create_table('user_voice_model_config',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('setting_id', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['setting_id'], ['voice_model_option.id'], name=op.f('fk_user_voice_model_config_setting_id_voice_model_option'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_user_voice_model_config_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_voice_model_config')),
    sa.UniqueConstraint('user_id', name=op.f('uq_user_voice_model_config_user_id'))
    )
    with op.batch_alter_table('user_voice_model_config', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_voice_model_config_setting_id'), ['setting_id'], unique=False)

    op.create_table('agent',
    sa.Column('creator_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('personality', sa.Text(), nullable=True),
    sa.Column('input_tools', postgresql.ARRAY(sa.String(length=20)), server_default='{}', nullable=False),
    sa.Column('output_modes', postgresql.ARRAY(sa.String(length=20)), server_default='{}', nullable=False),
    sa.Column('managed_by_admin', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('chat_model_id', sa.BigInteger(), nullable=True),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('style_color', sa.Enum('blue', 'green', 'red', 'yellow', 'orange', 'purple', 'pink', 'teal', 'cyan', 'lime', 'indigo', 'fuchsia', 'rose', 'sky', 'amber', 'emerald', name='agent_style_color', native_enum=False, create_constraint=True, length=32), server_default='orange', nullable=False),
    sa.Column('style_icon', sa.Enum('Lightbulb', 'Health', 'Robot', 'Aperture', 'GraduationCap', 'Jeep', 'Island', 'MathOperations', 'Asclepius', 'Couch', 'Code', 'Atom', 'ClockCounterClockwise', 'PencilLine', 'Chalkboard', 'Cigarette', 'CraneTower', 'Heart', 'Leaf', 'NewspaperClipping', 'OrangeSlice', 'SmileyMelting', 'YinYang', 'SneakerMove', 'Student', 'Oven', 'Gavel', 'Broadcast', name='agent_style_icon', native_enum=False, create_constraint=True, length=32), server_default='Lightbulb', nullable=False),
    sa.Column('privacy_level', sa.Enum('public', 'private', 'protected', name='agent_privacy_level', native_enum=False, create_constraint=True, length=32), server_default='private', nullable=False),
    sa.Column('is_hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_approved', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("input_tools <@ ARRAY['general', 'online', 'notes', 'webpage', 'code']::varchar[]", name=op.f('ck_agent_input_tools_known')),
    sa.CheckConstraint("output_modes <@ ARRAY['image', 'diagram']::varchar[]", name=op.f('ck_agent_output_modes_known')),
    sa.CheckConstraint('length(btrim(name)) > 0', name=op.f('ck_agent_name_not_blank')),
    sa.CheckConstraint('managed_by_admin = (creator_id IS NULL)', name=op.f('ck_agent_managed_by_admin_iff_no_creator')),
    sa.ForeignKeyConstraint(['chat_model_id'], ['chat_model.id'], name=op.f('fk_agent_chat_model_id_chat_model'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['creator_id'], ['khoj_user.id'], name=op.f('fk_agent_creator_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent')),
    sa.UniqueConstraint('slug', name=op.f('uq_agent_slug'))
    )
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_chat_model_id'), ['chat_model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_creator_id'), ['creator_id'], unique=False)

    op.create_table('github_repo_config',
    sa.Column('github_config_id', sa.BigInteger(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('branch', sa.String(length=255), server_default='main', nullable=False),
    sa.Column('sync_status', sa.Enum('never', 'queued', 'running', 'done', 'failed', name='sync_status', native_enum=False, create_constraint=True, length=32), server_default='never', nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('files_indexed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('chunks_indexed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sync_error', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['github_config_id'], ['github_config.id'], name=op.f('fk_github_repo_config_github_config_id_github_config'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_github_repo_config')),
    sa.UniqueConstraint('github_config_id', 'owner', 'name', 'branch', name=op.f('uq_github_repo_config_github_config_id_owner_name_branch'))
    )
    op.create_table('server_chat_settings',
    sa.Column('chat_default_id', sa.BigInteger(), nullable=True),
    sa.Column('chat_advanced_id', sa.BigInteger(), nullable=True),
    sa.Column('web_scraper_id', sa.BigInteger(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['chat_advanced_id'], ['chat_model.id'], name=op.f('fk_server_chat_settings_chat_advanced_id_chat_model'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['chat_default_id'], ['chat_model.id'], name=op.f('fk_server_chat_settings_chat_default_id_chat_model'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['web_scraper_id'], ['web_scraper.id'], name=op.f('fk_server_chat_settings_web_scraper_id_web_scraper'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_chat_settings')),
    sa.UniqueConstraint('priority', name=op.f('uq_server_chat_settings_priority'))
    )
    op.create_table('user_conversation_config',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('setting_id', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['setting_id'], ['chat_model.id'], name=op.f('fk_user_conversation_config_setting_id_chat_model'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_user_conversation_config_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_conversation_config')),
    sa.UniqueConstraint('user_id', name=op.f('uq_user_conversation_config_user_id'))
    )
    with op.batch_alter_table('user_conversation_config', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_conversation_config_setting_id'), ['setting_id'], unique=False)

    op.create_table('conversation',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('slug', sa.String(length=200), nullable=True),
    sa.Column('conversation_log', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text('\'{"chat": []}\'::jsonb'), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_conversation_agent_id_agent'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_conversation_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation'))
    )
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index('ix_conversation_user_id_updated_at', ['user_id', 'updated_at'], unique=False)

    op.create_table('file_object',
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('agent_id', sa.BigInteger(), nullable=True),
    sa.Column('file_name', sa.String(length=1024), nullable=False),
    sa.Column('raw_text', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('user_id IS NOT NULL OR agent_id IS NOT NULL', name=op.f('ck_file_object_has_owner')),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_file_object_agent_id_agent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_file_object_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_object')),
    sa.UniqueConstraint('user_id', 'agent_id', 'file_name', name=op.f('uq_file_object_user_id_agent_id_file_name'), postgresql_nulls_not_distinct=True)
    )
    with op.batch_alter_table('file_object', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_file_object_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_file_object_user_id'), ['user_id'], unique=False)

    op.create_table('entry',
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('agent_id', sa.BigInteger(), nullable=True),
    sa.Column('embeddings', pgvector.sqlalchemy.Vector(dim=384), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('compiled', sa.Text(), nullable=False),
    sa.Column('heading', sa.Text(), nullable=True),
    sa.Column('file_source', sa.Enum('computer', 'notion', 'github', 'web', name='entry_file_source', native_enum=False, create_constraint=True, length=32), server_default='computer', nullable=False),
    sa.Column('file_type', sa.Enum('image', 'pdf', 'plaintext', 'markdown', 'org', 'notion', 'github', 'conversation', 'docx', name='entry_file_type', native_enum=False, create_constraint=True, length=32), server_default='plaintext', nullable=False),
    sa.Column('file_path', sa.String(length=1024), nullable=True),
    sa.Column('file_name', sa.String(length=1024), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('hashed_value', sa.String(length=32), nullable=False),
    sa.Column('corpus_id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('search_model_id', sa.BigInteger(), nullable=True),
    sa.Column('file_object_id', sa.BigInteger(), nullable=True),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed("to_tsvector('english', coalesce(heading, '') || ' ' || compiled)", persisted=True), nullable=True),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('user_id IS NOT NULL OR agent_id IS NOT NULL', name=op.f('ck_entry_has_owner')),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_entry_agent_id_agent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_object_id'], ['file_object.id'], name=op.f('fk_entry_file_object_id_file_object'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['search_model_id'], ['search_model_config.id'], name=op.f('fk_entry_search_model_id_search_model_config'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['khoj_user.id'], name=op.f('fk_entry_user_id_khoj_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry'))
    )
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_index('ix_entry_agent_id_file_path', ['agent_id', 'file_path'], unique=False)
        batch_op.create_index('ix_entry_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_entry_embeddings_hnsw', ['embeddings'], unique=False, postgresql_using='hnsw', postgresql_ops={'embeddings': 'vector_cosine_ops'}, postgresql_with={'m': 16, 'ef_construction': 64})
        batch_op.create_index(batch_op.f('ix_entry_file_object_id'), ['file_object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entry_search_model_id'), ['search_model_id'], unique=False)
        batch_op.create_index('ix_entry_search_vector', ['search_vector'], unique=False, postgresql_using='gin')
        batch_op.create_index('ix_entry_user_id_file_path', ['user_id', 'file_path'], unique=False)
        batch_op.create_index('ix_entry_user_id_hashed_value', ['user_id', 'hashed_value'], unique=False)



def downgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('ix_entry_user_id_hashed_value')
        batch_op.drop_index('ix_entry_user_id_file_path')
        batch_op.drop_index('ix_entry_search_vector', postgresql_using='gin')
        batch_op.drop_index(batch_op.f('ix_entry_search_model_id'))
        batch_op.drop_index(batch_op.f('ix_entry_file_object_id'))
        batch_op.drop_index('ix_entry_embeddings_hnsw', postgresql_using='hnsw', postgresql_ops={'embeddings': 'vector_cosine_ops'}, postgresql_with={'m': 16, 'ef_construction': 64})
        batch_op.drop_index('ix_entry_created_at')
        batch_op.drop_index('ix_entry_agent_id_file_path')

    op.drop_table('entry')
    with op.batch_alter_table('file_object', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_object_user_id'))
        batch_op.drop_index(batch_op.f('ix_file_object_agent_id'))

    op.drop_table('file_object')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_user_id_updated_at')
        batch_op.drop_index(batch_op.f('ix_conversation_agent_id'))

    op.drop_table('conversation')
    with op.batch_alter_table('user_conversation_config', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_conversation_config_setting_id'))

    op.drop_table('user_conversation_config')
    op.drop_table('server_chat_settings')
    op.drop_table('github_repo_config')
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_creator_id'))
        batch_op.drop_index(batch_op.f('ix_agent_chat_model_id'))

    op.drop_table('agent')
    with op.batch_alter_table('user_voice_model_config', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_voice_model_config_setting_id'))

    op.drop_table('user_voice_model_config')
    op.drop_table('subscription')
    op.drop_table('notion_config')
    with op.batch_alter_table('khoj_api_user', schema=None) as batch_op:
        batch_op.drop_index('ix_khoj_api_user_user_id')

    op.drop_table('khoj_api_user')
    op.drop_table('google_user')
    op.drop_table('github_config')
    with op.batch_alter_table('chat_model', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_model_ai_model_api_id'))

    op.drop_table('chat_model')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_object')
        batch_op.drop_index('ix_audit_log_created_at')
        batch_op.drop_index('ix_audit_log_actor_id')
        batch_op.drop_index('ix_audit_log_action')

    op.drop_table('audit_log')
    op.drop_table('web_scraper')
    op.drop_table('voice_model_option')
    with op.batch_alter_table('search_model_config', schema=None) as batch_op:
        batch_op.drop_index('uq_search_model_config_active', postgresql_where=sa.text('is_active'))

    op.drop_table('search_model_config')
    with op.batch_alter_table('rate_limit_record', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_record_lookup')

    op.drop_table('rate_limit_record')
    op.drop_table('process_lock')
    with op.batch_alter_table('khoj_user', schema=None) as batch_op:
        batch_op.drop_index('uq_khoj_user_email_lower')

    op.drop_table('khoj_user')
    op.drop_table('ai_model_api')
    # The vector extension is left installed: other databases objects may use it, and it is harmless.
