"""Providers check in by message: "arrived at job 42", "job 42 is done".

Only the provider of a job may move it: the sender must write from the phone
number the provider is registered with (the SMS or WhatsApp sender, or a
``phone`` in the message's metadata from a channel that verified it).
"""

from __future__ import annotations

import re

from rasa_sdk import Action
from rasa_sdk.events import EventType, SlotSet

from actions.beckon_api import BackendError, Conflict, NotFound
from actions.common import (
    backend,
    booking_ref_of,
    entity_values,
    key_of,
    latest_text,
    tell,
)
from actions.forms import BeckonForm, stopped_reply

DONE = re.compile(r"\b(done|finished|complete[d]?|all set|wrapped up|ended)\b", re.I)


def sender_phone(tracker) -> str | None:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    candidate = str(metadata.get("phone") or tracker.sender_id or "")
    candidate = candidate.removeprefix("whatsapp:")
    digits = re.sub(r"[^\d+]", "", candidate)
    return digits if re.fullmatch(r"\+\d{8,15}", digits) else None


class ValidateCheckInForm(BeckonForm):
    side_slots = frozenset({"form_stopped", "check_in_step"})

    def name(self) -> str:
        return "validate_check_in_form"

    async def extract_booking_ref(self, dispatcher, tracker, domain):
        refs = entity_values(tracker, "booking_ref")
        found: dict = {}
        if not tracker.get_slot("check_in_step") or DONE.search(latest_text(tracker)):
            found["check_in_step"] = (
                "complete" if DONE.search(latest_text(tracker)) else "check-in"
            )
        if refs:
            found["booking_ref"] = str(booking_ref_of(refs[-1]))
        elif tracker.get_slot("requested_slot") == "booking_ref":
            number = re.search(r"\d+", latest_text(tracker))
            if number:
                found["booking_ref"] = number[0]
        return found

    def validate_booking_ref(self, value, dispatcher, tracker, domain):
        """The job, if it is the sender's. A job that does not exist and one
        of another provider's get the same answer, so nobody learns which
        job numbers exist or whose they are."""
        number = booking_ref_of(value)
        phone = sender_phone(tracker)
        if phone is None:  # whatever the job: nobody to compare with
            dispatcher.utter_message(
                text="Only a job's provider can check in for it, "
                "from the phone number we have for them."
            )
            return {"booking_ref": None, "form_stopped": "nothing_to_do"}
        try:
            booking = backend(tracker).booking(number)
            provider = backend().provider(booking["provider_id"])
        except NotFound:
            provider = {}
        except BackendError as error:
            tell(dispatcher, error)
            return {"booking_ref": None, "form_stopped": "nothing_to_do"}
        if provider.get("phone") != phone:
            dispatcher.utter_message(
                text=f"I found no job #{number} of yours. Only the provider booked "
                "for a job can check in for it, from the phone number we have "
                "for them."
            )
            return {"booking_ref": None, "form_stopped": "nothing_to_do"}
        return {"booking_ref": str(number)}


class CheckIn(Action):
    def name(self) -> str:
        return "action_check_in"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        reset = [
            SlotSet(s, None) for s in ("booking_ref", "check_in_step", "form_stopped")
        ]
        if stopped_reply(dispatcher, tracker):
            return reset
        number = booking_ref_of(tracker.get_slot("booking_ref"))
        step = tracker.get_slot("check_in_step") or "check-in"
        try:
            backend(tracker).act(
                number,
                step,
                actor=f"provider:{sender_phone(tracker)}",
                key=key_of(tracker),
            )
        except Conflict as error:
            dispatcher.utter_message(text=error.say)
            return reset
        except BackendError as error:
            tell(dispatcher, error)
            return reset
        if step == "complete":
            dispatcher.utter_message(
                text=f"Job #{number} is marked done. Thanks! The customer will be asked for a review."
            )
        else:
            dispatcher.utter_message(
                text=f'Checked in to job #{number}. Text "job {number} done" when you finish.'
            )
        return reset
