from flask import Blueprint

# The "models" area (AI model APIs, chat/voice model choice); the package name avoids portal.models.
bp = Blueprint("models", __name__)
