"""The cancel flow: which booking, a yes, then the cancellation."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.beckon_api import BackendError
from actions.common import YES_NO, backend, booking_line, booking_ref_of, tell
from actions.picking import BookingPicker, ChangeBooking, confirmed_answer


class ValidateCancelForm(BookingPicker):
    def name(self) -> str:
        return "validate_cancel_form"

    async def extract_change_confirmed(self, dispatcher, tracker, domain):
        return confirmed_answer(tracker)


class AskCancelConfirmed(Action):
    def name(self) -> str:
        return "action_ask_cancel_form_change_confirmed"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            booking = backend().booking(booking_ref_of(tracker.get_slot("booking_ref")))
        except BackendError as error:
            tell(dispatcher, error)
            return []
        dispatcher.utter_message(
            text=f"Cancel {booking_line(booking)}? (yes/no)", buttons=YES_NO
        )
        return []


class CancelBooking(ChangeBooking):
    def name(self) -> str:
        return "action_cancel_booking"

    def change(self, dispatcher, tracker, number: int) -> None:
        try:
            backend().act(number, "cancel", actor="customer", reason="asked in chat")
        except BackendError as error:
            tell(dispatcher, error)
            return
        dispatcher.utter_message(
            text=f"Booking #{number} is cancelled. The provider has been told."
        )
