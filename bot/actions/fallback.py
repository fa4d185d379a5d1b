"""Words the assistant was unsure of may still be a request.

"a piano tuner", "someone to regrout my shower": a kind of provider never seen
in training lowers the classifier's confidence below the fallback threshold.
When its best guess was still a request for a service, the words go to the
booking form and so to matching, which reads meaning, not keywords; anything
else is asked again.
"""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions.common import latest_text

BEST_GUESSES = 1  # request_service as the classifier's best real guess


class HandleFallback(Action):
    def name(self) -> str:
        return "action_handle_fallback"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        text = latest_text(tracker).strip()
        ranking = [
            i["name"]
            for i in (tracker.latest_message or {}).get("intent_ranking", [])
            if i.get("name") != "nlu_fallback"
        ]
        if not text.startswith("/") and "request_service" in ranking[:BEST_GUESSES]:
            return [SlotSet("need", text), FollowupAction("booking_form")]
        dispatcher.utter_message(response="utter_default")
        return []
