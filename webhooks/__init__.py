"""Inbound channel webhooks: each verifies its request, then calls services."""

from flask import Blueprint

webhooks_bp = Blueprint(
    "webhooks", __name__, url_prefix="/webhooks", template_folder="templates"
)

from webhooks import messenger, telegram, twilio, webchat  # noqa: E402,F401 - routes
