"""Tying this Alexa account to the caller's phone with a code sent by SMS."""

from __future__ import annotations

import logging
import re

from backend.services.errors import Conflict, Invalid
from voice_skills.alexa.handlers.base import (
    IntentHandler,
    answer,
    elicit,
    turn_of,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ phone link


class LinkPhoneIntentHandler(IntentHandler):
    """A code sent by SMS ties this Alexa account to the caller's phone."""

    intent_name = "LinkPhoneIntent"
    elicits = {"phone": "link_ask_phone", "code": "link_ask_code_reprompt"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        code = t.slot("code")
        state = t.state()
        waiting = state.pending if state.ask == "code" else None
        if code and waiting:
            phone = waiting["phone"]
            try:
                t.desk.confirm_phone_code(t.customer, phone, re.sub(r"\D", "", code))
            except Invalid:
                return elicit(
                    handler_input,
                    "code",
                    t.say("link_wrong_code"),
                    t.say("link_ask_code_reprompt"),
                )
            except Conflict as error:
                state.pending = None
                t.keep(state)
                said = (
                    t.say("link_expired")
                    if error.code == "code_expired"
                    else t.refusal(error)
                )
                return answer(handler_input, said, reprompt=t.say("help_reprompt"))
            state.pending = None
            t.keep(state)
            return answer(handler_input, t.say("linked"))
        spoken = t.slot("phone")
        if not spoken:
            return elicit(
                handler_input,
                "phone",
                t.say("link_ask_phone"),
                t.say("link_ask_phone_reprompt"),
            )
        try:  # Alexa's digits ("5125550123"), read in the marketplace's region
            phone = t.desk.phone(spoken)
        except Invalid:
            return elicit(
                handler_input,
                "phone",
                t.say("link_bad_phone"),
                t.say("link_ask_phone_reprompt"),
            )
        t.desk.send_phone_code(t.customer, phone)
        state.pending = {"ask": "code", "phone": phone}
        t.keep(state)
        return elicit(
            handler_input,
            "code",
            t.say("link_code_sent", last_digits=phone[-4:]),
            t.say("link_ask_code_reprompt"),
        )
