"""The record of match requests: what was asked and what matching proposed.

The console's funnel counts requests and requests that found providers; a
booking keeps the place its provider had in the customer's latest match
(``Booking.match_rank``), so "match acceptance" is one indexed count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import MatchLog

#: A booking follows a match made at most this long before it.
MATCH_MEMORY = timedelta(days=1)


def record_match(
    session: Session,
    text: str,
    provider_ids: list[int],
    *,
    customer_id: int | None = None,
    category: str | None = None,
    city: str | None = None,
    now: datetime | None = None,
) -> MatchLog:
    """Keep one match request and its proposals, best first."""
    row = MatchLog(
        customer_id=customer_id,
        text=text[:2000],
        category=category,
        city=(city or None) and city[:120],
        provider_ids=[int(p) for p in provider_ids],
        result_count=len(provider_ids),
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def rank_of(
    session: Session,
    customer_id: int | None,
    provider_id: int,
    *,
    now: datetime | None = None,
) -> int | None:
    """The provider's place (1 = first) in the customer's latest match request
    of the last day; None when there was none or it did not propose them."""
    if customer_id is None:
        return None
    now = now or utcnow()
    proposed = session.scalar(
        select(MatchLog.provider_ids)
        .where(
            MatchLog.customer_id == customer_id,
            MatchLog.created_at >= now - MATCH_MEMORY,
            MatchLog.created_at <= now,
        )
        .order_by(MatchLog.created_at.desc(), MatchLog.id.desc())
        .limit(1)
    )
    if proposed is None:
        return None
    try:
        return [int(p) for p in proposed].index(provider_id) + 1
    except ValueError:
        return 0  # booked after a match, but someone it did not propose
