"""User turns of the Schema-Guided Dialogue data as labelled NLU examples.

Source: google-research-datasets/dstc8-schema-guided-dialogue, train split,
Services_1-3 (CC BY-SA 4.0), as kept in ``shared/data/sgd/``. Each user turn
with annotated acts becomes ``(text, intent, entities)``: the acts decide the
intent (``label``), the character spans of ``city``, ``appointment_date`` and
``appointment_time`` become ``place``, ``date`` and ``time`` entities.

Dialogues are split by a hash of their id, so a dialogue is all train or all
held out: ``split(dialogue_id) == "test"`` for about one in five.

Runs under the bot's Python (no Rasa needed) and the backend's.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from services import need_spans

ENTITY_OF_SLOT = {
    "city": "place",
    "appointment_date": "date",
    "appointment_time": "time",
}
TEST_SHARE = 0.2


@dataclass
class Example:
    text: str
    intent: str
    dialogue_id: str
    service_intent: str  # FindProvider | BookAppointment | NONE
    entities: list[dict] = field(default_factory=list)  # {start, end, entity, value}
    turn: int = 0  # the user's how-manieth turn in the dialogue, from 0


def split(dialogue_id: str) -> str:
    """ "test" for about TEST_SHARE of dialogues, else "train" (stable)."""
    digest = hashlib.sha256(dialogue_id.encode()).digest()
    return "test" if digest[0] < 256 * TEST_SHARE else "train"


def label(
    acts: set[tuple[str, str]],
    service_intent: str = "FindProvider",
    names_kind: bool = False,
) -> str | None:
    """Beckon's intent for a user turn's SGD acts (and whether its words name
    a kind of provider: ``services.need_spans``); None if it has none."""
    names = {act for act, _ in acts}
    informed = {slot for act, slot in acts if act == "INFORM"}
    if not names:
        return None
    if (
        names == {"INFORM_INTENT"}
        and service_intent == "BookAppointment"
        and not informed
    ):
        return "affirm"  # "I want to book an appointment" with the one offered
    if "INFORM_INTENT" in names and not names & {"SELECT", "AFFIRM_INTENT"}:
        return (
            "request_service"
            if not informed & {"appointment_date", "appointment_time"}
            or "city" in informed
            else "give_time"
        )
    if "REQUEST_ALTS" in names:
        return "ask_more"  # "anyone else (in Oakland)?"
    # Taking the one provider on offer ("yes, that's the one") is a yes to
    # the offer; choose_option is for picking among several ("the second").
    if names & {"SELECT", "AFFIRM_INTENT"} and not informed:
        return "affirm"
    if informed & {"appointment_date", "appointment_time"}:
        return "give_time"
    if "city" in informed or "type" in informed:
        # "Find a salon in Sunnyvale" asks for one: only doctors have a `type`
        # slot, dentists and salons are named in the words alone
        asks = "type" in informed or names_kind
        return "request_service" if asks else "give_place"
    if "REQUEST" in names:
        return "ask_details"
    if "GOODBYE" in names or names == {"NEGATE", "THANK_YOU"}:
        return "goodbye"  # "no, thanks" to "anything else?" ends it
    if "NEGATE" in names or "NEGATE_INTENT" in names:
        return "deny"
    if "AFFIRM" in names:
        return "affirm"
    if "THANK_YOU" in names:
        return "thanks"
    return None


def examples(path: Path) -> Iterator[Example]:
    """Every labelled user turn in the file."""
    with gzip.open(path, "rt") as fh:
        for line in fh:
            dialogue = json.loads(line)
            users = [t for t in dialogue["turns"] if t["speaker"] == "USER"]
            for index, turn in enumerate(users):
                for frame in turn["frames"]:
                    acts = {
                        (a["act"], a.get("slot") or "")
                        for a in frame.get("actions", [])
                    }
                    intent = label(
                        acts,
                        frame.get("active_intent") or "NONE",
                        bool(need_spans(turn["utterance"])),
                    )
                    if intent is None:
                        continue
                    entities = []
                    for span in frame.get("spans", []):
                        name = ENTITY_OF_SLOT.get(span["slot"])
                        if name is None:
                            continue
                        start, end = span["start"], span["exclusive_end"]
                        entities.append(
                            {
                                "start": start,
                                "end": end,
                                "entity": name,
                                "value": turn["utterance"][start:end],
                            }
                        )
                    yield Example(
                        turn["utterance"],
                        intent,
                        dialogue["dialogue_id"],
                        frame.get("active_intent") or "NONE",
                        sorted(entities, key=lambda e: e["start"]),
                        index,
                    )
                    break  # one frame per turn: the services share the words


def annotate(example: Example) -> str:
    """The text in Rasa's markup: ``[Gilroy](place)``."""
    return to_markup(example.text, example.entities)


def to_markup(text: str, entities: list[dict]) -> str:
    """``text`` with its entity spans marked ``[Gilroy](place)``; of
    overlapping spans the first is kept."""
    out, at = [], 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        if entity["start"] < at:
            continue  # overlapping spans: keep the first
        out.append(text[at : entity["start"]])
        out.append(f"[{text[entity['start'] : entity['end']]}]({entity['entity']})")
        at = entity["end"]
    out.append(text[at:])
    return "".join(out).replace("\n", " ")


MARKUP = re.compile(r"\[([^\]]+)\]\((\w+)\)")


def from_markup(text: str) -> tuple[str, list[dict]]:
    """Plain text and entity spans (``start``, ``end``, ``entity``, ``value``)
    from ``[Boston](place)`` markup."""
    plain, entities, at, length = [], [], 0, 0
    for match in MARKUP.finditer(text):
        plain.append(text[at : match.start()])
        length += match.start() - at
        plain.append(match[1])
        entities.append(
            {
                "start": length,
                "end": length + len(match[1]),
                "entity": match[2],
                "value": match[1],
            }
        )
        length += len(match[1])
        at = match.end()
    plain.append(text[at:])
    return "".join(plain), entities
