"""Facebook Messenger: the subscription handshake, and events verified by
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret).

Texts, quick replies and postbacks are taken on the one inbound path and
answered by a Celery task through the Send API, so the webhook returns 200 at
once, as Meta requires; echoes, deliveries and reads are acknowledged and
ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app, request

from backend.api.errors import error_response
from backend.models import Channel
from webhooks import webhooks_bp
from webhooks.relay import take


def _config():
    return current_app.config["BECKON"]


@webhooks_bp.get("/messenger")
def messenger_handshake():
    """Meta's subscription check: echo the challenge for our verify token."""
    token = _config().MESSENGER_VERIFY_TOKEN
    given = request.args.get("hub.verify_token", "")
    if (
        request.args.get("hub.mode") == "subscribe"
        and token
        and hmac.compare_digest(given.encode(), token.encode())
    ):
        return (
            request.args.get("hub.challenge", ""),
            200,
            {"Content-Type": "text/plain"},
        )
    return error_response(403, "bad_verify_token", "hub.verify_token does not match")


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """Whether ``header`` is ``sha256=`` + HMAC-SHA256(secret, body)."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256="), expected)


def events(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The person's words in a webhook body: one dict per text, quick reply
    or postback, with the sender's page-scoped id and a message id."""
    found = []
    for entry in payload.get("entry") or []:
        for item in entry.get("messaging") or []:
            sender = str((item.get("sender") or {}).get("id") or "")
            message, postback = item.get("message"), item.get("postback")
            if not sender:
                continue
            if message and not message.get("is_echo"):
                quick = (message.get("quick_reply") or {}).get("payload")
                text = quick or message.get("text") or ""
                if text:
                    found.append(
                        {
                            "sender": sender,
                            "text": text,
                            "id": message.get("mid"),
                            "shown": message.get("text"),
                        }
                    )
            elif postback and postback.get("payload"):
                found.append(
                    {
                        "sender": sender,
                        "text": postback["payload"],
                        # a postback has an mid in current versions; else its moment
                        "id": postback.get("mid")
                        or f"postback:{sender}:{item.get('timestamp')}",
                        "shown": postback.get("title"),
                    }
                )
    return found


@webhooks_bp.post("/messenger")
def messenger_events():
    body = request.get_data(cache=True)
    if not signature_ok(
        body,
        request.headers.get("X-Hub-Signature-256", ""),
        _config().MESSENGER_APP_SECRET,
    ):
        return error_response(
            403, "bad_signature", "the X-Hub-Signature-256 header is not valid"
        )
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return error_response(400, "not_a_page_event", "expected a page webhook event")
    from backend.tasks import answer_message

    for event in events(payload):
        received = take(
            Channel.MESSENGER,
            event["sender"],
            event["text"],
            message_id=event["id"],
            payload={"shown": event["shown"]} if event["shown"] else None,
        )
        if not received.duplicate:
            answer_message.delay(received.message.id, event["sender"])
    return "EVENT_RECEIVED", 200, {"Content-Type": "text/plain"}
