"""Start, help, fallback, stop, the session's end, anything unknown, and
the errors: the answers that belong to no flow."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import (
    AbstractExceptionHandler,
    AbstractRequestHandler,
)
from ask_sdk_core.utils import (
    get_intent_name,
    get_locale,
    is_intent_name,
    is_request_type,
)

from backend.services.errors import DomainError
from voice_skills import dialog, speech
from voice_skills.alexa.handlers.base import (
    OPTIONS,
    answer,
    context_of,
    turn_of,
)

log = logging.getLogger(__name__)

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
        t = turn_of(handler_input)
        t.context.failed = True
        state = t.state()
        said = dialog.refused(state, exception, OPTIONS, t.locale)
        t.keep(state)
        return answer(handler_input, said, reprompt=t.say("help_reprompt"))


class CatchAllExceptionHandler(AbstractExceptionHandler):
    """Anything else that went wrong: an apology, logged, nothing kept."""

    def can_handle(self, handler_input, exception):
        return True

    def handle(self, handler_input, exception):
        if (context := context_of(handler_input)) is not None:
            context.failed = True
        log.error("Alexa handler failed", exc_info=exception)
        locale = get_locale(handler_input) or "en-US"
        return answer(handler_input, speech.say("error", locale), end=True)
