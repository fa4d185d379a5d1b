"""The kinds of follow-up, who they go to and when they still apply."""

from __future__ import annotations

from dataclasses import dataclass

from backend.models import (
    LIVE_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    CategoryKind,
    FollowUp,
    FollowUpState,
    ServiceMode,
)

S = BookingStatus
F = FollowUpState
CUSTOMER, PROVIDER = "customer", "provider"
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


def is_session(booking: Booking) -> bool:
    """A remote session with a reader or coach, not a job at an address."""
    if booking.service is not None:
        return booking.service.mode == ServiceMode.REMOTE
    categories = booking.provider.categories
    return bool(categories) and all(c.kind == CategoryKind.READING for c in categories)


def end(row: FollowUp, state: FollowUpState, reason: str) -> None:
    row.state = state
    row.last_error = reason


@dataclass(frozen=True)
class Skip:
    """Why a follow-up is not sent: a code (``models.SKIP_REASONS``), and words."""

    code: str
    reason: str


def skip(row: FollowUp, skip: Skip) -> None:
    end(row, F.SKIPPED, skip.reason)
    row.skip_reason = skip.code
