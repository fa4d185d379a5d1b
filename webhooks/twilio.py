"""Twilio webhooks: every request must carry a valid ``X-Twilio-Signature``.

The signature covers the URL Twilio called, so behind a proxy it is checked
against ``BECKON_PUBLIC_URL`` + the path, not the address the proxy used.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Response, current_app, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from backend.api.errors import error_response
from backend.conversation import Inbound
from backend.conversation.outbox import note_delivery_status
from backend.conversation.turn import converse
from backend.models import Channel
from backend.services import inbound
from webhooks.blueprint import webhooks_bp
from webhooks.render import sms_bodies


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
    """A delivery status callback for a message we sent: through the REST
    API (its sid is ours already), or carried in TwiML (``?reply=`` names
    our record of it, see :func:`twilio_message`)."""
    form = inbound.clean(request.form.to_dict())
    sid = form.get("MessageSid", "").strip()
    status = form.get("MessageStatus", "").strip()
    if not sid or not status:
        return error_response(
            400, "missing_field", "MessageSid and MessageStatus are required"
        )
    message = note_delivery_status(
        sid,
        status,
        error_code=form.get("ErrorCode") or None,
        message_id=request.args.get("reply", type=int),
    )
    if message is None:  # not one of ours (or long gone): nothing to update
        current_app.logger.info("status %s for unknown message %s", status, sid)
    return "", 204


def twiml(response: MessagingResponse) -> Response:
    return Response(str(response), mimetype="application/xml")


#: Twilio sends at most this many media items with one message.
MAX_MEDIA = 10


def media_of(form) -> list[dict[str, str]]:
    """The pictures, audio or files an MMS or WhatsApp message carries."""
    count = min(max(_int(form.get("NumMedia")), 0), MAX_MEDIA)
    return [
        {
            "url": form.get(f"MediaUrl{i}", ""),
            "type": form.get(f"MediaContentType{i}", ""),
        }
        for i in range(count)
    ]


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def inbound_of(form) -> Inbound | None:
    """An SMS or WhatsApp message's form as a message to answer; None
    without its sender or sid."""
    sender = form.get("From", "").strip()
    sid = form.get("MessageSid", "").strip()
    if not sender or not sid:
        return None
    channel = Channel.WHATSAPP if sender.startswith("whatsapp:") else Channel.SMS
    media = media_of(form)
    return Inbound(
        channel,
        sender,
        form.get("Body", "").strip(),
        message_id=sid,
        metadata={"phone": sender.removeprefix("whatsapp:")},
        payload={
            "to": form.get("To"),
            "profile_name": form.get("ProfileName"),
            **({"media": media} if media else {}),
        },
        display_name=form.get("ProfileName") or None,
    )


@webhooks_bp.post("/twilio/sms")
@twilio_signed
def twilio_message():
    """An SMS or WhatsApp message (``From`` = ``whatsapp:+1...``), answered in
    TwiML; each reply's ``<Message action>`` brings its delivery status back."""
    message = inbound_of(request.form)
    if message is None:
        return error_response(400, "missing_field", "From and MessageSid are required")
    result = converse(message)
    response = MessagingResponse()
    rows: list = result.messages
    if len(rows) != len(result.replies):
        rows = [None] * len(result.replies)
    for reply, row in zip(result.replies, rows, strict=True):
        # Twilio reports the status of a TwiML message to its action URL
        status = {"action": url_for(".twilio_status", reply=row.id)} if row else {}
        for body in sms_bodies([reply]):
            response.message(body, **status)
    return twiml(response)
