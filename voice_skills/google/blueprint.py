"""The Dialogflow fulfillment blueprint, which the webhook registers on."""

from __future__ import annotations

from flask import Blueprint

from voice_skills.web import close_reader

google_bp = Blueprint("google", __name__, url_prefix="/webhooks/dialogflow")
google_bp.teardown_app_request(close_reader)
