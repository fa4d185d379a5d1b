"""One JSON error shape for the whole API: ``{"error": {code, message, details}}``."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from backend.bodies import too_large_message
from backend.schemas import error_message
from backend.services.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
)


class BadRequest(DomainError):
    """A request the API cannot read at all (a body that is not a JSON
    object, a malformed header): 400, where a bad field is 422."""

    code = "bad_request"


STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unauthorized: 401,
    Unavailable: 503,
    Forbidden: 403,
}
#: Seconds a client is asked to wait after a 503 (the SMS provider's outage).
RETRY_AFTER_SECONDS = 60

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def error_response(status: int, code: str, message: str, details: Any = None):
    body = {"error": {"code": code, "message": message, "details": details}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="beckon"'
    return response


def validation_details(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as ``[{"field": "when.from", "message": "..."}]``."""
    details = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"] if part != "__root__"]
        field = ".".join(loc).replace("from_", "from") or prefix.rstrip(".") or "body"
        message = error_message(err)
        details.append({"field": field, "message": message})
    return details


def handle_domain_error(exc: DomainError):
    status = next(
        (code for cls, code in STATUS_OF.items() if isinstance(exc, cls)), 400
    )
    if isinstance(exc, Unavailable) and exc.permanent:
        status = 502  # the provider refused it: waiting will not help
    response = error_response(status, exc.code, exc.message, exc.details)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_validation_error(exc: ValidationError):
    details = validation_details(exc)
    first = details[0] if details else {"field": "body", "message": "invalid"}
    return error_response(
        422, "validation_error", f"{first['field']}: {first['message']}", details
    )


def handle_http_error(exc: HTTPException):
    if isinstance(exc, RequestEntityTooLarge):
        return error_response(
            413, "too_large", too_large_message(request.max_content_length)
        )
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or exc.name)
