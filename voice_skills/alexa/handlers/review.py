"""Rating a provider after a completed booking."""

from __future__ import annotations

import logging

from ask_sdk_model import (
    Response,
)

from backend.services.errors import Conflict
from voice_skills.alexa.handlers.base import (
    IntentHandler,
    answer,
    elicit,
    number_of,
    turn_of,
)
from voice_skills.alexa.handlers.bookings import pick_booking

log = logging.getLogger(__name__)


class RateProviderIntentHandler(IntentHandler):
    intent_name = "RateProviderIntent"
    elicits = {"number": "which_booking_reprompt", "stars": "rate_ask_stars_reprompt"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        done = t.desk.to_review(t.customer)
        if not done and t.slot("number") is None:
            return answer(handler_input, t.say("rate_nothing"))
        booking = pick_booking(handler_input, t, done[:1])
        if isinstance(booking, Response):
            return booking
        name = booking.provider.name
        stars = number_of(t.slot("stars"))
        if stars is None:
            return elicit(
                handler_input,
                "stars",
                t.say("rate_ask_stars", name=name),
                t.say("rate_ask_stars_reprompt"),
            )
        if not 1 <= stars <= 5:
            return elicit(
                handler_input,
                "stars",
                t.say("rate_bad_stars"),
                t.say("rate_ask_stars_reprompt"),
            )
        try:
            t.desk.rate(t.customer, booking.id, stars)
        except Conflict as error:
            if error.code != "already_reviewed":
                raise
            return answer(handler_input, t.say("already_rated"))
        return answer(handler_input, t.say("rated", name=name, stars=stars))
