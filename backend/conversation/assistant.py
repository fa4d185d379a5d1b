"""The assistant a conversation is handed to, and Beckon's: Rasa.

An :class:`Assistant` answers one message with replies and says, later, what
it understood in each. The one in use is made by :func:`assistant_for` from
the configuration and kept in ``app.extensions`` (``context.assistant``), so
a test or a second engine can stand in.

Rasa is reached through its REST channel: ``POST {RASA_URL}/webhooks/rest/webhook``
with ``{"sender", "message", "metadata"}`` answers with a list of
``{"recipient_id", "text", "buttons"}`` (../shared/fixtures/rasa/rest_channel.json).
A timeout or any failure is :class:`AssistantUnreachable`, so the message can
be held and the person told.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import requests

from backend.config import Config
from backend.services.inbound import Reply

#: How long a tracker read may take (beat's batch, nobody waits on it).
TRACKER_TIMEOUT = 5


class AssistantUnreachable(RuntimeError):
    """The assistant did not answer in time, or answered with an error."""


class Assistant(Protocol):
    """What the conversation layer asks of an assistant."""

    def ask(self, sender: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        """The replies to one message, in order; :class:`AssistantUnreachable`
        when it cannot say."""
        ...

    def intents_of(self, sender: str, message_ids: set[int]) -> dict[int, str]:
        """The intent read in each of our messages (``beckon_id`` in their
        metadata); the ones it cannot say are left out."""
        ...


def assistant_for(config: Config) -> Assistant:
    """The assistant ``config`` names: Rasa at ``RASA_URL``."""
    return RasaAssistant(config.RASA_URL, config.RASA_TIMEOUT, config.RASA_TOKEN)


class RasaAssistant:
    """A Rasa server: its REST channel and its HTTP API (``--enable-api``)."""

    def __init__(self, url: str, timeout: float, token: str = "") -> None:
        self.url, self.timeout, self.token = url, timeout, token
        self.http = requests.Session()

    def ask(self, sender: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        """Rasa's replies to one message, in order."""
        try:
            response = self.http.post(
                f"{self.url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=self.timeout,
            )
            response.raise_for_status()
            answers = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise AssistantUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
        if not isinstance(answers, list):
            raise AssistantUnreachable("the assistant's answer is not a list")
        return replies_of(answers)

    def intents_of(self, sender: str, message_ids: set[int]) -> dict[int, str]:
        """The intents, from the sender's tracker."""
        params = {"include_events": "ALL"}
        if self.token:
            params["token"] = self.token
        try:
            response = self.http.get(
                # Rasa (Sanic) takes the id as written: "+1...", "whatsapp:+1..."
                f"{self.url}/conversations/{quote(sender, safe='+:@')}/tracker",
                params=params,
                timeout=TRACKER_TIMEOUT,
            )
            response.raise_for_status()
            events = response.json().get("events") or []
        except (requests.RequestException, ValueError, AttributeError):
            return {}
        return intents_in(events, message_ids)


def replies_of(answers: list[Any]) -> list[Reply]:
    """Rasa's REST answer as replies (items of the wrong shape left out)."""
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


def intents_in(events: Any, message_ids: set[int]) -> dict[int, str]:
    """The intent of each of ``message_ids`` among a tracker's user events."""
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
