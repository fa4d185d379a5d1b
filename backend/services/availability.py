"""When providers are free: working hours and exceptions in the provider's own time
zone, less live bookings (with buffers), from a minimum notice onwards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.models import (
    LIVE_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    Provider,
    Service,
    WorkingException,
)
from backend.schemas import WEEKDAYS, minutes_of
from backend.services.errors import Invalid
from backend.services.geo import bounding_box, haversine_km
from backend.services.places import Place
from backend.services.providers import find_category
from backend.services.rules import BookingRules

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


def check_window(start: datetime, end: datetime, rules: BookingRules) -> None:
    """Refuse an empty, reversed or overlong window."""
    if end <= start:
        raise Invalid("'to' must be after 'from'", field="to")
    if end - start > timedelta(days=rules.max_availability_days):
        raise Invalid(
            f"the window may span at most {rules.max_availability_days} days",
            field="to",
        )


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    minutes = minutes_of(hhmm)
    return datetime.combine(day, time(0), zone) + timedelta(minutes=minutes)


def working_intervals(
    provider: Provider,
    start: datetime,
    end: datetime,
    exceptions: dict[date, list[list[str]]],
) -> list[Interval]:
    """The provider's working time inside [start, end), as UTC intervals.

    Days are walked in the provider's time zone, so 9-17 in Chicago stays 9-17
    Chicago time across daylight-saving changes.
    """
    zone = ZoneInfo(provider.timezone)
    first = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    out: list[Interval] = []
    day = first
    while day <= last:
        hours = exceptions.get(day)
        if hours is None:
            hours = provider.weekly_hours.get(WEEKDAYS[day.weekday()], [])
        for open_at, close_at in hours:
            # Add minutes to local midnight in wall-clock terms, then convert.
            lo = datetime.combine(day, time(0)) + timedelta(minutes=minutes_of(open_at))
            hi = datetime.combine(day, time(0)) + timedelta(
                minutes=minutes_of(close_at)
            )
            lo_utc = lo.replace(tzinfo=zone).astimezone(UTC)
            hi_utc = hi.replace(tzinfo=zone).astimezone(UTC)
            lo_utc, hi_utc = max(lo_utc, start), min(hi_utc, end)
            if lo_utc < hi_utc:
                out.append((lo_utc, hi_utc))
        day += timedelta(days=1)
    return out


def exceptions_for(
    session: Session, provider_ids: list[int], start: datetime, end: datetime
) -> dict[int, dict[date, list[list[str]]]]:
    """Working exceptions of these providers for the days around [start, end)."""
    rows = session.scalars(
        select(WorkingException).where(
            WorkingException.provider_id.in_(provider_ids),
            WorkingException.day >= (start - timedelta(days=1)).date(),
            WorkingException.day <= (end + timedelta(days=1)).date(),
        )
    )
    out: dict[int, dict[date, list[list[str]]]] = defaultdict(dict)
    for row in rows:
        out[row.provider_id][row.day] = row.intervals
    return out


def live_bookings_filter(now: datetime):
    """Bookings that occupy time: live, and holds not yet expired."""
    return and_(
        Booking.status.in_(LIVE_BOOKING_STATUSES),
        or_(
            Booking.status != BookingStatus.HELD,
            Booking.hold_expires_at.is_(None),
            Booking.hold_expires_at > now,
        ),
    )


def busy_intervals(
    session: Session,
    provider_ids: list[int],
    start: datetime,
    end: datetime,
    rules: BookingRules,
    now: datetime,
    exclude_booking_id: int | None = None,
) -> dict[int, list[Interval]]:
    """Booked time of each provider (widened by the buffer) touching [start, end)."""
    stmt = select(Booking.provider_id, Booking.starts_at, Booking.ends_at).where(
        Booking.provider_id.in_(provider_ids),
        live_bookings_filter(now),
        Booking.starts_at < end + rules.buffer,
        Booking.ends_at > start - rules.buffer,
    )
    if exclude_booking_id is not None:
        stmt = stmt.where(Booking.id != exclude_booking_id)
    out: dict[int, list[Interval]] = defaultdict(list)
    for provider_id, starts_at, ends_at in session.execute(stmt):
        out[provider_id].append((starts_at - rules.buffer, ends_at + rules.buffer))
    for intervals in out.values():
        intervals.sort()
    return out


def _overlaps(busy: list[Interval], start: datetime, end: datetime) -> bool:
    return any(b_start < end and b_end > start for b_start, b_end in busy)


def slots_from(
    working: list[Interval],
    busy: list[Interval],
    duration: timedelta,
    earliest: datetime,
    step: timedelta,
    limit: int | None = None,
) -> list[Slot]:
    """Start times every ``step`` from each working interval's opening that fit."""
    slots: list[Slot] = []
    for open_at, close_at in working:
        t = open_at
        if t < earliest:
            steps = -(-(earliest - open_at) // step)  # ceiling division
            t = open_at + steps * step
        while t + duration <= close_at:
            if not _overlaps(busy, t, t + duration):
                slots.append(Slot(t, t + duration))
                if limit and len(slots) >= limit:
                    return slots
            t += step
    return slots


def service_duration(
    provider: Provider,
    service: Service | None,
    rules: BookingRules,
    duration_minutes: int | None = None,
) -> timedelta:
    if duration_minutes:
        return timedelta(minutes=duration_minutes)
    if service is not None:
        return timedelta(minutes=service.duration_minutes)
    active = [s for s in provider.services if s.active]
    if active:
        return timedelta(minutes=min(s.duration_minutes for s in active))
    return timedelta(minutes=rules.default_service_minutes)


def provider_free_slots(
    session: Session,
    provider: Provider,
    start: datetime,
    end: datetime,
    rules: BookingRules,
    *,
    service: Service | None = None,
    duration_minutes: int | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots of one provider in [start, end)."""
    check_window(start, end, rules)
    now = now or utcnow()
    earliest = max(start, now + rules.minimum_notice)
    if not provider.active or earliest >= end:
        return []
    exceptions = exceptions_for(session, [provider.id], start, end).get(provider.id, {})
    working = working_intervals(provider, start, end, exceptions)
    busy = busy_intervals(session, [provider.id], start, end, rules, now).get(
        provider.id, []
    )
    return slots_from(
        working,
        busy,
        service_duration(provider, service, rules, duration_minutes),
        earliest,
        timedelta(minutes=rules.slot_step_minutes),
        limit,
    )


@dataclass
class ProviderAvailability:
    provider: Provider
    distance_km: float
    slots: list[Slot]


def providers_covering(
    session: Session, category_ref: str, place: Place
) -> list[tuple[Provider, float]]:
    """Active providers of a category whose area covers ``place``, nearest first."""
    category = find_category(session, category_ref)
    if category is None:
        raise Invalid(f"unknown category '{category_ref}'", field="category")
    in_category = Provider.categories.contains(category)
    widest = (
        session.scalar(
            select(func.max(Provider.radius_km)).where(in_category, Provider.active)
        )
        or 0.0
    )
    min_lat, max_lat, min_lon, max_lon = bounding_box(place.lat, place.lon, widest)
    candidates = session.scalars(
        select(Provider).where(
            in_category,
            Provider.active,
            Provider.lat.between(min_lat, max_lat),
            Provider.lon.between(min_lon, max_lon),
        )
    )
    covering = []
    for provider in candidates:
        distance = haversine_km(place.lat, place.lon, provider.lat, provider.lon)
        if distance <= provider.radius_km:
            covering.append((provider, distance))
    covering.sort(key=lambda pair: (pair[1], pair[0].id))
    return covering


def free_slots_of(
    session: Session,
    providers: list[Provider],
    start: datetime,
    end: datetime,
    rules: BookingRules,
    *,
    slots_per_provider: int = 5,
    now: datetime | None = None,
) -> dict[int, list[Slot]]:
    """The first free slots of each provider in [start, end), with batched reads."""
    check_window(start, end, rules)
    now = now or utcnow()
    earliest = max(start, now + rules.minimum_notice)
    if earliest >= end or not providers:
        return {}
    ids = [p.id for p in providers]
    exceptions = exceptions_for(session, ids, start, end)
    busy = busy_intervals(session, ids, start, end, rules, now)
    step = timedelta(minutes=rules.slot_step_minutes)
    out = {}
    for provider in providers:
        working = working_intervals(
            provider, start, end, exceptions.get(provider.id, {})
        )
        out[provider.id] = slots_from(
            working,
            busy.get(provider.id, []),
            service_duration(provider, None, rules),
            earliest,
            step,
            slots_per_provider,
        )
    return out


def free_slots_near(
    session: Session,
    category_ref: str,
    place: Place,
    start: datetime,
    end: datetime,
    rules: BookingRules,
    *,
    limit: int = 10,
    slots_per_provider: int = 5,
    now: datetime | None = None,
) -> list[ProviderAvailability]:
    """The nearest providers of a category covering ``place`` that have free time."""
    check_window(start, end, rules)
    covering = providers_covering(session, category_ref, place)
    out: list[ProviderAvailability] = []
    page = max(limit * 3, 30)  # read a page of candidates at a time
    for offset in range(0, len(covering), page):
        chunk = covering[offset : offset + page]
        slots = free_slots_of(
            session,
            [p for p, _ in chunk],
            start,
            end,
            rules,
            slots_per_provider=slots_per_provider,
            now=now,
        )
        for provider, distance in chunk:
            if slots.get(provider.id):
                out.append(
                    ProviderAvailability(
                        provider, round(distance, 1), slots[provider.id]
                    )
                )
                if len(out) >= limit:
                    return out
    return out
