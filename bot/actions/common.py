"""What every flow shares: who is talking, the backend, time zones, choosing
from a list, and turning a backend failure into a sentence."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.beckon_api import Backend, BackendError, message_key
from actions.when import time_words

CHANNELS = {
    "sms",
    "whatsapp",
    "voice",
    "messenger",
    "telegram",
    "webchat",
    "alexa",
    "google",
}
DEFAULT_CHANNEL = "webchat"  # Rasa's REST channel, as the web chat uses it

_backend: Backend | None = None


def backend(tracker: Tracker | None = None) -> Backend:
    """The process's one client of Beckon's API (made on first use); given
    the conversation's tracker, it acts for the person writing (their channel
    and sender id go with every call, and the assistant's key may touch only
    their records). The catalogue, places and providers need no tracker."""
    global _backend
    if _backend is None:
        _backend = Backend()
    if tracker is None:
        return _backend
    return _backend.acting_for(channel_of(tracker), tracker.sender_id)


def now() -> datetime:
    return datetime.now(UTC)


def channel_of(tracker: Tracker) -> str:
    """The channel the person writes on, from the message's metadata."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = str(metadata.get("channel") or DEFAULT_CHANNEL).lower()
    return channel if channel in CHANNELS else DEFAULT_CHANNEL


def key_of(tracker: Tracker) -> str | None:
    """The key a side-effecting call made for the latest message carries (its
    Beckon id), so the message processed twice changes things once."""
    return message_key((tracker.latest_message or {}).get("metadata"))


def customer_of(tracker: Tracker) -> dict:
    """The customer behind this conversation (made on first contact)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    extra = {
        key: metadata[key]
        for key in ("display_name", "locale", "timezone")
        if metadata.get(key)
    }
    return backend(tracker).identify(channel_of(tracker), tracker.sender_id, **extra)


def tell(dispatcher: CollectingDispatcher, error: BackendError) -> None:
    """Tell the person what went wrong, in a sentence they can act on."""
    dispatcher.utter_message(text=error.say)


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


# what may stand between two pieces of one name: "St. Helena", "Dublin, CA"
_WITHIN_A_NAME = re.compile(r"[.,]?\s+")
# entities that are names (two dates side by side are two dates)
_NAMES = ("place", "need")


def entity_values(tracker: Tracker, entity: str) -> list[str]:
    """Every value of an entity in the latest message, in the order spoken.
    Pieces of a place or a need that only a space, a full stop or a comma
    keep apart are one value, as written ("St. Helena" tagged "St" and
    "Helena", "Dublin, CA")."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    found = sorted(
        (
            e
            for e in message.get("entities", [])
            if e.get("entity") == entity and e.get("value") not in (None, "")
        ),
        key=lambda e: e.get("start", 0),
    )
    values: list[str] = []
    last_end = None
    for e in found:
        start, end = e.get("start"), e.get("end")
        joined = (
            entity in _NAMES
            and values
            and last_end is not None
            and start is not None
            and _WITHIN_A_NAME.fullmatch(text[last_end:start])
        )
        if joined:
            values[-1] += text[last_end:end]
        else:
            values.append(str(e["value"]))
        last_end = end
    return values


ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
CARDINALS = {"one": 1, "two": 2, "three": 3}


def chosen_index(text: str, shown: int) -> int | None:
    """The 0-based option "the second one", "2", "#3", "option two" or "the
    last" points at, among ``shown`` options."""
    words = text.lower()
    picks = []
    for word, value in ORDINALS.items():
        if re.search(rf"\b{word}\b", words):
            picks.append(value)
    if not picks and re.search(r"\blast\b", words) and shown:
        picks.append(shown)
    if not picks:
        number = re.search(r"(?:^|[\s#(])([1-9])(?:\b|\)|\.)", " " + words)
        if number:
            picks.append(int(number[1]))
    if not picks:
        # "one" alone or "option two", not "the second one"
        for word, value in CARDINALS.items():
            if re.fullmatch(rf"\W*(?:number |option |no\.? )?{word}\W*", words):
                picks.append(value)
    if picks and 1 <= picks[0] <= shown:
        return picks[0] - 1
    return None


def chosen_by_name(text: str, names: list[str]) -> int | None:
    """The option whose name the person wrote ("go with Ana", "rivera plumbing")."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    best, best_score = None, 0.0
    for i, name in enumerate(names):
        parts = [p for p in re.findall(r"[a-z0-9']+", name.lower()) if len(p) > 2]
        if not parts:
            continue
        hits = sum(
            1
            for part in parts
            if any(
                difflib.SequenceMatcher(None, part, w).ratio() >= 0.85 for w in words
            )
        )
        score = hits / len(parts)
        if hits and score > best_score:
            best, best_score = i, score
    return best


def button(title: str, intent: str, **entities: Any) -> dict:
    """A button whose payload is an intent with entities (Rasa's ``/intent{...}``)."""
    import json

    payload = f"/{intent}"
    if entities:
        payload += json.dumps(entities, separators=(",", ":"))
    return {"title": title, "payload": payload}


YES_NO = [button("Yes", "affirm"), button("No", "deny")]


def local_time(iso_local: str) -> str:
    """ "Thu Nov 26 at 9:00" from an ISO time with its offset."""
    moment = datetime.fromisoformat(iso_local)
    return f"{moment:%a %b} {moment.day} at {moment.hour}:{moment.minute:02d}"


def booking_time(booking: dict) -> str:
    """When a booking is, on the clock that matters: the provider's for a
    visit, the customer's for a session by phone or video."""
    shown = booking["local_start"]
    if booking.get("remote") and booking.get("customer_local_start"):
        shown = booking["customer_local_start"]
    return local_time(shown)


def booking_line(booking: dict) -> str:
    """ "#42 Ana Rivera Plumbing, Thu Nov 26 at 9:00 (confirmed)"."""
    status = booking["status"].replace("_", " ")
    return f"#{booking['id']} {booking['provider_name']}, {booking_time(booking)} ({status})"


def booking_ref_of(value: Any) -> int | None:
    """A booking number from "42", "#42", "booking 42" or 42.0."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    digits = re.search(r"\d+", str(value))
    return int(digits[0]) if digits else None


#: answers to other questions: never a time unless a time was asked for
NOT_A_TIME = frozenset({"choose_option", "ask_more", "affirm", "deny", "ask_details"})


def time_answer(tracker: Tracker, slot: str, stop_intents) -> str | None:
    """The words a form's time slot (``when``, ``new_start``) takes from the
    latest message, or None: the date and time spans, or the whole message
    when the question was about time; a message with no time in it still
    fills the slot when asked, so validation can say so and ask again."""
    asked = tracker.get_slot("requested_slot") == slot
    intent, text = latest_intent(tracker), latest_text(tracker)
    if text.startswith("/") or intent in stop_intents:
        return None
    if not asked and intent in NOT_A_TIME:
        return None  # "1", "yes", "more": answers to another question
    words = time_words(
        text,
        entity_values(tracker, "date") + entity_values(tracker, "time"),
        answering=asked or intent == "give_time",
    )
    return words or (text if asked else None)
