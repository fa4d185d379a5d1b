"""The webhooks' blueprint, which every channel's routes register on, and its
error answers."""

from __future__ import annotations

from flask import Blueprint
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from backend.api.errors import (
    handle_domain_error,
    handle_http_error,
    handle_validation_error,
)
from backend.bodies import WEBHOOK, limit_bodies
from backend.services.errors import DomainError

webhooks_bp = Blueprint(
    "webhooks", __name__, url_prefix="/webhooks", template_folder="templates"
)
# bad input is a clear 4xx in the API's one error shape, never a 500
webhooks_bp.register_error_handler(DomainError, handle_domain_error)
webhooks_bp.register_error_handler(ValidationError, handle_validation_error)
webhooks_bp.register_error_handler(HTTPException, handle_http_error)  # 405, 413...
# a channel's body is small: refused unread (413) past the webhooks' cap
limit_bodies(webhooks_bp, WEBHOOK)
