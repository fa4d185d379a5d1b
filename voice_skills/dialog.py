"""The voice dialogue's steps that Alexa and Google share, platform-neutral:
choosing one of the offers read out (to be confirmed) and booking it on a
yes, or hearing that its time went meanwhile (a yes then searches again).

Each platform keeps the offers between turns in its own per-session state
and adapts these results into its response (Alexa: speech and reprompt;
Dialogflow: the fulfillment text and the question waiting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.models import Booking, Customer
from backend.services.errors import Conflict
from voice_skills import speech
from voice_skills.desk import Offer, VoiceDesk

#: The refusals of a booking that mean its time went meanwhile.
SLOT_GONE = frozenset({"slot_taken", "outside_working_hours"})


@dataclass
class Chosen:
    """The offer chosen, and the question that asks to confirm it."""

    offer: Offer
    question: str
    reprompt: str


@dataclass
class Booked:
    offer: Offer
    booking: Booking
    text: str


@dataclass
class SlotTaken:
    """The time went meanwhile: ``question`` asks whether to search again."""

    offer: Offer
    question: str


def choose(
    offers: list[dict[str, Any]], number: int | None, now: datetime, locale: str | None
) -> Chosen | None:
    """Offer ``number`` (1-based) of those read out; None if there is none."""
    if number is None or not 1 <= number <= len(offers):
        return None
    offer = Offer.from_dict(offers[number - 1])
    when = speech.spoken_time(offer.starts_at, offer.zone, now, locale)
    return Chosen(
        offer,
        speech.say("confirm_booking", locale, name=offer.name, when=when),
        speech.say("confirm_booking_reprompt", locale, name=offer.name, when=when),
    )


def book(
    desk: VoiceDesk,
    customer: Customer,
    offer: dict[str, Any],
    words: str,
    locale: str | None,
) -> Booked | SlotTaken:
    """Book the offer confirmed; :class:`SlotTaken` if its time went."""
    chosen = Offer.from_dict(offer)
    try:
        booking = desk.book(customer, chosen, words)
    except Conflict as error:
        if error.code not in SLOT_GONE:
            raise
        return SlotTaken(chosen, speech.say("slot_taken", locale, name=chosen.name))
    when = speech.spoken_time(chosen.starts_at, chosen.zone, desk.now, locale)
    text = speech.say("booked", locale, name=chosen.name, when=when, number=booking.id)
    return Booked(chosen, booking, text)
