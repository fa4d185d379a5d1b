"""Conversations: one thread of messages per customer (or provider) and channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import Channel, Conversation
from backend.services.customers import get_customer


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
