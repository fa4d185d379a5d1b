"""The cancel flow: which booking, a yes, then the cancellation."""

from __future__ import annotations

from actions.beckon_api import BackendError
from actions.common import backend, booking_line, key_of, tell
from actions.picking import (
    AskChangeConfirmed,
    BookingPicker,
    ChangeBooking,
    confirmed_answer,
)


class ValidateCancelForm(BookingPicker):
    def name(self) -> str:
        return "validate_cancel_form"

    async def extract_change_confirmed(self, dispatcher, tracker, domain):
        return confirmed_answer(tracker)


class AskCancelConfirmed(AskChangeConfirmed):
    def name(self) -> str:
        return "action_ask_cancel_form_change_confirmed"

    def question(self, booking: dict, tracker) -> str:
        return f"Cancel {booking_line(booking)}?"


class CancelBooking(ChangeBooking):
    def name(self) -> str:
        return "action_cancel_booking"

    def change(self, dispatcher, tracker, number: int) -> None:
        try:
            backend(tracker).act(
                number,
                "cancel",
                actor="customer",
                reason="asked in chat",
                key=key_of(tracker),
            )
        except BackendError as error:
            tell(dispatcher, error)
            return
        dispatcher.utter_message(
            text=f"Booking #{number} is cancelled. The provider has been told."
        )
