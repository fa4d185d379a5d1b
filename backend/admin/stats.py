"""The dashboard's figures, each one grouped query over an indexed range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Select, and_, case, cast, func, or_, select
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


Runner = Callable[[dict[str, Select]], dict[str, list[Any]]]


def run_in_session(session: Session) -> Runner:
    """Run the statements one after another in ``session``."""

    def run(statements: dict[str, Select]) -> dict[str, list[Any]]:
        return {name: session.execute(stmt).all() for name, stmt in statements.items()}

    return run


def statements(session: Session, rng: Range) -> dict[str, Select]:
    """The dashboard's queries, each independent of the others."""
    in_range = and_(Booking.created_at >= rng.since, Booking.created_at < rng.until)
    day = _day(session, Booking.created_at)
    opted_out = and_(
        FollowUp.state == FollowUpState.SKIPPED,
        or_(
            FollowUp.last_error.ilike("%opted out%"),
            FollowUp.last_error.ilike("%unsubscribed%"),
        ),
    )
    return {
        # one pass over the range's bookings (the covering index answers it):
        # per day, channel and status, with how many followed a match and how
        # many of those chose one of its top 3
        "bookings": select(
            day,
            Booking.channel,
            Booking.status,
            func.count(),
            func.sum(case((Booking.match_rank.between(1, 3), 1), else_=0)),
            func.count(Booking.match_rank),
        )
        .where(in_range)
        .group_by(day, Booking.channel, Booking.status),
        # bookings per provider (the index again), for categories and cities
        "per_provider": select(Booking.provider_id, func.count())
        .where(in_range)
        .group_by(Booking.provider_id),
        "requests": select(
            func.count(),
            func.coalesce(func.sum(case((MatchLog.result_count > 0, 1), else_=0)), 0),
        ).where(MatchLog.created_at >= rng.since, MatchLog.created_at < rng.until),
        "reviews": select(func.avg(Review.stars), func.count()).where(
            Review.created_at >= rng.since,
            Review.created_at < rng.until,
            Review.moderation == ModerationState.PUBLISHED,
        ),
        "follow_ups": select(
            func.coalesce(
                func.sum(case((FollowUp.state == FollowUpState.SENT, 1), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((FollowUp.state == FollowUpState.FAILED, 1), else_=0)), 0
            ),
            func.coalesce(func.sum(case((opted_out, 1), else_=0)), 0),
        ).where(
            FollowUp.due_at >= rng.since,
            FollowUp.due_at < rng.until,
            FollowUp.state.in_(
                [FollowUpState.SENT, FollowUpState.FAILED, FollowUpState.SKIPPED]
            ),
        ),
        "cities": select(Provider.id, Provider.city),
        "categories": select(provider_categories.c.provider_id, Category.name).join(
            Category, Category.id == provider_categories.c.category_id
        ),
    }


def dashboard(
    session: Session, rng: Range, top: int = 8, run: Runner | None = None
) -> Dashboard:
    """The figures of ``rng``; ``run`` runs the queries (default: one after
    another in ``session``; in parallel sessions they were slower on SQLite,
    whose transactions here begin IMMEDIATE, and no faster on PostgreSQL)."""
    out = Dashboard(rng)
    rows = (run or run_in_session(session))(statements(session, rng))

    index = {d.isoformat(): i for i, d in enumerate(rng.days)}
    by_status: dict[BookingStatus, int] = {}
    top3 = after_match = 0
    for day_value, channel, status, n, chose_top3, matched in rows["bookings"]:
        series = out.per_day.setdefault(channel.value, [0] * len(index))
        day_text = _day_text(day_value)
        if day_text in index:
            series[index[day_text]] += n
        by_status[status] = by_status.get(status, 0) + n
        top3 += int(chose_top3 or 0)
        after_match += int(matched or 0)

    # the funnel: requests -> matches -> bookings -> completed -> reviewed
    requests, matched = rows["requests"][0]
    out.bookings = sum(by_status.values())
    out.cancelled = by_status.get(BookingStatus.CANCELLED, 0)
    out.funnel = [
        ("Requests", int(requests)),
        ("Matches", int(matched)),
        ("Bookings", out.bookings),
        ("Completed", sum(by_status.get(s, 0) for s in DONE)),
        ("Reviewed", by_status.get(BookingStatus.REVIEWED, 0)),
    ]
    out.matched_bookings = after_match
    out.acceptance = top3 / after_match if after_match else None

    avg, count = rows["reviews"][0]
    out.average_rating = float(avg) if avg is not None else None
    out.review_count = int(count)

    sent, failed, opted = rows["follow_ups"][0]
    out.follow_ups = {"Sent": int(sent), "Failed": int(failed), "Opted out": int(opted)}

    per_provider = dict(rows["per_provider"])
    cities: dict[str, int] = {}
    for provider_id, city in rows["cities"]:
        if provider_id in per_provider:
            key = city or "(none)"
            cities[key] = cities.get(key, 0) + per_provider[provider_id]
    categories: dict[str, int] = {}
    for provider_id, name in rows["categories"]:
        if provider_id in per_provider:
            categories[name] = categories.get(name, 0) + per_provider[provider_id]
    out.categories = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out.cities = sorted(cities.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return out
