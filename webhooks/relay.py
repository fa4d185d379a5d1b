"""The one path every channel's message takes after its webhook verified it:
record it (once), answer carrier keywords, hold it for a person when one has
taken over, else ask the assistant; keep its replies; the channel renders them.
"""

from __future__ import annotations

import logging
from typing import Any

from backend.extensions import db
from backend.models import Channel
from backend.services import inbound
from backend.services.inbound import Reply
from webhooks import assistant

log = logging.getLogger(__name__)


def converse(
    channel: Channel,
    sender: str,
    text: str,
    *,
    message_id: str | None,
    metadata: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    locale: str | None = None,
    display_name: str | None = None,
) -> list[Reply]:
    """The replies to one inbound message (the same ones for a redelivery)."""
    session = db.session
    received = inbound.receive(
        session,
        channel,
        sender,
        text,
        message_id=message_id,
        payload=payload,
        locale=locale,
        display_name=display_name,
    )
    if received.duplicate:
        session.rollback()
        return received.earlier_replies
    answer = inbound.keyword(session, received)
    if answer is not None:
        inbound.record_replies(session, received, [answer])
        session.commit()
        return [answer]
    if received.held_for_person:
        inbound.hold(session, received, reason="taken_over")
        session.commit()
        return []
    session.commit()  # kept before the assistant is asked: nothing is lost
    try:
        replies = assistant.ask(
            sender,
            text,
            {"channel": channel.value, "locale": locale, **(metadata or {})},
        )
    except assistant.AssistantUnreachable as exc:
        log.warning(
            "assistant unreachable for %s message %s: %s", channel, message_id, exc
        )
        replies = [Reply(inbound.HOLDING)]
        inbound.record_replies(session, received, replies)
        inbound.hold(session, received, reason="assistant_unreachable")
    else:
        inbound.record_replies(session, received, replies)
    session.commit()
    return replies
