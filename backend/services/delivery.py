"""Delivery statuses of outbound messages, in the order Twilio reports them
(https://www.twilio.com/docs/messaging/api/message-resource#message-status-values);
a status never moves backwards and a failure is final."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Direction, Message
from backend.services.errors import Invalid

#: Twilio's message statuses in the order they happen; finals never go back.
#: "receiving"/"received" are an inbound message's: accepted, never applied.
STATUS_ORDER = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "partially_delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
INBOUND_STATUSES = frozenset({"receiving", "received"})
FINAL_FAILURES = frozenset({"undelivered", "failed", "canceled"})


def apply_delivery_status(
    session: Session,
    external_id: str,
    status: str,
    *,
    error_code: str | None = None,
    message_id: int | None = None,
) -> Message | None:
    """Move an outbound message's delivery status to the one its channel
    reports, never backwards (a late "sent" after "delivered" changes
    nothing). None if the message is not ours.

    ``message_id``: our id for it, when the channel learns its own id only
    now (a reply carried in TwiML, whose ``<Message action>`` names ours).
    """
    status = status.lower()
    if status not in STATUS_ORDER and status not in INBOUND_STATUSES:
        raise Invalid(f"unknown message status '{status}'", field="MessageStatus")
    message = session.scalars(
        select(Message)
        .where(Message.external_id == external_id, Message.direction == Direction.OUT)
        .with_for_update()
    ).first()
    if message is None and message_id is not None:
        message = session.get(Message, message_id, with_for_update=True)
        if (
            message is None
            or message.direction != Direction.OUT
            or message.external_id not in (None, external_id)
        ):
            return None
        message.external_id = external_id[:128]
    if message is None:
        return None
    if status not in INBOUND_STATUSES:
        advance(message, status, error_code=error_code)
    return message


def advance(message: Message, status: str, *, error_code: str | None = None) -> bool:
    """Note what a channel says of an outbound message (a send's receipt, a
    status callback): never backwards (a late "sent" after "delivered"
    changes nothing) and never past a failure; whether it moved. A word
    outside Twilio's order ("logged") is kept only as the first one."""
    status = status.lower()[:20]
    current = message.delivery_status
    if current in FINAL_FAILURES or (
        current is not None
        and STATUS_ORDER.get(current, -1) >= STATUS_ORDER.get(status, -1)
    ):
        return False
    message.delivery_status = status
    if error_code:
        message.error_code = error_code[:20]
    return True
