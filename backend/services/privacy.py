"""A customer's personal data: everything we hold in one export, and erasure.

Erasure removes what identifies the person (names, numbers, channel
identities, their words, what was sent to them and why it failed) and keeps
what the books need, anonymised: bookings with their times, prices and states,
the stars of reviews (they count in a provider's rating). Messages sent to the
providers they booked name them: those names, numbers and addresses are
replaced. The assistant's own record of the conversations (the Rasa tracker
store) is erased by the caller, for :func:`tracker_senders`.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    Booking,
    BookingEvent,
    Conversation,
    Customer,
    FollowUp,
    FollowUpState,
    Job,
    MatchLog,
    Message,
    PhoneVerification,
    Review,
)
from backend.services.customers import get_customer
from backend.services.errors import Conflict
from backend.shapes import map_strings

ERASED = "[erased]"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export_customer(session: Session, customer_id: int) -> dict[str, Any]:
    """Everything held about a customer, as one JSON-ready document."""
    customer = get_customer(session, customer_id)
    bookings = session.scalars(
        select(Booking).where(Booking.customer_id == customer_id).order_by(Booking.id)
    ).all()
    reviews = session.scalars(
        select(Review).where(Review.customer_id == customer_id).order_by(Review.id)
    ).all()
    conversations = session.scalars(
        select(Conversation)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.id)
    ).all()
    jobs = session.scalars(
        select(Job).where(Job.customer_id == customer_id).order_by(Job.id)
    ).all()
    matches = session.scalars(
        select(MatchLog)
        .where(MatchLog.customer_id == customer_id)
        .order_by(MatchLog.id)
    ).all()
    follow_ups = session.scalars(
        select(FollowUp)
        .where(FollowUp.customer_id == customer_id)
        .order_by(FollowUp.id)
    ).all()
    return {
        "exported_at": utcnow().isoformat(),
        "profile": {
            "id": customer.id,
            "display_name": customer.display_name,
            "phone": customer.phone,
            "email": customer.email,
            "locale": customer.locale,
            "timezone": customer.timezone,
            "opt_outs": list(customer.opt_outs or []),
            "created_at": _iso(customer.created_at),
            "erased_at": _iso(customer.erased_at),
        },
        "identities": [
            {
                "channel": i.channel.value,
                "external_id": i.external_id,
                "verified_at": _iso(i.verified_at),
                "created_at": _iso(i.created_at),
            }
            for i in customer.identities
        ],
        "bookings": [
            {
                "id": b.id,
                "provider": {"id": b.provider_id, "name": b.provider.name},
                "service": b.service.name if b.service else None,
                "starts_at": _iso(b.starts_at),
                "ends_at": _iso(b.ends_at),
                "status": b.status.value,
                "channel": b.channel.value,
                "price_cents": b.price_cents,
                "notes": b.notes,
                "cancel_reason": b.cancel_reason,
                "created_at": _iso(b.created_at),
                "history": [
                    {
                        "action": e.action,
                        "to_status": e.to_status,
                        "actor": e.actor,
                        "note": e.note,
                        "at": _iso(e.at),
                    }
                    for e in b.events
                ],
            }
            for b in bookings
        ],
        "reviews": [
            {
                "id": r.id,
                "booking_id": r.booking_id,
                "provider_id": r.provider_id,
                "stars": r.stars,
                "text": r.text,
                "moderation": r.moderation.value,
                "created_at": _iso(r.created_at),
            }
            for r in reviews
        ],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel.value,
                "status": c.status.value,
                "created_at": _iso(c.created_at),
                "messages": [
                    {
                        "direction": m.direction.value,
                        "text": m.text,
                        "intent": m.intent,
                        "status": m.status,
                        "delivery_status": m.delivery_status,
                        "payload": m.payload or {},
                        "at": _iso(m.created_at),
                    }
                    for m in c.messages
                ],
            }
            for c in conversations
        ],
        "follow_ups": [
            {
                "id": f.id,
                "kind": f.kind,
                "booking_id": f.booking_id,
                "channel": f.channel.value,
                "due_at": _iso(f.due_at),
                "state": f.state.value,
                "sent_at": _iso(f.sent_at),
                "last_error": f.last_error,
                "skip_reason": f.skip_reason,
                "payload": f.payload or {},
            }
            for f in follow_ups
        ],
        "requests": [
            {
                "text": j.text,
                "address": j.address,
                "city": j.city,
                "created_at": _iso(j.created_at),
            }
            for j in jobs
        ]
        + [
            {"text": m.text, "city": m.city, "created_at": _iso(m.created_at)}
            for m in matches
        ],
    }


def tracker_senders(session: Session, customer_id: int) -> list[str]:
    """The ids the assistant knows this customer's conversations by."""
    customer = get_customer(session, customer_id)
    senders = [i.external_id for i in customer.identities]
    if customer.phone:
        senders.append(customer.phone)
    return sorted(set(senders))


def erase_customer(
    session: Session, customer_id: int, *, now: datetime | None = None
) -> Customer:
    """Remove or anonymise the customer's personal data; bookings stay,
    anonymised. Erasing twice is refused."""
    customer = get_customer(session, customer_id)
    if customer.erased_at is not None:
        raise Conflict(f"customer {customer_id} was erased already", code="erased")
    now = now or utcnow()
    _erase_from_provider_messages(session, customer)
    customer.display_name = None
    customer.phone = None
    customer.email = None
    customer.opt_outs = []
    customer.erased_at = now
    customer.identities.clear()
    session.execute(
        delete(PhoneVerification).where(PhoneVerification.customer_id == customer_id)
    )
    conversation_ids = select(Conversation.id).where(
        Conversation.customer_id == customer_id
    )
    session.execute(
        delete(Message)
        .where(Message.conversation_id.in_(conversation_ids))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Conversation)
        .where(Conversation.customer_id == customer_id)
        .execution_options(synchronize_session=False)
    )
    theirs = select(Booking.id).where(Booking.customer_id == customer_id)
    session.execute(
        update(Booking)
        .where(Booking.customer_id == customer_id)
        .values(
            notes="",
            cancel_reason=case((Booking.cancel_reason.is_(None), None), else_=ERASED),
        )
    )
    session.execute(
        update(BookingEvent)
        .where(BookingEvent.booking_id.in_(theirs), BookingEvent.note != "")
        .values(note=ERASED)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Job)
        .where(Job.customer_id == customer_id)
        .values(text=ERASED, address=None, lat=None, lon=None)
    )
    session.execute(
        update(MatchLog).where(MatchLog.customer_id == customer_id).values(text=ERASED)
    )
    session.execute(
        update(Review).where(Review.customer_id == customer_id).values(text="")
    )
    # what was sent them (the messages went with the conversations) and why
    # it failed: an error may quote their number
    session.execute(
        update(FollowUp)
        .where(FollowUp.customer_id == customer_id)
        .values(payload={}, last_error=None)
    )
    session.execute(
        update(FollowUp)
        .where(
            FollowUp.customer_id == customer_id,
            FollowUp.state.in_([FollowUpState.PENDING, FollowUpState.CLAIMED]),
        )
        .values(state=FollowUpState.CANCELLED, last_error="customer erased")
    )
    session.flush()
    return customer


def _erase_from_provider_messages(session: Session, customer: Customer) -> None:
    """Replace the customer's name, numbers, email and job addresses in the
    messages (and their payloads) kept with the providers they booked."""
    words = {customer.display_name, customer.phone, customer.email}
    if customer.phone:
        words.add(customer.phone.lstrip("+"))
    words |= set(
        session.scalars(
            select(Job.address).where(
                Job.customer_id == customer.id, Job.address.is_not(None)
            )
        )
    )
    words = {w.strip() for w in words if w and len(w.strip()) >= 2}
    if not words:
        return
    # the longest first, so a number is replaced whole before a part of it
    pattern = re.compile(
        "|".join(
            rf"(?<!\w){re.escape(w)}(?!\w)"
            for w in sorted(words, key=len, reverse=True)
        ),
        re.IGNORECASE,
    )
    erase = functools.partial(pattern.sub, ERASED)
    providers = select(Booking.provider_id).where(Booking.customer_id == customer.id)
    conversations = select(Conversation.id).where(
        Conversation.provider_id.in_(providers)
    )
    mentions = or_(
        *(Message.text.contains(w, autoescape=True) for w in words),
        *(cast(Message.payload, Text).contains(w, autoescape=True) for w in words),
    )
    for message in session.scalars(
        select(Message).where(Message.conversation_id.in_(conversations), mentions)
    ):
        message.text = erase(message.text or "")
        message.payload = map_strings(message.payload or {}, erase)
