"""The Alexa skill's handlers, one module per flow, registered here in the
order the skill tries them (``skill.py`` builds the skill from these).

Each handler reads the request (slots, dialog state, session attributes),
calls the voice desk and answers with short speech, a reprompt wherever it
asks something, and a Dialog directive where Alexa should collect a slot.
What a later turn needs (the offers read out, the question waiting for a
yes) is kept in session attributes.
"""

from __future__ import annotations

from ask_sdk_core.dispatch_components import (
    AbstractExceptionHandler,
    AbstractRequestHandler,
    AbstractRequestInterceptor,
)

from voice_skills.alexa.handlers.base import IntentHandler, TurnContextInterceptor
from voice_skills.alexa.handlers.bookings import (
    CancelBookingIntentHandler,
    JobStatusIntentHandler,
    RescheduleIntentHandler,
)
from voice_skills.alexa.handlers.builtins import (
    CatchAllExceptionHandler,
    DomainErrorHandler,
    FallbackIntentHandler,
    HelpIntentHandler,
    LaunchRequestHandler,
    NavigateHomeIntentHandler,
    SessionEndedRequestHandler,
    StopIntentHandler,
    UnhandledIntentHandler,
)
from voice_skills.alexa.handlers.can_fulfill import CanFulfillIntentRequestHandler
from voice_skills.alexa.handlers.check_in import ProviderCheckInIntentHandler
from voice_skills.alexa.handlers.phone import LinkPhoneIntentHandler
from voice_skills.alexa.handlers.review import RateProviderIntentHandler
from voice_skills.alexa.handlers.search import (
    BookServiceIntentHandler,
    ChooseProviderIntentHandler,
    DescribeJobIntentHandler,
    FindProviderIntentHandler,
    NoIntentHandler,
    SearchHandler,
    YesIntentHandler,
)

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
#: Run before every handler: the turn's context into the request attributes.
REQUEST_INTERCEPTORS: tuple[type[AbstractRequestInterceptor], ...] = (
    TurnContextInterceptor,
)
