"""The reschedule flow: which booking, the new time, a yes, then the move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from actions.beckon_api import BackendError, Conflict, Invalid
from actions.common import (
    backend,
    booking_line,
    booking_ref_of,
    booking_time,
    customer_of,
    key_of,
    local_time,
    now,
    tell,
    time_answer,
)
from actions.picking import (
    AskChangeConfirmed,
    BookingPicker,
    ChangeBooking,
    confirmed_answer,
)
from actions.when import InThePast, NotUnderstood, parse_window


def clock_of(booking: dict, tracker) -> str:
    """The zone a new time for this booking is meant in (see booking_time)."""
    if booking.get("remote"):
        try:
            return customer_of(tracker).get("timezone") or booking["timezone"]
        except BackendError:
            pass
    return booking["timezone"]


class ValidateRescheduleForm(BookingPicker):
    def name(self) -> str:
        return "validate_reschedule_form"

    async def extract_new_start(self, dispatcher, tracker, domain):
        words = time_answer(tracker, "new_start", self.stop_intents)
        return {} if words is None else {"new_start": words}

    async def extract_change_confirmed(self, dispatcher, tracker, domain):
        return confirmed_answer(tracker)

    def validate_new_start(self, value, dispatcher, tracker, domain):
        """A time on the booking's own clock, free with that provider."""
        number = booking_ref_of(tracker.get_slot("booking_ref"))
        if number is None:
            return {"new_start": None}  # asked again once the booking is known
        try:
            booking = backend(tracker).booking(number)
            zone = ZoneInfo(clock_of(booking, tracker))
            window = parse_window(str(value), zone.key, now())
        except (NotUnderstood, InThePast):
            dispatcher.utter_message(
                text='Sorry, I need a time still to come, like "Thursday at 10am".'
            )
            return {"new_start": None}
        except BackendError as error:
            tell(dispatcher, error)
            return {"new_start": None}
        name = booking["provider_name"]
        # an exact time is checked against the whole day, to offer others
        start, end = window.start, window.end
        if window.exact:
            start = window.start.replace(hour=0, minute=0)
            end = start + timedelta(days=1)
        try:
            slots = backend().provider_slots(
                booking["provider_id"], start.isoformat(), end.isoformat()
            )
        except BackendError as error:
            tell(dispatcher, error)
            return {"new_start": None}
        if not slots:
            dispatcher.utter_message(
                text=f"{name} has no free time {window.describe()}."
                + _next_free(booking, end, zone)
            )
            return {"new_start": None}
        if not window.exact:
            return {"new_start": slots[0]["local_start"], "change_confirmed": None}
        wanted = window.start.astimezone(UTC)
        for slot in slots:
            if datetime.fromisoformat(slot["start"]) == wanted:
                return {"new_start": slot["local_start"], "change_confirmed": None}
        others = ", ".join(_clock(s["start"], zone) for s in slots[:4])
        dispatcher.utter_message(
            text=f"{name} isn't free at {_clock(window.start.isoformat(), zone)} that day; "
            f"they are free at {others}."
        )
        return {"new_start": None}


def _next_free(booking: dict, after: datetime, zone: ZoneInfo) -> str:
    """ " Their next free times: Thu Dec 3 at 12:00, ..." (or nothing)."""
    try:
        slots = backend().provider_slots(
            booking["provider_id"],
            after.isoformat(),
            (after + timedelta(days=7)).isoformat(),
        )
    except BackendError:
        return ""
    if not slots:
        return ""
    return (
        " Their next free times: "
        + ", ".join(local_time(s["local_start"]) for s in slots[:3])
        + "."
    )


def _clock(iso_time: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(iso_time).astimezone(zone)
    return f"{moment.hour}:{moment.minute:02d}"


class AskRescheduleConfirmed(AskChangeConfirmed):
    def name(self) -> str:
        return "action_ask_reschedule_form_change_confirmed"

    def question(self, booking: dict, tracker) -> str:
        new_start = datetime.fromisoformat(tracker.get_slot("new_start"))
        zone = ZoneInfo(clock_of(booking, tracker))
        return (
            f"Move {booking_line(booking)} to "
            f"{local_time(new_start.astimezone(zone).isoformat())}?"
        )


class RescheduleBooking(ChangeBooking):
    def name(self) -> str:
        return "action_reschedule_booking"

    def change(self, dispatcher, tracker, number: int) -> None:
        try:
            booking = backend(tracker).reschedule(
                number,
                tracker.get_slot("new_start"),
                actor="customer",
                key=key_of(tracker),
            )
        except (Conflict, Invalid) as error:
            dispatcher.utter_message(
                text=f'I couldn\'t move it: {error.message}. Say "reschedule" to try another time.'
            )
            return
        except BackendError as error:
            tell(dispatcher, error)
            return
        dispatcher.utter_message(
            text=f"Done: booking #{number} is now {booking_time(booking)}."
        )
