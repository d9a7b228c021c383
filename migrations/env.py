"""Alembic environment for Flask-Migrate, written for Flask-SQLAlchemy 3 (no deprecated get_engine())."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from portal.crypto import EncryptedString

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Render encrypted columns as the plain Text they are stored as, and pgvector types with their import."""
    if type_ == "type" and isinstance(obj, EncryptedString):
        return "sa.Text()"
    if type_ == "type" and obj.__class__.__module__.startswith("pgvector"):
        autogen_context.imports.add("import pgvector.sqlalchemy")
        return f"pgvector.sqlalchemy.Vector(dim={obj.dim})"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    # The computed tsvector's expression is compared by Alembic as text and always differs in
    # formatting; its definition lives in the model and the migration.
    # The job queue's tables (procrastinate_*) come from procrastinate's schema, not from our models.
    from portal.jobs.schema import include_object as include_queue_object

    return include_queue_object(obj, name, type_, reflected, compare_to)


def run_migrations_offline():
    context.configure(
        url=str(target_db.engine.url), target_metadata=target_db.metadata, literal_binds=True,
        render_item=render_item, compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_object", include_object)

    connectable = target_db.engine
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
