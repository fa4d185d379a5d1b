"""Linking a phone: a code by SMS ties this chat to the customer with that phone."""

from __future__ import annotations

import re

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.beckon_api import BackendError, Invalid
from actions.common import (
    backend,
    customer_of,
    entity_values,
    key_of,
    latest_text,
    tell,
)
from actions.forms import BeckonForm, stopped_reply

CODE = re.compile(r"\b(\d{6})\b")
#: the run of a message that looks like a phone number ("it's (415) 286-4371"):
#: whether it is one is the backend's to say
PHONE = re.compile(r"\+?\(?\d[\d\s().-]*\d")


class ValidateLinkPhoneForm(BeckonForm):
    def name(self) -> str:
        return "validate_link_phone_form"

    async def extract_phone(self, dispatcher, tracker, domain):
        spoken = entity_values(tracker, "phone")
        if spoken:
            return {"phone": spoken[-1]}
        if tracker.get_slot("requested_slot") == "phone":
            found = PHONE.search(latest_text(tracker))
            if found:
                return {"phone": found[0]}
        return {}

    async def extract_code(self, dispatcher, tracker, domain):
        if tracker.get_slot("requested_slot") != "code":
            return {}
        spoken = entity_values(tracker, "code")
        found = CODE.search(spoken[-1] if spoken else latest_text(tracker))
        return {"code": found[1]} if found else {}

    def validate_phone(self, value, dispatcher, tracker, domain):
        try:
            customer = customer_of(tracker)
            backend(tracker).start_phone_link(
                customer["id"], str(value), key=key_of(tracker)
            )
        except Invalid as error:
            reasons = [
                d.get("message") for d in error.details or [] if isinstance(d, dict)
            ]
            if error.code == "phone_country_not_served":  # a number, not ours to text
                again = "Please send a number in a country we text."
            else:
                again = "Please send it again; a number from another country needs its country code, like +44 20 7946 0958."
            dispatcher.utter_message(
                text=f"That number didn't work: {reasons[0] if reasons else error.message}. {again}"
            )
            return {"phone": None}
        except BackendError as error:
            tell(dispatcher, error)
            return {"phone": None, "form_stopped": "nothing_to_do"}
        return {"phone": str(value), "code": None}

    def validate_code(self, value, dispatcher, tracker, domain):
        try:
            customer = customer_of(tracker)
            backend(tracker).confirm_phone_link(
                customer["id"],
                tracker.get_slot("phone"),
                str(value),
                key=key_of(tracker),
            )
        except Invalid as error:
            said = error.message[:1].upper() + error.message[1:]
            dispatcher.utter_message(text=f"{said}. Please check it and send it again.")
            return {"code": None}
        except BackendError as error:
            tell(dispatcher, error)
            return {"code": None, "form_stopped": "nothing_to_do"}
        return {"code": str(value)}


class LinkPhone(Action):
    def name(self) -> str:
        return "action_link_phone"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        reset = [SlotSet(s, None) for s in ("phone", "code", "form_stopped")]
        if not stopped_reply(dispatcher, tracker):
            dispatcher.utter_message(
                text="Your phone is linked: your bookings and messages are now in one place."
            )
        return reset
