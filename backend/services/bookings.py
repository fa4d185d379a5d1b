"""Bookings: hold or confirm a slot, and move it through its life.

``held → confirmed → in_progress → completed → reviewed``, or ``cancelled`` /
``no_show``; a reschedule keeps the state and writes the old times to history.
Two live bookings of one provider never overlap: this module checks under a
per-provider lock, and the database refuses it anyway (an exclusion constraint
on PostgreSQL, a trigger on SQLite). Each change plans its follow-ups in the
same transaction (:mod:`backend.services.followups`).

A booking changes one transaction at a time: every change reads it with
:func:`get_booking` ``for_update`` (``SELECT ... FOR UPDATE`` on PostgreSQL,
read afresh; SQLite's writers hold its write lock from their first
statement), so of a cancel and a confirm at once the second decides on the
state the first left, and is refused if it no longer may happen. A change
that takes both locks takes the provider's schedule first, then bookings (a
reschedule; a new booking expiring stale holds); a review locks its finished
booking, then the provider's row for the rating: no other change locks a
finished booking, so no two wait on each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    Customer,
    Job,
    JobStatus,
    Provider,
    Service,
)
from backend.schemas import BookingCreate
from backend.services import followups, matchlog
from backend.services.availability import (
    busy_intervals,
    exceptions_for,
    service_duration,
    working_intervals,
)
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.rules import BookingRules, FollowUpRules

S = BookingStatus

#: action -> (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[frozenset[BookingStatus], BookingStatus | None]] = {
    "confirm": (frozenset({S.HELD}), S.CONFIRMED),
    "cancel": (frozenset({S.HELD, S.CONFIRMED}), S.CANCELLED),
    "reschedule": (frozenset({S.HELD, S.CONFIRMED}), None),
    "check_in": (frozenset({S.CONFIRMED}), S.IN_PROGRESS),
    "complete": (frozenset({S.CONFIRMED, S.IN_PROGRESS}), S.COMPLETED),
    "no_show": (frozenset({S.CONFIRMED}), S.NO_SHOW),
    "review": (frozenset({S.COMPLETED}), S.REVIEWED),
}

EXPIRED_HOLD_REASON = "hold expired"


def get_booking(
    session: Session, booking_id: int, *, for_update: bool = False
) -> Booking:
    """The booking; ``for_update``: locked until the transaction ends and read
    afresh, for a change that decides on its state (see the module's note)."""
    booking = session.get(
        Booking,
        booking_id,
        # OF bookings: its eager joins (the provider, a service) stay unlocked
        with_for_update={"of": Booking} if for_update else None,
        populate_existing=for_update,
    )
    if booking is None:
        raise NotFound(f"booking {booking_id} not found")
    return booking


def _lock_schedule(session: Session, provider_id: int) -> None:
    """Serialise booking changes of one provider.

    On PostgreSQL the UPDATE takes the provider's row lock until commit; on
    SQLite every transaction already holds the write lock (BEGIN IMMEDIATE).
    """
    session.execute(
        update(Provider)
        .where(Provider.id == provider_id)
        .values(schedule_version=Provider.schedule_version + 1)
        .execution_options(synchronize_session=False)
    )


def _expire_holds(session: Session, provider_id: int, now: datetime) -> None:
    """Cancel this provider's holds whose time ran out, so they stop blocking
    (each locked and read afresh: one confirmed or cancelled meanwhile is left)."""
    stale = session.scalars(
        select(Booking)
        .where(
            Booking.provider_id == provider_id,
            Booking.status == S.HELD,
            Booking.hold_expires_at <= now,
        )
        .with_for_update(of=Booking)
        .execution_options(populate_existing=True)
    )
    for booking in stale:
        record_event(
            booking, "expire", S.CANCELLED, actor="system", note=EXPIRED_HOLD_REASON
        )
        booking.cancel_reason = EXPIRED_HOLD_REASON


def record_event(
    booking: Booking,
    action: str,
    to_status: BookingStatus,
    *,
    actor: str,
    note: str = "",
    old: tuple[datetime, datetime] | None = None,
) -> None:
    """Move the booking to ``to_status`` and keep the change in its history."""
    booking.events.append(
        BookingEvent(
            action=action,
            from_status=booking.status.value if booking.status else None,
            to_status=to_status.value,
            old_starts_at=old[0] if old else None,
            old_ends_at=old[1] if old else None,
            new_starts_at=booking.starts_at,
            new_ends_at=booking.ends_at,
            actor=actor,
            note=note,
            at=utcnow(),
        )
    )
    booking.status = to_status
    booking.updated_at = utcnow()


def _check_slot(
    session: Session,
    provider: Provider,
    start: datetime,
    end: datetime,
    rules: BookingRules,
    now: datetime,
    exclude_booking_id: int | None = None,
) -> None:
    """Refuse a time that is too soon, outside working hours, or taken."""
    if start < now + rules.minimum_notice:
        if start < now:
            raise Invalid("that time is in the past", field="start", code="past")
        raise Invalid(
            f"bookings need {rules.minimum_notice_minutes} minutes' notice",
            field="start",
            code="too_soon",
        )
    exceptions = exceptions_for(session, [provider.id], start, end).get(provider.id, {})
    day_start, day_end = start - timedelta(days=1), end + timedelta(days=1)
    working = working_intervals(provider, day_start, day_end, exceptions)
    if not any(lo <= start and end <= hi for lo, hi in working):
        raise Conflict(
            f"{provider.name} does not work then", code="outside_working_hours"
        )
    busy = busy_intervals(
        session, [provider.id], start, end, rules, now, exclude_booking_id
    ).get(provider.id, [])
    if any(b_start < end and b_end > start for b_start, b_end in busy):
        raise Conflict(
            f"{provider.name} is already booked around then", code="slot_taken"
        )


def _flush_or_conflict(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "overlap" in text or "exclusion" in text or "bookings_no_overlap" in text:
            raise Conflict(
                "that provider is already booked at that time", code="slot_taken"
            ) from exc
        raise


def create_booking(
    session: Session,
    data: BookingCreate,
    rules: BookingRules,
    *,
    follow_ups: FollowUpRules | None = None,
    now: datetime | None = None,
) -> Booking:
    """Hold (or, with ``confirm``, confirm at once) a provider's time for a customer."""
    now = now or utcnow()
    provider = session.get(Provider, data.provider_id)
    if provider is None:
        raise NotFound(f"provider {data.provider_id} not found")
    if not provider.active:
        raise Conflict(
            f"{provider.name} is not taking bookings", code="provider_inactive"
        )
    if session.get(Customer, data.customer_id) is None:
        raise NotFound(f"customer {data.customer_id} not found")
    service = None
    if data.service_id is not None:
        service = session.get(Service, data.service_id)
        if service is None or service.provider_id != provider.id:
            raise Invalid(
                f"service {data.service_id} is not offered by provider {provider.id}",
                field="service_id",
            )
    job = None
    if data.job_id is not None:
        job = session.get(Job, data.job_id)
        if job is None:
            raise NotFound(f"job {data.job_id} not found")
    start = data.start
    end = data.end or start + service_duration(provider, service, rules)
    if end <= start:
        raise Invalid("end must be after start", field="end")
    if end - start > timedelta(hours=12):
        raise Invalid("a booking may last at most 12 hours", field="end")

    _lock_schedule(session, provider.id)
    _expire_holds(session, provider.id, now)
    _check_slot(session, provider, start, end, rules, now)

    booking = Booking(
        provider=provider,
        customer_id=data.customer_id,
        job=job,
        service=service,
        starts_at=start,
        ends_at=end,
        status=None,
        price_cents=service.price_cents if service else None,
        channel=data.channel,
        notes=data.notes,
        hold_expires_at=None
        if data.confirm
        else now + timedelta(minutes=rules.hold_minutes),
        match_rank=matchlog.rank_of(session, data.customer_id, provider.id, now=now),
    )
    session.add(booking)
    record_event(booking, "create", S.HELD, actor=data.channel.value)
    if data.confirm:
        record_event(booking, "confirm", S.CONFIRMED, actor=data.channel.value)
        if job is not None:
            job.status = JobStatus.BOOKED
    _flush_or_conflict(session)
    followups.plan(session, booking, "create", follow_ups or FollowUpRules(), now=now)
    return booking


def guard_transition(booking: Booking, action: str) -> BookingStatus | None:
    """The state ``action`` leads to, or :class:`Conflict` if it may not happen now."""
    allowed, target = TRANSITIONS[action]
    if booking.status not in allowed:
        verb = action.replace("_", "-")
        raise Conflict(
            f"booking {booking.id} is {booking.status.value.replace('_', ' ')}; "
            f"it cannot be {_PAST[action]} (allowed from: "
            f"{', '.join(sorted(s.value for s in allowed))})",
            code="illegal_transition",
            details={"status": booking.status.value, "action": verb},
        )
    return target


_PAST = {
    "confirm": "confirmed",
    "cancel": "cancelled",
    "reschedule": "rescheduled",
    "check_in": "checked in",
    "complete": "completed",
    "no_show": "marked as a no-show",
    "review": "reviewed",
}


def transition(
    session: Session,
    booking_id: int,
    action: str,
    *,
    actor: str = "api",
    reason: str = "",
    follow_ups: FollowUpRules | None = None,
    now: datetime | None = None,
) -> Booking:
    """Apply ``confirm``, ``cancel``, ``check_in``, ``complete`` or ``no_show``."""
    if action not in TRANSITIONS or action in ("reschedule", "review"):
        raise Invalid(f"unknown booking action '{action}'", field="action")
    now = now or utcnow()
    booking = get_booking(session, booking_id, for_update=True)
    target = guard_transition(booking, action)
    if (
        action == "confirm"
        and booking.hold_expires_at
        and booking.hold_expires_at <= now
    ):
        record_event(
            booking, "expire", S.CANCELLED, actor="system", note=EXPIRED_HOLD_REASON
        )
        booking.cancel_reason = EXPIRED_HOLD_REASON
        session.flush()
        raise Conflict(
            f"the hold on booking {booking.id} expired; book the slot again",
            code="hold_expired",
        )
    if action == "no_show" and now < booking.starts_at:
        raise Conflict(
            f"booking {booking.id} has not started yet; it cannot be a no-show",
            code="too_early",
        )
    if action == "check_in" and now < booking.starts_at - timedelta(hours=2):
        raise Conflict(
            f"booking {booking.id} starts at {booking.starts_at:%Y-%m-%d %H:%M} UTC; "
            "check in on the day",
            code="too_early",
        )
    assert target is not None
    record_event(booking, action, target, actor=actor, note=reason)
    if action == "confirm":
        booking.hold_expires_at = None
        if booking.job is not None:
            booking.job.status = JobStatus.BOOKED
    elif action == "cancel":
        booking.cancel_reason = reason or "cancelled"
        if booking.job is not None and booking.job.status == JobStatus.BOOKED:
            booking.job.status = JobStatus.OPEN
    session.flush()
    followups.plan(session, booking, action, follow_ups or FollowUpRules(), now=now)
    return booking


def reschedule(
    session: Session,
    booking_id: int,
    start: datetime,
    rules: BookingRules,
    *,
    end: datetime | None = None,
    actor: str = "api",
    reason: str = "",
    follow_ups: FollowUpRules | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move a booking to a new time; the old time stays in its history."""
    now = now or utcnow()
    booking = get_booking(session, booking_id)
    guard_transition(booking, "reschedule")
    # the provider's schedule first, then the booking (the one order of locks),
    # read again under its lock: it may have changed since
    _lock_schedule(session, booking.provider_id)
    _expire_holds(session, booking.provider_id, now)
    booking = get_booking(session, booking_id, for_update=True)
    if booking.status == S.CANCELLED and booking.cancel_reason == EXPIRED_HOLD_REASON:
        raise Conflict(f"the hold on booking {booking.id} expired", code="hold_expired")
    guard_transition(booking, "reschedule")
    end = end or start + (booking.ends_at - booking.starts_at)
    if end <= start:
        raise Invalid("end must be after start", field="end")
    if (start, end) == (booking.starts_at, booking.ends_at):
        raise Invalid("the new time is the booking's current time", field="start")
    _check_slot(session, booking.provider, start, end, rules, now, booking.id)
    old = (booking.starts_at, booking.ends_at)
    booking.starts_at, booking.ends_at = start, end
    record_event(
        booking, "reschedule", booking.status, actor=actor, note=reason, old=old
    )
    _flush_or_conflict(session)
    followups.plan(
        session, booking, "reschedule", follow_ups or FollowUpRules(), now=now
    )
    return booking


def customer_bookings(
    session: Session, customer_id: int, *, status: str | None = None, limit: int = 50
) -> list[Booking]:
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    stmt = select(Booking).where(Booking.customer_id == customer_id)
    if status:
        try:
            stmt = stmt.where(Booking.status == BookingStatus(status))
        except ValueError as exc:
            raise Invalid(f"unknown status '{status}'", field="status") from exc
    return list(session.scalars(stmt.order_by(Booking.starts_at.desc()).limit(limit)))
