"""Every voice request and answer in the conversation records, once.

A voice request is recorded as an inbound message of the caller's
conversation on its channel, keyed by the platform's request id (Alexa's
``requestId``, Dialogflow's ``responseId``); the answer is kept with it and
as an outbound message. A redelivered request gets the answer it got the
first time and acts no second time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.models import Channel
from backend.services import inbound
from backend.services.inbound import Received, Reply


def receive(
    session: Session,
    channel: Channel,
    user_id: str,
    heard: str,
    *,
    request_id: str | None,
    locale: str | None,
    details: dict[str, Any] | None = None,
) -> Received:
    """Record the request (``heard``: what the person said or its intent)."""
    return inbound.receive(
        session,
        channel,
        user_id,
        heard[:4000],
        message_id=request_id,
        payload={"request": details or {}},
        locale=locale,
    )


def earlier_response(received: Received) -> dict[str, Any] | None:
    """The platform response sent the first time, for a redelivery."""
    return (received.message.payload or {}).get("response")


def answer(
    session: Session,
    received: Received,
    *,
    spoken: str,
    intent: str,
    response: dict[str, Any],
    end: bool = False,
) -> None:
    """Keep the answer: as the conversation's outbound message, and whole on
    the request for a redelivery."""
    inbound.record_replies(session, received, [Reply(spoken, end=end)], intent=intent)
    message = received.message
    message.payload = {**(message.payload or {}), "response": response}
