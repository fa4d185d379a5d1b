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

INVOCATION_NAME = "beckon"
SKILL_PACKAGE = Path(__file__).resolve().parent / "skill-package"
#: The endpoint written into the repo's own package; deployments pass theirs.
EXAMPLE_ENDPOINT = "https://beckon.example.com/webhooks/alexa"

SERVICE_TYPE = "ServiceType"
STEP_TYPE = "CheckInStep"
CHECK_IN_STEPS = {
    "arrived": ["arrived", "am here", "am at the job", "got there"],
    "started": ["started", "begun", "am starting", "am working"],
    "done": ["done", "finished", "completed", "all done"],
}

#: Our intents: name -> slots (name -> type) and sample utterances.
INTENTS: dict[str, dict[str, Any]] = {
    "FindProviderIntent": {
        "slots": {
            "service": SERVICE_TYPE,
            "city": "AMAZON.US_CITY",
            "date": "AMAZON.DATE",
            "time": "AMAZON.TIME",
        },
        "samples": [
            "find a {service}",
            "find a {service} in {city}",
            "who can do {service} in {city}",
            "who can do {service} {date}",
            "is there a {service} in {city} {date}",
            "find me a {service} near {city} {date} {time}",
            "I'm looking for a {service}",
            "search for a {service} in {city}",
        ],
    },
    "BookServiceIntent": {
        "slots": {
            "service": SERVICE_TYPE,
            "city": "AMAZON.US_CITY",
            "date": "AMAZON.DATE",
            "time": "AMAZON.TIME",
        },
        "samples": [
            "book a {service}",
            "book a {service} in {city}",
            "book a {service} for {date}",
            "book a {service} in {city} {date}",
            "book a {service} in {city} {date} {time}",
            "book a {service} {date} {time}",
            "to book a {service} in {city} {date} {time}",
            "I need a {service}",
            "I need a {service} in {city} {date}",
            "get me a {service} {date}",
            "schedule a {service} in {city} {date} at {time}",
        ],
    },
    # the job in the caller's own words. AMAZON.SearchQuery is a phrase slot:
    # each sample needs a carrier phrase (a sample of the slot alone is
    # refused: MissingCarrierPhraseWithPhraseSlot) and no other slot shares
    # its utterance, so the city and the day are asked afterwards
    "DescribeJobIntent": {
        "slots": {"description": "AMAZON.SearchQuery"},
        "samples": [
            "I need someone to {description}",
            "I need someone who can {description}",
            "I need help with {description}",
            "I want someone to {description}",
            "find someone to {description}",
            "find someone who can {description}",
            "get someone to {description}",
            "book someone to {description}",
            "can someone {description}",
            "help me with {description}",
            "the problem is {description}",
            "my {description}",
        ],
    },
    "ChooseProviderIntent": {
        "slots": {"ordinal": "AMAZON.Ordinal", "number": "AMAZON.NUMBER"},
        "samples": [
            "the {ordinal} one",
            "the {ordinal}",
            "{ordinal} one",
            "number {number}",
            "option {number}",
            "I'll take the {ordinal} one",
            "book the {ordinal} one",
        ],
    },
    "JobStatusIntent": {
        "slots": {},
        "samples": [
            "what's the status of my job",
            "status of my booking",
            "when is my booking",
            "when is the plumber coming",
            "what are my bookings",
            "is my booking confirmed",
        ],
    },
    "CancelBookingIntent": {
        "slots": {"number": "AMAZON.NUMBER"},
        "samples": [
            "cancel my booking",
            "cancel booking {number}",
            "cancel booking number {number}",
            "cancel my appointment",
            "I want to cancel my booking",
        ],
    },
    "RescheduleIntent": {
        "slots": {
            "number": "AMAZON.NUMBER",
            "date": "AMAZON.DATE",
            "time": "AMAZON.TIME",
        },
        "samples": [
            "reschedule my booking",
            "move my booking to {date}",
            "move my booking to {date} at {time}",
            "reschedule booking {number} to {date}",
            "change my booking to {date} {time}",
        ],
    },
    "RateProviderIntent": {
        "slots": {"stars": "AMAZON.NUMBER", "number": "AMAZON.NUMBER"},
        "samples": [
            "rate my provider",
            "give {stars} stars",
            "rate them {stars} stars",
            "rate booking {number} {stars} stars",
            "leave a review",
        ],
    },
    "ProviderCheckInIntent": {
        "slots": {"job": "AMAZON.NUMBER", "step": STEP_TYPE},
        "samples": [
            "I've {step} at job {job}",
            "I {step} at job {job}",
            "I have {step} job {job}",
            "job {job} {step}",
            "check in to job {job}",
            "I'm {step} at job {job}",
        ],
    },
    "LinkPhoneIntent": {
        "slots": {"phone": "AMAZON.PhoneNumber", "code": "AMAZON.NUMBER"},
        "samples": [
            "link my phone",
            "link my phone number",
            "link my phone {phone}",
            "my code is {code}",
            "the code is {code}",
        ],
    },
}

BUILT_IN_INTENTS = (
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
    "AMAZON.NavigateHomeIntent",
)


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
    from voice_skills import speech
    from voice_skills.alexa.handlers import DELEGATED, ELICITED

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
