"""Finding and booking: a search from the slots (or the job described), the
offers read out, "the second one", and the yes or no that books it."""

from __future__ import annotations

import logging
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

from backend.services.errors import Invalid
from voice_skills import dialog
from voice_skills.alexa.handlers.base import (
    IntentHandler,
    Turn,
    answer,
    elicit,
    number_of,
    resolved_id,
    turn_of,
)
from voice_skills.alexa.handlers.bookings import zone_of
from voice_skills.desk import is_online
from voice_skills.dialog import Asked

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ finding and booking

#: The slot each part of a search is asked for on.
SLOT_OF = {"service": "service", "city": "city", "when": "date"}


def asked_from_slots(handler_input: HandlerInput, t: Turn) -> Asked:
    """The search as the slots say it (the city as spoken, even "online")."""
    words = t.slot("service")
    city = t.slot("city")
    kept = t.state().search
    return Asked(
        service=words,
        slug=resolved_id(handler_input, "service"),
        city=city,
        online=is_online(city),
        when={"date": t.slot("date"), "time": t.slot("time")},
        # the description DescribeJobIntent carried on to this intent
        described=bool(words)
        and kept is not None
        and kept.described
        and kept.service == words,
    )


def intent_of(asked: Asked) -> Intent:
    """FindProviderIntent with the slots of ``asked`` (the intent a question
    about this search is asked on)."""
    when = asked.when or {}
    values = {"service": asked.service, "city": asked.city}
    values |= {"date": when.get("date"), "time": when.get("time")}
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
        asked = asked_from_slots(handler_input, t)
        dialogue = t.dialogue()
        searched = dialogue.search(asked, asked.service or "", collecting=delegating)
        if isinstance(searched, dialog.Collecting):
            return answer(handler_input, "", directive=DelegateDirective(intent))
        return respond(handler_input, t, dialogue, searched, intent)


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
        asked = Asked(service=words, described=True)
        dialogue = t.dialogue()
        searched = dialogue.search(asked, words or "")
        return respond(handler_input, t, dialogue, searched, intent_of(asked))


def respond(
    handler_input: HandlerInput,
    t: Turn,
    dialogue: dialog.Dialogue,
    searched: dialog.Searched,
    intent: Intent,
) -> Response:
    """The search's outcome as Alexa's answer: what is missing asked for on
    ``intent``, or the offers read out."""
    t.keep(dialogue.state)
    if isinstance(searched, dialog.Ask):
        return elicit(
            handler_input,
            SLOT_OF[searched.part],
            searched.text,
            searched.reprompt,
            intent=intent,
        )
    if isinstance(searched, dialog.Offers):
        return answer(handler_input, searched.text, reprompt=searched.reprompt)
    raise LookupError(f"Alexa does not answer a search with {searched!r}")


class ChooseProviderIntentHandler(IntentHandler):
    """ "The second one": the offer to book, asked to be confirmed."""

    intent_name = "ChooseProviderIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        if not t.state().offers:
            return answer(
                handler_input, t.say("nothing_pending"), reprompt=t.say("help_reprompt")
            )
        choice = number_of(t.slot("ordinal")) or number_of(t.slot("number"))
        dialogue = t.dialogue()
        chosen = dialogue.choose(choice)
        t.keep(dialogue.state)
        if isinstance(chosen, dialog.NotChosen):
            return answer(handler_input, chosen.text, reprompt=chosen.reprompt)
        return answer(handler_input, chosen.question, reprompt=chosen.reprompt)


# ------------------------------------------------------------------ yes and no

#: The questions a yes or a no answers on Alexa.
CONFIRMED = (*dialog.YES_OR_NO, "cancel", "reschedule")


class YesIntentHandler(IntentHandler):
    """The explicit confirmation: only now is anything booked or changed."""

    intent_name = "AMAZON.YesIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        state = t.state()
        pending = state.pending or {}
        if state.ask not in CONFIRMED:
            return answer(
                handler_input, t.say("nothing_pending"), reprompt=t.say("help_reprompt")
            )
        if state.ask in dialog.YES_OR_NO:
            return self._confirm(handler_input, t, state)
        state.pending = None
        t.keep(state)
        booking_id = int(pending["booking"])
        if pending["ask"] == "cancel":
            booking = t.desk.cancel(t.customer, booking_id)
            return answer(
                handler_input,
                t.say("cancelled", number=booking.id, name=booking.provider.name),
            )
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

    def _confirm(self, handler_input, t: Turn, state: dialog.State) -> Response:
        """Yes to booking the offer chosen, or to searching again."""
        # a search again asks what it misses on the search kept
        intent = intent_of(state.search or Asked())
        dialogue = t.dialogue(state)
        confirmed = dialogue.confirm(True)
        if isinstance(confirmed, dialog.OfferGone):
            raise Invalid(
                "that choice is no longer available", field="offer", code="offer_gone"
            )
        if isinstance(confirmed, dialog.SlotTaken):
            # the time went meanwhile: a yes searches again, as asked before
            t.keep(dialogue.state)
            return answer(
                handler_input, confirmed.question, reprompt=confirmed.reprompt
            )
        if isinstance(confirmed, dialog.Booked):
            t.keep(dialogue.state)
            return answer(handler_input, confirmed.text)
        return respond(handler_input, t, dialogue, confirmed, intent)


class NoIntentHandler(IntentHandler):
    intent_name = "AMAZON.NoIntent"

    def handle(self, handler_input):
        t = turn_of(handler_input)
        state = t.state()
        if state.ask not in CONFIRMED:
            return answer(handler_input, t.say("goodbye"), end=True)
        if state.ask in dialog.YES_OR_NO:
            dialogue = t.dialogue(state)
            declined = dialogue.confirm(False)
            t.keep(dialogue.state)
            return answer(handler_input, declined.text, reprompt=t.say("help_reprompt"))
        state.pending = None
        t.keep(state)
        return answer(handler_input, t.say("kept"))
