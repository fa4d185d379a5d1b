"""The API's blueprint: its key check and its one JSON error shape."""

from __future__ import annotations

import math
import time
from functools import lru_cache

from flask import Blueprint, current_app, g, request
from limits import RateLimitItem, parse
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from backend.api import acting
from backend.api.acting import IDENTITY_HEADER
from backend.api.errors import (
    error_response,
    handle_domain_error,
    handle_http_error,
    handle_validation_error,
)
from backend.extensions import db, limiter
from backend.models import ApiKey, ApiScope
from backend.services.access import Acting, authenticate_api_key, has_scope
from backend.services.errors import DomainError, Forbidden

PREFIX = "/api/v1"
api_bp = Blueprint("api", __name__, url_prefix=PREFIX)


@api_bp.before_request
def require_api_key():
    """A live key (401), within its rate limit (429), with the route's scope
    (403); a key here by its assistant scope acts for the person it names."""
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
    if (spent := _spend_request_of(key)) is not None:
        return spent
    scope: ApiScope = view.beckon_scope
    if has_scope(key, scope):
        return None
    rule = getattr(view, "beckon_assistant", None)
    if rule is not None and has_scope(key, ApiScope.ASSISTANT):
        if rule is not acting.anyone:  # about someone: the person it acts for
            g.beckon_acting = Acting.parse(request.headers.get(IDENTITY_HEADER, ""))
        return None
    raise Forbidden(
        f"this API key lacks the '{scope.value}' scope that "
        f"{request.method} {request.path} needs (it has: "
        f"{', '.join(key.scopes) or 'none'})",
        code="missing_scope",
    )


@lru_cache(maxsize=8)
def _rate(limit: str) -> RateLimitItem:
    return parse(limit)


def _spend_request_of(key: ApiKey):
    """Count the request against the key's own limit (by its id, wherever it
    comes from); the 429 answer once it is spent, else None."""
    config = current_app.config["BECKON"]
    item = _rate(config.API_KEY_RATE_LIMIT)
    strategy = limiter.limiter
    if strategy.hit(item, "api-key", str(key.id)):
        return None
    reset, _ = strategy.get_window_stats(item, "api-key", str(key.id))
    wait = max(1, math.ceil(reset - time.time()))
    response = error_response(
        429,
        "rate_limited",
        f"this API key's limit of {config.API_KEY_RATE_LIMIT} is spent; "
        f"try again in {wait} s",
    )
    response.headers["Retry-After"] = str(wait)
    return response


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
