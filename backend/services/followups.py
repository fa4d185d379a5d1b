"""Follow-ups: messages due at a time, written with the change that causes them.

The outbox: every booking change plans its follow-ups (:func:`plan`) in the
same transaction, so a rolled-back change sends nothing and a committed one
cannot lose its messages. Beat sweeps due rows (:func:`claim_due`); a task then
makes one attempt (:func:`begin_attempt` → a notifier → :func:`record_sent` or
:func:`record_failure`).

Exactly once:
- a unique ``send_key`` per (kind, recipient, booking[, time]) keeps a message
  from being planned twice;
- a claim is a conditional UPDATE, so two sweeps never take one row, and each
  attempt carries the claim's time as a token, so a stale copy of a task (a
  broker redelivery) does nothing;
- a claim older than the lease (its worker died) is taken again, and an
  attempt after an earlier one asks the channel whether that one got through
  before sending (``Notifier.find_sent``).

Nothing here knows Celery or a channel's API.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    LIVE_BOOKING_STATUSES,
    SKIP_NOTHING_TO_TELL,
    SKIP_OPTED_OUT,
    SKIP_UNREACHABLE,
    Booking,
    BookingStatus,
    CategoryKind,
    Channel,
    Conversation,
    Customer,
    Direction,
    FollowUp,
    FollowUpState,
    Message,
    Provider,
    ServiceMode,
)
from backend.services import texts
from backend.services.availability import free_slots_near, free_slots_of
from backend.services.conversations import conversation_of
from backend.services.customers import set_opt_out
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.places import Place
from backend.services.rules import BookingRules, FollowUpRules

S = BookingStatus
F = FollowUpState
CUSTOMER, PROVIDER = "customer", "provider"
#: Channels a message can be pushed on, in the order tried for a customer.
PUSH_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.MESSENGER, Channel.TELEGRAM)
MESSENGER_WINDOW = timedelta(hours=24)
MESSENGER_TAG = "CONFIRMED_EVENT_UPDATE"
LIVE = frozenset(LIVE_BOOKING_STATUSES)
UPCOMING = frozenset({S.CONFIRMED})


@dataclass(frozen=True)
class Kind:
    """A kind of follow-up and the rules for sending it."""

    name: str
    audience: str
    #: sent even in the recipient's quiet hours (it cannot wait)
    urgent: bool = False
    #: about a booking the person made: Messenger's event-update tag applies
    booking_update: bool = False
    #: the booking must still be in one of these states, or it is not sent
    states: frozenset[BookingStatus] | None = None


KINDS: dict[tuple[str, str], Kind] = {
    (k.name, k.audience): k
    for k in (
        Kind("confirmation", CUSTOMER, urgent=True, booking_update=True, states=LIVE),
        Kind("confirmation", PROVIDER, booking_update=True, states=LIVE),
        Kind("reminder_24h", CUSTOMER, booking_update=True, states=UPCOMING),
        Kind(
            "reminder_1h", CUSTOMER, urgent=True, booking_update=True, states=UPCOMING
        ),
        Kind("check_in_prompt", PROVIDER, urgent=True, states=UPCOMING),
        Kind("rescheduled", CUSTOMER, booking_update=True, states=LIVE),
        Kind("rescheduled", PROVIDER, states=LIVE),
        Kind("cancellation", PROVIDER, states=frozenset({S.CANCELLED})),
        Kind("rebooking_offer", CUSTOMER, states=frozenset({S.CANCELLED, S.NO_SHOW})),
        Kind("review_request", CUSTOMER, states=frozenset({S.COMPLETED})),
        Kind(
            "session_follow_up", CUSTOMER, states=frozenset({S.COMPLETED, S.REVIEWED})
        ),
        Kind("session_rebook", CUSTOMER, states=frozenset({S.COMPLETED, S.REVIEWED})),
        # due at the hour chosen for it (BECKON_FOLLOWUP_AGENDA_HOUR)
        Kind("provider_agenda", PROVIDER, urgent=True),
    )
}
#: Kinds tied to the booking's time: a reschedule moves them.
TIMED = ("reminder_24h", "reminder_1h", "check_in_prompt")


# ---------------------------------------------------------------- planning


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


def is_session(booking: Booking) -> bool:
    """A remote session with a reader or coach, not a job at an address."""
    if booking.service is not None:
        return booking.service.mode == ServiceMode.REMOTE
    categories = booking.provider.categories
    return bool(categories) and all(c.kind == CategoryKind.READING for c in categories)


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
                _end(pending, F.CANCELLED, "the booking moved too close for it")
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
        _end(row, F.CANCELLED, reason)
    return len(rows)


def _end(row: FollowUp, state: FollowUpState, reason: str) -> None:
    row.state = state
    row.last_error = reason


@dataclass(frozen=True)
class Skip:
    """Why a follow-up is not sent: a code (``models.SKIP_REASONS``), and words."""

    code: str
    reason: str


def _skip(row: FollowUp, skip: Skip) -> None:
    _end(row, F.SKIPPED, skip.reason)
    row.skip_reason = skip.code


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


# ---------------------------------------------------------------- sending


def claim_due(
    session: Session, rules: FollowUpRules, *, now: datetime | None = None
) -> list[tuple[int, str]]:
    """Claim due follow-ups (and ones whose claim outlived the lease).

    Returns ``(id, token)`` pairs: the token is the claim's time, which the
    attempt must present. Two sweeps never claim one row.
    """
    now = now or utcnow()
    stale = now - timedelta(seconds=rules.lease_seconds)
    due = (
        select(FollowUp.id)
        .where(
            or_(
                and_(FollowUp.state == F.PENDING, FollowUp.due_at <= now),
                and_(FollowUp.state == F.CLAIMED, FollowUp.claimed_at < stale),
            )
        )
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(rules.sweep_batch)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    claimed = session.execute(
        update(FollowUp)
        .where(
            FollowUp.id.in_(ids),
            or_(
                FollowUp.state == F.PENDING,
                and_(FollowUp.state == F.CLAIMED, FollowUp.claimed_at < stale),
            ),
        )
        .values(state=F.CLAIMED, claimed_at=now)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    )
    token = _token(now)
    return [(row_id, token) for row_id in sorted(claimed.scalars())]


def _token(claimed_at: datetime) -> str:
    """A claim's token: its time, in one spelling whatever the zone."""
    return claimed_at.astimezone(UTC).isoformat(timespec="microseconds")


def _claimed(session: Session, follow_up_id: int, token: str) -> FollowUp | None:
    """The follow-up, locked, if it is still claimed under ``token``."""
    row = session.get(FollowUp, follow_up_id, with_for_update=True)
    if row is None or row.state != F.CLAIMED or row.claimed_at is None:
        return None
    return row if _token(row.claimed_at) == token else None


@dataclass(frozen=True)
class Attempt:
    """One try at sending a claimed follow-up."""

    follow_up_id: int
    token: str
    channel: Channel
    to: str
    body: str
    key: str
    since: datetime
    #: an earlier attempt began: it may have got through
    retried: bool
    #: attempts so far, this one included
    attempts: int = 1
    tag: str | None = None


def begin_attempt(
    session: Session,
    follow_up_id: int,
    token: str,
    rules: FollowUpRules,
    booking_rules: BookingRules,
    *,
    now: datetime | None = None,
) -> Attempt | None:
    """Start an attempt at a claimed follow-up, or settle it without sending.

    None when there is nothing to send now: the claim is not ours (the token
    is stale), the follow-up no longer applies, the recipient cannot be
    reached or opted out (skipped), or it is quiet time (moved to the end of
    it). The caller commits, then sends.
    """
    now = now or utcnow()
    row = _claimed(session, follow_up_id, token)
    if row is None:
        return None
    kind = KINDS.get((row.kind, row.recipient))
    if kind is None:
        _end(row, F.FAILED, f"unknown follow-up kind {row.kind}/{row.recipient}")
        return None
    booking = row.booking
    if kind.states is not None and (
        booking is None or booking.status not in kind.states
    ):
        state = booking.status.value if booking is not None else "gone"
        _end(row, F.CANCELLED, f"booking is {state.replace('_', ' ')}")
        return None
    recipient = _recipient(session, row, kind, now)
    if isinstance(recipient, Skip):
        _skip(row, recipient)
        return None
    channel, address, zone, locale, tag = recipient
    if not kind.urgent:
        local_hour = now.astimezone(ZoneInfo(zone)).hour
        if rules.is_quiet(local_hour):
            row.state = F.PENDING
            row.due_at = _quiet_ends(now, zone, rules)
            row.last_error = "quiet hours: moved to their end"
            return None
    context = _context(session, row, booking, zone, locale, booking_rules, now)
    if context is None:
        _skip(row, Skip(SKIP_NOTHING_TO_TELL, "nothing to tell: no jobs that day"))
        return None
    body = texts.render(row.kind, row.recipient, locale, **context)
    retried = row.attempts > 0
    row.attempts += 1
    row.channel = channel
    row.claimed_at = now
    row.last_error = None
    return Attempt(
        follow_up_id=row.id,
        token=_token(now),
        channel=channel,
        to=address,
        body=body,
        key=row.send_key,
        since=row.created_at,
        retried=retried,
        attempts=row.attempts,
        tag=tag,
    )


def fail(session: Session, follow_up_id: int, reason: str) -> None:
    """Give up on a follow-up that cannot be sent (the console can retry it)."""
    row = session.get(FollowUp, follow_up_id)
    if row is not None and row.state in (F.PENDING, F.CLAIMED):
        _end(row, F.FAILED, reason[:2000])


def _quiet_ends(now: datetime, zone: str, rules: FollowUpRules) -> datetime:
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    end = datetime.combine(local.date(), time(rules.quiet_end_hour), tz)
    if end <= local:
        end = datetime.combine(
            local.date() + timedelta(days=1), time(rules.quiet_end_hour), tz
        )
    # spread the morning's messages over a few minutes, not one burst
    return end + timedelta(seconds=random.randint(0, 300))


def _recipient(
    session: Session, row: FollowUp, kind: Kind, now: datetime
) -> tuple[Channel, str, str, str, str | None] | Skip:
    """(channel, address, time zone, locale, Messenger tag), or why nobody can
    be reached: an opt-out when the customer opted out of a channel that
    would have reached them."""
    if row.recipient == PROVIDER:
        provider = session.get(Provider, row.provider_id)
        if provider is None or not provider.phone:
            return Skip(SKIP_UNREACHABLE, "the provider has no phone number")
        return Channel.SMS, provider.phone, provider.timezone, "en-US", None
    customer = session.get(Customer, row.customer_id)
    if customer is None or customer.erased_at is not None:
        return Skip(SKIP_UNREACHABLE, "the customer is gone")
    addresses = _customer_addresses(customer)
    opted_out = set(customer.opt_outs or [])
    first = [row.channel] if row.channel in addresses else []
    reasons = []
    code = SKIP_UNREACHABLE
    for channel in dict.fromkeys(first + [c for c in PUSH_CHANNELS if c in addresses]):
        if channel.value in opted_out:
            reasons.append(f"opted out of {channel.value}")
            code = SKIP_OPTED_OUT
            continue
        tag = None
        if channel == Channel.MESSENGER:
            last_in = _last_inbound(session, customer.id, Channel.MESSENGER)
            if last_in is None or now - last_in > MESSENGER_WINDOW:
                if not kind.booking_update:
                    reasons.append("outside Messenger's 24-hour window")
                    continue
                tag = MESSENGER_TAG
        return channel, addresses[channel], customer.timezone, customer.locale, tag
    return Skip(code, "; ".join(reasons) or "no channel to reach the customer on")


def _customer_addresses(customer: Customer) -> dict[Channel, str]:
    out: dict[Channel, str] = {}
    if customer.phone:
        out[Channel.SMS] = customer.phone
    for identity in customer.identities:
        if identity.channel in PUSH_CHANNELS:
            out.setdefault(identity.channel, identity.external_id)
    if Channel.WHATSAPP in out and not out[Channel.WHATSAPP].startswith("whatsapp:"):
        out[Channel.WHATSAPP] = "whatsapp:" + out[Channel.WHATSAPP]
    return out


def _last_inbound(
    session: Session, customer_id: int, channel: Channel
) -> datetime | None:
    return session.scalar(
        select(func.max(Message.created_at))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.customer_id == customer_id,
            Conversation.channel == channel,
            Message.direction == Direction.IN,
        )
    )


def _context(
    session: Session,
    row: FollowUp,
    booking: Booking | None,
    zone: str,
    locale: str,
    booking_rules: BookingRules,
    now: datetime,
) -> dict[str, Any] | None:
    if row.kind == "provider_agenda":
        return _agenda_context(session, row, zone, locale)
    assert booking is not None
    customer = booking.customer
    # a job happens where the provider works: its time is told on that clock;
    # a remote session is told on the reader's (the recipient's) own clock
    if not is_session(booking):
        zone = booking.provider.timezone
    context: dict[str, Any] = {
        "ref": booking.id,
        "provider": booking.provider.name,
        "customer": (customer.display_name if customer else None) or "a customer",
        "service": _service_name(booking),
        "when": texts.format_when(booking.starts_at, zone, locale),
        "clock": texts.format_clock(booking.starts_at, zone, locale),
        "address": booking.job.address if booking.job is not None else None,
        "reason": booking.status.value,
    }
    if row.kind in ("rebooking_offer", "session_rebook"):
        context["slots"] = _next_slots(
            session,
            booking,
            zone,
            locale,
            booking_rules,
            now,
            same_provider_only=row.kind == "session_rebook",
        )
    return context


def _service_name(booking: Booking) -> str:
    if booking.service is not None:
        return booking.service.name
    if booking.job is not None and booking.job.category is not None:
        return booking.job.category.name.lower()
    categories = booking.provider.categories
    return categories[0].name.lower() if categories else "your booking"


def _next_slots(
    session: Session,
    booking: Booking,
    zone: str,
    locale: str,
    booking_rules: BookingRules,
    now: datetime,
    *,
    same_provider_only: bool = False,
    count: int = 3,
) -> list[dict[str, str]]:
    """The next free times of the same provider, else of similar providers
    (same category, covering the same place), for a rebooking offer."""
    start, end = now, now + timedelta(days=14)
    provider = booking.provider
    slots = free_slots_of(
        session,
        [provider],
        start,
        end,
        booking_rules,
        slots_per_provider=count,
        now=now,
    ).get(provider.id, [])
    out = [
        {"provider": provider.name, "when": texts.format_when(s.start, zone, locale)}
        for s in slots[:count]
    ]
    if out or same_provider_only or not provider.categories:
        return out
    job = booking.job
    place = Place(
        name=(job.city if job is not None and job.city else provider.city) or "",
        lat=job.lat if job is not None and job.lat is not None else provider.lat,
        lon=job.lon if job is not None and job.lon is not None else provider.lon,
    )
    nearby = free_slots_near(
        session,
        provider.categories[0].slug,
        place,
        start,
        end,
        booking_rules,
        limit=count + 1,
        slots_per_provider=1,
        now=now,
    )
    for found in nearby:
        if found.provider.id != provider.id and found.slots:
            out.append(
                {
                    "provider": found.provider.name,
                    "when": texts.format_when(found.slots[0].start, zone, locale),
                }
            )
    return out[:count]


def _agenda_context(
    session: Session, row: FollowUp, zone: str, locale: str
) -> dict[str, Any] | None:
    day = date.fromisoformat(row.payload["day"])
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tz)
    jobs = list(
        session.scalars(
            select(Booking)
            .where(
                Booking.provider_id == row.provider_id,
                Booking.status == S.CONFIRMED,
                Booking.starts_at >= start,
                Booking.starts_at < start + timedelta(days=1),
            )
            .order_by(Booking.starts_at)
        )
    )
    if not jobs:
        return None
    return {
        "day": texts.format_day(day, locale),
        "items": [
            {
                "clock": texts.format_clock(b.starts_at, zone, locale),
                "ref": b.id,
                "service": _service_name(b),
                "customer": (b.customer.display_name if b.customer else None)
                or "a customer",
                "address": b.job.address if b.job is not None else None,
            }
            for b in jobs
        ],
    }


def record_sent(
    session: Session,
    attempt: Attempt,
    external_id: str,
    status: str,
    *,
    now: datetime | None = None,
) -> bool:
    """Mark the follow-up sent and keep the outbound message. False if the
    claim was lost meanwhile (nothing recorded)."""
    now = now or utcnow()
    row = _claimed(session, attempt.follow_up_id, attempt.token)
    if row is None:
        return False
    row.state = F.SENT
    row.sent_at = now
    row.last_error = None
    conversation = conversation_of(
        session,
        attempt.channel,
        customer_id=row.customer_id if row.recipient == CUSTOMER else None,
        provider_id=row.provider_id if row.recipient == PROVIDER else None,
        now=now,
    )
    session.add(
        Message(
            conversation=conversation,
            direction=Direction.OUT,
            channel=attempt.channel,
            external_id=external_id or None,
            text=attempt.body,
            payload={"to": attempt.to, "kind": row.kind, "send_key": row.send_key},
            status=status,
            status_at=now,
            follow_up_id=row.id,
        )
    )
    return True


def record_failure(
    session: Session,
    attempt: Attempt,
    error: str,
    *,
    permanent: bool,
    opted_out: bool,
    rules: FollowUpRules,
    backoff_seconds: float,
    now: datetime | None = None,
) -> FollowUpState | None:
    """Settle a failed attempt: opted out → skipped (and remembered on the
    customer); permanent or out of attempts → failed; else due again after
    ``backoff_seconds``. Returns the new state, None if the claim was lost."""
    now = now or utcnow()
    row = _claimed(session, attempt.follow_up_id, attempt.token)
    if row is None:
        return None
    row.last_error = error[:2000]
    if opted_out:
        if row.customer_id is not None:
            with suppress(NotFound):  # an erased customer has nothing to remember
                set_opt_out(session, row.customer_id, attempt.channel, True)
        row.state = F.SKIPPED
        row.skip_reason = SKIP_OPTED_OUT
    elif permanent or row.attempts >= rules.max_attempts:
        row.state = F.FAILED
    else:
        row.state = F.PENDING
        row.due_at = now + timedelta(seconds=backoff_seconds)
    return row.state


def retry_failed(
    session: Session, follow_up_id: int, *, now: datetime | None = None
) -> FollowUp:
    """Put a failed follow-up back in the queue (the console's retry)."""
    row = session.get(FollowUp, follow_up_id)
    if row is None:
        raise NotFound(f"follow-up {follow_up_id} not found")
    if row.state != F.FAILED:
        raise Conflict(
            f"follow-up {follow_up_id} is {row.state.value}; "
            "only a failed one can be retried",
            code="not_failed",
        )
    row.state = F.PENDING
    row.due_at = now or utcnow()
    row.attempts = 0
    return row


# ---------------------------------------------------------------- delivery status

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
    now: datetime | None = None,
) -> Message | None:
    """Move an outbound message to the status its channel reports, never
    backwards (a late "sent" after "delivered" changes nothing). None if the
    message is not ours.

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
    current = message.status
    if (
        status in INBOUND_STATUSES
        or current in FINAL_FAILURES
        or STATUS_ORDER.get(current, -1) >= STATUS_ORDER[status]
    ):
        return message  # never backwards; a failure is final
    message.status = status
    message.status_at = now or utcnow()
    if error_code:
        message.error_code = error_code[:20]
    return message
