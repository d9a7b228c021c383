"""Staff administration: /admin. The blueprint lives here so other areas can register ModelAdmins
(portal.admin.listing.register) before the app registers it."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
