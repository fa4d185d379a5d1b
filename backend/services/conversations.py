"""Conversations: one thread of messages per customer (or provider) and channel."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    Channel,
    ChannelIdentity,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
)
from backend.services.customers import get_customer
from backend.services.errors import Conflict, Invalid, NotFound


def conversation_of(
    session: Session,
    channel: Channel,
    *,
    customer_id: int | None = None,
    provider_id: int | None = None,
    now: datetime | None = None,
) -> Conversation:
    """The latest conversation of a customer or a provider on a channel, made
    when there is none; its ``last_message_at`` moves to ``now``."""
    if (customer_id is None) == (provider_id is None):
        raise ValueError("a conversation belongs to a customer or to a provider")
    owner = (
        Conversation.customer_id == customer_id
        if customer_id is not None
        else Conversation.provider_id == provider_id
    )
    conversation = session.scalars(
        select(Conversation)
        .where(owner, Conversation.channel == channel)
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    ).first()
    if conversation is None:
        conversation = Conversation(
            customer_id=customer_id, provider_id=provider_id, channel=channel
        )
        session.add(conversation)
    conversation.last_message_at = now or utcnow()
    return conversation


def request_human(session: Session, customer_id: int, channel: Channel) -> Conversation:
    """Flag the customer's conversation on a channel for a person in the console."""
    get_customer(session, customer_id)  # NotFound for an unknown customer
    conversation = conversation_of(session, channel, customer_id=customer_id)
    conversation.flagged = True
    return conversation


# ---------------------------------------------------------------- the console


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


#: Channels a person's typed reply can reach: pushed by the channel's API
#: (SMS, WhatsApp, Messenger, Telegram) or fetched by the web chat page.
TAKEOVER_CHANNELS = frozenset(
    {
        Channel.SMS,
        Channel.WHATSAPP,
        Channel.MESSENGER,
        Channel.TELEGRAM,
        Channel.WEBCHAT,
    }
)
#: Why the others cannot be taken over.
NO_TAKEOVER = {
    Channel.VOICE: "a phone call is live speech: a typed reply cannot reach the caller",
    Channel.ALEXA: "Alexa speaks only while the customer talks to the skill: "
    "nothing can be sent to it afterwards",
    Channel.GOOGLE: "Google speaks only while the customer talks to the agent: "
    "nothing can be sent to it afterwards",
}


def takeover_refusal(conversation: Conversation) -> str | None:
    """Why nobody can take this conversation over, or None if a person can."""
    if conversation.customer_id is None:
        return "only a conversation with a customer can be taken over"
    if conversation.channel not in TAKEOVER_CHANNELS:
        return NO_TAKEOVER.get(
            conversation.channel,
            f"a reply cannot reach the customer on {conversation.channel.value}",
        )
    return None


def take_over(session: Session, conversation_id: int, admin_id: int) -> Conversation:
    """A person answers from now on: the assistant is no longer asked (the
    channels hold each message for the console). Only on a channel a typed
    reply can reach (:data:`TAKEOVER_CHANNELS`)."""
    conversation = get_conversation(session, conversation_id)
    refusal = takeover_refusal(conversation)
    if refusal is not None:
        raise Conflict(refusal, code="cannot_take_over")
    if (
        conversation.status == ConversationStatus.HUMAN
        and conversation.taken_over_by_id not in (None, admin_id)
    ):
        raise Conflict(
            "another admin has taken this conversation over", code="taken_over"
        )
    conversation.status = ConversationStatus.HUMAN
    conversation.taken_over_by_id = admin_id
    conversation.flagged = False
    session.flush()
    return conversation


def hand_back(session: Session, conversation_id: int) -> Conversation:
    """The assistant answers again."""
    conversation = get_conversation(session, conversation_id)
    if conversation.status != ConversationStatus.HUMAN:
        raise Conflict("this conversation is not taken over", code="not_taken_over")
    conversation.status = ConversationStatus.BOT
    conversation.taken_over_by_id = None
    session.flush()
    return conversation


#: The longest reply a person may type in the console.
REPLY_LIMIT = 1600


def console_reply(
    session: Session,
    conversation_id: int,
    admin_id: int,
    text: str,
    *,
    now: datetime | None = None,
) -> Message:
    """Record a person's reply in a conversation they took over, to be sent
    on its channel (status "queued"; a task sends it)."""
    conversation = get_conversation(session, conversation_id)
    text = text.strip()
    if not text:
        raise Invalid("write a reply", field="text")
    if len(text) > REPLY_LIMIT:
        raise Invalid(
            f"a reply may have at most {REPLY_LIMIT} characters", field="text"
        )
    if (
        conversation.status != ConversationStatus.HUMAN
        or conversation.taken_over_by_id != admin_id
    ):
        raise Conflict(
            "take the conversation over before replying", code="not_taken_over"
        )
    refusal = takeover_refusal(conversation)
    if refusal is not None:  # taken over before the channel rule existed
        raise Conflict(refusal, code="cannot_take_over")
    now = now or utcnow()
    message = Message(
        conversation=conversation,
        direction=Direction.OUT,
        channel=conversation.channel,
        text=text,
        payload={"by_admin": admin_id},
        status="queued",
        created_at=now,
        status_at=now,
    )
    session.add(message)
    # the held messages it answers are answered now
    for held in session.scalars(
        select(Message).where(
            Message.conversation_id == conversation.id,
            Message.direction == Direction.IN,
            Message.status == "held",
        )
    ):
        held.status = "answered"
    conversation.last_message_at = now
    conversation.flagged = False
    session.flush()
    return message


def reply_address(session: Session, message: Message) -> str | None:
    """Where a console reply goes on its channel: the customer's identity there."""
    conversation = message.conversation
    if conversation.customer_id is None:
        return None
    external_id = session.scalar(
        select(ChannelIdentity.external_id).where(
            ChannelIdentity.customer_id == conversation.customer_id,
            ChannelIdentity.channel == conversation.channel,
        )
    )
    if external_id is None and conversation.channel == Channel.SMS:
        external_id = session.scalar(
            select(Customer.phone).where(Customer.id == conversation.customer_id)
        )
    return address_on(conversation.channel, external_id) if external_id else None


def address_on(channel: Channel, external_id: str) -> str:
    """A channel identity as its channel is sent to: WhatsApp's numbers go to
    Twilio as ``whatsapp:+1...``."""
    if channel == Channel.WHATSAPP and not external_id.startswith("whatsapp:"):
        return "whatsapp:" + external_id
    return external_id


#: Messenger lets a page write freely within a day of the person's last message.
MESSENGER_WINDOW = timedelta(hours=24)
#: A person answering from the console may write for 7 days with this tag.
HUMAN_AGENT_TAG = "HUMAN_AGENT"
#: A message about a booking the person made may go out later with this tag.
EVENT_UPDATE_TAG = "CONFIRMED_EVENT_UPDATE"


def messenger_tag(
    session: Session,
    customer_id: int | None,
    *,
    now: datetime | None = None,
    tag: str = HUMAN_AGENT_TAG,
) -> str | None:
    """The message tag a Messenger message to this customer needs: None inside
    Meta's 24-hour window (they wrote to the page within a day, in any of
    their Messenger conversations), else ``tag``."""
    last_in = None
    if customer_id is not None:
        last_in = session.scalar(
            select(func.max(Message.created_at))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.customer_id == customer_id,
                Conversation.channel == Channel.MESSENGER,
                Message.direction == Direction.IN,
            )
        )
    if last_in is None or (now or utcnow()) - last_in > MESSENGER_WINDOW:
        return tag
    return None
