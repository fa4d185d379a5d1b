"""Facebook Messenger: the subscription handshake, and events verified by
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret).

Texts, quick replies, postbacks and attachments are taken on the one inbound
path and answered by a Celery task through the Send API, so the webhook
returns 200 at once, as Meta requires; echoes, deliveries and reads are
acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import current_app, request

from backend.api.errors import error_response
from backend.conversation import Inbound
from backend.conversation.turn import take
from backend.models import Channel
from backend.services.errors import Invalid
from backend.shapes import as_dict, as_list, as_str
from backend.tasks import queue_answer
from webhooks.blueprint import webhooks_bp

log = logging.getLogger(__name__)
ACKNOWLEDGED = ("EVENT_RECEIVED", 200, {"Content-Type": "text/plain"})


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


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's images, stickers, audio, files: their type and URL."""
    found = []
    for attachment in map(as_dict, as_list(message.get("attachments"))):
        payload = as_dict(attachment.get("payload"))
        found.append(
            {
                "type": as_str(attachment.get("type")) or "file",
                "url": as_str(payload.get("url")),
                **(
                    {"sticker_id": payload["sticker_id"]}
                    if "sticker_id" in payload
                    else {}
                ),
            }
        )
    return found


def events(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The person's messages in a webhook body: one dict per text, quick
    reply, postback or attachment, with the sender's page-scoped id and a
    message id. Anything else (echoes, deliveries, reads, fields of the
    wrong shape) is left out."""
    found = []
    for entry in map(as_dict, as_list(payload.get("entry"))):
        for item in map(as_dict, as_list(entry.get("messaging"))):
            sender = as_dict(item.get("sender")).get("id")
            sender = str(sender) if isinstance(sender, str | int) else ""
            message, postback = (
                as_dict(item.get("message")),
                as_dict(item.get("postback")),
            )
            moment = item.get("timestamp")
            if not sender:
                continue
            if message and not message.get("is_echo"):
                quick = as_str(as_dict(message.get("quick_reply")).get("payload"))
                text, media = (
                    quick or as_str(message.get("text")),
                    _attachments(message),
                )
                if text or media:
                    found.append(
                        {
                            "sender": sender,
                            "text": text,
                            "id": as_str(message.get("mid"))
                            or f"message:{sender}:{moment}",
                            "shown": as_str(message.get("text")) or None,
                            "media": media,
                        }
                    )
            elif as_str(postback.get("payload")):
                found.append(
                    {
                        "sender": sender,
                        "text": postback["payload"],
                        # a postback has an mid in current versions; else its moment
                        "id": as_str(postback.get("mid"))
                        or f"postback:{sender}:{moment}",
                        "shown": as_str(postback.get("title")) or None,
                        "media": [],
                    }
                )
    return found


@webhooks_bp.post("/messenger")
def messenger_events():
    """Meta's events. A verified body we cannot use is acknowledged (200) and
    ignored: Meta retries anything else, and would disable the webhook."""
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
        log.warning("Messenger: ignored a body that is not a page event")
        return ACKNOWLEDGED
    for message in inbound_of(payload):
        try:
            received = take(message)
        except Invalid as exc:
            log.warning("Messenger: ignored an event: %s", exc.message)
            continue
        if not received.settled:
            queue_answer(received)
    return ACKNOWLEDGED


def inbound_of(payload: dict[str, Any]) -> list[Inbound]:
    """The person's messages in a webhook body (:func:`events`), to take."""
    return [
        Inbound(
            Channel.MESSENGER,
            event["sender"],
            event["text"],
            message_id=event["id"],
            payload={
                **({"shown": event["shown"]} if event["shown"] else {}),
                **({"media": event["media"]} if event["media"] else {}),
            },
        )
        for event in events(payload)
    ]
