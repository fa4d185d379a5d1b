"""Which booking a person means: "#42", "the second one", or the only one.

Shared by the forms that act on a customer's booking (cancel, reschedule,
review): each names the states a booking must be in for it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.beckon_api import BackendError, NotFound
from actions.common import (
    YES_NO,
    backend,
    booking_line,
    booking_ref_of,
    button,
    chosen_index,
    customer_of,
    entity_values,
    latest_intent,
    latest_text,
    tell,
)
from actions.forms import NOTHING_TO_DO, BeckonForm, stopped_reply

UPCOMING = ("held", "confirmed")
#: what each form acts on, and how it says so
FLOWS = {
    "cancel_form": (UPCOMING, "cancel", "cancel_booking"),
    "reschedule_form": (UPCOMING, "move", "reschedule_booking"),
    "review_form": (("completed",), "review", "leave_review"),
}


def candidates(tracker: Tracker, statuses: tuple[str, ...]) -> list[dict]:
    """The person's bookings in these states, soonest first."""
    customer_id = customer_of(tracker)["id"]
    found = [
        b for b in backend(tracker).bookings_of(customer_id) if b["status"] in statuses
    ]
    return sorted(found, key=lambda b: b["start"])


class BookingPicker(BeckonForm):
    """Fills ``booking_ref`` for a form that acts on one of the person's bookings."""

    @property
    def statuses(self) -> tuple[str, ...]:
        return FLOWS[self.form_name()][0]

    async def extract_booking_ref(self, dispatcher, tracker, domain) -> dict[str, Any]:
        refs = entity_values(tracker, "booking_ref")
        if refs:
            return {"booking_ref": str(booking_ref_of(refs[-1]))}
        if tracker.get_slot("requested_slot") != "booking_ref":
            return {}
        listed = tracker.get_slot("booking_choices") or []
        index = chosen_index(latest_text(tracker), len(listed))
        if index is not None:
            return {"booking_ref": str(listed[index])}
        return {}

    async def get_extraction_events(self, dispatcher, tracker, domain):
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        stopped: dict[str, Any] = {}
        if any(e["name"] == "form_stopped" for e in events):
            return events
        # the form's first turn, no booking named in it: with a single booking
        # to act on, that is the one; with none, there is nothing to do; with
        # several, the person is asked (never a number left from an earlier flow)
        if tracker.get_slot("requested_slot") is None and not any(
            e["name"] == "booking_ref" for e in events
        ):
            events.append(SlotSet("booking_ref", None))
            try:
                found = candidates(tracker, self.statuses)
            except BackendError as error:
                tell(dispatcher, error)
                stopped = {"form_stopped": NOTHING_TO_DO}
                found = None
            if found == []:
                kind = "completed" if self.statuses == ("completed",) else "upcoming"
                verb = FLOWS[self.form_name()][1]
                dispatcher.utter_message(text=f"You have no {kind} bookings to {verb}.")
                stopped = {"form_stopped": NOTHING_TO_DO}
            elif found and len(found) == 1:
                events[-1] = SlotSet("booking_ref", str(found[0]["id"]))
        return events + [SlotSet(k, v) for k, v in stopped.items()]

    def validate_booking_ref(
        self, value, dispatcher: CollectingDispatcher, tracker: Tracker, domain
    ) -> dict[str, Any]:
        number = booking_ref_of(value)
        if number is None:
            return {"booking_ref": None}  # to be asked
        verb = FLOWS[self.form_name()][1]
        try:
            customer = customer_of(tracker)
            booking = backend(tracker).booking(number) if number else None
        except NotFound:
            booking = None
        except BackendError as error:
            tell(dispatcher, error)
            return {"booking_ref": None, "form_stopped": NOTHING_TO_DO}
        if booking is None or booking["customer_id"] != customer["id"]:
            dispatcher.utter_message(
                text=f"I can't find booking #{number} on your account."
            )
            return {"booking_ref": None}
        if booking["status"] not in self.statuses:
            state = booking["status"].replace("_", " ")
            dispatcher.utter_message(
                text=f"Booking #{number} is {state}, so I can't {verb} it."
            )
            return {"booking_ref": None}
        return {"booking_ref": str(number), "booking_choices": None}


class AskBookingRef(Action):
    """List the person's bookings the active form can act on, as buttons."""

    def name(self) -> str:
        return "action_ask_booking_ref"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        form = tracker.active_loop_name or ""
        statuses, verb, intent = FLOWS.get(form, (UPCOMING, "change", "check_status"))
        try:
            found = candidates(tracker, statuses)
        except BackendError as error:
            tell(dispatcher, error)
            return []
        shown = found[:5]
        lines = [f"{i + 1}. {booking_line(b)}" for i, b in enumerate(shown)]
        dispatcher.utter_message(
            text="\n".join([f"Which booking do you want to {verb}?", *lines]),
            buttons=[
                button(f"#{b['id']}", intent, booking_ref=str(b["id"])) for b in shown
            ],
        )
        return [SlotSet("booking_choices", [b["id"] for b in shown])]


def reset_change() -> list[EventType]:
    return [
        SlotSet(s, None)
        for s in (
            "booking_ref",
            "booking_choices",
            "change_confirmed",
            "form_stopped",
            "when",
            "window_from",
            "window_to",
            "new_start",
            "stars",
            "review_text",
        )
    ]


class AskChangeConfirmed(Action, ABC):
    """Read the change back for a yes or a no."""

    @abstractmethod
    def question(self, booking: dict, tracker: Tracker) -> str:
        """ "Cancel #42 ...?": the change in a sentence."""

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            booking = backend(tracker).booking(
                booking_ref_of(tracker.get_slot("booking_ref"))
            )
        except BackendError as error:
            tell(dispatcher, error)
            return []
        dispatcher.utter_message(
            text=f"{self.question(booking, tracker)} (yes/no)", buttons=YES_NO
        )
        return []


class ChangeBooking(Action, ABC):
    """The end of a form that changes a booking: nothing when the person
    stopped or said no; else :meth:`change`, then the form's slots cleared."""

    @abstractmethod
    def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, number: int):
        """Make the change through the API and say how it went."""

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if not stopped_reply(dispatcher, tracker):
            number = booking_ref_of(tracker.get_slot("booking_ref"))
            if tracker.get_slot("change_confirmed") is True:
                self.change(dispatcher, tracker, number)
            else:
                dispatcher.utter_message(text=f"OK, booking #{number} stays as it is.")
        return reset_change()


def confirmed_answer(tracker: Tracker) -> dict[str, Any]:
    """``change_confirmed`` from a yes or a no, when that is what was asked."""
    if tracker.get_slot("requested_slot") != "change_confirmed":
        return {}
    intent = latest_intent(tracker)
    if intent == "affirm":
        return {"change_confirmed": True}
    if intent == "deny":
        return {"change_confirmed": False}
    return {}
