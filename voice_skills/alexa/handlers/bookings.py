"""The caller's bookings: their status, cancelling and moving one."""

from __future__ import annotations

import logging

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import (
    Response,
)

from backend.models import Booking, BookingStatus
from backend.services.errors import Invalid, NotFound
from voice_skills import speech
from voice_skills.alexa.handlers.base import (
    IntentHandler,
    Turn,
    answer,
    elicit,
    number_of,
    turn_of,
)
from voice_skills.when import Window, alexa_window

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ their bookings


def zone_of(booking: Booking, t: Turn) -> str:
    return t.desk.clock_of(booking, t.customer)


def state_words(t: Turn, booking: Booking) -> str:
    key = {
        BookingStatus.HELD: "state_held",
        BookingStatus.CONFIRMED: "state_confirmed",
        BookingStatus.IN_PROGRESS: "state_in_progress",
    }.get(booking.status)
    return t.say(key) if key else booking.status.value.replace("_", " ")


class JobStatusIntentHandler(IntentHandler):
    intent_name = "JobStatusIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        upcoming = t.desk.upcoming(t.customer)
        if not upcoming:
            return answer(
                handler_input, t.say("status_none"), reprompt=t.say("help_reprompt")
            )
        lines = [t.say("status_more", count=len(upcoming))] if len(upcoming) > 1 else []
        for booking in upcoming[: speech.MAX_READ_OUT]:
            lines.append(
                t.say(
                    "status_line",
                    number=booking.id,
                    name=booking.provider.name,
                    when=t.when(booking.starts_at, zone_of(booking, t)),
                    state=state_words(t, booking),
                )
            )
        return answer(handler_input, " ".join(lines))


def pick_booking(
    handler_input: HandlerInput, t: Turn, candidates: list[Booking]
) -> Booking | Response:
    """The booking the caller means: named by number, or the only one; else
    ask which (a response)."""
    number = number_of(t.slot("number"))
    if number is not None:
        try:
            return t.desk.own_booking(t.customer, number)
        except NotFound:
            return elicit(
                handler_input,
                "number",
                t.say("not_your_booking", number=number),
                t.say("which_booking_reprompt"),
            )
    if len(candidates) == 1:
        return candidates[0]
    return elicit(
        handler_input,
        "number",
        t.say("which_booking", numbers=[b.id for b in candidates[:3]]),
        t.say("which_booking_reprompt"),
    )


def changeable_booking(handler_input: HandlerInput, t: Turn) -> Booking | Response:
    """The booking to cancel or move (one not under way yet), or what to say."""
    upcoming = [
        b for b in t.desk.upcoming(t.customer) if b.status != BookingStatus.IN_PROGRESS
    ]
    if not upcoming and t.slot("number") is None:
        return answer(
            handler_input, t.say("status_none"), reprompt=t.say("help_reprompt")
        )
    return pick_booking(handler_input, t, upcoming)


class CancelBookingIntentHandler(IntentHandler):
    intent_name = "CancelBookingIntent"
    elicits = {"number": "which_booking_reprompt"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        booking = changeable_booking(handler_input, t)
        if isinstance(booking, Response):
            return booking
        state = t.state()
        state.pending = {"ask": "cancel", "booking": booking.id}
        t.keep(state)
        return answer(
            handler_input,
            t.say(
                "cancel_confirm",
                number=booking.id,
                name=booking.provider.name,
                when=t.when(booking.starts_at, zone_of(booking, t)),
            ),
            reprompt=t.say("cancel_confirm_reprompt"),
        )


class RescheduleIntentHandler(IntentHandler):
    intent_name = "RescheduleIntent"
    elicits = {"number": "which_booking_reprompt", "date": "ask_when"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        booking = changeable_booking(handler_input, t)
        if isinstance(booking, Response):
            return booking
        name = booking.provider.name
        if not (t.slot("date") or t.slot("time")):
            return elicit(
                handler_input,
                "date",
                t.say("reschedule_ask_when", name=name),
                t.say("ask_when_reprompt"),
            )
        zone = zone_of(booking, t)
        try:
            window: Window = alexa_window(t.slot("date"), t.slot("time"), zone, t.now)
        except Invalid as error:
            return elicit(
                handler_input,
                "date",
                t.refusal(error),
                t.say("ask_when_reprompt"),
            )
        start = t.desk.first_free(booking, window)
        if start is None:
            return elicit(
                handler_input,
                "date",
                t.say("reschedule_none_free", name=name),
                t.say("ask_when_reprompt"),
            )
        state = t.state()
        state.pending = {
            "ask": "reschedule",
            "booking": booking.id,
            "start": start.isoformat(),
        }
        t.keep(state)
        return answer(
            handler_input,
            t.say(
                "reschedule_confirm",
                number=booking.id,
                name=name,
                when=t.when(start, zone),
            ),
            reprompt=t.say("cancel_confirm_reprompt"),
        )
