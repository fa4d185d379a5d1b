"""Inbound channel webhooks: each verifies its request, then calls services."""

from flask import Blueprint

webhooks_bp = Blueprint(
    "webhooks", __name__, url_prefix="/webhooks", template_folder="templates"
)

from webhooks import (  # noqa: E402,F401 - registers the routes
    messenger,
    telegram,
    twilio,
    voice,
    webchat,
)
