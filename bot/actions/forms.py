"""What every Beckon form does the same way: stopping, and slots it keeps
beside the ones it asks for.

A person may stop any form ("no", "never mind", "bye") while it asks for
something other than a yes or a no: ``form_stopped`` is set, the form asks
for nothing more, and its submit action sees why it ended.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_intent

#: questions answered by a rule in any form, which then goes on
INTERRUPTIONS = frozenset(
    {"help", "bot_challenge", "check_status", "ask_human", "ask_details"}
)
#: the intent that starts each form: in another form, a rule switches to it
FLOW_INTENTS = {
    "booking_form": "request_service",
    "cancel_form": "cancel_booking",
    "reschedule_form": "reschedule_booking",
    "review_form": "leave_review",
    "check_in_form": "provider_check_in",
    "link_phone_form": "link_phone",
}
STOPPED_BY_PERSON = "by_person"  # "no", "never mind": say nothing changed
NOTHING_TO_DO = "nothing_to_do"  # the person was already told why
CONFIRM_SLOTS = {"booking_confirmed", "change_confirmed"}


class BeckonForm(FormValidationAction):
    """A form's validation action with stopping and side slots."""

    #: intents that stop the form
    stop_intents: frozenset[str] = frozenset({"deny", "goodbye"})
    #: slots an extraction may set besides the ones asked for
    side_slots: frozenset[str] = frozenset({"form_stopped"})

    @abstractmethod
    def name(self) -> str:
        """``validate_<form>``"""

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        return [] if tracker.get_slot("form_stopped") else domain_slots

    def stopped(self, tracker: Tracker) -> dict[str, Any]:
        asked = tracker.get_slot("requested_slot")
        if (
            asked
            and asked not in CONFIRM_SLOTS
            and latest_intent(tracker) in self.stop_intents
        ):
            return {"form_stopped": STOPPED_BY_PERSON}
        return {}

    def elsewhere(self, tracker: Tracker) -> bool:
        """The message is for a rule (a question, another flow), not this form."""
        intent = latest_intent(tracker)
        if intent in INTERRUPTIONS or intent in self.stop_intents:
            return intent in INTERRUPTIONS
        own = FLOW_INTENTS.get(self.form_name())
        return intent in FLOW_INTENTS.values() and intent != own

    async def get_extraction_events(self, dispatcher, tracker, domain):
        if self.elsewhere(tracker):
            return []
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        return events + [SlotSet(k, v) for k, v in self.stopped(tracker).items()]

    async def get_validation_events(self, dispatcher, tracker, domain):
        # rasa_sdk validates (and returns) only the slots the form asks for
        side = {
            k: v for k, v in tracker.slots_to_validate().items() if k in self.side_slots
        }
        events = await super().get_validation_events(dispatcher, tracker, domain)
        named = {e["name"] for e in events}
        return [SlotSet(k, v) for k, v in side.items() if k not in named] + events


def stopped_reply(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """True when the form was stopped, after saying so if the person stopped it."""
    stopped = tracker.get_slot("form_stopped")
    if stopped == STOPPED_BY_PERSON:
        dispatcher.utter_message(text="OK, I've left it as it was.")
    return bool(stopped)
