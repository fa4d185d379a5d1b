"""The dashboard's figures over a range of UTC days.

Bookings are the big table, so closed days (before today, UTC) are read from a
daily rollup (``rollup_bookings`` per channel and status, and
``rollup_provider_bookings`` per provider) that is kept exactly equal to a
direct count: a day is summed from the bookings once, when first needed, and
summed again after any booking made on it changes. Changes are found by
``updated_at`` (every update sets it; a booking's ``created_at``, the day it
counts on, never changes, and bookings are never deleted): each refresh looks
at the bookings changed since the previous one, less
:data:`LATE_COMMIT_MARGIN` for a transaction that wrote before that refresh
and committed after it. Today is counted live; so are the smaller figures
(requests, reviews, follow-ups).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    SKIP_OPTED_OUT,
    Booking,
    BookingStatus,
    Category,
    FollowUp,
    FollowUpState,
    MatchLog,
    ModerationState,
    Provider,
    Review,
    RollupBookings,
    RollupDay,
    RollupProviderBookings,
    RollupWatermark,
    provider_categories,
)

DONE = (BookingStatus.COMPLETED, BookingStatus.REVIEWED)
#: Longer than any transaction that changes a booking (and any clock skew
#: between the app's processes): such a change is still seen by the next
#: refresh although it was written before the previous one.
LATE_COMMIT_MARGIN = timedelta(minutes=10)
_CHUNK = 500  # days per IN (...) of a delete


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

    def figures(self) -> dict[str, Any]:
        """Every figure (what two dashboards of one range must agree on)."""
        out = dict(self.__dict__)
        out.pop("computed_at")
        return out

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
    text on SQLite (which stores UTC text); read it with :func:`_as_date`."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.substr(column, 1, 10)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _spans(days: list[date]) -> list[tuple[datetime, datetime]]:
    """Runs of consecutive days, as [since, until) instants."""
    spans: list[tuple[datetime, datetime]] = []
    for day in sorted(days):
        since = datetime.combine(day, time.min, UTC)
        if spans and spans[-1][1] == since:
            spans[-1] = (spans[-1][0], since + timedelta(days=1))
        else:
            spans.append((since, since + timedelta(days=1)))
    return spans


def _within(column: Any, spans: list[tuple[datetime, datetime]]) -> ColumnElement:
    return or_(*(and_(column >= since, column < until) for since, until in spans))


def _booking_rows(session: Session, spans: list[tuple[datetime, datetime]]):  # noqa: ANN202
    """Bookings made in ``spans``, per day, channel and status: how many, how
    many of one of their match's top 3, how many after a match (one pass over
    the covering index ``ix_bookings_dashboard``)."""
    day = _day(session, Booking.created_at)
    return session.execute(
        select(
            day,
            Booking.channel,
            Booking.status,
            func.count(),
            func.sum(case((Booking.match_rank.between(1, 3), 1), else_=0)),
            func.count(Booking.match_rank),
        )
        .where(_within(Booking.created_at, spans))
        .group_by(day, Booking.channel, Booking.status)
    ).all()


def _provider_rows(session: Session, spans: list[tuple[datetime, datetime]]):  # noqa: ANN202
    """Bookings made in ``spans``, per day and provider."""
    day = _day(session, Booking.created_at)
    return session.execute(
        select(day, Booking.provider_id, func.count())
        .where(_within(Booking.created_at, spans))
        .group_by(day, Booking.provider_id)
    ).all()


# ---------------------------------------------------------------- the rollup


def _watermark(session: Session, now: datetime) -> tuple[RollupWatermark, bool]:
    """The watermark row, locked (one refresh at a time), and whether it is new."""
    mark = session.scalar(select(RollupWatermark).with_for_update())
    if mark is not None:
        return mark, False
    try:
        with session.begin_nested():
            mark = RollupWatermark(id=1, checked_at=now)
            session.add(mark)
    except IntegrityError:  # another refresh made it first
        return session.scalars(select(RollupWatermark).with_for_update()).one(), False
    return mark, True


def _forget(session: Session, days: list[date] | None) -> None:
    """Drop the rollup of ``days`` (None: of every day)."""
    for table in (RollupBookings, RollupProviderBookings, RollupDay):
        if days is None:
            session.execute(delete(table))
            continue
        for start in range(0, len(days), _CHUNK):
            session.execute(
                delete(table).where(table.day.in_(days[start : start + _CHUNK]))
            )


def refresh_rollup(
    session: Session,
    days: list[date],
    *,
    now: datetime | None = None,
    margin: timedelta = LATE_COMMIT_MARGIN,
) -> None:
    """Make the rollup hold ``days`` (closed days), each equal to a count of
    its bookings now. The caller commits."""
    now = now or utcnow()
    mark, new = _watermark(session, now)
    if new:  # nothing says what the rollup has seen: start again
        _forget(session, None)
    else:
        changed = session.scalars(
            select(_day(session, Booking.created_at))
            .where(Booking.updated_at >= mark.checked_at - margin)
            .distinct()
        ).all()
        _forget(session, sorted({_as_date(d) for d in changed}))
        mark.checked_at = now
    if not days:
        return
    stored = set(
        session.scalars(
            select(RollupDay.day).where(
                RollupDay.day >= min(days), RollupDay.day <= max(days)
            )
        )
    )
    missing = [d for d in days if d not in stored]
    if not missing:
        return
    spans = _spans(missing)
    rows = [
        {
            "day": _as_date(day),
            "channel": channel,
            "status": status,
            "bookings": n,
            "top3": int(top3 or 0),
            "after_match": int(after_match or 0),
        }
        for day, channel, status, n, top3, after_match in _booking_rows(session, spans)
    ]
    if rows:
        session.execute(insert(RollupBookings), rows)
    rows = [
        {"day": _as_date(day), "provider_id": provider_id, "bookings": n}
        for day, provider_id, n in _provider_rows(session, spans)
    ]
    if rows:
        session.execute(insert(RollupProviderBookings), rows)
    session.execute(
        insert(RollupDay), [{"day": d, "computed_at": now} for d in missing]
    )


@dataclass
class _Bookings:
    """Bookings summed: per (day, channel), per status (how many, of one of
    the match's top 3, after a match), per provider."""

    per_day: dict[tuple[date, str], int] = field(default_factory=dict)
    by_status: dict[BookingStatus, list[int]] = field(default_factory=dict)
    per_provider: dict[int, int] = field(default_factory=dict)

    def add_day(self, day: date | str, channel: Any, n: int) -> None:
        key = (_as_date(day), getattr(channel, "value", channel))
        self.per_day[key] = self.per_day.get(key, 0) + int(n)

    def add_status(self, status: Any, n: int, top3: Any, after: Any) -> None:
        total = self.by_status.setdefault(BookingStatus(status), [0, 0, 0])
        total[0] += int(n)
        total[1] += int(top3 or 0)
        total[2] += int(after or 0)

    def add_provider(self, provider_id: int, n: int) -> None:
        self.per_provider[provider_id] = self.per_provider.get(provider_id, 0) + int(n)


def _rolled_up(session: Session, first: date, last: date, into: _Bookings) -> None:
    """Add the rollup's sums of ``first``..``last`` (closed days) to ``into``."""
    days = and_(RollupBookings.day >= first, RollupBookings.day <= last)
    for day, channel, n in session.execute(
        select(
            RollupBookings.day,
            RollupBookings.channel,
            func.sum(RollupBookings.bookings),
        )
        .where(days)
        .group_by(RollupBookings.day, RollupBookings.channel)
    ):
        into.add_day(day, channel, n)
    for status, n, top3, after in session.execute(
        select(
            RollupBookings.status,
            func.sum(RollupBookings.bookings),
            func.sum(RollupBookings.top3),
            func.sum(RollupBookings.after_match),
        )
        .where(days)
        .group_by(RollupBookings.status)
    ):
        into.add_status(status, n, top3, after)
    for provider_id, n in session.execute(
        select(
            RollupProviderBookings.provider_id,
            func.sum(RollupProviderBookings.bookings),
        )
        .where(
            RollupProviderBookings.day >= first,
            RollupProviderBookings.day <= last,
        )
        .group_by(RollupProviderBookings.provider_id)
    ):
        into.add_provider(provider_id, n)


# ---------------------------------------------------------------- the figures


def statements(rng: Range) -> dict[str, Select]:
    """The queries of the figures that are always read live."""
    return {
        "requests": select(
            func.count(),
            func.coalesce(func.sum(case((MatchLog.result_count > 0, 1), else_=0)), 0),
        ).where(MatchLog.created_at >= rng.since, MatchLog.created_at < rng.until),
        # the covering index (created_at, moderation, stars) answers it
        "reviews": select(func.avg(Review.stars), func.count()).where(
            Review.created_at >= rng.since,
            Review.created_at < rng.until,
            Review.moderation == ModerationState.PUBLISHED,
        ),
        # three counts of ranges of the index (state, due_at, skip_reason)
        "follow_ups": select(
            *(
                select(func.count())
                .select_from(FollowUp)
                .where(
                    FollowUp.state == state,
                    FollowUp.due_at >= rng.since,
                    FollowUp.due_at < rng.until,
                    *((FollowUp.skip_reason == reason,) if reason else ()),
                )
                .scalar_subquery()
                for state, reason in (
                    (FollowUpState.SENT, None),
                    (FollowUpState.FAILED, None),
                    (FollowUpState.SKIPPED, SKIP_OPTED_OUT),
                )
            )
        ),
        "cities": select(Provider.id, Provider.city),
        "categories": select(provider_categories.c.provider_id, Category.name).join(
            Category, Category.id == provider_categories.c.category_id
        ),
    }


def dashboard(
    session: Session,
    rng: Range,
    top: int = 8,
    *,
    now: datetime | None = None,
    rollup: bool = True,
    margin: timedelta = LATE_COMMIT_MARGIN,
) -> Dashboard:
    """The figures of ``rng``: closed days from the rollup (refreshed first;
    the caller commits), today live; ``rollup=False`` counts every day from
    the bookings (what the rollup must always equal)."""
    now = now or utcnow()
    out = Dashboard(rng, computed_at=now)
    today = now.astimezone(UTC).date()
    closed = [d for d in rng.days if d < today] if rollup else []
    live = [d for d in rng.days if d not in set(closed)]

    summed = _Bookings()
    if closed:
        refresh_rollup(session, closed, now=now, margin=margin)
        _rolled_up(session, closed[0], closed[-1], summed)
    if live:
        spans = _spans(live)
        for day, channel, status, n, top3, after in _booking_rows(session, spans):
            summed.add_day(day, channel, n)
            summed.add_status(status, n, top3, after)
        for _, provider_id, n in _provider_rows(session, spans):
            summed.add_provider(provider_id, n)
    per_provider = summed.per_provider

    index = {d: i for i, d in enumerate(rng.days)}
    for (day, channel), n in sorted(summed.per_day.items(), key=lambda kv: kv[0][1]):
        out.per_day.setdefault(channel, [0] * len(index))[index[day]] += n
    by_status = {status: n for status, (n, _, _) in summed.by_status.items()}
    top3 = sum(t for _, t, _ in summed.by_status.values())
    after_match = sum(a for _, _, a in summed.by_status.values())

    rows = {name: session.execute(stmt).all() for name, stmt in statements(rng).items()}
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

    sent, failed, opted_out = rows["follow_ups"][0]
    out.follow_ups = {
        "Sent": int(sent),
        "Failed": int(failed),
        "Opted out": int(opted_out),
    }

    cities: dict[str, int] = {}
    for provider_id, city in rows["cities"]:
        if provider_id in per_provider:
            key = city or "(none)"
            cities[key] = cities.get(key, 0) + int(per_provider[provider_id])
    categories: dict[str, int] = {}
    for provider_id, name in rows["categories"]:
        if provider_id in per_provider:
            categories[name] = categories.get(name, 0) + int(per_provider[provider_id])
    out.categories = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    out.cities = sorted(cities.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return out
