"""Reviews: stars and words after a completed booking, and the provider's rating.

The rating moves by one review at a time in a single UPDATE of the
provider's row, computed by the database from the row as it is (a lost update
of two reviews at once is not possible); the booking and the review are read
locked (``for_update``), so a review or a moderation happens once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import Numeric, case, cast, func, select, update
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    Booking,
    BookingStatus,
    FollowUp,
    FollowUpState,
    ModerationState,
    Provider,
    Review,
)
from backend.schemas import ReviewCreate
from backend.services import followups
from backend.services.bookings import get_booking, guard_transition, record_event
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.rules import FollowUpRules


def _add_to_rating(session: Session, provider_id: int, stars: int, sign: int) -> None:
    """Move the running average by one review in (``sign`` 1) or out (-1):
    one UPDATE, whose arithmetic reads the row under its lock, never a value
    read earlier (the provider's loaded rating is expired, to be read again)."""
    count = Provider.review_count + sign
    total = Provider.rating * Provider.review_count + sign * stars
    session.execute(
        update(Provider)
        .where(Provider.id == provider_id)
        .values(
            review_count=case((count > 0, count), else_=0),
            rating=case(
                (count > 0, func.round(cast(total / count, Numeric), 3)), else_=0.0
            ),
        )
        .execution_options(synchronize_session=False)
    )
    provider = session.get(Provider, provider_id)
    if provider is not None:
        session.expire(provider, ["rating", "review_count"])


def leave_review(
    session: Session,
    booking_id: int,
    data: ReviewCreate,
    *,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Review:
    """Record the customer's review of a completed booking (one per booking)."""
    booking = get_booking(session, booking_id, for_update=True)
    if customer_id is not None and booking.customer_id != customer_id:
        raise Invalid("only the booking's customer can review it", field="customer_id")
    if booking.review is not None:
        raise Conflict(
            f"booking {booking.id} has a review already", code="already_reviewed"
        )
    guard_transition(booking, "review")
    review = Review(
        booking=booking,
        provider_id=booking.provider_id,
        customer_id=booking.customer_id,
        stars=data.stars,
        text=data.text,
        moderation=ModerationState.PUBLISHED,
    )
    if now is not None:
        review.created_at = now
    session.add(review)
    _add_to_rating(session, booking.provider_id, data.stars, +1)
    record_event(booking, "review", BookingStatus.REVIEWED, actor="customer")
    session.flush()
    followups.plan(session, booking, "review", FollowUpRules(), now=now)
    return review


def moderate_review(
    session: Session, review_id: int, state: ModerationState, reason: str = ""
) -> Review:
    """Publish or hide a review; hidden reviews do not count towards the rating."""
    # locked and read afresh: two moderations at once count it in or out once
    review = session.get(
        Review, review_id, with_for_update=True, populate_existing=True
    )
    if review is None:
        raise NotFound(f"review {review_id} not found")
    was_counted = review.moderation == ModerationState.PUBLISHED
    counts = state == ModerationState.PUBLISHED
    if was_counted != counts:
        _add_to_rating(session, review.provider_id, review.stars, +1 if counts else -1)
    review.moderation = state
    review.moderation_reason = reason or None
    session.flush()
    return review


_STAR_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_REPLY = re.compile(
    r"^\s*(?:(?P<digit>[1-5])(?:\s*(?:/\s*5|stars?|\*))?|(?P<word>one|two|three|four|five)"
    r"(?:\s+stars?)?|(?P<glyphs>[*★⭐]{1,5}))(?=$|[\s.,!:;-])[\s.,!:;-]*(?P<text>.*)$",
    re.IGNORECASE | re.DOTALL,
)
#: A reply counts as the answer to a review request sent this recently.
REVIEW_REPLY_DAYS = 14


def parse_stars(reply: str) -> tuple[int, str] | None:
    """Stars and words from a reply like "5 great job", "four stars, tidy",
    "★★★★". None if the reply does not start with a rating."""
    match = _REPLY.match(reply)
    if match is None:
        return None
    if match["digit"]:
        stars = int(match["digit"])
    elif match["word"]:
        stars = _STAR_WORDS[match["word"].lower()]
    else:
        stars = len(match["glyphs"])
    return stars, match["text"].strip()


def review_from_reply(
    session: Session, customer_id: int, reply: str, *, now: datetime | None = None
) -> Review | None:
    """Record a customer's text reply to a review request as their review.

    None (nothing recorded) if the reply is not a rating or no review request
    is waiting for an answer: the caller then treats it as an ordinary message.
    """
    parsed = parse_stars(reply)
    if parsed is None:
        return None
    now = now or utcnow()
    waiting = session.scalars(
        select(FollowUp)
        .join(Booking, Booking.id == FollowUp.booking_id)
        .where(
            FollowUp.customer_id == customer_id,
            FollowUp.kind.in_(("review_request", "session_follow_up")),
            FollowUp.state == FollowUpState.SENT,
            FollowUp.sent_at >= now - timedelta(days=REVIEW_REPLY_DAYS),
            Booking.status == BookingStatus.COMPLETED,
        )
        .order_by(FollowUp.sent_at.desc())
        .limit(1)
    ).first()
    if waiting is None:
        return None
    stars, text = parsed
    return leave_review(
        session,
        waiting.booking_id,
        ReviewCreate(stars=stars, text=text[:5000]),
        customer_id=customer_id,
        now=now,
    )
