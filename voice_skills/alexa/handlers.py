"""The Alexa skill's handlers: one class per intent, registered in ``skill.py``.

Each handler reads the request (slots, dialog state, session attributes),
calls the voice desk and answers with short speech, a reprompt wherever it
asks something, and a Dialog directive where Alexa should collect a slot.
What a later turn needs (the offers read out, the action waiting for a yes)
is kept in session attributes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from ask_sdk_core.dispatch_components import (
    AbstractExceptionHandler,
    AbstractRequestHandler,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import (
    get_dialog_state,
    get_intent_name,
    get_locale,
    get_slot,
    get_user_id,
    is_intent_name,
    is_request_type,
)
from ask_sdk_model import (
    DialogState,
    Intent,
    IntentConfirmationStatus,
    Response,
    Slot,
    SlotConfirmationStatus,
)
from ask_sdk_model.canfulfill import (
    CanFulfillIntent,
    CanFulfillIntentValues,
    CanFulfillSlot,
    CanFulfillSlotValues,
    CanUnderstandSlotValues,
)
from ask_sdk_model.dialog import DelegateDirective, ElicitSlotDirective
from ask_sdk_model.services.directive import (
    Header,
    SendDirectiveRequest,
    SpeakDirective,
)
from ask_sdk_model.slu.entityresolution import StatusCode
from flask import g

from backend.models import Booking, BookingStatus, CategoryKind, Channel
from backend.services.errors import Conflict, DomainError, Invalid, NotFound
from voice_skills import speech
from voice_skills.alexa.model import INTENTS
from voice_skills.desk import Offer, Search, VoiceDesk, is_online
from voice_skills.web import desk_for
from voice_skills.when import Window, alexa_window

log = logging.getLogger(__name__)

ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "1st": 1, "2nd": 2, "3rd": 3}
#: How long the answer waits for "Looking for..." to be delivered first.
PROGRESSIVE_WAIT_SECONDS = 1.0


# ------------------------------------------------------------------ one turn


@dataclass
class Turn:
    """What every handler needs of this request."""

    desk: VoiceDesk
    locale: str
    attributes: dict[str, Any]
    handler_input: HandlerInput

    @property
    def customer(self):
        """The caller: as the endpoint recorded the request (no query), or
        looked up by the Alexa user id."""
        if "customer" not in g.alexa_turn_cache:
            g.alexa_turn_cache["customer"] = self.desk.caller(
                get_user_id(self.handler_input), self.locale
            )
        return g.alexa_turn_cache["customer"]

    @property
    def now(self) -> datetime:
        return self.desk.now

    def say(self, key: str, **context: Any) -> str:
        return speech.say(key, self.locale, **context)

    def refusal(self, error: DomainError) -> str:
        return speech.refusal(error, self.locale)

    def when(self, moment: datetime, zone: str | None = None) -> str:
        return speech.spoken_time(
            moment, zone or self.customer.timezone, self.now, self.locale
        )

    def slot(self, name: str) -> str | None:
        slot = get_slot(self.handler_input, name)
        return slot.value if slot is not None and slot.value else None


def turn_of(handler_input: HandlerInput) -> Turn:
    if "alexa_turn_cache" not in g:
        g.alexa_turn_cache = {}
    return Turn(
        desk=desk_for(Channel.ALEXA),
        locale=get_locale(handler_input) or "en-US",
        attributes=handler_input.attributes_manager.session_attributes,
        handler_input=handler_input,
    )


def answer(
    handler_input: HandlerInput,
    text: str,
    *,
    reprompt: str | None = None,
    directive=None,
    end: bool | None = None,
) -> Response:
    """Speak ``text`` (escaped for SSML); ask again with ``reprompt``."""
    builder = handler_input.response_builder
    if text:
        builder.speak(escape(text))
    if reprompt:
        builder.ask(escape(reprompt))
    if directive is not None:
        builder.add_directive(directive)
    if end is not None:
        builder.set_should_end_session(end)
    elif not reprompt and directive is None:
        builder.set_should_end_session(True)
    return builder.response


def elicit(
    handler_input: HandlerInput,
    slot: str,
    text: str,
    reprompt: str,
    *,
    intent: Intent | None = None,
) -> Response:
    """Ask for one slot of ``intent`` (the current one by default); Alexa
    fills it next turn. Only a slot its handler declares (``elicits``, which
    the dialog model is made from) can be asked for."""
    intent = intent or handler_input.request_envelope.request.intent
    if slot not in ELICITED.get(intent.name, {}):
        raise LookupError(f"{intent.name} does not declare it elicits {slot!r}")
    return answer(
        handler_input,
        text,
        reprompt=reprompt,
        directive=ElicitSlotDirective(slot_to_elicit=slot, updated_intent=intent),
    )


def number_of(value: str | None) -> int | None:
    if not value:
        return None
    if value.lower() in ORDINAL_WORDS:
        return ORDINAL_WORDS[value.lower()]
    digits = re.sub(r"\D", "", value)
    return int(digits) if digits and len(digits) < 10 else None


def resolved_id(handler_input: HandlerInput, name: str) -> str | None:
    """The id entity resolution matched a slot's words to (ER_SUCCESS_MATCH)."""
    slot = get_slot(handler_input, name)
    if slot is None or slot.resolutions is None:
        return None
    for authority in slot.resolutions.resolutions_per_authority or []:
        matched = authority.status and authority.status.code == (
            StatusCode.ER_SUCCESS_MATCH
        )
        if matched and authority.values:
            return authority.values[0].value.id
    return None


def send_progressive(handler_input: HandlerInput, text: str) -> threading.Thread | None:
    """Say ``text`` at once through the directive service while we work."""
    envelope = handler_input.request_envelope
    system = envelope.context.system if envelope.context else None
    if system is None or not system.api_endpoint or not system.api_access_token:
        return None
    request = SendDirectiveRequest(
        header=Header(request_id=envelope.request.request_id),
        directive=SpeakDirective(speech=speech.ssml(text)),
    )
    service = handler_input.service_client_factory.get_directive_service()

    def send() -> None:
        try:
            service.enqueue(request)
        except Exception:  # noqa: BLE001 - a courtesy: the answer still comes
            log.warning("progressive response not delivered", exc_info=True)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


class IntentHandler(AbstractRequestHandler):
    """The handler of one intent; ``elicits`` names each slot it asks for
    with Dialog.ElicitSlot and the catalogue entry of its prompt (the dialog
    model of ``beckon alexa model`` is made from these)."""

    intent_name = ""
    elicits: dict[str, str] = {}

    def can_handle(self, handler_input):
        return is_intent_name(self.intent_name)(handler_input)


# ------------------------------------------------------------------ start and help


class SpokenHandler(AbstractRequestHandler):
    """A request answered by one catalogue entry, asked again by another."""

    request_type: str | None = None
    intents: tuple[str, ...] = ()
    key = ""
    reprompt_key = ""

    def can_handle(self, handler_input):
        if self.request_type:
            return is_request_type(self.request_type)(handler_input)
        return any(is_intent_name(name)(handler_input) for name in self.intents)

    def handle(self, handler_input):
        t = turn_of(handler_input)
        return answer(handler_input, t.say(self.key), reprompt=t.say(self.reprompt_key))


class LaunchRequestHandler(SpokenHandler):
    request_type = "LaunchRequest"
    key, reprompt_key = "welcome", "welcome_reprompt"


class NavigateHomeIntentHandler(LaunchRequestHandler):
    request_type = None
    intents = ("AMAZON.NavigateHomeIntent",)


class HelpIntentHandler(SpokenHandler):
    intents = ("AMAZON.HelpIntent",)
    key, reprompt_key = "help", "help_reprompt"


class FallbackIntentHandler(SpokenHandler):
    intents = ("AMAZON.FallbackIntent",)
    key, reprompt_key = "fallback", "fallback_reprompt"


class StopIntentHandler(AbstractRequestHandler):
    """Stop and Cancel both end the session (Cancel is not "cancel my booking")."""

    intents = ("AMAZON.StopIntent", "AMAZON.CancelIntent")

    def can_handle(self, handler_input):
        return any(is_intent_name(name)(handler_input) for name in self.intents)

    def handle(self, handler_input):
        t = turn_of(handler_input)
        t.attributes.clear()
        return answer(handler_input, t.say("goodbye"), end=True)


class SessionEndedRequestHandler(AbstractRequestHandler):
    """The session closed (the person left, or an error): nothing to say."""

    def can_handle(self, handler_input):
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input):
        request = handler_input.request_envelope.request
        if request.error is not None:
            log.warning(
                "Alexa ended the session: %s %s",
                request.error.object_type,
                request.error.message,
            )
        return handler_input.response_builder.response


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
        if choice is None or not 1 <= choice <= len(offers):
            return answer(
                handler_input,
                t.say("no_offer_chosen"),
                reprompt=t.say("offers_reprompt", count=len(offers)),
            )
        offer = Offer.from_dict(offers[choice - 1])
        t.attributes["pending"] = {"action": "book", "offer": choice - 1}
        when = t.when(offer.starts_at, offer.zone)
        return answer(
            handler_input,
            t.say("confirm_booking", name=offer.name, when=when),
            reprompt=t.say("confirm_booking_reprompt", name=offer.name, when=when),
        )


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
        offer = Offer.from_dict(offers[index])
        try:
            booking = t.desk.book(t.customer, offer, t.attributes.get("words", ""))
        except Conflict as error:
            if error.code not in ("slot_taken", "outside_working_hours"):
                raise
            # the time went meanwhile: a yes searches again, as asked before
            t.attributes.pop("offers", None)
            t.attributes["pending"] = {"action": "search_again"}
            return answer(
                handler_input,
                t.say("slot_taken", name=offer.name),
                reprompt=t.say("search_again_reprompt"),
            )
        t.attributes.pop("offers", None)
        return answer(
            handler_input,
            t.say(
                "booked",
                name=offer.name,
                when=t.when(booking.starts_at, offer.zone),
                number=booking.id,
            ),
        )


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


# ------------------------------------------------------------------ their bookings


def zone_of(booking: Booking, t: Turn) -> str:
    return t.desk.clock_of(booking, t.customer)


def state_words(t: Turn, booking: Booking) -> str:
    key = {
        BookingStatus.HELD: "state_held",
        BookingStatus.CONFIRMED: "state_confirmed",
        BookingStatus.IN_PROGRESS: "state_in_progress",
    }.get(booking.status)
    return t.say(key) if key else booking.status.value.replace("_", " ")


class JobStatusIntentHandler(IntentHandler):
    intent_name = "JobStatusIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        upcoming = t.desk.upcoming(t.customer)
        if not upcoming:
            return answer(
                handler_input, t.say("status_none"), reprompt=t.say("help_reprompt")
            )
        lines = [t.say("status_more", count=len(upcoming))] if len(upcoming) > 1 else []
        for booking in upcoming[: speech.MAX_READ_OUT]:
            lines.append(
                t.say(
                    "status_line",
                    number=booking.id,
                    name=booking.provider.name,
                    when=t.when(booking.starts_at, zone_of(booking, t)),
                    state=state_words(t, booking),
                )
            )
        return answer(handler_input, " ".join(lines))


def pick_booking(
    handler_input: HandlerInput, t: Turn, candidates: list[Booking]
) -> Booking | Response:
    """The booking the caller means: named by number, or the only one; else
    ask which (a response)."""
    number = number_of(t.slot("number"))
    if number is not None:
        try:
            return t.desk.own_booking(t.customer, number)
        except NotFound:
            return elicit(
                handler_input,
                "number",
                t.say("not_your_booking", number=number),
                t.say("which_booking_reprompt"),
            )
    if len(candidates) == 1:
        return candidates[0]
    return elicit(
        handler_input,
        "number",
        t.say("which_booking", numbers=[b.id for b in candidates[:3]]),
        t.say("which_booking_reprompt"),
    )


def changeable_booking(handler_input: HandlerInput, t: Turn) -> Booking | Response:
    """The booking to cancel or move (one not under way yet), or what to say."""
    upcoming = [
        b for b in t.desk.upcoming(t.customer) if b.status != BookingStatus.IN_PROGRESS
    ]
    if not upcoming and t.slot("number") is None:
        return answer(
            handler_input, t.say("status_none"), reprompt=t.say("help_reprompt")
        )
    return pick_booking(handler_input, t, upcoming)


class CancelBookingIntentHandler(IntentHandler):
    intent_name = "CancelBookingIntent"
    elicits = {"number": "which_booking_reprompt"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        booking = changeable_booking(handler_input, t)
        if isinstance(booking, Response):
            return booking
        t.attributes["pending"] = {"action": "cancel", "booking": booking.id}
        return answer(
            handler_input,
            t.say(
                "cancel_confirm",
                number=booking.id,
                name=booking.provider.name,
                when=t.when(booking.starts_at, zone_of(booking, t)),
            ),
            reprompt=t.say("cancel_confirm_reprompt"),
        )


class RescheduleIntentHandler(IntentHandler):
    intent_name = "RescheduleIntent"
    elicits = {"number": "which_booking_reprompt", "date": "ask_when"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        booking = changeable_booking(handler_input, t)
        if isinstance(booking, Response):
            return booking
        name = booking.provider.name
        if not (t.slot("date") or t.slot("time")):
            return elicit(
                handler_input,
                "date",
                t.say("reschedule_ask_when", name=name),
                t.say("ask_when_reprompt"),
            )
        zone = zone_of(booking, t)
        try:
            window: Window = alexa_window(t.slot("date"), t.slot("time"), zone, t.now)
        except Invalid as error:
            return elicit(
                handler_input,
                "date",
                t.refusal(error),
                t.say("ask_when_reprompt"),
            )
        start = t.desk.first_free(booking, window)
        if start is None:
            return elicit(
                handler_input,
                "date",
                t.say("reschedule_none_free", name=name),
                t.say("ask_when_reprompt"),
            )
        t.attributes["pending"] = {
            "action": "reschedule",
            "booking": booking.id,
            "start": start.isoformat(),
        }
        return answer(
            handler_input,
            t.say(
                "reschedule_confirm",
                number=booking.id,
                name=name,
                when=t.when(start, zone),
            ),
            reprompt=t.say("cancel_confirm_reprompt"),
        )


class RateProviderIntentHandler(IntentHandler):
    intent_name = "RateProviderIntent"
    elicits = {"number": "which_booking_reprompt", "stars": "rate_ask_stars_reprompt"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        done = t.desk.to_review(t.customer)
        if not done and t.slot("number") is None:
            return answer(handler_input, t.say("rate_nothing"))
        booking = pick_booking(handler_input, t, done[:1])
        if isinstance(booking, Response):
            return booking
        name = booking.provider.name
        stars = number_of(t.slot("stars"))
        if stars is None:
            return elicit(
                handler_input,
                "stars",
                t.say("rate_ask_stars", name=name),
                t.say("rate_ask_stars_reprompt"),
            )
        if not 1 <= stars <= 5:
            return elicit(
                handler_input,
                "stars",
                t.say("rate_bad_stars"),
                t.say("rate_ask_stars_reprompt"),
            )
        try:
            t.desk.rate(t.customer, booking.id, stars)
        except Conflict as error:
            if error.code != "already_reviewed":
                raise
            return answer(handler_input, t.say("already_rated"))
        return answer(handler_input, t.say("rated", name=name, stars=stars))


# ------------------------------------------------------------------ providers


class ProviderCheckInIntentHandler(IntentHandler):
    """ "I've arrived at job 42": only from the provider's linked account."""

    intent_name = "ProviderCheckInIntent"
    elicits = {"job": "check_in_ask_job", "step": "check_in_ask_step"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        job = number_of(t.slot("job"))
        if job is None:
            return elicit(
                handler_input,
                "job",
                t.say("check_in_ask_job"),
                t.say("check_in_ask_job"),
            )
        step = resolved_id(handler_input, "step") or (t.slot("step") or "").lower()
        if step not in ("arrived", "started", "done"):
            return elicit(
                handler_input,
                "step",
                t.say("check_in_ask_step"),
                t.say("check_in_ask_step"),
            )
        try:
            t.desk.check_in(t.customer, job, step)
        except NotFound:
            return answer(handler_input, t.say("job_not_found", number=job))
        except Conflict as error:
            if error.code == "not_the_provider":
                return answer(
                    handler_input,
                    t.say("check_in_not_provider"),
                    reprompt=t.say("help_reprompt"),
                )
            booking = t.desk.session.get(Booking, job)
            if error.code == "too_early":
                when = t.when(booking.starts_at, booking.provider.timezone)
                return answer(
                    handler_input, t.say("check_in_too_early", number=job, when=when)
                )
            return answer(
                handler_input,
                t.say("cannot_change", number=job, state=state_words(t, booking)),
            )
        return answer(handler_input, t.say("check_in_done", number=job, step=step))


# ------------------------------------------------------------------ phone link


class LinkPhoneIntentHandler(IntentHandler):
    """A code sent by SMS ties this Alexa account to the caller's phone."""

    intent_name = "LinkPhoneIntent"
    elicits = {"phone": "link_ask_phone", "code": "link_ask_code_reprompt"}

    def handle(self, handler_input):
        t = turn_of(handler_input)
        code = t.slot("code")
        phone = t.attributes.get("link_phone")
        if code and phone:
            try:
                t.desk.confirm_phone_code(t.customer, phone, re.sub(r"\D", "", code))
            except Invalid:
                return elicit(
                    handler_input,
                    "code",
                    t.say("link_wrong_code"),
                    t.say("link_ask_code_reprompt"),
                )
            except Conflict as error:
                t.attributes.pop("link_phone", None)
                said = (
                    t.say("link_expired")
                    if error.code == "code_expired"
                    else t.refusal(error)
                )
                return answer(handler_input, said, reprompt=t.say("help_reprompt"))
            t.attributes.pop("link_phone", None)
            return answer(handler_input, t.say("linked"))
        spoken = t.slot("phone")
        if not spoken:
            return elicit(
                handler_input,
                "phone",
                t.say("link_ask_phone"),
                t.say("link_ask_phone_reprompt"),
            )
        try:  # Alexa's digits ("5125550123"), read in the marketplace's region
            phone = t.desk.phone(spoken)
        except Invalid:
            return elicit(
                handler_input,
                "phone",
                t.say("link_bad_phone"),
                t.say("link_ask_phone_reprompt"),
            )
        t.desk.send_phone_code(t.customer, phone)
        t.attributes["link_phone"] = phone
        return elicit(
            handler_input,
            "code",
            t.say("link_code_sent", last_digits=phone[-4:]),
            t.say("link_ask_code_reprompt"),
        )


# ------------------------------------------------------------------ name-free


class CanFulfillIntentRequestHandler(AbstractRequestHandler):
    """Alexa asks whether the skill could answer a request said without its
    name ("Alexa, book a plumber"): yes for an intent of ours whose slots are
    all its own, no otherwise. A query only: nothing is done or kept."""

    def can_handle(self, handler_input):
        return is_request_type("CanFulfillIntentRequest")(handler_input)

    def handle(self, handler_input):
        intent = handler_input.request_envelope.request.intent
        ours = INTENTS.get(intent.name, {}).get("slots") if intent else None
        given = (intent.slots or {}) if intent else {}
        known = {name: ours is not None and name in ours for name in given}
        able = ours is not None and all(known.values())
        handler_input.response_builder.set_can_fulfill_intent(
            CanFulfillIntent(
                can_fulfill=CanFulfillIntentValues.YES
                if able
                else CanFulfillIntentValues.NO,
                slots={
                    name: CanFulfillSlot(
                        can_understand=CanUnderstandSlotValues.YES
                        if ok
                        else CanUnderstandSlotValues.NO,
                        can_fulfill=CanFulfillSlotValues.YES
                        if ok
                        else CanFulfillSlotValues.NO,
                    )
                    for name, ok in known.items()
                },
            )
        )
        return handler_input.response_builder.response


# ------------------------------------------------------------------ anything else


class UnhandledIntentHandler(AbstractRequestHandler):
    """An intent or request type this skill does not know (registered last)."""

    def can_handle(self, handler_input):
        return True

    def handle(self, handler_input):
        log.info(
            "unhandled Alexa request %s",
            get_intent_name(handler_input)
            if is_request_type("IntentRequest")(handler_input)
            else handler_input.request_envelope.request.object_type,
        )
        return FallbackIntentHandler().handle(handler_input)


class DomainErrorHandler(AbstractExceptionHandler):
    """A service refused (not found, conflict, invalid): say why, nothing kept."""

    def can_handle(self, handler_input, exception):
        return isinstance(exception, DomainError)

    def handle(self, handler_input, exception):
        g.alexa_failed = True
        t = turn_of(handler_input)
        t.attributes.pop("pending", None)
        return answer(
            handler_input,
            t.refusal(exception),
            reprompt=t.say("help_reprompt"),
        )


class CatchAllExceptionHandler(AbstractExceptionHandler):
    """Anything else that went wrong: an apology, logged, nothing kept."""

    def can_handle(self, handler_input, exception):
        return True

    def handle(self, handler_input, exception):
        g.alexa_failed = True
        log.error("Alexa handler failed", exc_info=exception)
        locale = get_locale(handler_input) or "en-US"
        return answer(handler_input, speech.say("error", locale), end=True)


#: In the order the skill tries them; the catch-all last.
REQUEST_HANDLERS: tuple[type[AbstractRequestHandler], ...] = (
    LaunchRequestHandler,
    BookServiceIntentHandler,
    FindProviderIntentHandler,
    DescribeJobIntentHandler,
    ChooseProviderIntentHandler,
    YesIntentHandler,
    NoIntentHandler,
    JobStatusIntentHandler,
    CancelBookingIntentHandler,
    RescheduleIntentHandler,
    RateProviderIntentHandler,
    ProviderCheckInIntentHandler,
    LinkPhoneIntentHandler,
    HelpIntentHandler,
    StopIntentHandler,
    NavigateHomeIntentHandler,
    FallbackIntentHandler,
    SessionEndedRequestHandler,
    CanFulfillIntentRequestHandler,
    UnhandledIntentHandler,
)
#: Each intent's slots its handler asks for with Dialog.ElicitSlot, and the
#: catalogue entry of each one's prompt.
ELICITED: dict[str, dict[str, str]] = {
    h.intent_name: dict(h.elicits)
    for h in REQUEST_HANDLERS
    if issubclass(h, IntentHandler) and h.elicits
}
#: Intents whose dialog Alexa runs (Dialog.Delegate): the slots it asks for.
DELEGATED: dict[str, dict[str, str]] = {
    h.intent_name: dict(h.delegated)
    for h in REQUEST_HANDLERS
    if issubclass(h, SearchHandler) and h.delegates
}
EXCEPTION_HANDLERS: tuple[type[AbstractExceptionHandler], ...] = (
    DomainErrorHandler,
    CatchAllExceptionHandler,
)
