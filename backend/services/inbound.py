"""One path for every message a person sends, whatever the channel.

A channel's webhook verifies its request, then hands the words here:
:func:`receive` finds or makes the customer behind the channel identity and
records the message once (a redelivery with the same channel message id is
recognised and answered with the replies already given); :func:`keyword`
handles the carrier keywords (STOP, START, HELP) on SMS and WhatsApp; the
replies the assistant gives are kept with :func:`record_replies`, and
:func:`hold` keeps a message for the console when the assistant could not be
reached or a person has taken the conversation over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    Channel,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
)
from backend.schemas import IdentityInput
from backend.services.conversations import conversation_of
from backend.services.customers import find_or_create_by_identity, set_opt_out

#: Twilio's default opt-out, opt-in and help keywords (the whole message,
#: any case): https://help.twilio.com/articles/223134027
OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "yes", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
KEYWORD_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})

OPTED_OUT = (
    "You're unsubscribed from Beckon messages on this number. "
    "Reply START to get them again."
)
OPTED_IN = "You're subscribed to Beckon messages again. Reply STOP to unsubscribe."
HELP = (
    "Beckon: book a plumber, an electrician, a reading and more by text. "
    'Say what you need, or "status", "cancel", "reschedule". '
    "Reply STOP to unsubscribe."
)
HOLDING = (
    "Thanks, we've got your message. Our assistant can't answer right now; "
    "a person from our team will get back to you here."
)


@dataclass
class Reply:
    """One message back to the person: text and the options it offers."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    #: the assistant closed the conversation (a call hangs up after it)
    end: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons, "end": self.end}


@dataclass
class Received:
    """A message as recorded: who sent it and whether it was seen before."""

    message: Message
    customer: Customer
    conversation: Conversation
    duplicate: bool
    #: the channel identity it came from (a phone, a page-scoped id, ...)
    sender: str = ""

    @property
    def earlier_replies(self) -> list[Reply]:
        return [Reply(**r) for r in (self.message.payload or {}).get("replies", [])]

    @property
    def held_for_person(self) -> bool:
        return self.conversation.status == ConversationStatus.HUMAN


def receive(
    session: Session,
    channel: Channel,
    sender: str,
    text: str,
    *,
    message_id: str | None,
    payload: dict[str, Any] | None = None,
    locale: str | None = None,
    display_name: str | None = None,
    now: datetime | None = None,
) -> Received:
    """Record an inbound message once; a known ``message_id`` is a redelivery."""
    now = now or utcnow()
    if message_id:
        seen = session.scalar(
            select(Message).where(
                Message.channel == channel,
                Message.direction == Direction.IN,
                Message.external_id == message_id,
            )
        )
        if seen is not None:
            return _received(session, seen, duplicate=True, sender=sender)
    customer, _ = find_or_create_by_identity(
        session,
        IdentityInput(
            channel=channel.value,
            external_id=sender,
            locale=locale,
            display_name=display_name,
        ),
    )
    session.flush()
    conversation = conversation_of(session, channel, customer_id=customer.id, now=now)
    message = Message(
        conversation=conversation,
        direction=Direction.IN,
        channel=channel,
        external_id=message_id,
        text=text,
        payload=dict(payload or {}),
        status="received",
        created_at=now,
    )
    session.add(message)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # the same delivery, recorded a moment ago by a concurrent request
        seen = session.scalar(
            select(Message).where(
                Message.channel == channel,
                Message.direction == Direction.IN,
                Message.external_id == message_id,
            )
        )
        return _received(session, seen, duplicate=True, sender=sender)
    return Received(message, customer, conversation, duplicate=False, sender=sender)


def _received(
    session: Session, message: Message, *, duplicate: bool, sender: str
) -> Received:
    conversation = message.conversation
    customer = session.get(Customer, conversation.customer_id)
    return Received(message, customer, conversation, duplicate, sender)


def received_by_id(session: Session, message_id: int, sender: str) -> Received:
    """A recorded inbound message, to be answered later (a task)."""
    message = session.get(Message, message_id)
    if message is None or message.direction != Direction.IN:
        raise LookupError(f"no inbound message {message_id}")
    return _received(session, message, duplicate=False, sender=sender)


def keyword(session: Session, received: Received) -> Reply | None:
    """The answer to a carrier keyword on SMS or WhatsApp, with the
    preference stored (follow-ups honour it); None for any other message.

    "YES" is an opt-in only for someone opted out: otherwise it is the
    answer to the assistant's question.
    """
    channel = received.message.channel
    if channel not in KEYWORD_CHANNELS:
        return None
    word = received.message.text.strip().strip(".!").lower()
    opted_out = channel.value in (received.customer.opt_outs or [])
    if word in OPT_OUT_WORDS:
        set_opt_out(session, received.customer.id, channel, True)
        reply = Reply(OPTED_OUT)
    elif word in OPT_IN_WORDS and (word != "yes" or opted_out):
        set_opt_out(session, received.customer.id, channel, False)
        reply = Reply(OPTED_IN)
    elif word in HELP_WORDS:
        reply = Reply(HELP)
    else:
        return None
    received.message.intent = f"keyword:{word}"
    return reply


def record_replies(
    session: Session,
    received: Received,
    replies: list[Reply],
    *,
    intent: str | None = None,
    status: str = "sent",
    now: datetime | None = None,
) -> list[Message]:
    """Keep the replies with the message (a redelivery gets them again) and
    as outbound messages of the conversation, which are returned."""
    now = now or utcnow()
    inbound = received.message
    inbound.payload = {
        **(inbound.payload or {}),
        "replies": [r.as_json() for r in replies],
    }
    inbound.intent = inbound.intent or intent
    inbound.status = "answered"
    out = [
        Message(
            conversation=received.conversation,
            direction=Direction.OUT,
            channel=inbound.channel,
            text=reply.text,
            payload={"buttons": reply.buttons, "reply_to": inbound.id},
            status=status,
            created_at=now,
            status_at=now,
        )
        for reply in replies
    ]
    session.add_all(out)
    received.conversation.last_message_at = now
    return out


def hold(session: Session, received: Received, *, reason: str) -> None:
    """Keep a message for a person in the console: flagged, nothing lost."""
    received.message.status = "held"
    received.message.payload = {**(received.message.payload or {}), "held": reason}
    if reason != "taken_over":
        received.conversation.flagged = True
