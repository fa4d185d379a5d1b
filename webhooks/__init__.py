"""Inbound channel webhooks: each verifies its request, then calls services."""

from flask import Blueprint

webhooks_bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from webhooks import messenger, telegram, twilio  # noqa: E402,F401 - routes
