"""Telegram: updates verified by ``X-Telegram-Bot-Api-Secret-Token`` (the
secret given to ``setWebhook``: ``beckon telegram set-webhook``).

Messages and inline-keyboard presses (callback queries) are taken on the one
inbound path, deduplicated by ``update_id``, and answered from a Celery task
with ``sendMessage``; other updates are acknowledged and ignored.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app, request

from backend.api.errors import error_response
from backend.models import Channel
from webhooks import webhooks_bp
from webhooks.relay import take


def words_of(update: dict[str, Any]) -> dict[str, Any] | None:
    """The chat, the words and who wrote them, from a message or a button press."""
    if "message" in update:
        message = update["message"] or {}
        text, chat = message.get("text"), message.get("chat") or {}
        person = message.get("from") or {}
        shown = None
    elif "callback_query" in update:
        query = update["callback_query"] or {}
        text = query.get("data")
        chat = (query.get("message") or {}).get("chat") or {}
        person = query.get("from") or {}
        shown = query.get("id")
    else:
        return None
    if not text or "id" not in chat:
        return None
    name = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
    return {
        "chat": str(chat["id"]),
        "text": text,
        "name": name or None,
        "locale": person.get("language_code"),
        "callback_query_id": shown,
    }


@webhooks_bp.post("/telegram")
def telegram_update():
    secret = current_app.config["BECKON"].TELEGRAM_SECRET_TOKEN
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return error_response(
            403, "bad_secret_token", "X-Telegram-Bot-Api-Secret-Token is not valid"
        )
    update = request.get_json(silent=True)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return error_response(400, "not_an_update", "expected a Telegram Update")
    found = words_of(update)
    if found is None:
        return {"ok": True}  # an edit, a join, a poll: nothing to answer
    received = take(
        Channel.TELEGRAM,
        found["chat"],
        found["text"],
        message_id=str(update["update_id"]),
        locale=found["locale"],
        display_name=found["name"],
        payload={"callback_query_id": found["callback_query_id"]}
        if found["callback_query_id"]
        else None,
    )
    if not received.duplicate:
        from backend.tasks import answer_message

        answer_message.delay(received.message.id, found["chat"])
    return {"ok": True}
