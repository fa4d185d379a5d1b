"""``beckon seed demo``: a demo marketplace built through the real services.

Providers go through the JSONL importer, customers through channel identities,
and bookings through the booking service, including past ones made with a
simulated clock so the history (completed, reviewed, cancelled, no-show) obeys
the same rules as live traffic.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.demo import (
    demo_customer_records,
    demo_job_requests,
    demo_provider_records,
    load_demo_data,
)
from backend.models import Booking, Customer, FollowUp, FollowUpState, Provider
from backend.schemas import (
    BookingCreate,
    IdentityInput,
    JobCreate,
    ReviewCreate,
    TimeWindow,
)
from backend.services import availability, bookings, jobs, reviews
from backend.services.customers import find_or_create_by_identity
from backend.services.errors import DomainError
from backend.services.places import place_from
from backend.services.providers import (
    ensure_default_categories,
    import_providers,
)
from backend.services.rules import BookingRules

#: the demo's cities are American, and so are its phone numbers
DEMO_REGION = "US"
#: what the seeded reviews say, by their stars
REVIEW_TEXTS: dict[int, tuple[str, ...]] = {
    int(stars): texts for stars, texts in load_demo_data("reviews")["reviews"].items()
}


@dataclass
class SeedReport:
    providers_created: int = 0
    providers_updated: int = 0
    customers: int = 0
    jobs: int = 0
    upcoming_bookings: int = 0
    past_bookings: int = 0
    skipped: bool = False

    def __str__(self) -> str:
        if self.skipped:
            return "demo marketplace already present; nothing done"
        return (
            f"providers: {self.providers_created} created, {self.providers_updated} "
            f"updated; customers: {self.customers}; jobs: {self.jobs}; bookings: "
            f"{self.upcoming_bookings} upcoming, {self.past_bookings} in the past"
        )


def seed_demo(
    session: Session,
    rules: BookingRules,
    *,
    provider_count: int = 360,
    customer_count: int = 40,
    if_empty: bool = False,
    seed: int = 7,
    now: datetime | None = None,
) -> SeedReport:
    """Create (or refresh) the demo marketplace; safe to run twice."""
    now = now or utcnow()
    report = SeedReport()
    ensure_default_categories(session)
    if if_empty and session.scalar(select(func.count(Provider.id))):
        report.skipped = True
        return report
    lines = (
        json.dumps(record) for record in demo_provider_records(provider_count, seed)
    )
    imported = import_providers(session, lines, region=DEMO_REGION)
    if not imported.applied:
        raise DomainError(f"demo providers did not import: {imported.errors[:3]}")
    report.providers_created, report.providers_updated = (
        imported.created,
        imported.updated,
    )

    customers = []
    for record in demo_customer_records(customer_count, seed):
        customer, _ = find_or_create_by_identity(
            session, IdentityInput(channel="sms", external_id=record["phone"])
        )
        customer.display_name = record["display_name"]
        customer.email = record["email"]
        customer.timezone = record["timezone"]
        customer.locale = record["locale"]
        customers.append((customer, record["city"]))
    session.flush()
    report.customers = len(customers)
    if imported.updated:  # a re-run refreshes providers; bookings exist already
        return report

    rng = random.Random(seed)
    requests = demo_job_requests(seed)
    for index, request in enumerate(requests[: max(10, len(customers))]):
        customer, home = customers[index % len(customers)]
        if _book_upcoming(session, rules, rng, customer, request, now):
            report.upcoming_bookings += 1
        report.jobs += 1
    for index in range(len(customers) * 2):
        customer, home = customers[index % len(customers)]
        request = requests[(index * 7) % len(requests)]
        if _book_past(session, rules, rng, customer, request["category"], home, now):
            report.past_bookings += 1
    session.flush()
    # The simulated past is history: what fell due in it is not sent today.
    session.execute(
        update(FollowUp)
        .where(FollowUp.state == FollowUpState.PENDING, FollowUp.due_at < now)
        .values(state=FollowUpState.SKIPPED, last_error="demo history")
        .execution_options(synchronize_session=False)
    )
    return report


def _book_nearby(
    session: Session,
    rules: BookingRules,
    rng: random.Random,
    customer: Customer,
    category: str,
    city: str,
    window: tuple[datetime, datetime],
    now: datetime,
    **booking: object,
) -> Booking | None:
    """Book a free slot of one of the nearest providers with time in ``window``."""
    found = availability.free_slots_near(
        session, category, place_from(city), *window, rules, limit=3, now=now
    )
    if not found:
        return None
    choice = found[rng.randrange(len(found))]
    slot = choice.slots[rng.randrange(len(choice.slots))]
    try:
        return bookings.create_booking(
            session,
            BookingCreate(
                provider_id=choice.provider.id,
                customer_id=customer.id,
                start=slot.start,
                confirm=True,
                **booking,
            ),
            rules,
            now=now,
        )
    except DomainError:
        return None


def _book_upcoming(session, rules, rng, customer: Customer, request, now) -> bool:
    start = (now + timedelta(days=rng.randint(1, 6))).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    window = TimeWindow.model_validate({"from": start, "to": start + timedelta(days=1)})
    job = jobs.create_job(
        session,
        JobCreate(
            text=request["text"],
            customer_id=customer.id,
            category=request["category"],
            city=request["city"],
            when=window,
            channel=rng.choice(["sms", "webchat", "alexa", "messenger"]),
        ),
        now=now,
    )
    booking = _book_nearby(
        session,
        rules,
        rng,
        customer,
        request["category"],
        request["city"],
        (window.from_, window.to),
        now,
        job_id=job.id,
        channel=job.channel,
    )
    return booking is not None


def _book_past(session, rules, rng, customer, category_slug, city, now) -> bool:
    """A booking in the past, made two days before it and then lived through."""
    day = (now - timedelta(days=rng.randint(2, 45))).replace(
        hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC
    )
    then = day - timedelta(days=2)
    booking = _book_nearby(
        session,
        rules,
        rng,
        customer,
        category_slug,
        city,
        (day, day + timedelta(days=1)),
        then,
        channel=rng.choice(["sms", "webchat", "alexa", "voice"]),
    )
    if booking is None:
        return False

    fate = rng.random()
    if fate < 0.08:
        bookings.transition(
            session,
            booking.id,
            "cancel",
            actor="customer",
            reason="plans changed",
            now=then + timedelta(hours=5),
        )
    elif fate < 0.13:
        bookings.transition(
            session,
            booking.id,
            "no_show",
            actor="provider",
            now=booking.starts_at + timedelta(minutes=30),
        )
    else:
        bookings.transition(
            session, booking.id, "check_in", actor="provider", now=booking.starts_at
        )
        bookings.transition(
            session, booking.id, "complete", actor="provider", now=booking.ends_at
        )
        if rng.random() < 0.7:
            stars = rng.choices([5, 4, 3, 2], weights=[60, 28, 9, 3])[0]
            reviews.leave_review(
                session,
                booking.id,
                ReviewCreate(stars=stars, text=rng.choice(REVIEW_TEXTS[stars])),
                now=booking.ends_at + timedelta(hours=3),
            )
    return True
