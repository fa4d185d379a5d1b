"""A provider's check-in to a job, from their linked account."""

from __future__ import annotations

import logging

from backend.models import Booking
from backend.services.errors import Conflict, NotFound
from voice_skills.alexa.handlers.base import (
    IntentHandler,
    answer,
    elicit,
    number_of,
    resolved_id,
    turn_of,
)
from voice_skills.alexa.handlers.bookings import state_words

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ providers


class ProviderCheckInIntentHandler(IntentHandler):
    """ "I've arrived at job 42": only from the provider's linked account."""

    intent_name = "ProviderCheckInIntent"
    elicits = {"job": "check_in_ask_job", "step": "check_in_ask_step"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        job = number_of(t.slot("job"))
        if job is None:
            return elicit(
                handler_input,
                "job",
                t.say("check_in_ask_job"),
                t.say("check_in_ask_job"),
            )
        step = resolved_id(handler_input, "step") or (t.slot("step") or "").lower()
        if step not in ("arrived", "started", "done"):
            return elicit(
                handler_input,
                "step",
                t.say("check_in_ask_step"),
                t.say("check_in_ask_step"),
            )
        try:
            t.desk.check_in(t.customer, job, step)
        except NotFound:  # no such job, or another provider's: one answer
            return answer(handler_input, t.say("check_in_not_yours", number=job))
        except Conflict as error:
            if error.code == "not_the_provider":
                return answer(
                    handler_input,
                    t.say("check_in_not_provider"),
                    reprompt=t.say("help_reprompt"),
                )
            booking = t.desk.session.get(Booking, job)
            if error.code == "too_early":
                when = t.when(booking.starts_at, booking.provider.timezone)
                return answer(
                    handler_input, t.say("check_in_too_early", number=job, when=when)
                )
            return answer(
                handler_input,
                t.say("cannot_change", number=job, state=state_words(t, booking)),
            )
        return answer(handler_input, t.say("check_in_done", number=job, step=step))
