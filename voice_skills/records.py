"""Every voice request and answer in the conversation records, once.

A voice request is recorded as an inbound message of the caller's
conversation on its channel, keyed by the platform's request id (Alexa's
``requestId``, Dialogflow's ``responseId``); the answer is kept with it and
as an outbound message. A redelivered request gets the answer it got the
first time and acts no second time.

:func:`run_turn` is a voice turn's whole life, for Alexa and Google alike:
the request kept first in a transaction of its own (a redelivery meanwhile
is known, and a failed turn loses only its own work), then the turn, then
its answer kept with what the turn did, in one more commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from backend.models import Channel
from backend.services import customers, inbound
from backend.services.errors import DomainError
from backend.services.inbound import Received, Reply

log = logging.getLogger(__name__)


@dataclass
class Heard:
    """A voice request as the platform's adapter read it."""

    channel: Channel
    user_id: str
    heard: str  # what the person said, or the intent in a line
    request_id: str | None
    locale: str | None
    details: dict[str, Any] = field(default_factory=dict)
    zone: str | None = None  # the caller's time zone, if the platform told it


@dataclass
class Said:
    """A turn's answer: the platform response and what it says."""

    response: dict[str, Any]
    spoken: str
    intent: str
    end: bool = False
    #: the turn failed: what it did is rolled back, the answer still kept
    failed: bool = False


class Refused(Exception):
    """The request cannot be kept (e.g. an id longer than we keep)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InProgress(Exception):
    """A redelivery of a request whose first delivery is still being answered."""


def run_turn(
    session: Session,
    heard: Heard,
    turn: Callable[[Received], Said],
    *,
    sorry: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Keep the request, run ``turn`` on it, keep its answer; the response.

    A redelivery gets the first answer (:class:`InProgress` while there is
    none yet); a request that cannot be kept raises :class:`Refused`. With
    ``sorry``, a failure to keep the request or the answer is logged and
    answered by it instead of raised.
    """
    try:
        received = receive(
            session,
            heard.channel,
            heard.user_id,
            heard.heard,
            request_id=heard.request_id,
            locale=heard.locale,
            details=heard.details,
        )
        if not received.duplicate:
            if heard.zone:
                customers.set_timezone(session, received.customer.id, heard.zone)
            session.commit()
    except DomainError as error:
        session.rollback()
        raise Refused(error.message) from error
    except Exception:
        if sorry is None:
            raise
        session.rollback()
        log.exception("%s request %s not kept", heard.channel, heard.request_id)
        return sorry()
    if received.duplicate:
        earlier = earlier_response(received)
        session.rollback()
        if earlier is None:
            raise InProgress(heard.request_id)
        return earlier
    message_id = received.message.id
    said = turn(received)
    if said.failed:
        session.rollback()  # what the failed turn did is not kept
    try:
        answer(
            session,
            inbound.received_by_id(session, message_id, heard.user_id),
            spoken=said.spoken,
            intent=said.intent,
            response=said.response,
            end=said.end,
        )
        session.commit()
    except Exception:
        if sorry is None:
            raise
        session.rollback()
        log.exception("%s request %s: answer not kept", heard.channel, heard.request_id)
        return sorry()
    return said.response


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
