"""The Dialogflow ES agent, written from the repository: ``beckon google agent``.

The layout is ES's agent export (what "Import from zip" and "Restore from zip"
read): ``agent.json``, ``package.json``, ``intents/<Name>.json`` with
``intents/<Name>_usersays_en.json`` (training phrases, parameters annotated)
and ``entities/<name>.json`` with ``entities/<name>_entries_en.json``. The
``service`` entity is the catalogue's categories (slug as the value, the name
and synonyms as synonyms), with automated expansion: a service it does not
list ("a piano tuner") still fills the parameter, and the webhook matches the
caller's words. ``DescribeJob`` takes the job described freely (``@sys.any``).
Every intent the webhook answers is here, with the
webhook on. Ids are name-based UUIDs and files are written sorted, so the same
catalogue always gives the same bytes.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from backend.catalogue import DEFAULT_CATEGORIES, CategorySpec
from voice_skills.google.conversation import (
    BOOK,
    CANCEL,
    CHECK_IN,
    CHOOSE,
    CONFIRM,
    DESCRIBE,
    FALLBACK,
    FIND,
    LINK,
    OPERATIONS,
    RATE,
    RESCHEDULE,
    STATUS,
    WELCOME,
)

LANGUAGE = "en"
_NAMESPACE = uuid.UUID("5b1f3c1e-8d0a-4a59-9a56-6f0b7f3c2b10")

#: Each parameter's entity type.
ENTITY_OF = {
    # a category, or a service the catalogue lacks (the entity expands)
    "service": "@service",
    # the job in the caller's own words, whatever they are
    "description": "@sys.any",
    "geo-city": "@sys.geo-city",
    "date-time": "@sys.date-time",
    # an agent may ask for the day and the time apart (read by their entity)
    "date": "@sys.date",
    "time": "@sys.time",
    "number": "@sys.number",
    "ordinal": "@sys.ordinal",
    "phone-number": "@sys.phone-number",
    "step": "@step",
    "confirmation": "@confirmation",
    "code": "@sys.number-sequence",
}

#: The agent's own entity types besides ``service``: value -> synonyms.
FIXED_ENTITIES: dict[str, dict[str, list[str]]] = {
    "step": {
        "arrived": ["arrived", "I'm here", "on site", "at the door"],
        "started": ["started", "starting", "begun", "working on it"],
        "done": ["done", "finished", "complete", "completed"],
    },
    "confirmation": {
        "yes": ["yes", "yeah", "yep", "sure", "ok", "okay", "please do", "book it"],
        "no": ["no", "nope", "no thanks", "don't", "not now"],
    },
}

# Training phrases: [text](parameter) marks an annotated part.
PHRASES: dict[str, list[str]] = {
    WELCOME: ["hi", "hello", "hey Beckon", "start"],
    FIND: [
        "find a [plumber](service) in [Austin](geo-city) [tomorrow morning](date-time)",
        "I need a [plumber](service)",
        "is there an [electrician](service) in [Chicago](geo-city)",
        "who can fix my [leak](service) [on Friday](date-time)",
        "look for a [tarot reader](service) [tonight](date-time)",
        "[cleaning](service) in [Seattle](geo-city) [next week](date-time)",
        "in [Austin](geo-city)",
        "[Houston](geo-city)",
        "[tomorrow at 3 pm](date-time)",
        "[this weekend](date-time)",
    ],
    BOOK: [
        "book a [plumber](service) in [Austin](geo-city) [tomorrow morning](date-time)",
        "book an [electrician](service) in [Chicago](geo-city) [on Friday](date-time)",
        "schedule a [house cleaning](service) [next Monday](date-time)",
        "I want to book a [love reading](service)",
        "get me a [locksmith](service) in [Denver](geo-city) [now](date-time)",
    ],
    # @sys.any takes any words: each phrase has words of its own around them
    DESCRIBE: [
        "I need someone to [tune my piano](description)",
        "I need someone who can [fix a squeaky door](description)",
        "I need help with [a leaking kitchen ceiling](description)",
        "find someone to [hang my pictures](description) in [Denver](geo-city)",
        "can someone [look at my furnace](description) [tomorrow](date-time)",
        "my [kitchen ceiling is leaking](description)",
        "the problem is [my basement floods when it rains](description)",
        "I'm looking for someone who can [notarize a document](description)",
    ],
    CHOOSE: [
        "the [second](ordinal) one",
        "[first](ordinal)",
        "the [third](ordinal)",
        "number [2](number)",
        "option [1](number)",
        "[3](number)",
        "I'll take the [first](ordinal) one",
    ],
    CONFIRM: [
        "[yes](confirmation)",
        "[yes](confirmation) please",
        "[sure](confirmation)",
        "[book it](confirmation)",
        "[no](confirmation)",
        "[no thanks](confirmation)",
        "[don't](confirmation) book it",
    ],
    STATUS: [
        "what's the status of my job",
        "when is my booking",
        "check my bookings",
        "is my plumber still coming",
        "what have I booked",
    ],
    CANCEL: [
        "cancel my booking",
        "cancel booking [12](number)",
        "I want to cancel my appointment",
        "call off the job",
    ],
    RESCHEDULE: [
        "reschedule my booking",
        "move my booking to [Friday at 10 am](date-time)",
        "move booking [12](number) to [tomorrow afternoon](date-time)",
        "change the time of my appointment",
    ],
    RATE: [
        "rate my provider",
        "give them [5](number) stars",
        "rate the job [4](number) stars",
        "I want to leave a review",
    ],
    CHECK_IN: [
        "I've [arrived](step) at job [12](number)",
        "job [12](number) [started](step)",
        "job [12](number) is [done](step)",
        "check in to job [7](number)",
        "I'm [finished](step)",
        "provider check in",
    ],
    LINK: [
        "link my phone",
        "connect my phone number",
        "my number is [312 555 0101](phone-number)",
        "[+1 312 555 0101](phone-number)",
        "the code is [123456](code)",
    ],
}

#: Phrases made for every category: what a person asks for it.
CATEGORY_PHRASES = (
    "I need a [{word}](service) in [Chicago](geo-city)",
    "find me a [{word}](service) [tomorrow](date-time)",
    "book a [{word}](service)",
)

EVENTS = {WELCOME: ["WELCOME"]}
ACTIONS = {WELCOME: "input.welcome", FALLBACK: "input.unknown"}
#: Intents the agent defines, in file order: every operation the webhook answers.
INTENTS = OPERATIONS

_MARK = re.compile(r"\[([^\]]+)\]\(([a-z-]+)\)")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def phrase_data(phrase: str) -> list[dict[str, Any]]:
    """A phrase as ES's ``data`` parts, the marked ones annotated."""
    parts: list[dict[str, Any]] = []
    at = 0
    for mark in _MARK.finditer(phrase):
        if mark.start() > at:
            parts.append({"text": phrase[at : mark.start()], "userDefined": False})
        text, name = mark.groups()
        parts.append(
            {"text": text, "alias": name, "meta": ENTITY_OF[name], "userDefined": True}
        )
        at = mark.end()
    if at < len(phrase):
        parts.append({"text": phrase[at:], "userDefined": False})
    return parts


def phrases_of(name: str, categories: Iterable[CategorySpec]) -> list[str]:
    phrases = list(PHRASES.get(name, []))
    if name == FIND:
        for n, spec in enumerate(sorted(categories)):
            word = spec.synonyms[0] if spec.synonyms else spec.name.lower()
            phrases.append(
                CATEGORY_PHRASES[n % len(CATEGORY_PHRASES)].format(word=word)
            )
    return phrases


def intent_json(name: str, phrases: list[str]) -> dict[str, Any]:
    params = sorted({p for phrase in phrases for _, p in _MARK.findall(phrase)})
    return {
        "id": _id("intent", name),
        "name": name,
        "auto": True,
        "contexts": [],
        "responses": [
            {
                "resetContexts": False,
                "action": ACTIONS.get(name, re.sub(r"\W+", "_", name).lower()),
                "affectedContexts": [],
                "parameters": [
                    {
                        "id": _id("parameter", name, param),
                        "name": param,
                        "required": False,
                        "dataType": ENTITY_OF[param],
                        "value": f"${param}",
                        "defaultValue": "",
                        "isList": False,
                        "prompts": [],
                        "promptMessages": [],
                        "noMatchPromptMessages": [],
                        "noInputPromptMessages": [],
                        "outputDialogContexts": [],
                    }
                    for param in params
                ],
                "messages": [
                    {
                        "type": 0,
                        "title": "",
                        "textToSpeech": "",
                        "lang": LANGUAGE,
                        "speech": [],
                        "condition": "",
                    }
                ],
                "speech": [],
                "defaultResponsePlatforms": {},
            }
        ],
        "priority": 500000,
        "webhookUsed": True,
        "webhookForSlotFilling": False,
        "fallbackIntent": name == FALLBACK,
        "events": [{"name": event} for event in EVENTS.get(name, [])],
        "conditionalResponses": [],
        "condition": "",
        "conditionalFollowupEvents": [],
    }


def usersays_json(name: str, phrases: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": _id("phrase", name, phrase),
            "data": phrase_data(phrase),
            "isTemplate": False,
            "count": 0,
            "lang": LANGUAGE,
            "updated": 0,
        }
        for phrase in phrases
    ]


def entity_json(name: str) -> dict[str, Any]:
    return {
        "id": _id("entity", name),
        "name": name,
        "isOverridable": True,
        "isEnum": False,
        "isRegexp": False,
        "automatedExpansion": name == "service",
        "allowFuzzyExtraction": name == "service",
    }


def service_entries(categories: Iterable[CategorySpec]) -> list[dict[str, Any]]:
    """One entry per category: its slug, said as its name or a synonym."""
    entries = []
    for spec in sorted(categories):
        synonyms = [spec.slug.replace("-", " "), spec.name.lower()]
        synonyms += [s.lower() for s in spec.synonyms]
        entries.append(
            {
                "value": spec.slug,
                "synonyms": list(dict.fromkeys([spec.slug, *synonyms])),
            }
        )
    return entries


def agent_files(
    categories: Iterable[CategorySpec] = DEFAULT_CATEGORIES,
    *,
    webhook_url: str = "",
    headers: dict[str, str] | None = None,
    timezone: str = "America/New_York",
) -> dict[str, Any]:
    """Every file of the agent: relative path -> JSON value."""
    categories = list(categories)
    files: dict[str, Any] = {
        "package.json": {"version": "1.0.0"},
        "agent.json": {
            "description": "Beckon: book, check and change jobs by voice.",
            "language": LANGUAGE,
            "shortDescription": "",
            "examples": "",
            "linkToDocs": "",
            "displayName": "Beckon",
            "disableInteractionLogs": False,
            "disableStackdriverLogs": True,
            "defaultTimezone": timezone,
            "webhook": {
                "url": webhook_url,
                "username": "",
                "headers": dict(sorted((headers or {}).items())),
                "available": True,
                "useForDomains": False,
                "cloudFunctionsEnabled": False,
                "cloudFunctionsInitialized": False,
            },
            "isPrivate": True,
            "mlMinConfidence": 0.3,
            "supportedLanguages": [],
            "enableOnePlatformApi": True,
            "onePlatformApiVersion": "v2",
            "analyzeQueryTextSentiment": False,
            "enabledKnowledgeBaseNames": [],
            "knowledgeServiceConfidenceAdjustment": 0.0,
            "dialogBuilderMode": False,
            "baseActionPackagesUrl": "",
            "enableSpellCorrection": False,
        },
    }
    for name in INTENTS:
        phrases = phrases_of(name, categories)
        files[f"intents/{name}.json"] = intent_json(name, phrases)
        if phrases:
            files[f"intents/{name}_usersays_{LANGUAGE}.json"] = usersays_json(
                name, phrases
            )
    files["entities/service.json"] = entity_json("service")
    files[f"entities/service_entries_{LANGUAGE}.json"] = service_entries(categories)
    for entity, values in FIXED_ENTITIES.items():
        files[f"entities/{entity}.json"] = entity_json(entity)
        files[f"entities/{entity}_entries_{LANGUAGE}.json"] = [
            {"value": value, "synonyms": synonyms} for value, synonyms in values.items()
        ]
    return dict(sorted(files.items()))


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def write_agent(out: Path, **options: Any) -> tuple[list[Path], Path]:
    """Write the agent's files under ``out`` and the same as ``out``.zip
    (fixed timestamps: the same agent gives the same zip)."""
    files = agent_files(**options)
    written = []
    for relative, value in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_dump(value))
        written.append(path)
    archive = out.with_name(out.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for relative, value in files.items():
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, _dump(value))
    return written, archive
