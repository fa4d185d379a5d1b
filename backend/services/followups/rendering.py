"""Rendering: what a follow-up says, from its booking (or a provider's day)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Booking, FollowUp
from backend.services import texts
from backend.services.availability import free_slots_near, free_slots_of
from backend.services.followups.kinds import S, is_session
from backend.services.places import Place
from backend.services.rules import BookingRules


def context_of(
    session: Session,
    row: FollowUp,
    booking: Booking | None,
    zone: str,
    locale: str,
    booking_rules: BookingRules,
    now: datetime,
) -> dict[str, Any] | None:
    if row.kind == "provider_agenda":
        return agenda_context(session, row, zone, locale)
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
        "service": service_name(booking),
        "when": texts.format_when(booking.starts_at, zone, locale),
        "clock": texts.format_clock(booking.starts_at, zone, locale),
        "address": booking.job.address if booking.job is not None else None,
        "reason": booking.status.value,
    }
    if row.kind in ("rebooking_offer", "session_rebook"):
        context["slots"] = next_slots(
            session,
            booking,
            zone,
            locale,
            booking_rules,
            now,
            same_provider_only=row.kind == "session_rebook",
        )
    return context


def service_name(booking: Booking) -> str:
    if booking.service is not None:
        return booking.service.name
    if booking.job is not None and booking.job.category is not None:
        return booking.job.category.name.lower()
    categories = booking.provider.categories
    return categories[0].name.lower() if categories else "your booking"


def next_slots(
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


def agenda_context(
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
                "service": service_name(b),
                "customer": (b.customer.display_name if b.customer else None)
                or "a customer",
                "address": b.job.address if b.job is not None else None,
            }
            for b in jobs
        ],
    }
