"""The dashboard's figures, each one grouped query over an indexed range."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from backend.models import (
    Booking,
    BookingStatus,
    Category,
    FollowUp,
    FollowUpState,
    MatchLog,
    ModerationState,
    Provider,
    Review,
    provider_categories,
)

DONE = (BookingStatus.COMPLETED, BookingStatus.REVIEWED)


@dataclass
class Range:
    """Whole UTC days, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> list[date]:
        return [
            self.start + timedelta(n) for n in range((self.end - self.start).days + 1)
        ]


@dataclass
class Dashboard:
    range: Range
    per_day: dict[str, list[int]] = field(default_factory=dict)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    acceptance: float | None = None
    matched_bookings: int = 0
    average_rating: float | None = None
    review_count: int = 0
    follow_ups: dict[str, int] = field(default_factory=dict)
    categories: list[tuple[str, int]] = field(default_factory=list)
    cities: list[tuple[str, int]] = field(default_factory=list)
    bookings: int = 0
    cancelled: int = 0
    computed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def chart_data(self) -> dict[str, Any]:
        return {
            "days": [d.isoformat() for d in self.range.days],
            "perDay": self.per_day,
            "funnel": self.funnel,
            "followUps": list(self.follow_ups.items()),
            "categories": self.categories,
            "cities": self.cities,
        }


def _day(session: Session, column):  # noqa: ANN001, ANN202
    """The UTC day of an instant column: a date on PostgreSQL, 'YYYY-MM-DD'
    text on SQLite (which stores UTC text); read it with :func:`_day_text`."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.substr(column, 1, 10)


def _day_text(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def dashboard(session: Session, rng: Range, top: int = 8) -> Dashboard:
    out = Dashboard(rng)
    in_range = and_(Booking.created_at >= rng.since, Booking.created_at < rng.until)

    # one pass over the range's bookings (the covering index answers it):
    # per day, channel and status, with how many followed a match and how
    # many of those chose one of its top 3
    day = _day(session, Booking.created_at)
    index = {d.isoformat(): i for i, d in enumerate(rng.days)}
    by_status: dict[BookingStatus, int] = {}
    top3 = after_match = 0
    for day_text, channel, status, n, chose_top3, matched in session.execute(
        select(
            day,
            Booking.channel,
            Booking.status,
            func.count(),
            func.sum(case((Booking.match_rank.between(1, 3), 1), else_=0)),
            func.count(Booking.match_rank),
        )
        .where(in_range)
        .group_by(day, Booking.channel, Booking.status)
    ):
        series = out.per_day.setdefault(channel.value, [0] * len(index))
        day_text = _day_text(day_text)
        if day_text in index:
            series[index[day_text]] += n
        by_status[status] = by_status.get(status, 0) + n
        top3 += int(chose_top3 or 0)
        after_match += int(matched or 0)

    # the funnel: requests -> matches -> bookings -> completed -> reviewed
    requests, matched = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((MatchLog.result_count > 0, 1), else_=0)), 0),
        ).where(MatchLog.created_at >= rng.since, MatchLog.created_at < rng.until)
    ).one()
    out.bookings = sum(by_status.values())
    out.cancelled = by_status.get(BookingStatus.CANCELLED, 0)
    completed = sum(by_status.get(s, 0) for s in DONE)
    out.funnel = [
        ("Requests", int(requests)),
        ("Matches", int(matched)),
        ("Bookings", out.bookings),
        ("Completed", completed),
        ("Reviewed", by_status.get(BookingStatus.REVIEWED, 0)),
    ]
    out.matched_bookings = after_match
    out.acceptance = top3 / after_match if after_match else None

    # reviews
    avg, count = session.execute(
        select(func.avg(Review.stars), func.count()).where(
            Review.created_at >= rng.since,
            Review.created_at < rng.until,
            Review.moderation == ModerationState.PUBLISHED,
        )
    ).one()
    out.average_rating = float(avg) if avg is not None else None
    out.review_count = int(count)

    # follow-up delivery
    due = and_(FollowUp.due_at >= rng.since, FollowUp.due_at < rng.until)
    opted_out = and_(
        FollowUp.state == FollowUpState.SKIPPED,
        or_(
            FollowUp.last_error.ilike("%opted out%"),
            FollowUp.last_error.ilike("%unsubscribed%"),
        ),
    )
    sent, failed, opted = session.execute(
        select(
            func.coalesce(
                func.sum(case((FollowUp.state == FollowUpState.SENT, 1), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((FollowUp.state == FollowUpState.FAILED, 1), else_=0)), 0
            ),
            func.coalesce(func.sum(case((opted_out, 1), else_=0)), 0),
        ).where(
            due,
            FollowUp.state.in_(
                [FollowUpState.SENT, FollowUpState.FAILED, FollowUpState.SKIPPED]
            ),
        )
    ).one()
    out.follow_ups = {"Sent": int(sent), "Failed": int(failed), "Opted out": int(opted)}

    # busiest categories and cities: bookings per provider (the index again),
    # then the providers' categories and cities
    per_provider = dict(
        session.execute(
            select(Booking.provider_id, func.count())
            .where(in_range)
            .group_by(Booking.provider_id)
        ).all()
    )
    categories: dict[str, int] = {}
    cities: dict[str, int] = {}
    if per_provider:
        for provider_id, city in session.execute(select(Provider.id, Provider.city)):
            if provider_id in per_provider:
                key = city or "(none)"
                cities[key] = cities.get(key, 0) + per_provider[provider_id]
        for provider_id, name in session.execute(
            select(provider_categories.c.provider_id, Category.name).join(
                Category, Category.id == provider_categories.c.category_id
            )
        ):
            if provider_id in per_provider:
                categories[name] = categories.get(name, 0) + per_provider[provider_id]
    out.categories = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out.cities = sorted(cities.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return out
