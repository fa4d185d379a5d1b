"""The Rasa assistant as the channels reach it: its REST channel.

``POST {RASA_URL}/webhooks/rest/webhook`` with ``{"sender", "message",
"metadata"}`` answers with a list of ``{"recipient_id", "text", "buttons"}``
(../shared/fixtures/rasa/rest_channel.json). A timeout or any failure is
:class:`AssistantUnreachable`, so the webhook can hold the message and say so.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from flask import current_app

from backend.services.inbound import Reply


class AssistantUnreachable(RuntimeError):
    """Rasa did not answer in time, or answered with an error."""


_session = requests.Session()


def ask(sender: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
    """The assistant's replies to one message, in order."""
    config = current_app.config["BECKON"]
    try:
        response = _session.post(
            f"{config.RASA_URL}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": metadata},
            timeout=config.RASA_TIMEOUT,
        )
        response.raise_for_status()
        answers = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise AssistantUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
    if not isinstance(answers, list):
        raise AssistantUnreachable("the assistant's answer is not a list")
    replies: list[Reply] = []
    for item in answers:
        if not isinstance(item, dict):
            continue
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in (item["buttons"] if isinstance(item.get("buttons"), list) else [])
            if isinstance(b, dict)
        ]
        if text or buttons:
            replies.append(Reply(text, buttons))
        # a response's custom part comes as an item of its own
        custom = item.get("custom")
        if isinstance(custom, dict) and custom.get("end_conversation"):
            if replies:
                replies[-1].end = True
            else:
                replies.append(Reply("", end=True))
    return replies


def intents_of(sender: str, message_ids: set[int]) -> dict[int, str]:
    """The intent the assistant read in each of our messages (sent with
    ``beckon_id`` in their metadata), from the sender's tracker (its HTTP
    API: ``rasa run --enable-api``); the ones it cannot say are left out."""
    config = current_app.config["BECKON"]
    params = {"include_events": "ALL"}
    if config.RASA_TOKEN:
        params["token"] = config.RASA_TOKEN
    try:
        response = _session.get(
            # Rasa (Sanic) takes the id as written: "+1...", "whatsapp:+1..."
            f"{config.RASA_URL}/conversations/{quote(sender, safe='+:@')}/tracker",
            params=params,
            timeout=5,
        )
        response.raise_for_status()
        events = response.json().get("events") or []
    except (requests.RequestException, ValueError, AttributeError):
        return {}
    found: dict[int, str] = {}
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict) or event.get("event") != "user":
            continue
        metadata = event.get("metadata") or {}
        ours = metadata.get("beckon_id") if isinstance(metadata, dict) else None
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}) if isinstance(parse, dict) else {}
        name = intent.get("name") if isinstance(intent, dict) else None
        if ours in message_ids and isinstance(name, str) and name:
            found[ours] = name
    return found
