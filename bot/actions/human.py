"""Asking for a person: the conversation is flagged for the console."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.beckon_api import BackendError
from actions.common import (
    backend,
    channel_of,
    customer_of,
    key_of,
    latest_text,
    tell,
)


class HandOff(Action):
    def name(self) -> str:
        return "action_hand_off"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        try:
            customer = customer_of(tracker)
            backend(tracker).handoff(
                customer["id"],
                channel_of(tracker),
                latest_text(tracker)[:300],
                key=key_of(tracker),
            )
        except BackendError as error:
            tell(dispatcher, error)
            return []
        dispatcher.utter_message(
            text="I've asked a person from our team to join. They'll reply right here."
        )
        return []
