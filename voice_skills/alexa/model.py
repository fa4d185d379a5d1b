"""The skill's interaction model and manifest, generated from the catalogue.

``beckon alexa model`` writes them in the ASK CLI's layout
(``skill-package/skill.json``, ``skill-package/interactionModels/custom/
en-US.json``). The service slot type lists every category with its synonyms,
so Alexa's entity resolution answers with the category's slug as the value id;
a service it does not list still comes in the caller's words
(``ER_SUCCESS_NO_MATCH``), and DescribeJobIntent takes a free description
(``AMAZON.SearchQuery``). Both are matched as said.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voice_skills import speech
from voice_skills.alexa.handlers import DELEGATED, ELICITED
from voice_skills.alexa.intents import (
    BUILT_IN_INTENTS,
    CHECK_IN_STEPS,
    INTENTS,
    SERVICE_TYPE,
    STEP_TYPE,
)

INVOCATION_NAME = "beckon"
SKILL_PACKAGE = Path(__file__).resolve().parent / "skill-package"
#: The endpoint written into the repo's own package; deployments pass theirs.
EXAMPLE_ENDPOINT = "https://beckon.example.com/webhooks/alexa"


def interaction_model(categories: list[dict[str, Any]]) -> dict[str, Any]:
    """The en-US model; ``categories`` as {slug, name, synonyms}."""
    intents = [{"name": name, "samples": []} for name in BUILT_IN_INTENTS]
    for name, spec in INTENTS.items():
        intents.append(
            {
                "name": name,
                "slots": [{"name": s, "type": t} for s, t in spec["slots"].items()],
                "samples": spec["samples"],
            }
        )
    services = [
        {
            "id": c["slug"],
            "name": {
                "value": c["name"].lower(),
                "synonyms": sorted(
                    {s.lower() for s in c.get("synonyms", [])} - {c["name"].lower()}
                ),
            },
        }
        for c in sorted(categories, key=lambda c: c["slug"])
    ]
    steps = [
        {"id": step, "name": {"value": step, "synonyms": words[1:]}}
        for step, words in CHECK_IN_STEPS.items()
    ]
    dialog_intents, prompts = dialog_model()
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": INVOCATION_NAME,
                "intents": intents,
                "types": [
                    {"name": SERVICE_TYPE, "values": services},
                    {"name": STEP_TYPE, "values": steps},
                ],
            },
            "dialog": {
                "intents": dialog_intents,
                "delegationStrategy": "SKILL_RESPONSE",
            },
            "prompts": prompts,
        }
    }


def dialog_model() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``dialog.intents`` and ``prompts``: every intent a handler sends a Dialog
    directive for (``handlers.ELICITED``, ``handlers.DELEGATED``), each slot it
    asks for with its prompt from the spoken catalogue. A slot Alexa collects
    itself (delegation) is required; the others are asked by the skill."""
    dialog_intents, prompts = [], []
    for name, spec in INTENTS.items():
        asked = {**ELICITED.get(name, {}), **DELEGATED.get(name, {})}
        if not asked and name not in DELEGATED:
            continue
        slots = []
        for slot, slot_type in spec["slots"].items():
            entry: dict[str, Any] = {
                "name": slot,
                "type": slot_type,
                "confirmationRequired": False,
                "elicitationRequired": slot in DELEGATED.get(name, {}),
                "prompts": {},
            }
            if slot in asked:
                prompt_id = f"Elicit.Slot.{name}.{slot}"
                entry["prompts"]["elicitation"] = prompt_id
                text = speech.say(asked[slot], speech.FALLBACK_LANGUAGE)
                prompts.append(
                    {
                        "id": prompt_id,
                        "variations": [{"type": "PlainText", "value": text}],
                    }
                )
            slots.append(entry)
        dialog_intents.append(
            {
                "name": name,
                "confirmationRequired": False,
                "prompts": {},
                "slots": slots,
            }
        )
    return dialog_intents, prompts


def manifest(endpoint: str) -> dict[str, Any]:
    """``skill.json``: a custom skill answered by ``endpoint`` (HTTPS)."""
    return {
        "manifest": {
            "publishingInformation": {
                "locales": {
                    "en-US": {
                        "name": "Beckon",
                        "summary": "Book local pros and readers by voice.",
                        "description": (
                            "Ask Beckon to book a plumber, an electrician, a "
                            "cleaner or a tarot reader, check on your job, or "
                            "move or cancel a booking."
                        ),
                        "examplePhrases": [
                            "Alexa, ask Beckon to book a plumber in Austin tomorrow "
                            "morning",
                            "Alexa, ask Beckon what's the status of my job",
                            "Alexa, ask Beckon to cancel my booking",
                        ],
                        "keywords": ["booking", "plumber", "services"],
                    }
                },
                "isAvailableWorldwide": False,
                "distributionCountries": ["US"],
                "category": "LOCAL",
            },
            "apis": {
                "custom": {
                    "endpoint": {
                        "uri": endpoint,
                        # a certificate from a trusted authority
                        "sslCertificateType": "Trusted",
                    },
                    # name-free requests: CanFulfillIntentRequest is answered
                    "interfaces": [{"type": "CAN_FULFILL_INTENT_REQUEST"}],
                }
            },
            "permissions": [],
            "privacyAndCompliance": {
                "allowsPurchases": False,
                "usesPersonalInfo": True,
                "isChildDirected": False,
                "isExportCompliant": True,
                "containsAds": False,
            },
        },
        "manifestVersion": "1.0",
    }


def write_skill_package(
    out: Path, categories: list[dict[str, Any]], endpoint: str
) -> list[Path]:
    """Write the ASK CLI layout under ``out``; the files written."""
    files = {
        out / "skill.json": manifest(endpoint),
        out / "interactionModels" / "custom" / "en-US.json": interaction_model(
            categories
        ),
    }
    for path, doc in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return list(files)
