"""Planning: the follow-ups a booking change calls for, written in its
transaction (and the providers' daily agendas)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import Booking, Channel, FollowUp, Provider
from backend.services.followups.kinds import (
    CUSTOMER,
    PROVIDER,
    TIMED,
    F,
    S,
    end,
    is_session,
)
from backend.services.followups.recipients import PUSH_CHANNELS
from backend.services.rules import FollowUpRules


def plan(
    session: Session,
    booking: Booking,
    action: str,
    rules: FollowUpRules,
    *,
    now: datetime | None = None,
) -> list[FollowUp]:
    """Write the follow-ups that ``action`` (a booking event) calls for.

    Called by the booking services inside their transaction, after the change.
    """
    now = now or utcnow()
    planned: list[FollowUp] = []

    def add(kind: str, audience: str, due: datetime, key: str | None = None) -> None:
        row = _add(session, booking, kind, audience, due, key)
        if row is not None:
            planned.append(row)

    if action in ("confirm", "create") and booking.status == S.CONFIRMED:
        add("confirmation", CUSTOMER, now)
        add("confirmation", PROVIDER, now)
        planned += _plan_timed(session, booking, rules, now)
    elif action == "reschedule" and booking.status == S.CONFIRMED:
        mark = int(booking.starts_at.timestamp())
        add("rescheduled", CUSTOMER, now, _key("rescheduled", CUSTOMER, booking, mark))
        add("rescheduled", PROVIDER, now, _key("rescheduled", PROVIDER, booking, mark))
        planned += _plan_timed(session, booking, rules, now)
    elif action in ("cancel", "no_show"):
        cancel_pending(session, booking.id, f"booking {action.replace('_', '-')}")
        # a hold that never became a booking was announced to nobody
        if any(event.action == "confirm" for event in booking.events):
            if action == "cancel":
                add("cancellation", PROVIDER, now)
            delay = timedelta(minutes=rules.rebooking_delay_minutes)
            add("rebooking_offer", CUSTOMER, now + delay)
    elif action == "check_in":
        cancel_pending(session, booking.id, "provider checked in", kinds=TIMED)
    elif action == "complete":
        cancel_pending(session, booking.id, "booking completed", kinds=TIMED)
        add(
            "review_request",
            CUSTOMER,
            now + timedelta(minutes=rules.review_delay_minutes),
        )
        if is_session(booking):
            add(
                "session_follow_up",
                CUSTOMER,
                now + timedelta(days=rules.session_first_days),
            )
            add(
                "session_rebook",
                CUSTOMER,
                now + timedelta(days=rules.session_second_days),
            )
    elif action == "review":
        cancel_pending(session, booking.id, "reviewed", kinds=("review_request",))
    return planned


def _key(kind: str, audience: str, booking: Booking, mark: int | None = None) -> str:
    key = f"{kind}:{audience}:b{booking.id}"
    return f"{key}:{mark}" if mark is not None else key


def _plan_timed(
    session: Session, booking: Booking, rules: FollowUpRules, now: datetime
) -> list[FollowUp]:
    """Reminders and the check-in prompt for the booking's current time: a
    pending one moves, a missing one is added; one already due is not."""
    wanted = [
        ("reminder_24h", CUSTOMER, timedelta(hours=rules.reminder_early_hours)),
        ("reminder_1h", CUSTOMER, timedelta(minutes=rules.reminder_late_minutes)),
    ]
    if not is_session(booking):
        wanted.append(
            (
                "check_in_prompt",
                PROVIDER,
                timedelta(minutes=rules.check_in_prompt_minutes),
            )
        )
    mark = int(booking.starts_at.timestamp())
    out = []
    for kind, audience, before in wanted:
        due = booking.starts_at - before
        pending = session.scalars(
            select(FollowUp).where(
                FollowUp.booking_id == booking.id,
                FollowUp.kind == kind,
                FollowUp.recipient == audience,
                FollowUp.state == F.PENDING,
            )
        ).first()
        if due <= now:  # too late for this one: the booking is sooner than that
            if pending is not None:
                end(pending, F.CANCELLED, "the booking moved too close for it")
            continue
        key = _key(kind, audience, booking, mark)
        if pending is not None:
            pending.due_at, pending.send_key = due, key
            out.append(pending)
            continue
        row = _add(session, booking, kind, audience, due, key)
        if row is not None:
            out.append(row)
    return out


def _add(
    session: Session,
    booking: Booking,
    kind: str,
    audience: str,
    due: datetime,
    key: str | None = None,
) -> FollowUp | None:
    """A new pending follow-up, unless one with its send key exists."""
    key = key or _key(kind, audience, booking)
    if session.scalar(select(FollowUp.id).where(FollowUp.send_key == key)):
        return None
    row = FollowUp(
        booking_id=booking.id,
        customer_id=booking.customer_id if audience == CUSTOMER else None,
        provider_id=booking.provider_id if audience == PROVIDER else None,
        kind=kind,
        recipient=audience,
        channel=booking.channel if booking.channel in PUSH_CHANNELS else Channel.SMS,
        due_at=due,
        state=F.PENDING,
        send_key=key,
        attempts=0,
        payload={},
    )
    session.add(row)
    return row


def cancel_pending(
    session: Session, booking_id: int, reason: str, kinds: Iterable[str] | None = None
) -> int:
    """Cancel the booking's follow-ups not yet sent (or only ``kinds``)."""
    stmt = select(FollowUp).where(
        FollowUp.booking_id == booking_id,
        FollowUp.state.in_((F.PENDING, F.CLAIMED)),
    )
    if kinds is not None:
        stmt = stmt.where(FollowUp.kind.in_(tuple(kinds)))
    rows = list(session.scalars(stmt))
    for row in rows:
        end(row, F.CANCELLED, reason)
    return len(rows)


def plan_agendas(
    session: Session, rules: FollowUpRules, *, now: datetime | None = None
) -> int:
    """Plan each provider's agenda for their next working morning with jobs:
    due at ``agenda_hour`` local on the day of the jobs. Safe to run often."""
    now = now or utcnow()
    horizon = now + timedelta(days=2)
    rows = session.execute(
        select(Booking.provider_id, Booking.starts_at, Provider.timezone)
        .join(Provider, Provider.id == Booking.provider_id)
        .where(
            Booking.status == S.CONFIRMED,
            Booking.starts_at >= now,
            Booking.starts_at < horizon,
        )
    ).all()
    days: set[tuple[int, date, str]] = set()
    for provider_id, starts_at, zone in rows:
        days.add((provider_id, starts_at.astimezone(ZoneInfo(zone)).date(), zone))
    added = 0
    for provider_id, day, zone in sorted(days):
        due = datetime.combine(day, time(rules.agenda_hour), ZoneInfo(zone))
        if due <= now - timedelta(hours=1):
            continue  # that morning is gone
        key = f"provider_agenda:{PROVIDER}:p{provider_id}:{day.isoformat()}"
        if session.scalar(select(FollowUp.id).where(FollowUp.send_key == key)):
            continue
        try:
            with session.begin_nested():
                session.add(
                    FollowUp(
                        provider_id=provider_id,
                        kind="provider_agenda",
                        recipient=PROVIDER,
                        channel=Channel.SMS,
                        due_at=max(due, now),
                        state=F.PENDING,
                        send_key=key,
                        attempts=0,
                        payload={"day": day.isoformat()},
                    )
                )
            added += 1
        except IntegrityError:  # another sweep planned it first
            continue
    return added
