"""The skill package in the repo: generated from the catalogue, and in step
with the handlers (every intent handled, every slot defined and sampled)."""

from __future__ import annotations

import json
import re

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from backend.catalogue import DEFAULT_CATEGORIES
from voice_skills.alexa import handlers
from voice_skills.alexa.model import (
    BUILT_IN_INTENTS,
    EXAMPLE_ENDPOINT,
    INTENTS,
    SKILL_PACKAGE,
    interaction_model,
    manifest,
)

MODEL_FILE = SKILL_PACKAGE / "interactionModels" / "custom" / "en-US.json"
CATEGORIES = [
    {"slug": c.slug, "name": c.name, "synonyms": list(c.synonyms)}
    for c in DEFAULT_CATEGORIES
]
# what Alexa accepts in a sample: words, apostrophes, periods, {slots}
SAMPLE = re.compile(r"^[a-z{][a-z' .{}]*$", re.IGNORECASE)


def _language_model() -> dict:
    return json.loads(MODEL_FILE.read_text())["interactionModel"]["languageModel"]


def test_the_committed_package_is_what_beckon_alexa_model_writes() -> None:
    assert json.loads(MODEL_FILE.read_text()) == interaction_model(CATEGORIES), (
        "run `beckon alexa model` and commit voice_skills/alexa/skill-package"
    )
    skill = json.loads((SKILL_PACKAGE / "skill.json").read_text())
    assert skill == manifest(EXAMPLE_ENDPOINT)
    assert skill["manifest"]["apis"]["custom"]["endpoint"]["uri"].endswith(
        "/webhooks/alexa"
    )


def _handles(intent: str) -> list[str]:
    body = {
        "version": "1.0",
        "request": {
            "type": "IntentRequest",
            "requestId": "amzn1.echo-api.request.1",
            "timestamp": "2026-11-21T12:00:00Z",
            "intent": {"name": intent, "confirmationStatus": "NONE"},
        },
    }
    envelope = DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)
    handler_input = HandlerInput(request_envelope=envelope)
    return [
        h.__name__
        for h in handlers.REQUEST_HANDLERS
        if h is not handlers.UnhandledIntentHandler and h().can_handle(handler_input)
    ]


def test_every_intent_of_the_model_has_its_own_handler_and_back() -> None:
    modelled = {i["name"] for i in _language_model()["intents"]}
    assert modelled == set(INTENTS) | set(BUILT_IN_INTENTS)
    for intent in sorted(modelled):
        assert len(_handles(intent)) == 1, (intent, _handles(intent))
    # a handler for an intent the model lacks would never be reached
    handled_names = {
        h.intent_name
        for h in handlers.REQUEST_HANDLERS
        if getattr(h, "intent_name", "")
    }
    assert handled_names <= modelled


def test_every_slot_is_typed_defined_and_sampled() -> None:
    model = _language_model()
    custom_types = {t["name"]: t for t in model["types"]}
    samples_seen: set[str] = set()
    for intent in model["intents"]:
        slots = {s["name"]: s["type"] for s in intent.get("slots", [])}
        for slot_type in slots.values():
            assert slot_type.startswith("AMAZON.") or slot_type in custom_types
        used: set[str] = set()
        for sample in intent["samples"]:
            assert SAMPLE.match(sample), sample
            assert sample.lower() not in samples_seen, f"duplicate sample {sample!r}"
            samples_seen.add(sample.lower())
            used |= set(re.findall(r"{(\w+)}", sample))
        assert used <= set(slots), (intent["name"], used - set(slots))
        assert set(slots) <= used, (intent["name"], set(slots) - used)
    for type_ in custom_types.values():
        assert type_["values"], type_["name"]
        ids = [v["id"] for v in type_["values"]]
        assert len(ids) == len(set(ids))


def test_every_category_is_a_service_value_with_its_synonyms() -> None:
    services = {
        v["id"]: v["name"]
        for v in next(
            t for t in _language_model()["types"] if t["name"] == "ServiceType"
        )["values"]
    }
    assert set(services) == {c.slug for c in DEFAULT_CATEGORIES}
    assert "plumber" in services["plumbing"]["synonyms"]


def test_the_dialog_asks_for_required_slots_with_defined_prompts() -> None:
    doc = json.loads(MODEL_FILE.read_text())["interactionModel"]
    prompts = {p["id"] for p in doc["prompts"]}
    booking = next(
        i for i in doc["dialog"]["intents"] if i["name"] == "BookServiceIntent"
    )
    required = [s for s in booking["slots"] if s["elicitationRequired"]]
    assert [s["name"] for s in required] == ["service"]
    for slot in required:
        assert slot["prompts"]["elicitation"] in prompts
    assert doc["dialog"]["delegationStrategy"] == "SKILL_RESPONSE"
