"""Telegram: updates verified by ``X-Telegram-Bot-Api-Secret-Token`` (the
secret given to ``setWebhook``: ``beckon telegram set-webhook``).

Messages (words, or a photo, a voice note, a sticker...) and inline-keyboard
presses (callback queries) are taken on the one inbound path, deduplicated by
``update_id``, and answered from a Celery task with ``sendMessage``; other
updates are acknowledged and ignored.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import current_app, request

from backend.api.errors import error_response
from backend.conversation import Inbound
from backend.conversation.turn import take
from backend.models import Channel
from backend.services.errors import Invalid
from backend.shapes import as_dict, as_str
from backend.tasks import queue_answer
from webhooks.blueprint import webhooks_bp

log = logging.getLogger(__name__)


#: Message fields that carry something other than words.
MEDIA_FIELDS = (
    "photo",
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "contact",
)


def media_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """What a message carries besides words: its type and file id."""
    found = []
    for kind in MEDIA_FIELDS:
        item = message.get(kind)
        if isinstance(item, list):  # a photo comes in sizes, the largest last
            item = item[-1] if item else {}
        if isinstance(item, dict):
            file_id = as_str(item.get("file_id"))
            found.append({"type": kind, **({"file_id": file_id} if file_id else {})})
    return found


def words_of(update: dict[str, Any]) -> dict[str, Any] | None:
    """The chat, the words (or media) and who wrote them, from a message or a
    button press; None for anything else, or fields of the wrong shape."""
    if "message" in update:
        message = as_dict(update["message"])
        text = as_str(message.get("text")) or as_str(message.get("caption"))
        chat, person = as_dict(message.get("chat")), as_dict(message.get("from"))
        media, shown = media_of(message), None
    elif "callback_query" in update:
        query = as_dict(update["callback_query"])
        text, media = as_str(query.get("data")), []
        chat = as_dict(as_dict(query.get("message")).get("chat"))
        person = as_dict(query.get("from"))
        shown = as_str(query.get("id")) or None
    else:
        return None
    chat_id = chat.get("id")
    if not (text or media) or not isinstance(chat_id, int | str) or chat_id == "":
        return None
    names = (as_str(person.get("first_name")), as_str(person.get("last_name")))
    return {
        "chat": str(chat_id),
        "text": text,
        "media": media,
        "name": " ".join(n for n in names if n) or None,
        "locale": as_str(person.get("language_code")) or None,
        "callback_query_id": shown,
    }


@webhooks_bp.post("/telegram")
def telegram_update():
    """Telegram's updates. A verified body we cannot use is acknowledged and
    ignored: Telegram retries anything but a 2xx."""
    secret = current_app.config["BECKON"].TELEGRAM_SECRET_TOKEN
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return error_response(
            403, "bad_secret_token", "X-Telegram-Bot-Api-Secret-Token is not valid"
        )
    update = request.get_json(silent=True)
    if not isinstance(update, dict) or type(update.get("update_id")) is not int:
        log.warning("Telegram: ignored a body that is not an Update")
        return {"ok": True}
    message = inbound_of(update)
    if message is None:
        return {"ok": True}  # an edit, a join, a poll: nothing to answer
    try:
        received = take(message)
    except Invalid as exc:
        log.warning("Telegram: ignored an update: %s", exc.message)
        return {"ok": True}
    if not received.settled:
        queue_answer(received)
    return {"ok": True}


def inbound_of(update: dict[str, Any]) -> Inbound | None:
    """The message in an update (:func:`words_of`), to take; None when
    there is nothing to answer."""
    found = words_of(update)
    if found is None:
        return None
    extra: dict[str, Any] = {}
    if found["callback_query_id"]:
        extra["callback_query_id"] = found["callback_query_id"]
    if found["media"]:
        extra["media"] = found["media"]
    return Inbound(
        Channel.TELEGRAM,
        found["chat"],
        found["text"],
        message_id=str(update["update_id"]),
        locale=found["locale"],
        display_name=found["name"],
        payload=extra,
    )
