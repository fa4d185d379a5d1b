"""The booking flow: what, where, when, which provider, yes, booked.

``booking_form`` asks for the slots this module validates against the backend:
an unknown city, a time gone by or a window with no one free each get a
re-ask that says why. A later message may change any answer ("actually make
it Thursday", "in Dallas instead"): the offers are worked out again.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.beckon_api import BackendError, Conflict, Invalid
from actions.common import (
    YES_NO,
    backend,
    button,
    channel_of,
    chosen_by_name,
    chosen_index,
    customer_of,
    entity_values,
    key_of,
    latest_intent,
    latest_text,
    local_time,
    now,
    tell,
    time_answer,
)
from actions.forms import BeckonForm
from actions.when import InThePast, NotUnderstood, parse_window

PAGE = 3  # options shown at once
MAX_OFFERS = 9
ONLINE = "online"
REMOTE_WORDS = re.compile(
    r"\b(online|remote(ly)?|by phone|over the phone|phone call|on the phone|video|zoom|facetime|virtual(ly)?|anywhere)\b",
    re.I,
)
STOP_INTENTS = {"deny", "goodbye", "cancel_booking"}
#: answers to the place question that are not a place ("yes", "the first one")
NOT_A_PLACE = STOP_INTENTS | {"affirm", "choose_option", "ask_more", "thanks", "greet"}
NUDGES = {
    "provider_choice": 'Reply with the number of the one you want, or "more" for others.',
    "booking_confirmed": 'Please answer "yes" to book it or "no" to choose again.',
}
FORM_SLOTS = [
    "need",
    "place",
    "when",
    "provider_choice",
    "booking_confirmed",
]
DERIVED_SLOTS = [
    "category",
    "category_kind",
    "place_zone",
    "window_from",
    "window_to",
    "offers",
    "offer_page",
]


def reset_booking() -> list[EventType]:
    """Forget the booking in progress (after booking it or stopping)."""
    return [SlotSet(s, None) for s in [*FORM_SLOTS, *DERIVED_SLOTS, "form_stopped"]]


class ValidateBookingForm(BeckonForm):
    stop_intents = frozenset(STOP_INTENTS)
    side_slots = frozenset({"form_stopped", "offer_page", "category", "category_kind"})

    def name(self) -> str:
        return "validate_booking_form"

    # ---------------------------------------------------------------- extraction

    async def extract_need(self, dispatcher, tracker, domain) -> dict[str, Any]:
        intent, text = latest_intent(tracker), latest_text(tracker).strip()
        asked = tracker.get_slot("requested_slot") == "need"
        if text.startswith("/"):
            return {}
        new_request = intent == "request_service" or (
            asked and intent not in STOP_INTENTS
        )
        # the whole request in the person's words is what matching reads
        if new_request and text and text != tracker.get_slot("need"):
            return {"need": text}
        return {}

    async def extract_category(self, dispatcher, tracker, domain) -> dict[str, Any]:
        """The catalogue's category for the kind of provider named ("a plumber")."""
        if (
            latest_intent(tracker) != "request_service"
            and tracker.get_slot("requested_slot") != "need"
        ):
            return {}
        for words in [*reversed(entity_values(tracker, "need")), latest_text(tracker)]:
            found = category_of(words)
            if found:
                return {"category": found["slug"], "category_kind": found["kind"]}
        return {"category": None, "category_kind": None}

    async def extract_place(self, dispatcher, tracker, domain) -> dict[str, Any]:
        places = entity_values(tracker, "place")
        text = latest_text(tracker).strip()
        if (
            REMOTE_WORDS.search(text)
            and latest_intent(tracker) != "give_time"
            and tracker.get_slot("place") != ONLINE
            and (places == [] or tracker.get_slot("requested_slot") == "place")
        ):
            return {"place": ONLINE}
        if places and places[-1] != tracker.get_slot("place"):
            return {"place": places[-1]}
        if (
            not places
            and tracker.get_slot("place") is None
            and tracker.get_slot("category_kind") == "reading"
        ):
            return {"place": ONLINE}  # readings are given by phone or video
        if (
            tracker.get_slot("requested_slot") == "place"
            and not places
            and latest_intent(tracker) not in NOT_A_PLACE
            and not text.startswith("/")
        ):
            return {"place": text}
        return {}

    async def extract_when(self, dispatcher, tracker, domain) -> dict[str, Any]:
        words = time_answer(tracker, "when", STOP_INTENTS)
        return {} if words is None else {"when": words}

    async def extract_provider_choice(
        self, dispatcher, tracker, domain
    ) -> dict[str, Any]:
        asked = tracker.get_slot("requested_slot")
        intent = latest_intent(tracker)
        choosing = asked == "provider_choice" or (
            # "the second one" when asked to confirm the first
            asked == "booking_confirmed" and intent == "choose_option"
        )
        if not choosing:
            return {}
        offers = tracker.get_slot("offers") or []
        page = int(tracker.get_slot("offer_page") or 0)
        shown = offers[page * PAGE : (page + 1) * PAGE]
        text = latest_text(tracker)
        if intent == "ask_more":
            if (page + 1) * PAGE < len(offers):
                return {"offer_page": page + 1}
            dispatcher.utter_message(
                text="That's everyone free then. Pick one of these, or give me another time or place."
            )
            return {"offer_page": 0}
        chosen = [e for e in entity_values(tracker, "option")]
        if chosen:
            wanted = str(chosen[-1])
            for offer in offers:
                if str(offer["provider_id"]) == wanted:
                    return {"provider_choice": offer["provider_id"]}
        index = chosen_index(text, len(shown))
        if index is None:
            index = _by_quality(text, shown)
        if index is not None:
            return {"provider_choice": shown[index]["provider_id"]}
        by_name = chosen_by_name(text, [o["name"] for o in offers])
        if by_name is not None:
            return {"provider_choice": offers[by_name]["provider_id"]}
        return {}

    async def extract_booking_confirmed(
        self, dispatcher, tracker, domain
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "booking_confirmed":
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"booking_confirmed": True}
        if intent == "deny":
            return {"booking_confirmed": False}
        return {}

    async def get_extraction_events(self, dispatcher, tracker, domain):
        if not self.elsewhere(tracker):
            # before the place, whose default depends on the kind of provider
            category = await self.extract_category(dispatcher, tracker, domain)
            tracker.slots.update(category)
        else:
            category = {}
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        events = [SlotSet(k, v) for k, v in category.items()] + events
        asked = tracker.get_slot("requested_slot")
        # an answer that fits nothing: say what would, and ask again
        if asked in NUDGES and not events and not self.elsewhere(tracker):
            dispatcher.utter_message(text=NUDGES[asked])
            events.append(SlotSet(asked, None))
        return events

    # ---------------------------------------------------------------- validation

    def validate_need(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < 3:
            dispatcher.utter_message(
                text="Tell me a little more about what you need done."
            )
            return {"need": None}
        # a new request: earlier offers no longer apply
        return {"need": text, "provider_choice": None, "booking_confirmed": None}

    def validate_place(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value == ONLINE:
            return {"place": ONLINE, "place_zone": None, "provider_choice": None}
        try:
            place = backend().place(str(value))
        except Invalid:
            dispatcher.utter_message(
                text=f'Sorry, I don\'t know a place called "{value}".'
            )
            return {"place": None}
        except BackendError as error:
            tell(dispatcher, error)
            return {"place": None}
        return {
            "place": place["name"],
            "place_zone": place.get("timezone"),
            "provider_choice": None,
            "booking_confirmed": None,
        }

    def validate_when(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        zone = _zone(tracker)
        try:
            window = parse_window(str(value), zone, now())
        except InThePast:
            dispatcher.utter_message(
                text=f'"{value}" has already gone by. When would suit you? '
                '("tomorrow morning", "Friday after 3pm")'
            )
            return {"when": None}
        except NotUnderstood:
            dispatcher.utter_message(
                text="Sorry, I didn't get the time. When would suit you? "
                '("tomorrow morning", "Thu at 3pm", "asap")'
            )
            return {"when": None}
        return {
            "when": window.describe(),
            "window_from": window.start.isoformat(),
            "window_to": window.end.isoformat(),
            "provider_choice": None,
            "booking_confirmed": None,
        }

    def validate_provider_choice(self, value, dispatcher, tracker, domain):
        offers = tracker.get_slot("offers") or []
        if not any(o["provider_id"] == value for o in offers):
            return {"provider_choice": None}
        return {"provider_choice": value, "booking_confirmed": None}

    def validate_booking_confirmed(self, value, dispatcher, tracker, domain):
        if value is False:
            dispatcher.utter_message(
                text="OK, not booked. Pick another one, or tell me a different time or place."
            )
            return {"booking_confirmed": None, "provider_choice": None}
        return {"booking_confirmed": value}

    async def get_validation_events(self, dispatcher, tracker, domain):
        events = await super().get_validation_events(dispatcher, tracker, domain)
        changed = {e["name"] for e in events if e.get("event") == "slot"}
        ready = all(tracker.get_slot(s) for s in ("need", "place", "window_from"))
        if ready and (
            changed & {"need", "place", "window_from"}
            or tracker.get_slot("offers") is None
        ):
            found = find_offers(dispatcher, tracker)
            tracker.add_slots(found)
            events += found
        return events


_categories: tuple[float, list[dict]] = (0.0, [])
CATEGORIES_TTL = 600.0  # seconds a read of the catalogue is kept


def category_of(words: str) -> dict | None:
    """The category whose name, slug or synonym is in the words, the longest
    one named ("a love reading tonight" is tarot, not "reading")."""
    global _categories
    import time

    read_at, categories = _categories
    if time.monotonic() - read_at > CATEGORIES_TTL:
        try:
            categories = backend().categories()
        except BackendError:
            return None
        _categories = (time.monotonic(), categories)
    said = " " + re.sub(r"[^a-z]+", " ", words.lower()).strip() + " "
    best, longest = None, 0
    for category in categories:
        names = {category["slug"].replace("-", " "), category["name"].lower()}
        names |= {s.lower() for s in category.get("synonyms") or []}
        for name in names:
            for form in (name, name + "s", name + "es"):
                if f" {form} " in said and len(name) > longest:
                    best, longest = category, len(name)
    return best


def _by_quality(text: str, shown: list[dict]) -> int | None:
    """ "the cheapest", "the closest", "the best rated" among the options shown."""
    text = text.lower()
    if not shown:
        return None
    if re.search(r"cheap|lowest price|least expensive", text):
        priced = [o for o in shown if o.get("price_cents") is not None]
        if priced:
            return shown.index(min(priced, key=lambda o: o["price_cents"]))
    if re.search(r"clos|near", text):
        near = [o for o in shown if o.get("distance_km") is not None]
        if near:
            return shown.index(min(near, key=lambda o: o["distance_km"]))
    if re.search(r"best|top|highest|rated|rating", text):
        return shown.index(max(shown, key=lambda o: o.get("rating") or 0))
    return None


def _zone(tracker: Tracker) -> str:
    """The clock a time is meant on: the place's for a visit, else the person's."""
    zone = tracker.get_slot("place_zone")
    if zone:
        return zone
    try:
        return customer_of(tracker).get("timezone") or "UTC"
    except BackendError:
        return "UTC"


def offer_of(match: dict, zone: str | None) -> dict:
    """What the conversation keeps of a match: enough to show and book it.

    A visit is told on the provider's clock; a session by phone or video on
    the person's (``zone``), as matching's own reasons do.
    """
    provider = match["provider"]
    services = provider.get("services") or []
    prices = [s["price_cents"] for s in services if s.get("price_cents") is not None]
    slot = match["next_slots"][0]
    return {
        "provider_id": provider["id"],
        "name": provider["name"],
        "rating": provider.get("rating"),
        "reviews": provider.get("review_count"),
        "distance_km": match.get("distance_km"),
        "remote": match.get("remote"),
        "price_cents": min(prices) if prices else None,
        "reasons": match.get("reasons") or [],
        "start": slot["start"],
        "local_start": (
            datetime.fromisoformat(slot["start"]).astimezone(ZoneInfo(zone)).isoformat()
            if match.get("remote") and zone
            else slot["local_start"]
        ),
    }


def find_offers(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Ask the backend who can do the job there and then; say so when no one can."""
    place = tracker.get_slot("place")
    window = (tracker.get_slot("window_from"), tracker.get_slot("window_to"))
    try:
        customer = customer_of(tracker)
        ask = {
            "city": None if place == ONLINE else place,
            "window": window,
            "customer_id": customer["id"],
            "limit": MAX_OFFERS,
        }
        category = tracker.get_slot("category")
        found = backend(tracker).matches(
            tracker.get_slot("need"), category=category, **ask
        )
        if category and not found["matches"]:
            # no one of that category there: let the words find a neighbour,
            # but a trade is done in person (a plumber is not found by phone)
            found = backend(tracker).matches(tracker.get_slot("need"), **ask)
            if tracker.get_slot("category_kind") == "trade" and place != ONLINE:
                found["matches"] = [m for m in found["matches"] if not m.get("remote")]
    except Invalid as error:
        dispatcher.utter_message(text=error.say)
        return [SlotSet("when", None), SlotSet("offers", None)]
    except BackendError as error:
        tell(dispatcher, error)
        return [SlotSet("when", None), SlotSet("offers", None)]
    zone = tracker.get_slot("place_zone") or customer.get("timezone")
    offers = [offer_of(m, zone) for m in found["matches"] if m["next_slots"]]
    if offers:
        return [
            SlotSet("offers", offers),
            SlotSet("offer_page", 0),
            SlotSet("provider_choice", None),
        ]
    where = "online" if place == ONLINE else f"near {place}"
    if not found["matches"]:
        dispatcher.utter_message(
            text=f"I couldn't find anyone for that {where}. Try another place, "
            'or say "online" for someone who works by phone or video.'
        )
        return [SlotSet("place", None), SlotSet("offers", None)]
    sooner = _soonest_after(tracker, place, window[1])
    dispatcher.utter_message(
        text=f"No one {where} is free {tracker.get_slot('when')}."
        + (f" The soonest I see is {sooner}." if sooner else "")
        + " When else would suit you?"
    )
    return [
        SlotSet("when", None),
        SlotSet("window_from", None),
        SlotSet("window_to", None),
        SlotSet("offers", None),
    ]


def _soonest_after(tracker: Tracker, place: str, after: str) -> str | None:
    try:
        later = backend(tracker).matches(
            tracker.get_slot("need"),
            city=None if place == ONLINE else place,
            window=None if after is None else (after, _plus_days(after, 7)),
            limit=3,
        )
    except BackendError:
        return None
    free = [m for m in later["matches"] if m["next_slots"]]
    if not free:
        return None
    first = min(free, key=lambda m: m["next_slots"][0]["start"])
    return f"{first['provider']['name']}, {local_time(first['next_slots'][0]['local_start'])}"


def _plus_days(iso_time: str, days: int) -> str:
    return (datetime.fromisoformat(iso_time) + timedelta(days=days)).isoformat()


def describe_offer(number: int, offer: dict) -> str:
    """ "1. Ana Rivera Plumbing (4.8★): fixes leaks; 2.1 km away; free Thu 9:00"."""
    rating = f" ({offer['rating']:.1f}★)" if offer.get("rating") else ""
    reasons = [r for r in offer["reasons"] if not (rating and r.endswith(" reviews"))]
    return f"{number}. {offer['name']}{rating}: {'; '.join(reasons)}"


class AskProviderChoice(Action):
    """Show the next three options, each with why it fits, as buttons."""

    def name(self) -> str:
        return "action_ask_provider_choice"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        events: list[EventType] = []
        offers = tracker.get_slot("offers")
        if offers is None:
            events = find_offers(dispatcher, tracker)
            if not any(e.get("name") == "offers" and e.get("value") for e in events):
                return events + [FollowupAction("booking_form")]
            offers = next(e["value"] for e in events if e.get("name") == "offers")
        page = int(tracker.get_slot("offer_page") or 0)
        shown = offers[page * PAGE : (page + 1) * PAGE]
        if not shown:
            page, shown = 0, offers[:PAGE]
            events.append(SlotSet("offer_page", 0))
        lines = [describe_offer(i + 1, o) for i, o in enumerate(shown)]
        more = (page + 1) * PAGE < len(offers)
        prompt = (
            "Which one would you like? Reply 1, 2 or 3"
            if len(shown) > 1
            else "Shall I book them? Reply 1"
        )
        prompt += ', or "more" for others.' if more else "."
        buttons = [
            button(
                f"{i + 1}. {o['name']}", "choose_option", option=str(o["provider_id"])
            )
            for i, o in enumerate(shown)
        ]
        if more:
            buttons.append(button("More", "ask_more"))
        intro = "Here's who can do it:" if page == 0 else "Here are more:"
        place = tracker.get_slot("place")
        if page == 0 and place != ONLINE and all(o.get("remote") for o in offers):
            intro = (
                f"No one near {place} does this in person; "
                "these work by phone or video:"
            )
        dispatcher.utter_message(
            text="\n".join([intro, *lines, prompt]), buttons=buttons
        )
        return events


class AskBookingConfirmed(Action):
    """Read the booking back and ask for a yes."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        offer = chosen_offer(tracker)
        if offer is None:
            return [SlotSet("provider_choice", None), FollowupAction("booking_form")]
        where = (
            "by phone or video"
            if tracker.get_slot("place") == ONLINE or offer.get("remote")
            else f"in {tracker.get_slot('place')}"
        )
        dispatcher.utter_message(
            text=f"Book {offer['name']} for {local_time(offer['local_start'])} {where}? (yes/no)",
            buttons=YES_NO,
        )
        return []


def chosen_offer(tracker: Tracker) -> dict | None:
    choice = tracker.get_slot("provider_choice")
    return next(
        (o for o in tracker.get_slot("offers") or [] if o["provider_id"] == choice),
        None,
    )


class BookProvider(Action):
    """The form is done: book the chosen time, or say the booking was stopped."""

    def name(self) -> str:
        return "action_book_provider"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        offer = chosen_offer(tracker)
        if tracker.get_slot("booking_confirmed") is not True or offer is None:
            dispatcher.utter_message(text="OK, I've stopped. Nothing was booked.")
            return reset_booking()
        try:
            customer = customer_of(tracker)
            booking = backend(tracker).book(
                offer["provider_id"],
                customer["id"],
                offer["start"],
                channel=channel_of(tracker),
                key=key_of(tracker),
            )
        except Conflict:
            dispatcher.utter_message(
                text=f"Sorry, {offer['name']} was just booked at that time. Let's pick again."
            )
            return [
                SlotSet("offers", None),
                SlotSet("offer_page", 0),
                SlotSet("provider_choice", None),
                SlotSet("booking_confirmed", None),
                FollowupAction("booking_form"),
            ]
        except BackendError as error:
            tell(dispatcher, error)
            return [SlotSet("booking_confirmed", None)]
        dispatcher.utter_message(
            text=f"Booked! #{booking['id']}: {booking['provider_name']}, "
            f"{local_time(offer['local_start'])}. You'll get a confirmation; "
            'say "status" any time to check on it.'
        )
        return reset_booking()


class ProviderDetails(Action):
    """ "Tell me more about the second one": the option's profile in a few lines."""

    def name(self) -> str:
        return "action_provider_details"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        offers = tracker.get_slot("offers") or []
        if not offers:
            dispatcher.utter_message(
                text="Tell me what you need first, and I'll show you who can do it."
            )
            return []
        page = int(tracker.get_slot("offer_page") or 0)
        shown = offers[page * PAGE : (page + 1) * PAGE]
        text = latest_text(tracker)
        index = chosen_index(text, len(shown))
        if index is not None:
            offer = shown[index]
        else:
            by_name = chosen_by_name(text, [o["name"] for o in offers])
            offer = offers[by_name] if by_name is not None else shown[0]
        try:
            provider = backend().provider(offer["provider_id"])
        except BackendError as error:
            tell(dispatcher, error)
            return []
        lines = [f"{provider['name']}: {provider.get('description') or ''}".strip()]
        if provider.get("rating"):
            lines.append(
                f"Rated {provider['rating']:.1f}/5 from {provider['review_count']} reviews."
            )
        for service in provider.get("services", [])[:3]:
            price = (
                f", {service['price_cents'] / 100:.0f} {service['currency']}"
                if service.get("price_cents") is not None
                else ""
            )
            lines.append(
                f"- {service['name']} ({service['duration_minutes']} min{price})"
            )
        if offer.get("distance_km") is not None:
            lines.append(f"{offer['distance_km']:.1f} km away.")
        if provider.get("verification_state") == "verified":
            lines.append("Verified by Beckon.")
        lines.append(f"Next free: {local_time(offer['local_start'])}.")
        dispatcher.utter_message(text="\n".join(lines))
        return []
