"""Finding and booking: a search from the slots (or the job described), the
offers read out, "the second one", and the yes or no that books it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import (
    get_dialog_state,
)
from ask_sdk_model import (
    DialogState,
    Intent,
    IntentConfirmationStatus,
    Response,
    Slot,
    SlotConfirmationStatus,
)
from ask_sdk_model.dialog import DelegateDirective

from backend.models import CategoryKind
from backend.services.errors import Invalid
from voice_skills import dialog, speech
from voice_skills.alexa.handlers.base import (
    PROGRESSIVE_WAIT_SECONDS,
    IntentHandler,
    Turn,
    answer,
    elicit,
    number_of,
    resolved_id,
    send_progressive,
    turn_of,
)
from voice_skills.alexa.handlers.bookings import zone_of
from voice_skills.desk import Search, is_online
from voice_skills.when import alexa_window

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ finding and booking


@dataclass
class Asked:
    """A search as the caller asked it (kept in the session, so "search
    again" can run it once more)."""

    words: str | None = None
    slug: str | None = None  # the category entity resolution matched, if any
    city: str | None = None
    date: str | None = None
    time: str | None = None
    #: the words describe the job ("my kitchen ceiling is leaking"), rather
    #: than name a service: they are matched, not said back
    described: bool = False

    @classmethod
    def from_slots(cls, handler_input: HandlerInput, t: Turn) -> Asked:
        words = t.slot("service")
        return cls(
            words=words,
            slug=resolved_id(handler_input, "service"),
            city=t.slot("city"),
            date=t.slot("date"),
            time=t.slot("time"),
            # the description DescribeJobIntent carried on to this intent
            described=bool(words) and words == t.attributes.get("described"),
        )

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)

    def as_intent(self) -> Intent:
        """FindProviderIntent with these slots (the intent a question about
        this search is asked on)."""
        values = {"service": self.words, "city": self.city}
        values |= {"date": self.date, "time": self.time}
        return Intent(
            name=FindProviderIntentHandler.intent_name,
            confirmation_status=IntentConfirmationStatus.NONE,
            slots={
                name: Slot(
                    name=name,
                    value=value,
                    confirmation_status=SlotConfirmationStatus.NONE,
                )
                for name, value in values.items()
            },
        )


class SearchHandler(IntentHandler):
    """Find providers for the slots and read the best three out."""

    delegates = False
    elicits = {"service": "ask_service", "city": "ask_city", "date": "ask_when"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        intent = handler_input.request_envelope.request.intent
        state = get_dialog_state(handler_input)
        delegating = self.delegates and state != DialogState.COMPLETED
        return search(
            handler_input,
            t,
            Asked.from_slots(handler_input, t),
            intent,
            delegate=(
                (lambda: answer(handler_input, "", directive=DelegateDirective(intent)))
                if delegating
                else None
            ),
        )


class FindProviderIntentHandler(SearchHandler):
    intent_name = "FindProviderIntent"


class BookServiceIntentHandler(SearchHandler):
    """Like a search, with Alexa collecting the slots (Dialog.Delegate)."""

    intent_name = "BookServiceIntent"
    delegates = True
    #: what Alexa itself asks for when delegated (the city is asked by the
    #: skill, since a reading needs none)
    delegated = {"service": "ask_service"}


class DescribeJobIntentHandler(IntentHandler):
    """The job in the caller's own words (an AMAZON.SearchQuery: "I need
    someone to tune my piano", "my kitchen ceiling is leaking"), matched as
    said whatever the catalogue has. A phrase slot shares its utterance with
    no other slot, so what else the search needs (the city, the day) is asked
    on FindProviderIntent, with the words carried in its service slot."""

    intent_name = "DescribeJobIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        words = t.slot("description")
        t.attributes["described"] = words
        asked = Asked(words=words, described=True)
        return search(handler_input, t, asked, asked.as_intent())


def search(
    handler_input: HandlerInput,
    t: Turn,
    asked: Asked,
    intent: Intent,
    delegate: Callable[[], Response] | None = None,
) -> Response:
    """Search for ``asked`` and read the offers out; what is missing is asked
    for on ``intent`` (or left to Alexa by ``delegate``)."""
    words = asked.words
    slug = asked.slug or t.desk.category(words)
    category = t.desk.category_of(slug)
    if not words and not slug:
        if delegate is not None:
            return delegate()
        return elicit(
            handler_input,
            "service",
            t.say("ask_service"),
            t.say("ask_service_reprompt"),
            intent=intent,
        )
    remote = category is not None and category.kind == CategoryKind.READING
    place = None
    if asked.city and not is_online(asked.city):
        try:
            place = t.desk.place(asked.city)
        except Invalid:
            return elicit(
                handler_input,
                "city",
                t.say("unknown_city", city=asked.city),
                t.say("ask_city_reprompt"),
                intent=intent,
            )
    elif not (remote or asked.city):
        return elicit(
            handler_input,
            "city",
            t.say("ask_city"),
            t.say("ask_city_reprompt"),
            intent=intent,
        )
    if delegate is not None:
        return delegate()
    zone = place.timezone if place and place.timezone else t.customer.timezone
    try:
        window = alexa_window(asked.date, asked.time, zone, t.now)
    except Invalid as error:
        return elicit(
            handler_input,
            "date",
            t.refusal(error) + " " + t.say("ask_when"),
            t.say("ask_when_reprompt"),
            intent=intent,
        )
    # what is said back: the category, or the service as named (a
    # description is not repeated to the caller)
    what = category.name.lower() if category else None if asked.described else words
    progress = send_progressive(
        handler_input,
        t.say("searching", what=what, place=place.label if place else None),
    )
    found = t.desk.find(
        t.customer, words or what or "", category=slug, place=place, window=window
    )
    if progress is not None:
        progress.join(PROGRESSIVE_WAIT_SECONDS)
    t.attributes["search"] = asked.as_dict()
    return read_offers(handler_input, t, found, what, intent)


def read_offers(
    handler_input: HandlerInput,
    t: Turn,
    found: Search,
    what: str | None,
    intent: Intent,
) -> Response:
    place = found.place.label if found.place else None
    if not found.offers:
        t.attributes.pop("offers", None)
        if found.matched:
            return elicit(
                handler_input,
                "date",
                t.say("no_one_free", place=place),
                t.say("ask_when_reprompt"),
                intent=intent,
            )
        return elicit(
            handler_input,
            "city",
            t.say("no_one", what=what, place=place),
            t.say("ask_city_reprompt"),
            intent=intent,
        )
    t.attributes["offers"] = [o.as_dict() for o in found.offers]
    t.attributes["words"] = found.words
    count = len(found.offers)
    said, question = speech.offers_read_out(found.offers, place, t.now, t.locale)
    if count == 1:
        t.attributes["pending"] = {"action": "book", "offer": 0}
    return answer(
        handler_input,
        " ".join([said, question]),
        reprompt=t.say("offers_reprompt", count=count),
    )


class ChooseProviderIntentHandler(IntentHandler):
    """ "The second one": the offer to book, asked to be confirmed."""

    intent_name = "ChooseProviderIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        offers = t.attributes.get("offers") or []
        if not offers:
            return answer(
                handler_input, t.say("nothing_pending"), reprompt=t.say("help_reprompt")
            )
        choice = number_of(t.slot("ordinal")) or number_of(t.slot("number"))
        chosen = dialog.choose(offers, choice, t.now, t.locale)
        if chosen is None:
            return answer(
                handler_input,
                t.say("no_offer_chosen"),
                reprompt=t.say("offers_reprompt", count=len(offers)),
            )
        t.attributes["pending"] = {"action": "book", "offer": choice - 1}
        return answer(handler_input, chosen.question, reprompt=chosen.reprompt)


# ------------------------------------------------------------------ yes and no


class YesIntentHandler(IntentHandler):
    """The explicit confirmation: only now is anything booked or changed."""

    intent_name = "AMAZON.YesIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        pending = t.attributes.pop("pending", None)
        if not pending:
            return answer(
                handler_input, t.say("nothing_pending"), reprompt=t.say("help_reprompt")
            )
        action = pending.get("action")
        if action == "book":
            return self._book(handler_input, t, pending)
        if action == "search_again":
            asked = Asked(**(t.attributes.get("search") or {}))
            return search(handler_input, t, asked, asked.as_intent())
        booking_id = int(pending["booking"])
        if action == "cancel":
            booking = t.desk.cancel(t.customer, booking_id)
            return answer(
                handler_input,
                t.say("cancelled", number=booking.id, name=booking.provider.name),
            )
        if action == "reschedule":
            start = datetime.fromisoformat(pending["start"])
            booking = t.desk.reschedule(t.customer, booking_id, start)
            return answer(
                handler_input,
                t.say(
                    "rescheduled",
                    name=booking.provider.name,
                    when=t.when(booking.starts_at, zone_of(booking, t)),
                ),
            )
        raise Invalid(
            "that choice is no longer available", field="pending", code="offer_gone"
        )

    def _book(self, handler_input, t: Turn, pending: dict) -> Response:
        offers = t.attributes.get("offers") or []
        index = int(pending.get("offer", -1))
        if not 0 <= index < len(offers):
            raise Invalid(
                "that choice is no longer available", field="offer", code="offer_gone"
            )
        booked = dialog.book(
            t.desk, t.customer, offers[index], t.attributes.get("words", ""), t.locale
        )
        t.attributes.pop("offers", None)
        if isinstance(booked, dialog.SlotTaken):
            # the time went meanwhile: a yes searches again, as asked before
            t.attributes["pending"] = {"action": "search_again"}
            return answer(
                handler_input,
                booked.question,
                reprompt=t.say("search_again_reprompt"),
            )
        return answer(handler_input, booked.text)


class NoIntentHandler(IntentHandler):
    intent_name = "AMAZON.NoIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        pending = t.attributes.pop("pending", None)
        if not pending:
            return answer(handler_input, t.say("goodbye"), end=True)
        if pending.get("action") in ("book", "search_again"):
            return answer(
                handler_input,
                t.say("booking_declined"),
                reprompt=t.say("help_reprompt"),
            )
        return answer(handler_input, t.say("kept"))
