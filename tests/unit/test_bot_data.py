"""The assistant's training data: the kind of provider marked and varied
(bot/tools/services.py, build_data.py), and kinds left out for the benchmark."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

BOT = Path(__file__).resolve().parents[2] / "bot"
sys.path.insert(0, str(BOT / "tools"))

import build_data  # noqa: E402
import services  # noqa: E402
from sgd_nlu import examples, from_markup  # noqa: E402

from tests.helpers import fixture_path  # noqa: E402

SGD_SAMPLE = fixture_path("sgd", "sgd_services_train_sample.jsonl.gz")
DATA_FILES = sorted((BOT / "data").glob("nlu*.yml"))


def _examples(path: Path) -> list[tuple[str, str]]:
    """(intent, markup) of every example in an NLU file."""
    out = []
    for block in yaml.safe_load(path.read_text())["nlu"]:
        if "intent" in block:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    out.append((block["intent"], line.strip()[2:]))
    return out


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("I need a dentist in Gilroy.", ["dentist"]),
        ("Can you find me an ENT Specialist?", ["ENT Specialist"]),
        ("I'm looking for a unisex salon in San Jose", ["unisex salon"]),
        ("What dentists are there?", ["dentists"]),
        (
            "I need a General Practitioner and a dermatologist",
            ["General Practitioner", "dermatologist"],
        ),
        ("Book me at Atelier Salon Willow Glen", []),
        ("Yes, 3 pm is fine", []),
    ],
)
def test_the_kind_an_sgd_turn_names_is_found(text, kinds):
    assert [text[a:b] for a, b in services.need_spans(text)] == kinds


@pytest.mark.parametrize(
    ("text", "span", "term", "expected"),
    [
        (
            "I need a dentist in Gilroy.",
            (9, 16),
            "electrician",
            "I need an electrician in Gilroy.",
        ),
        ("Find me an ENT specialist", (11, 25), "plumber", "Find me a Plumber"),
        (
            "What dentists are there?",
            (5, 13),
            "tarot reader",
            "What tarot readers are there?",
        ),
        ("A Dermatologist please", (2, 15), "astrologer", "An Astrologer please"),
        ("i want a salon", (9, 14), "unisex salon", "i want a unisex salon"),
    ],
)
def test_a_substituted_kind_keeps_the_grammar(text, span, term, expected):
    out, start, end = services.substitute(text, span, term)
    assert out == expected
    assert out[start:end].lower().startswith(term.split()[0].lower())


def test_the_vocabulary_is_the_catalogues_and_sgds_countable_words():
    vocab = services.vocabulary()
    for word in ("plumber", "electrician", "tarot reader", "astrologer", "dentist"):
        assert word in vocab
    # "a plumbing", "a gutters", "an astrology" are not said
    for word in ("plumbing", "gutters", "astrology", "bed bugs"):
        assert word not in vocab


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("need a plumbr asap", "plumbing"),
        ("my toilet is leaking", "plumbing"),
        ("electricain needed urgent", "electrical"),
        ("tarrot reading for 2nite", "tarot-reading"),
        ("any astrologers free this weekend?", "astrology"),
        ("I need my teeth cleaned", "dentist"),
        ("find me a Hairdresser", "hair-stylist"),
    ],
)
def test_a_kind_is_named_in_any_form_and_with_typos(text, slug):
    assert services.names(text, services.kind(slug))


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("I need an electrician", "plumbing"),
        ("book a haircut for friday", "dentist"),
        ("find me a tarot reader", "astrology"),
        ("yes please", "cleaning"),
    ],
)
def test_other_words_do_not_name_a_kind(text, slug):
    assert not services.names(text, services.kind(slug))


def test_sgd_requests_mark_their_kind_as_need():
    ours = build_data.own_labels(build_data.own_blocks(BOT / "data" / "nlu.yml"))
    kept = build_data.sgd_examples(SGD_SAMPLE, ours)
    requests = kept["request_service"]
    marked = [t for t in requests if "](need)" in t]
    assert len(marked) > 0.7 * len(requests)
    kind_words = {w.lower() for k in services.SGD_KINDS for w in k.words}
    for line in marked:
        text, entities = from_markup(line)
        for entity in entities:
            if entity["entity"] == "need":
                said = re.sub(r"e?s$", "", entity["value"].lower())
                assert said in kind_words or said.split()[-1] in kind_words, line
    assert not any("](need)" in t for t in kept.get("give_time", []))


def test_variations_replace_the_kind_and_move_the_spans():
    asking = {
        "request_service": [
            "I need a [dentist](need) in [Gilroy](place) on [March 3rd](date)",
            "could you find me an [ENT Specialist](need)?",
            "my sink is clogged",
        ]
    }
    vocab = services.vocabulary()
    once = build_data.variations(asking, vocab, {})
    assert once == build_data.variations(asking, vocab, {})  # seeded
    made = once["request_service"]
    assert len(made) == 2 * build_data.VARIANTS
    for line in made:
        text, entities = from_markup(line)
        need = [e["value"] for e in entities if e["entity"] == "need"]
        assert len(need) == 1 and need[0].lower() in {v.lower() for v in vocab}
        assert need[0].lower() not in ("dentist", "ent specialist")
        article = re.search(r"\b(an?) \S+$", text[: text.index(need[0])] + need[0])
        assert article[1] == services.article(need[0]), line
        if "(place)" in line:
            assert "[Gilroy](place)" in line and "[March 3rd](date)" in line


def test_the_derived_files_are_whole_and_agree_with_their_sources():
    varied = _examples(BOT / "data" / "nlu_varied.yml")
    assert len(varied) > 1000
    vocab = {v.lower() for v in services.vocabulary()}
    vocab |= {services.plural(v) for v in vocab}
    for intent, line in varied:
        assert intent in build_data.VARIED
        _, entities = from_markup(line)
        needs = [e["value"].lower() for e in entities if e["entity"] == "need"]
        assert needs and all(need in vocab for need in needs), line


def test_a_left_out_kind_is_named_nowhere_in_its_training_data(tmp_path):
    kept = build_data.leave_out(BOT / "data", tmp_path, ["plumbing", "dentist"])
    # every file the NLU pipeline reads; rules and stories have no examples
    assert set(kept) == {p.name for p in DATA_FILES} | {"lookup_places.yml"}
    # not the same function that chose them: the words themselves
    gone = re.compile(
        r"plumb|leak|pipe|toilet|drain|water heater|dentist|dental|teeth|tooth",
        re.I,
    )
    total = 0
    for path in tmp_path.glob("*.yml"):
        for _, line in _examples(path):
            total += 1
            assert not gone.search(line), (path.name, line)
    assert total > 0.8 * sum(len(_examples(p)) for p in DATA_FILES)
    # the other kinds stay, requests with them too
    kept_lines = [line for p in tmp_path.glob("*.yml") for _, line in _examples(p)]
    assert any("electrician" in line.lower() for line in kept_lines)
    assert any("salon" in line.lower() for line in kept_lines)
    # the regexes and the city lookup are kept whole
    blocks = yaml.safe_load((tmp_path / "nlu.yml").read_text())["nlu"]
    assert {b["regex"] for b in blocks if "regex" in b} == {
        "booking_ref",
        "phone",
        "code",
    }


def test_held_out_requests_are_not_training_data():
    trained = {
        build_data.words(line) for path in DATA_FILES for _, line in _examples(path)
    }
    held = yaml.safe_load((BOT / "tests" / "nlu_requests_heldout.yml").read_text())
    assert len(held) >= 7 and all(len(v) >= 8 for v in held.values())
    for texts in held.values():
        for text in texts:
            assert build_data.words(text) not in trained, text
    # the kinds no category has are in no training example at all
    for text in held["new-kinds"]:
        _, entities = from_markup(text)
        for entity in entities:
            if entity["entity"] == "need":
                word = re.sub(r"s$", "", entity["value"].lower())
                assert not any(word in t for t in trained), word


def test_each_sgd_turn_knows_its_place_in_the_dialogue():
    found = list(examples(SGD_SAMPLE))
    first = [e for e in found if e.turn == 0]
    assert len({e.dialogue_id for e in first}) == len(first)
    assert {e.turn for e in found} > {0, 1, 2}
    # a dialogue starts with a request far more often than anything else
    requests = sum(1 for e in first if e.intent == "request_service")
    assert requests > 0.6 * len(first)
