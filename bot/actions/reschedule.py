"""The reschedule flow: which booking, the new time, a yes, then the move."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.beckon_api import BackendError, Conflict, Invalid
from actions.common import (
    YES_NO,
    backend,
    booking_line,
    booking_ref_of,
    entity_values,
    latest_intent,
    latest_text,
    local_time,
    now,
    tell,
)
from actions.forms import stopped_reply
from actions.picking import BookingPicker, confirmed_answer, reset_change
from actions.when import InThePast, NotUnderstood, parse_window


class ValidateRescheduleForm(BookingPicker):
    def name(self) -> str:
        return "validate_reschedule_form"

    async def extract_new_start(self, dispatcher, tracker, domain):
        spoken = entity_values(tracker, "date") + entity_values(tracker, "time")
        asked = tracker.get_slot("requested_slot") == "new_start"
        if spoken:
            return {"new_start": " ".join(spoken)}
        if asked and latest_intent(tracker) not in self.stop_intents:
            return {"new_start": latest_text(tracker)}
        return {}

    async def extract_change_confirmed(self, dispatcher, tracker, domain):
        return confirmed_answer(tracker)

    def validate_new_start(self, value, dispatcher, tracker, domain):
        """A time on the booking's own clock, free with that provider."""
        number = booking_ref_of(tracker.get_slot("booking_ref"))
        if number is None:
            return {"new_start": None}  # asked again once the booking is known
        try:
            booking = backend().booking(number)
            window = parse_window(str(value), booking["timezone"], now())
        except (NotUnderstood, InThePast):
            dispatcher.utter_message(
                text='Sorry, I need a time still to come, like "Thursday at 10am".'
            )
            return {"new_start": None}
        except BackendError as error:
            tell(dispatcher, error)
            return {"new_start": None}
        start = window.start
        if not window.exact:
            # a day, not a time: the provider's first free slot that day
            try:
                slots = backend().provider_slots(
                    booking["provider_id"],
                    window.start.isoformat(),
                    window.end.isoformat(),
                )
            except BackendError as error:
                tell(dispatcher, error)
                return {"new_start": None}
            if not slots:
                dispatcher.utter_message(
                    text=f"{booking['provider_name']} has no free time {window.describe()}. "
                    "Which other time would suit you?"
                )
                return {"new_start": None}
            return {"new_start": slots[0]["local_start"], "change_confirmed": None}
        return {"new_start": start.isoformat(), "change_confirmed": None}


class AskRescheduleConfirmed(Action):
    def name(self) -> str:
        return "action_ask_reschedule_form_change_confirmed"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            booking = backend().booking(booking_ref_of(tracker.get_slot("booking_ref")))
        except BackendError as error:
            tell(dispatcher, error)
            return []
        dispatcher.utter_message(
            text=f"Move {booking_line(booking)} to "
            f"{local_time(tracker.get_slot('new_start'))}? (yes/no)",
            buttons=YES_NO,
        )
        return []


class RescheduleBooking(Action):
    def name(self) -> str:
        return "action_reschedule_booking"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if stopped_reply(dispatcher, tracker):
            return reset_change()
        number = booking_ref_of(tracker.get_slot("booking_ref"))
        if tracker.get_slot("change_confirmed") is not True:
            dispatcher.utter_message(text=f"OK, booking #{number} stays as it is.")
            return reset_change()
        try:
            booking = backend().reschedule(
                number, tracker.get_slot("new_start"), actor="customer"
            )
        except (Conflict, Invalid) as error:
            dispatcher.utter_message(
                text=f'I couldn\'t move it: {error.message}. Say "reschedule" to try another time.'
            )
            return reset_change()
        except BackendError as error:
            tell(dispatcher, error)
            return reset_change()
        dispatcher.utter_message(
            text=f"Done: booking #{number} is now {local_time(booking['local_start'])}."
        )
        return reset_change()
