"""Alexa handlers run on a HandlerInput built from a request as Alexa sends
it (tests/fixtures/alexa), without Flask: the turn's desk and caller come in
the request attributes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ask_sdk_core.attributes_manager import AttributesManager
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from backend.models import Channel, Customer
from voice_skills import speech
from voice_skills.alexa.handlers.base import TURN, TurnContext, TurnContextInterceptor
from voice_skills.alexa.handlers.builtins import (
    CatchAllExceptionHandler,
    LaunchRequestHandler,
    StopIntentHandler,
)
from voice_skills.alexa.handlers.search import ChooseProviderIntentHandler
from voice_skills.desk import VoiceDesk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alexa"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _desk() -> VoiceDesk:
    # nothing here reaches the database, the index or a notifier
    return VoiceDesk(
        None,  # type: ignore[arg-type]
        channel=Channel.ALEXA,
        index=None,  # type: ignore[arg-type]
        rules=None,  # type: ignore[arg-type]
        follow_ups=None,  # type: ignore[arg-type]
        notifiers=None,  # type: ignore[arg-type]
        region="US",
        now=NOW,
    )


def _input(doc: dict, context: TurnContext | None = None) -> HandlerInput:
    envelope = DefaultSerializer().deserialize(json.dumps(doc), RequestEnvelope)
    handler_input = HandlerInput(
        request_envelope=envelope,
        attributes_manager=AttributesManager(request_envelope=envelope),
        context=context,
    )
    TurnContextInterceptor().process(handler_input)
    return handler_input


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _intent(name: str, slots: dict[str, str], attributes: dict) -> dict:
    doc = _fixture("alexaapp_intent_request_slot.json")
    doc["session"]["attributes"] = attributes
    doc["request"]["intent"] = {
        "name": name,
        "confirmationStatus": "NONE",
        "slots": {
            k: {"name": k, "value": v, "confirmationStatus": "NONE"}
            for k, v in slots.items()
        },
    }
    return doc


def _caller() -> Customer:
    return Customer(id=1, timezone="America/Chicago", locale="en-US")


def test_the_interceptor_keeps_the_turn_in_the_request_attributes() -> None:
    context = TurnContext(_desk(), _caller())
    handler_input = _input(_fixture("alexaapp_launch_request.json"), context)
    assert handler_input.attributes_manager.request_attributes[TURN] is context


def test_launch_welcomes_and_asks_again() -> None:
    handler_input = _input(
        _fixture("alexaapp_launch_request.json"), TurnContext(_desk(), _caller())
    )
    response = LaunchRequestHandler().handle(handler_input)
    assert response.output_speech.ssml == speech.ssml(speech.say("welcome"))
    assert response.reprompt is not None
    assert response.should_end_session is False


def test_the_second_offer_is_asked_to_be_confirmed() -> None:
    offers = [
        {
            "provider_id": n,
            "name": name,
            "start": "2026-11-22T15:00:00+00:00",
            "zone": "America/Chicago",
            "reasons": [],
            "remote": False,
        }
        for n, name in ((1, "Reyes Plumbing"), (2, "Volt Electric"))
    ]
    attributes = {"offers": offers, "words": "a plumber"}
    handler_input = _input(
        _intent("ChooseProviderIntent", {"ordinal": "second"}, attributes),
        TurnContext(_desk(), _caller()),
    )
    response = ChooseProviderIntentHandler().handle(handler_input)
    said = response.output_speech.ssml
    assert "Volt Electric" in said and "tomorrow at 9:00 AM" in said
    kept = handler_input.attributes_manager.session_attributes
    assert kept["chosen"] == 1 and kept["pending"]["ask"] == "book"


def test_stop_forgets_the_session() -> None:
    handler_input = _input(
        _intent("AMAZON.StopIntent", {}, {"offers": [{"name": "x"}]}),
        TurnContext(_desk(), _caller()),
    )
    response = StopIntentHandler().handle(handler_input)
    assert response.should_end_session is True
    assert handler_input.attributes_manager.session_attributes == {}


def test_a_failure_marks_the_turn_failed() -> None:
    context = TurnContext(_desk(), _caller())
    handler_input = _input(_fixture("alexaapp_launch_request.json"), context)
    response = CatchAllExceptionHandler().handle(handler_input, RuntimeError("boom"))
    assert context.failed is True
    assert response.should_end_session is True


def test_a_handler_needs_its_turn_context() -> None:
    handler_input = _input(_fixture("alexaapp_launch_request.json"))
    with pytest.raises(LookupError):
        LaunchRequestHandler().handle(handler_input)
