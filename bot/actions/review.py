"""The review flow: which finished booking, how many stars, a few words."""

from __future__ import annotations

import re

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.beckon_api import BackendError, Conflict
from actions.common import (
    backend,
    booking_ref_of,
    entity_values,
    key_of,
    latest_text,
    tell,
)
from actions.forms import stopped_reply
from actions.picking import BookingPicker, reset_change

STAR_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
STARS = re.compile(
    r"\b([1-5]|one|two|three|four|five)\b(?:\s*(?:/|out of)\s*5)?(?:\s*stars?)?", re.I
)


def stars_in(text: str) -> tuple[int | None, str]:
    """The stars in "5 great job" or "four stars, tidy", and the words left."""
    match = STARS.search(text)
    if match is None:
        return None, text.strip()
    value = match[1].lower()
    stars = STAR_WORDS.get(value) or int(value)
    rest = (text[: match.start()] + text[match.end() :]).strip(" ,.!-:")
    return stars, rest


class ValidateReviewForm(BookingPicker):
    def name(self) -> str:
        return "validate_review_form"

    side_slots = frozenset({"form_stopped", "review_text"})

    async def extract_stars(self, dispatcher, tracker, domain):
        text = latest_text(tracker)
        spoken = entity_values(tracker, "stars")
        asked = tracker.get_slot("requested_slot") == "stars"
        if not (spoken or asked) or text.startswith("/"):
            return {}
        stars, rest = stars_in(" ".join(spoken) if spoken and not asked else text)
        if stars is None and spoken:
            stars, _ = stars_in(spoken[-1])
        _, words = stars_in(text)
        if stars is None:
            return {}
        found = {"stars": stars}
        if re.search(r"[a-z]{3}", words, re.I) and not re.fullmatch(
            r"(?i)\s*stars?\s*", words
        ):
            found["review_text"] = words
        return found

    def validate_stars(self, value, dispatcher, tracker, domain):
        try:
            stars = int(float(value))
        except (TypeError, ValueError):
            stars = 0
        if not 1 <= stars <= 5:
            dispatcher.utter_message(text="Please give 1 to 5 stars.")
            return {"stars": None}
        return {"stars": stars}


class LeaveReview(Action):
    def name(self) -> str:
        return "action_leave_review"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if stopped_reply(dispatcher, tracker):
            return reset_change()
        number = booking_ref_of(tracker.get_slot("booking_ref"))
        stars = int(tracker.get_slot("stars"))
        try:
            backend(tracker).review(
                number,
                stars,
                tracker.get_slot("review_text") or "",
                key=key_of(tracker),
            )
        except Conflict as error:
            dispatcher.utter_message(text=error.say)
            return reset_change()
        except BackendError as error:
            tell(dispatcher, error)
            return reset_change()
        thanks = (
            "Thank you!" if stars >= 4 else "Thank you, and sorry it wasn't better."
        )
        dispatcher.utter_message(
            text=f"{thanks} Your {stars}-star review of booking #{number} is in."
        )
        return reset_change()
