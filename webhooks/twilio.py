"""Twilio webhooks: every request must carry a valid ``X-Twilio-Signature``.

The signature covers the URL Twilio called, so behind a proxy it is checked
against ``BECKON_PUBLIC_URL`` + the path, not the address the proxy used.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import current_app, request
from twilio.request_validator import RequestValidator

from backend.api.errors import error_response
from backend.extensions import db
from backend.services import followups
from backend.services.errors import Invalid
from webhooks import webhooks_bp


def public_url() -> str:
    """The URL Twilio signed: the configured public address, else the request's."""
    base = current_app.config["BECKON"].PUBLIC_URL
    if not base:
        return request.url
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


def twilio_signed(view: Any) -> Any:
    """Refuse (403, nothing written) a request Twilio did not sign."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        token = current_app.config["BECKON"].TWILIO_AUTH_TOKEN
        if not token:
            return error_response(
                403, "not_configured", "Twilio webhooks need TWILIO_AUTH_TOKEN"
            )
        signature = request.headers.get("X-Twilio-Signature", "")
        params = request.form  # a MultiDict: repeated keys are all signed
        if not signature or not RequestValidator(token).validate(
            public_url(), params, signature
        ):
            return error_response(
                403, "bad_signature", "the X-Twilio-Signature header is not valid"
            )
        return view(*args, **kwargs)

    return checked


@webhooks_bp.post("/twilio/status")
@twilio_signed
def twilio_status():
    """A delivery status callback for a message we sent."""
    sid = request.form.get("MessageSid", "").strip()
    status = request.form.get("MessageStatus", "").strip()
    if not sid or not status:
        return error_response(
            400, "missing_field", "MessageSid and MessageStatus are required"
        )
    try:
        message = followups.apply_delivery_status(
            db.session, sid, status, error_code=request.form.get("ErrorCode") or None
        )
    except Invalid as exc:
        return error_response(422, exc.code, exc.message, exc.details)
    db.session.commit()
    if message is None:  # not one of ours (or long gone): nothing to update
        current_app.logger.info("status %s for unknown message %s", status, sid)
    return "", 204
