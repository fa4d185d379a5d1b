"""The Dialogflow fulfillment blueprint, which the webhook registers on."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.exceptions import HTTPException

from backend.api.errors import handle_http_error
from backend.bodies import WEBHOOK, limit_bodies
from voice_skills.web import close_reader

google_bp = Blueprint("google", __name__, url_prefix="/webhooks/dialogflow")
google_bp.teardown_app_request(close_reader)
# a body past the webhooks' cap (413) or nested too deep (400), in the API's shape
limit_bodies(google_bp, WEBHOOK)
google_bp.register_error_handler(HTTPException, handle_http_error)
