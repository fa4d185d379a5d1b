"""The status flow: "what's the status of my job?", "where is booking 42?"."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.beckon_api import BackendError, NotFound
from actions.common import (
    backend,
    booking_line,
    booking_ref_of,
    booking_time,
    customer_of,
    entity_values,
    tell,
)

SHOWN = 3
STATUS_WORDS = {
    "held": "is held for you, waiting to be confirmed",
    "confirmed": "is confirmed",
    "in_progress": "is under way: the provider has checked in",
    "completed": "is done",
    "reviewed": "is done and reviewed. Thank you!",
    "cancelled": "was cancelled",
    "no_show": "was marked as missed",
}


def describe(booking: dict) -> str:
    """One booking in a sentence: who, when, and where it stands."""
    return (
        f"Booking #{booking['id']} with {booking['provider_name']} on "
        f"{booking_time(booking)} {STATUS_WORDS[booking['status']]}."
    )


class BookingStatus(Action):
    def name(self) -> str:
        return "action_booking_status"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        refs = entity_values(tracker, "booking_ref")
        try:
            customer = customer_of(tracker)
            if refs:
                number = booking_ref_of(refs[-1])
                try:
                    booking = backend(tracker).booking(number)
                except NotFound:
                    booking = None
                if booking is None or booking["customer_id"] != customer["id"]:
                    dispatcher.utter_message(
                        text=f"I can't find booking #{number} on your account."
                    )
                    return []
                dispatcher.utter_message(text=describe(booking))
                return []
            found = backend(tracker).bookings_of(customer["id"])
        except BackendError as error:
            tell(dispatcher, error)
            return []
        if not found:
            dispatcher.utter_message(
                text="You have no bookings yet. Tell me what you need and I'll find someone."
            )
            return []
        live = [b for b in found if b["status"] in ("held", "confirmed", "in_progress")]
        if len(live) == 1 or (not live and found):
            dispatcher.utter_message(text=describe((live or found)[0]))
            return []
        upcoming = sorted(live, key=lambda b: b["start"])[:SHOWN]
        dispatcher.utter_message(
            text="\n".join(
                ["Your upcoming bookings:", *(booking_line(b) for b in upcoming)]
            )
        )
        return []
