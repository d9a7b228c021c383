import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

log = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: database unavailable: %s", exc.__class__.__name__)
        return False
