from flask import Blueprint

bp = Blueprint("agents", __name__)
