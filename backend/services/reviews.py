"""Reviews: stars and words after a completed booking, and the provider's rating."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.models import BookingStatus, ModerationState, Provider, Review
from backend.schemas import ReviewCreate
from backend.services.bookings import get_booking, guard_transition, record_event
from backend.services.errors import Conflict, Invalid, NotFound


def _add_to_rating(provider: Provider, stars: int, sign: int) -> None:
    """Move the running average by one review in (``sign`` 1) or out (-1)."""
    total = provider.rating * provider.review_count + sign * stars
    provider.review_count = max(provider.review_count + sign, 0)
    provider.rating = (
        round(total / provider.review_count, 3) if provider.review_count else 0.0
    )


def leave_review(
    session: Session,
    booking_id: int,
    data: ReviewCreate,
    *,
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Review:
    """Record the customer's review of a completed booking (one per booking)."""
    booking = get_booking(session, booking_id)
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
    _add_to_rating(booking.provider, data.stars, +1)
    record_event(booking, "review", BookingStatus.REVIEWED, actor="customer")
    session.flush()
    return review


def moderate_review(
    session: Session, review_id: int, state: ModerationState, reason: str = ""
) -> Review:
    """Publish or hide a review; hidden reviews do not count towards the rating."""
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(f"review {review_id} not found")
    provider = session.get(Provider, review.provider_id)
    was_counted = review.moderation == ModerationState.PUBLISHED
    counts = state == ModerationState.PUBLISHED
    if provider is not None and was_counted != counts:
        _add_to_rating(provider, review.stars, +1 if counts else -1)
    review.moderation = state
    review.moderation_reason = reason or None
    session.flush()
    return review
