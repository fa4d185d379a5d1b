"""What every Alexa handler shares: the turn (desk, caller, locale, session
attributes), answering, eliciting a slot, reading slots.

The turn's desk and caller come in the request attributes
(:class:`TurnContext`, put there by :class:`TurnContextInterceptor` from the
invocation's context), so a handler runs on a HandlerInput alone, without
Flask.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from ask_sdk_core.dispatch_components import (
    AbstractRequestHandler,
    AbstractRequestInterceptor,
)
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import (
    get_locale,
    get_slot,
    get_user_id,
    is_intent_name,
)
from ask_sdk_model import (
    Intent,
    Response,
)
from ask_sdk_model.dialog import ElicitSlotDirective
from ask_sdk_model.services.directive import (
    Header,
    SendDirectiveRequest,
    SpeakDirective,
)
from ask_sdk_model.slu.entityresolution import StatusCode

from backend.models import Customer
from backend.services.errors import DomainError
from voice_skills import dialog, speech
from voice_skills.desk import VoiceDesk
from voice_skills.when import Window, alexa_window

log = logging.getLogger(__name__)

ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "1st": 1, "2nd": 2, "3rd": 3}
#: How long the answer waits for "Looking for..." to be delivered first.
PROGRESSIVE_WAIT_SECONDS = 1.0


# ------------------------------------------------------------------ the dialogue


def when_window(when: Any, zone: str, now: datetime) -> Window:
    """The window an Alexa search's ``{"date": ..., "time": ...}`` means."""
    when = when or {}
    return alexa_window(when.get("date"), when.get("time"), zone, now)


#: How Alexa's dialogue differs: when is an AMAZON.DATE and AMAZON.TIME; no
#: one found asks for another city; a refusal drops the question waiting.
OPTIONS = dialog.Options(
    window=when_window,
    ask_city_when_no_one=True,
    keep_question_on_refusal=False,
)


# ------------------------------------------------------------------ one turn

#: The request attribute holding the turn's :class:`TurnContext`.
TURN = "beckon.turn"


@dataclass
class TurnContext:
    """What the endpoint gives the handlers of one request."""

    desk: VoiceDesk
    #: the caller, as the endpoint recorded the request (None: looked up)
    customer: Customer | None = None
    #: set by an exception handler: what the turn did is not to be kept
    failed: bool = False


class TurnContextInterceptor(AbstractRequestInterceptor):
    """Keeps the invocation's :class:`TurnContext` in the request attributes."""

    def process(self, handler_input: HandlerInput) -> None:
        if isinstance(handler_input.context, TurnContext):
            attributes = handler_input.attributes_manager.request_attributes
            attributes[TURN] = handler_input.context


def context_of(handler_input: HandlerInput) -> TurnContext | None:
    """The turn's context, if the request came with one."""
    return handler_input.attributes_manager.request_attributes.get(TURN)


@dataclass
class Turn:
    """What every handler needs of this request."""

    context: TurnContext
    locale: str
    attributes: dict[str, Any]
    handler_input: HandlerInput

    @property
    def desk(self) -> VoiceDesk:
        return self.context.desk

    @property
    def customer(self) -> Customer:
        """The caller: as the endpoint recorded the request (no query), or
        looked up by the Alexa user id."""
        if self.context.customer is None:
            self.context.customer = self.desk.caller(
                get_user_id(self.handler_input), self.locale
            )
        return self.context.customer

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

    def state(self) -> dialog.State:
        """The dialogue's state, as the session attributes keep it."""
        return dialog.State.from_dict(self.attributes)

    def keep(self, state: dialog.State) -> None:
        """Keep ``state`` in the session attributes (others are left alone)."""
        kept = state.to_dict()
        for key in dialog.State.KEYS:
            if key in kept:
                self.attributes[key] = kept[key]
            else:
                self.attributes.pop(key, None)

    def dialogue(self, state: dialog.State | None = None) -> dialog.Dialogue:
        """The shared dialogue over ``state`` (the session's by default); a
        search says "Looking for..." at once while it runs."""
        options = replace(OPTIONS, searching=self._announced)
        return dialog.Dialogue(
            self.desk, self.customer, self.locale, state or self.state(), options
        )

    @contextlib.contextmanager
    def _announced(self, text: str) -> Iterator[None]:
        progress = send_progressive(self.handler_input, text)
        yield
        if progress is not None:
            progress.join(PROGRESSIVE_WAIT_SECONDS)


def turn_of(handler_input: HandlerInput) -> Turn:
    """The turn of a request that came with its :class:`TurnContext`."""
    context = context_of(handler_input)
    if context is None:
        raise LookupError("the request came without its turn context")
    return Turn(
        context=context,
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
    if slot not in DECLARED.get(intent.name, {}):
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


#: Each intent's slots its handler declares it elicits (filled as the
#: handlers are defined; the registry's ``ELICITED`` is the same).
DECLARED: dict[str, dict[str, str]] = {}


class IntentHandler(AbstractRequestHandler):
    """The handler of one intent; ``elicits`` names each slot it asks for
    with Dialog.ElicitSlot and the catalogue entry of its prompt (the dialog
    model of ``beckon alexa model`` is made from these)."""

    intent_name = ""
    elicits: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.intent_name and cls.elicits:
            DECLARED[cls.intent_name] = dict(cls.elicits)

    def can_handle(self, handler_input):
        return is_intent_name(self.intent_name)(handler_input)
