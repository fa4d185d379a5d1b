"""The API's blueprint: its key check and its one JSON error shape."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from backend.api.errors import (
    error_response,
    handle_domain_error,
    handle_http_error,
    handle_validation_error,
)
from backend.extensions import db
from backend.services.access import authenticate_api_key
from backend.services.errors import DomainError

PREFIX = "/api/v1"
api_bp = Blueprint("api", __name__, url_prefix=PREFIX)


@api_bp.before_request
def require_api_key():
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, "beckon_auth", True):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(
            401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'"
        )
    key = authenticate_api_key(db.session, token.strip())
    g.api_key_id = key.id  # the caller, whose Idempotency-Keys are its own
    if db.session.is_modified(key):
        db.session.commit()  # last_used_at, in its own short transaction
    return None


api_bp.register_error_handler(DomainError, handle_domain_error)
api_bp.register_error_handler(ValidationError, handle_validation_error)
api_bp.register_error_handler(HTTPException, handle_http_error)


@api_bp.app_errorhandler(404)
def _not_found(exc: HTTPException):
    if request.path.startswith(PREFIX):
        return error_response(404, "not_found", f"no such endpoint: {request.path}")
    return exc


@api_bp.app_errorhandler(405)
def _not_allowed(exc: HTTPException):
    if request.path.startswith(PREFIX):
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.path}",
        )
    return exc


@api_bp.app_errorhandler(500)
def _server_error(exc: Exception):
    if request.path.startswith(PREFIX):
        return error_response(500, "internal_error", "something went wrong on our side")
    return exc
