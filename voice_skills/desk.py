"""What a voice assistant does for a caller, on the backend's services.

Alexa's handlers and the Dialogflow webhooks share this desk: it finds the
caller's customer record, finds providers for a request in the caller's words,
books one, reads bookings back, cancels, moves and rates them, lets a provider
check in, and ties a voice account to a phone. Each method is one service call
in the caller's transaction; the adapter commits. Reads that decide nothing
(matching, listings) go through ``reader``, which never holds the write lock.
Offers are plain dicts so a platform can keep them between turns (Alexa
session attributes, Dialogflow contexts) and "the second one" can be booked on
the next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.db import utcnow
from backend.models import (
    LIVE_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    Category,
    Channel,
    Customer,
    Provider,
)
from backend.notifiers import (
    DeliveryError,
    Notifiers,
    code_not_sent,
    send_phone_code,
    send_phone_notice,
)
from backend.schemas import BookingCreate, IdentityInput, ReviewCreate
from backend.services import bookings, customers, matchlog, phones, reviews
from backend.services.access import speaks_for_provider
from backend.services.availability import provider_free_slots
from backend.services.errors import Conflict, Invalid, NotFound
from backend.services.matching import (
    MatchingIndex,
    match_request,
    provider_is_remote,
)
from backend.services.places import Place, resolve_city
from backend.services.providers import find_category, served_by
from backend.services.rules import BookingRules, FollowUpRules, TextRules
from voice_skills.when import Window

#: Voice reads at most this many providers at a time.
MAX_OFFERS = 3
#: Words for "no place: by phone or video", said where a city is asked for.
ONLINE_WORDS = frozenset({"online", "remote", "remotely", "phone", "video"})
#: A provider's spoken check-in steps and the booking transition each makes.
CHECK_IN_STEPS = {"arrived": "check_in", "started": "check_in", "done": "complete"}


def is_online(words: str | None) -> bool:
    """Whether the caller asked for someone by phone or video ("online")."""
    return bool(set((words or "").lower().split()) & ONLINE_WORDS)


@dataclass
class Offer:
    """One provider with the time they are free, as kept between turns."""

    provider_id: int
    name: str
    start: str  # ISO 8601, UTC
    zone: str  # the clock the time is told on
    reasons: list[str]
    remote: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        try:
            return cls(
                provider_id=int(data["provider_id"]),
                name=str(data["name"]),
                start=str(data["start"]),
                zone=str(data["zone"]),
                reasons=[str(r) for r in data.get("reasons", [])],
                remote=bool(data.get("remote")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid(
                "that choice is no longer available", field="offer", code="offer_gone"
            ) from exc

    @property
    def starts_at(self) -> datetime:
        return datetime.fromisoformat(self.start)


@dataclass
class Search:
    """What was asked and what was found."""

    words: str
    category: str | None
    place: Place | None
    window: Window
    offers: list[Offer]
    matched: int  # providers who do the job there, free or not


class VoiceDesk:
    """The backend for one voice request: one session, one channel, one clock."""

    def __init__(
        self,
        session: Session,
        *,
        reader: Session | None = None,
        channel: Channel,
        index: MatchingIndex,
        rules: BookingRules,
        follow_ups: FollowUpRules,
        notifiers: Notifiers,
        region: str,
        texts: TextRules | None = None,
        now: datetime | None = None,
    ) -> None:
        self.session = session
        #: for reads that need no write lock (matching, listings): see web.py
        self.reader = reader or session
        self.channel = channel
        self.index = index
        self.rules = rules
        self.follow_ups = follow_ups
        self.notifiers = notifiers
        #: where a number said without its country code is from
        self.region = region
        #: where phone codes may be texted, and how many an hour
        self.texts = texts or TextRules(countries=(region,))
        self.now = now or utcnow()

    # ------------------------------------------------------------ who and where

    def caller(self, user_id: str, locale: str | None = None) -> Customer:
        """The customer behind this platform's user id (created on first call)."""
        customer, _ = customers.find_or_create_by_identity(
            self.session,
            IdentityInput(
                channel=self.channel.value, external_id=user_id, locale=locale
            ),
        )
        return customer

    def place(self, city: str | None) -> Place | None:
        """The city the caller named, resolved (of namesakes, the one the
        marketplace serves); :class:`Invalid` if unknown."""
        if not city:
            return None
        with self.reading() as reader:
            return resolve_city(city, served_by(reader))

    def category(self, spoken: str | None) -> str | None:
        """The catalogue's slug for a spoken or resolved service, if it names one."""
        found = self.category_of(spoken)
        return found.slug if found else None

    def category_of(self, ref: str | None) -> Category | None:
        """The category a slug, name or synonym names (read without a lock)."""
        if not ref:
            return None
        with self.reading() as reader:
            return find_category(reader, ref)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """The reader, for one read: its transaction ends with the block.

        SQLite keeps only a few read snapshots of a WAL database at once
        (its read marks); a request's snapshot left open while it works makes
        other readers wait for one, so each read ends at once. Objects read
        stay loaded (the sessions do not expire them on commit).
        """
        try:
            yield self.reader
        finally:
            if self.reader is not self.session:
                self.reader.commit()

    # ------------------------------------------------------------ booking

    def find(
        self,
        customer: Customer,
        words: str,
        *,
        category: str | None,
        place: Place | None,
        window: Window,
    ) -> Search:
        """Who can do ``words`` at ``place`` within ``window``: at most three,
        each at their first free time. Without a place only providers who work
        by phone or video can be offered."""
        words = words.strip() or (category or "")
        if not words:
            raise Invalid("nothing to search for", field="service", code="no_service")
        request = match_request(
            words,
            city=None,
            lat=place.lat if place else None,
            lon=place.lon if place else None,
            start=window.start,
            end=window.end,
            now=self.now,
            category=category,
            customer_id=customer.id,
            limit=MAX_OFFERS * 2,
        )
        if place is not None:
            request.place = place  # keep its name and time zone
        # matched on the reader: no write lock is held while the index and
        # the providers' calendars are searched
        with self.reading() as reader:
            results = self.index.match(reader, request, self.rules)
            if category and not results:
                # no one of that category there: let the words find a neighbour
                request.category = None
                results = self.index.match(reader, request, self.rules)
        offers = []
        for result in results:
            if not result.slots:
                continue
            remote = result.match.remote
            zone = (
                customer.timezone
                if remote or place is None
                else (place.timezone or result.provider.timezone)
            )
            offers.append(
                Offer(
                    provider_id=result.provider.id,
                    name=result.provider.name,
                    start=result.slots[0].start.isoformat(),
                    zone=zone,
                    reasons=[r for r in result.match.reasons[1:] if r][:2],
                    remote=remote,
                )
            )
        offers = offers[:MAX_OFFERS]
        # what was proposed, for the console's funnel and match acceptance
        matchlog.record_match(
            self.session,
            words,
            [o.provider_id for o in offers],
            customer_id=customer.id,
            category=request.category,
            city=place.name if place else None,
            now=self.now,
        )
        return Search(words, category, place, window, offers, matched=len(results))

    def book(self, customer: Customer, offer: Offer, words: str = "") -> Booking:
        """Confirm ``offer`` for ``customer`` at once (a spoken yes was the
        confirmation); :class:`Conflict` if the time was taken meanwhile."""
        return bookings.create_booking(
            self.session,
            BookingCreate(
                provider_id=offer.provider_id,
                customer_id=customer.id,
                start=offer.starts_at,
                confirm=True,
                channel=self.channel,
                notes=words[:2000],
            ),
            self.rules,
            follow_ups=self.follow_ups,
            now=self.now,
        )

    # ------------------------------------------------------------ their bookings

    def upcoming(self, customer: Customer) -> list[Booking]:
        """The caller's live bookings, soonest first (with their providers)."""
        return self._bookings(
            select(Booking)
            .where(
                Booking.customer_id == customer.id,
                Booking.status.in_(LIVE_BOOKING_STATUSES),
            )
            .order_by(Booking.starts_at)
            .limit(10)
        )

    def to_review(self, customer: Customer) -> list[Booking]:
        """Completed bookings the caller has not rated yet, latest first."""
        return self._bookings(
            select(Booking)
            .where(
                Booking.customer_id == customer.id,
                Booking.status == BookingStatus.COMPLETED,
            )
            .order_by(Booking.starts_at.desc())
            .limit(3)
        )

    def _bookings(self, query) -> list[Booking]:
        # what is said of them (the provider's name, a visit or a session by
        # phone) is loaded with them, in the one read
        loaded = selectinload(Booking.provider).selectinload(Provider.services)
        with self.reading() as reader:
            return list(reader.scalars(query.options(loaded)))

    @staticmethod
    def clock_of(booking: Booking, customer: Customer) -> str:
        """The zone a booking's time is told in: the job's place for a visit,
        the caller's own for a session by phone or video."""
        if provider_is_remote(booking.provider):
            return customer.timezone
        return booking.provider.timezone

    def own_booking(self, customer: Customer, booking_id: int) -> Booking:
        """The caller's booking ``booking_id``; someone else's is not found."""
        booking = self.session.get(Booking, booking_id)
        if booking is None or booking.customer_id != customer.id:
            raise NotFound(f"booking {booking_id} not found")
        return booking

    def cancel(self, customer: Customer, booking_id: int) -> Booking:
        self.own_booking(customer, booking_id)
        return bookings.transition(
            self.session,
            booking_id,
            "cancel",
            actor=f"customer:{self.channel.value}",
            reason="cancelled by voice",
            follow_ups=self.follow_ups,
        )

    def reschedule(
        self, customer: Customer, booking_id: int, start: datetime
    ) -> Booking:
        self.own_booking(customer, booking_id)
        return bookings.reschedule(
            self.session,
            booking_id,
            start,
            self.rules,
            actor=f"customer:{self.channel.value}",
            follow_ups=self.follow_ups,
            now=self.now,
        )

    def first_free(self, booking: Booking, window: Window) -> datetime | None:
        """The booking's provider's first free time within ``window`` (for a move)."""
        slots = provider_free_slots(
            self.session,
            booking.provider,
            window.start,
            window.end,
            self.rules,
            now=self.now,
            limit=1,
        )
        return slots[0].start if slots else None

    def rate(self, customer: Customer, booking_id: int, stars: int) -> Booking:
        booking = self.own_booking(customer, booking_id)
        reviews.leave_review(
            self.session,
            booking_id,
            ReviewCreate(stars=stars),
            customer_id=customer.id,
            now=self.now,
        )
        return booking

    # ------------------------------------------------------------ providers

    def check_in(self, caller: Customer, job_number: int, step: str) -> Booking:
        """A provider reports a step of job ``job_number`` (a booking id).

        Only the job's provider may: the caller's voice account must be linked
        to the phone number the provider is registered with. A job that does
        not exist and one of another provider's get one answer (``NotFound``,
        ``not_your_job``), so a caller learns nothing of others' jobs; a
        caller with no linked phone is told to link one, whatever the job.
        """
        if step not in CHECK_IN_STEPS:
            raise Invalid("not a check-in step", field="step", code="bad_step")
        if not caller.phone:
            raise Conflict(
                "only the job's provider can check in to it", code="not_the_provider"
            )
        booking = self.session.get(Booking, job_number)
        if booking is None or not speaks_for_provider(caller, booking.provider):
            raise NotFound(f"no job {job_number} of yours", code="not_your_job")
        provider: Provider = booking.provider
        action = CHECK_IN_STEPS[step]
        if action == "check_in" and booking.status == BookingStatus.IN_PROGRESS:
            return booking  # "started" after "arrived": already under way
        return bookings.transition(
            self.session,
            job_number,
            action,
            actor=f"provider:{provider.id}:{self.channel.value}",
            follow_ups=self.follow_ups,
        )

    # ------------------------------------------------------------ phone link

    def phone(self, said: str) -> str:
        """The phone number the caller said, in E.164 (a national one is the
        marketplace's region's); :class:`Invalid` if it is not one."""
        return phones.to_e164(said, self.region)

    def send_phone_code(self, customer: Customer, phone: str) -> None:
        """Text a code to ``phone``; the caller says it back to link it. A
        text that cannot be sent leaves no usable code and no budget spent
        (:class:`Unavailable` ``code_not_sent``)."""
        link = customers.start_phone_link(
            self.session,
            customer.id,
            phone,
            code_minutes=self.rules.phone_code_minutes,
            text_rules=self.texts,
            now=self.now,
        )
        self.session.commit()  # the code must exist before the text arrives
        try:
            send_phone_code(self.notifiers, link)
        except DeliveryError as exc:
            customers.phone_code_not_sent(self.session, link.verification.id)
            self.session.commit()
            raise code_not_sent(link, exc) from exc

    def confirm_phone_code(self, customer: Customer, phone: str, code: str) -> Customer:
        """Check the spoken code; the surviving customer (merged if the phone
        was someone's already). A wrong code stays counted whatever the turn
        does next (committed here), and the try that locks the number texts
        its owner."""
        try:
            return customers.confirm_phone_link(
                self.session, customer.id, phone, code, now=self.now
            )
        except customers.WrongCode as wrong:
            self.session.commit()
            if wrong.notice is not None:
                send_phone_notice(self.notifiers, wrong.notice)
            raise
