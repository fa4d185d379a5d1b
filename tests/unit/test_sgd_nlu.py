"""The Schema-Guided Dialogue turns as NLU examples (bot/tools/sgd_nlu.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot" / "tools"))

from sgd_nlu import Example, annotate, examples, label, split  # noqa: E402

from tests.helpers import fixture_path  # noqa: E402

SGD_SAMPLE = fixture_path("sgd", "sgd_services_train_sample.jsonl.gz")


@pytest.mark.parametrize(
    ("acts", "intent"),
    [
        ({("INFORM_INTENT", "")}, "request_service"),
        ({("INFORM", "city"), ("INFORM_INTENT", "")}, "request_service"),
        ({("INFORM", "city")}, "give_place"),
        ({("INFORM", "appointment_time")}, "give_time"),
        ({("INFORM", "appointment_date"), ("NEGATE", "")}, "give_time"),
        ({("REQUEST_ALTS", "")}, "ask_more"),
        ({("REQUEST_ALTS", ""), ("INFORM", "type")}, "ask_more"),
        ({("SELECT", "")}, "affirm"),
        ({("REQUEST", "phone_number")}, "ask_details"),
        ({("NEGATE", ""), ("THANK_YOU", "")}, "goodbye"),
        ({("THANK_YOU", "")}, "thanks"),
        (set(), None),
    ],
)
def test_acts_decide_the_intent(acts, intent):
    assert label(acts) == intent


def test_a_city_with_a_kind_named_is_a_request():
    # "Find a salon in Sunnyvale": salons and dentists have no `type` slot
    assert label({("INFORM", "city")}, names_kind=True) == "request_service"
    assert label({("INFORM", "city")}, names_kind=False) == "give_place"
    # a time or "anyone else?" still decides first
    assert (
        label({("INFORM", "city"), ("INFORM", "appointment_time")}, names_kind=True)
        == "give_time"
    )
    assert (
        label({("REQUEST_ALTS", ""), ("INFORM", "city")}, names_kind=True) == "ask_more"
    )


def test_spans_become_markup():
    example = Example(
        "Book me in Gilroy on March 7th at 5 pm",
        "give_time",
        "1_00001",
        "BookAppointment",
        [
            {"start": 11, "end": 17, "entity": "place", "value": "Gilroy"},
            {"start": 21, "end": 30, "entity": "date", "value": "March 7th"},
            {"start": 34, "end": 38, "entity": "time", "value": "5 pm"},
        ],
    )
    assert annotate(example) == (
        "Book me in [Gilroy](place) on [March 7th](date) at [5 pm](time)"
    )


def test_a_dialogue_is_all_train_or_all_held_out():
    assert {split(f"{i}_00000") for i in range(200)} == {"train", "test"}
    assert split("28_00089") == split("28_00089")


def test_the_data_gives_every_label_with_held_out_dialogues():
    found = list(examples(SGD_SAMPLE))
    assert len(found) > 500
    held_out = [e for e in found if split(e.dialogue_id) == "test"]
    assert 0.1 < len(held_out) / len(found) < 0.3
    assert {e.intent for e in found} == {
        "affirm",
        "ask_details",
        "ask_more",
        "deny",
        "give_place",
        "give_time",
        "goodbye",
        "request_service",
        "thanks",
    }
    with_spans = [e for e in found if e.entities]
    assert all(
        e.text[x["start"] : x["end"]] == x["value"]
        for e in with_spans
        for x in e.entities
    )
