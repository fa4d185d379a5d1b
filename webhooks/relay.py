"""The one path every channel's message takes after its webhook verified it:
record it (once), answer carrier keywords, hold it for a person when one has
taken over, else ask the assistant; keep its replies; the channel renders them.

Channels that answer in the HTTP response (SMS, WhatsApp, voice, web chat)
call :func:`converse`; Messenger and Telegram record the message with
:func:`take` and answer it from a Celery task (:func:`answer`), so their
webhooks reply at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from backend.extensions import db
from backend.models import Channel, Message
from backend.services import inbound
from backend.services.inbound import Received, Reply
from webhooks import assistant

log = logging.getLogger(__name__)


def take(
    channel: Channel,
    sender: str,
    text: str,
    *,
    message_id: str | None,
    metadata: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    locale: str | None = None,
    display_name: str | None = None,
) -> Received:
    """Record an inbound message (committed), or recognise a redelivery."""
    received = inbound.receive(
        db.session,
        channel,
        sender,
        text,
        message_id=message_id,
        payload={**(payload or {}), "metadata": metadata or {}, "locale": locale},
        locale=locale,
        display_name=display_name,
    )
    if received.duplicate:
        db.session.rollback()
    else:
        db.session.commit()
    return received


@dataclass
class Answer:
    """The replies to a message and the outbound messages that record them."""

    replies: list[Reply] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def answer(received: Received, *, reply_status: str = "sent") -> Answer:
    """Answer a recorded message: a keyword, nothing (held for a person), or
    the assistant's replies (a holding reply when it cannot be reached).
    ``reply_status``: "sent" when the HTTP response carries the replies,
    "queued" when they are sent afterwards."""
    session = db.session
    message = received.message
    reply = inbound.keyword(session, received)
    if reply is not None:
        out = inbound.record_replies(session, received, [reply], status=reply_status)
        session.commit()
        return Answer([reply], out)
    if received.held_for_person:
        inbound.hold(session, received, reason="taken_over")
        session.commit()
        return Answer()
    extra = (message.payload or {}).get("metadata") or {}
    locale = (message.payload or {}).get("locale")
    text, channel = message.text, message.channel.value
    # no transaction stays open while the assistant works: its actions call
    # the API, which writes (on SQLite a waiting writer would stall them both)
    session.commit()
    try:
        replies = assistant.ask(
            received.sender,
            text,
            {"channel": channel, "locale": locale, **extra},
        )
    except assistant.AssistantUnreachable as exc:
        log.warning("assistant unreachable for message %s: %s", message.id, exc)
        replies = [Reply(inbound.HOLDING)]
        out = inbound.record_replies(session, received, replies, status=reply_status)
        inbound.hold(session, received, reason="assistant_unreachable")
    else:
        out = inbound.record_replies(
            session,
            received,
            replies,
            status=reply_status,
            intent=assistant.understood(received.sender),
        )
    session.commit()
    return Answer(replies, out)


def converse(channel: Channel, sender: str, text: str, **fields: Any) -> list[Reply]:
    """The replies to one inbound message (the same ones for a redelivery)."""
    received = take(channel, sender, text, **fields)
    if received.duplicate:
        return received.earlier_replies
    return answer(received).replies
