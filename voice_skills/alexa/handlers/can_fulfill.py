"""Name-free requests: whether the skill could answer one."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import (
    AbstractRequestHandler,
)
from ask_sdk_core.utils import (
    is_request_type,
)
from ask_sdk_model.canfulfill import (
    CanFulfillIntent,
    CanFulfillIntentValues,
    CanFulfillSlot,
    CanFulfillSlotValues,
    CanUnderstandSlotValues,
)

from voice_skills.alexa.intents import INTENTS

log = logging.getLogger(__name__)

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
