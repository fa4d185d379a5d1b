"""The outbox: claiming due follow-ups under a lease, one attempt at each,
and settling it (sent, due again after a backoff, skipped or failed)."""

from __future__ import annotations

import random
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    SKIP_NOTHING_TO_TELL,
    SKIP_OPTED_OUT,
    Channel,
    Direction,
    FollowUp,
    FollowUpState,
    Message,
)
from backend.services import delivery, leases, texts
from backend.services.conversations import conversation_of
from backend.services.customers import set_opt_out
from backend.services.errors import Conflict, NotFound
from backend.services.followups.kinds import (
    CUSTOMER,
    KINDS,
    PROVIDER,
    F,
    Skip,
    end,
    skip,
)
from backend.services.followups.recipients import recipient_of
from backend.services.followups.rendering import context_of
from backend.services.rules import BookingRules, FollowUpRules

#: Where a follow-up keeps its claim: state CLAIMED since ``claimed_at``.
LEASE = leases.Lease(FollowUp.id, FollowUp.state, FollowUp.claimed_at)


def claim_due(
    session: Session, rules: FollowUpRules, *, now: datetime | None = None
) -> list[tuple[int, str]]:
    """Claim due follow-ups (and ones whose claim outlived the lease).

    Returns ``(id, token)`` pairs: the token is the claim's time, which the
    attempt must present. Two sweeps never claim one row.
    """
    now = now or utcnow()
    takeable = LEASE.takeable(
        F.PENDING, F.CLAIMED, lease_seconds=rules.lease_seconds, now=now
    )
    due = (
        select(FollowUp.id)
        .where(takeable, or_(FollowUp.state != F.PENDING, FollowUp.due_at <= now))
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(rules.sweep_batch)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    claimed = session.execute(
        update(FollowUp)
        .where(FollowUp.id.in_(ids), takeable)
        .values(state=F.CLAIMED, claimed_at=now)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    )
    return [(row_id, leases.token(now)) for row_id in sorted(claimed.scalars())]


def claimed(session: Session, follow_up_id: int, claim: str) -> FollowUp | None:
    """The follow-up, locked, if it is still claimed under ``claim``."""
    row = session.get(FollowUp, follow_up_id, with_for_update=True)
    if row is None or row.state != F.CLAIMED or row.claimed_at is None:
        return None
    return row if leases.token(row.claimed_at) == claim else None


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
    row = claimed(session, follow_up_id, token)
    if row is None:
        return None
    kind = KINDS.get((row.kind, row.recipient))
    if kind is None:
        end(row, F.FAILED, f"unknown follow-up kind {row.kind}/{row.recipient}")
        return None
    booking = row.booking
    if kind.states is not None and (
        booking is None or booking.status not in kind.states
    ):
        state = booking.status.value if booking is not None else "gone"
        end(row, F.CANCELLED, f"booking is {state.replace('_', ' ')}")
        return None
    recipient = recipient_of(session, row, kind, now)
    if isinstance(recipient, Skip):
        skip(row, recipient)
        return None
    channel, address, zone, locale, tag = recipient
    if not kind.urgent:
        local_hour = now.astimezone(ZoneInfo(zone)).hour
        if rules.is_quiet(local_hour):
            row.state = F.PENDING
            row.due_at = quiet_ends(now, zone, rules)
            row.last_error = "quiet hours: moved to their end"
            return None
    context = context_of(session, row, booking, zone, locale, booking_rules, now)
    if context is None:
        skip(row, Skip(SKIP_NOTHING_TO_TELL, "nothing to tell: no jobs that day"))
        return None
    body = texts.render(row.kind, row.recipient, locale, **context)
    retried = row.attempts > 0
    row.attempts += 1
    row.channel = channel
    row.claimed_at = now
    row.last_error = None
    return Attempt(
        follow_up_id=row.id,
        token=leases.token(now),
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
        end(row, F.FAILED, reason[:2000])


def quiet_ends(now: datetime, zone: str, rules: FollowUpRules) -> datetime:
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    end = datetime.combine(local.date(), time(rules.quiet_end_hour), tz)
    if end <= local:
        end = datetime.combine(
            local.date() + timedelta(days=1), time(rules.quiet_end_hour), tz
        )
    # spread the morning's messages over a few minutes, not one burst
    return end + timedelta(seconds=random.randint(0, 300))


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
    row = claimed(session, attempt.follow_up_id, attempt.token)
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
    message = Message(
        conversation=conversation,
        direction=Direction.OUT,
        channel=attempt.channel,
        external_id=external_id or None,
        text=attempt.body,
        payload={"to": attempt.to, "kind": row.kind, "send_key": row.send_key},
        status="sent",
        status_at=now,
        follow_up_id=row.id,
    )
    if status:
        delivery.advance(message, status)
    session.add(message)
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
    row = claimed(session, attempt.follow_up_id, attempt.token)
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
