"""The skill package in the repo: generated from the catalogue, and in step
with the handlers (every intent handled, every slot defined and sampled)."""

from __future__ import annotations

import inspect
import json
import pkgutil
import re

import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from backend.catalogue import DEFAULT_CATEGORIES
from voice_skills import speech
from voice_skills.alexa import handlers
from voice_skills.alexa.handlers.base import IntentHandler, elicit
from voice_skills.alexa.handlers.builtins import UnhandledIntentHandler
from voice_skills.alexa.handlers.search import (
    SLOT_OF,
    SearchHandler,
    asked_from_slots,
)
from voice_skills.alexa.intents import BUILT_IN_INTENTS, INTENTS
from voice_skills.alexa.model import (
    EXAMPLE_ENDPOINT,
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
        if h is not UnhandledIntentHandler and h().can_handle(handler_input)
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


def _dialog() -> dict:
    return json.loads(MODEL_FILE.read_text())["interactionModel"]


def test_every_slot_a_handler_reads_or_elicits_is_on_its_intent() -> None:
    """The slot names each handler's code reads (``t.slot("...")``,
    ``get_slot``/``resolved_id``) or elicits exist on its intent, typed."""
    model = _language_model()
    custom = {t["name"] for t in model["types"]}
    slots_of = {
        i["name"]: {s["name"]: s["type"] for s in i.get("slots", [])}
        for i in model["intents"]
    }
    for handler in handlers.REQUEST_HANDLERS:
        if not issubclass(handler, IntentHandler):
            continue
        read = _slots_read_by(handler)
        if issubclass(handler, SearchHandler):
            # the search is read from its slots by asked_from_slots
            read |= _slots_read_by(asked_from_slots)
        declared = slots_of[handler.intent_name]
        for slot in read | set(handler.elicits):
            assert slot in declared, (handler.intent_name, slot)
            slot_type = declared[slot]
            assert slot_type.startswith("AMAZON.") or slot_type in custom


def _slots_read_by(handler: type) -> set[str]:
    """Slot names in the handler's own source: t.slot("x"), resolved_id(.., "x")."""
    source = inspect.getsource(handler)
    found = set(re.findall(r'\.slot\("(\w+)"\)', source))
    found |= set(re.findall(r'resolved_id\(handler_input, "(\w+)"\)', source))
    return found


def test_every_intent_sent_a_dialog_directive_has_its_dialog_model() -> None:
    """Amazon requires a dialog model for an intent that gets Dialog
    directives: each one is in dialog.intents, and each slot its handler
    elicits has an elicitation prompt that is defined (the catalogue's)."""
    doc = _dialog()
    prompts = {p["id"]: p for p in doc["prompts"]}
    dialog = {i["name"]: i for i in doc["dialog"]["intents"]}
    directed = set(handlers.ELICITED) | set(handlers.DELEGATED)
    assert directed == {
        "FindProviderIntent",
        "BookServiceIntent",
        "CancelBookingIntent",
        "RescheduleIntent",
        "RateProviderIntent",
        "ProviderCheckInIntent",
        "LinkPhoneIntent",
    }
    assert set(dialog) == directed
    language = {i["name"]: i for i in _language_model()["intents"]}
    for name in directed:
        modelled = {s["name"]: s for s in dialog[name]["slots"]}
        # the dialog lists the intent's own slots, with their types
        assert {s: v["type"] for s, v in modelled.items()} == {
            s["name"]: s["type"] for s in language[name]["slots"]
        }
        asked = {**handlers.ELICITED.get(name, {}), **handlers.DELEGATED.get(name, {})}
        for slot, key in asked.items():
            prompt_id = modelled[slot]["prompts"]["elicitation"]
            (variation,) = prompts[prompt_id]["variations"]
            assert variation["value"] == speech.say(key), (name, slot)
        required = {s for s, v in modelled.items() if v["elicitationRequired"]}
        assert required == set(handlers.DELEGATED.get(name, {})), name
    assert dialog["BookServiceIntent"]["slots"][0]["elicitationRequired"] is True
    assert doc["dialog"]["delegationStrategy"] == "SKILL_RESPONSE"


def test_the_elicitations_are_the_handlers_own() -> None:
    """Every slot name the handlers' modules elicit is declared by some
    handler (a slot elicited without its declaration is refused at run time:
    see ``handlers.base.elicit``), and every declaration is used."""
    source = "".join(
        inspect.getsource(__import__(f"{handlers.__name__}.{m.name}", fromlist=["_"]))
        for m in pkgutil.iter_modules(handlers.__path__)
    )
    elicited = set(re.findall(r'elicit\(\s*handler_input,\s*"(\w+)"', source))
    # the parts of a search the shared dialogue asks for, by their slots
    elicited |= set(SLOT_OF.values())
    declared = {slot for slots in handlers.ELICITED.values() for slot in slots}
    assert elicited == declared


def test_eliciting_an_undeclared_slot_is_refused() -> None:
    body = {
        "version": "1.0",
        "request": {
            "type": "IntentRequest",
            "requestId": "amzn1.echo-api.request.1",
            "timestamp": "2026-11-21T12:00:00Z",
            "intent": {"name": "JobStatusIntent", "confirmationStatus": "NONE"},
        },
    }
    envelope = DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)
    handler_input = HandlerInput(request_envelope=envelope)
    with pytest.raises(LookupError, match="JobStatusIntent"):
        elicit(handler_input, "number", "Which?", "Which?")


def test_a_category_added_to_the_catalogue_is_in_the_generated_model(
    tmp_path, monkeypatch
) -> None:
    """`beckon alexa model` reads the database's categories: one an import
    created is a service value the day it exists, with no code changed."""
    from click.testing import CliRunner
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from backend.cli import main
    from backend.migrate import upgrade
    from backend.models import Category, CategoryKind

    database = f"sqlite:///{tmp_path / 'beckon.sqlite3'}"
    monkeypatch.setenv("BECKON_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.delenv("BECKON_PUBLIC_URL", raising=False)
    upgrade(database)
    engine = create_engine(database)
    with Session(engine) as session:
        session.add(
            Category(
                slug="piano-tuning",
                name="Piano tuning",
                kind=CategoryKind.TRADE,
                description="",
                synonyms=["piano tuner", "Tuner"],
            )
        )
        session.commit()
    engine.dispose()
    out = tmp_path / "skill-package"
    result = CliRunner().invoke(main, ["alexa", "model", "--out", str(out)])
    assert result.exit_code == 0, result.output
    model = json.loads(
        (out / "interactionModels" / "custom" / "en-US.json").read_text()
    )
    (services,) = [
        t["values"]
        for t in model["interactionModel"]["languageModel"]["types"]
        if t["name"] == "ServiceType"
    ]
    values = {v["id"]: v["name"] for v in services}
    assert set(values) == {c.slug for c in DEFAULT_CATEGORIES} | {"piano-tuning"}
    assert values["piano-tuning"] == {
        "value": "piano tuning",
        "synonyms": ["piano tuner", "tuner"],
    }
    # the rest of the model is the committed one's
    committed = json.loads(MODEL_FILE.read_text())["interactionModel"]
    assert model["interactionModel"]["dialog"] == committed["dialog"]
    assert [
        i["name"] for i in model["interactionModel"]["languageModel"]["intents"]
    ] == [i["name"] for i in committed["languageModel"]["intents"]]
