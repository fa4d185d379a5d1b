"""How well the assistant understands people it never trained on.

Loads a trained Rasa model (the newest under ``bot/models/`` unless
``--model``) and parses two held-out sets:

- ``in-domain``: ``bot/tests/nlu_heldout.yml``, requests for trades and
  readings written for Beckon and kept out of training;
- ``sgd``: every labelled FindProvider / BookAppointment user turn of the
  Schema-Guided Dialogue dialogues held out by ``bot/tools/sgd_nlu.split``
  (CC BY-SA 4.0, Google Research).

Prints a JSON line per set with intent accuracy, macro F1, and entity F1 for
place, date and time (an entity counts when its type and its exact span
match), then a summary against the targets. Runs under the bot's Python:

    bot/.venv/bin/python benchmarks/nlu_quality.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bot" / "tools"))

from sgd_nlu import examples, split  # noqa: E402

SGD = REPO.parent / "shared" / "data" / "sgd" / "sgd_services_train.jsonl.gz"
TARGETS = {"in-domain": 0.95, "sgd": 0.90, "entity_f1": 0.90}
ENTITY_TYPES = ("place", "date", "time")
MARKUP = re.compile(r"\[([^\]]+)\]\((\w+)\)")


def from_markup(text: str) -> tuple[str, list[dict]]:
    """Plain text and entity spans from ``[Boston](place)`` markup."""
    plain, entities, at = [], [], 0
    for match in MARKUP.finditer(text):
        plain.append(text[at : match.start()])
        start = sum(len(p) for p in plain)
        plain.append(match[1])
        entities.append(
            {"start": start, "end": start + len(match[1]), "entity": match[2]}
        )
        at = match.end()
    plain.append(text[at:])
    return "".join(plain), entities


def in_domain_set() -> list[tuple[str, str, list[dict]]]:
    import yaml

    items = yaml.safe_load((REPO / "bot" / "tests" / "nlu_heldout.yml").read_text())
    out = []
    for item in items:
        text, entities = from_markup(item["text"])
        out.append((text, item["intent"], entities))
    return out


def sgd_set(path: Path) -> list[tuple[str, str, list[dict]]]:
    return [
        (e.text, e.intent, e.entities)
        for e in examples(path)
        if split(e.dialogue_id) == "test"
        and e.service_intent in ("FindProvider", "BookAppointment")
    ]


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {gold for gold, _ in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(
            2 * precision * recall / (precision + recall) if precision + recall else 0
        )
    return sum(scores) / len(scores) if scores else 0.0


def entity_scores(gold: list[list[dict]], found: list[list[dict]]) -> dict:
    counts = {t: Counter() for t in ENTITY_TYPES}
    for want, got in zip(gold, found, strict=True):
        want_set = {(e["entity"], e["start"], e["end"]) for e in want}
        got_set = {(e["entity"], e["start"], e["end"]) for e in got}
        for kind in ENTITY_TYPES:
            w = {x for x in want_set if x[0] == kind}
            g = {x for x in got_set if x[0] == kind}
            counts[kind]["tp"] += len(w & g)
            counts[kind]["fp"] += len(g - w)
            counts[kind]["fn"] += len(w - g)
    out = {}
    for kind, c in counts.items():
        if c["tp"] + c["fn"] == 0:
            continue
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"])
        out[kind] = {
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "precision": round(p, 4),
            "recall": round(r, 4),
            "support": c["tp"] + c["fn"],
        }
    return out


def show_errors(name, items, pairs, gold_entities, found_entities) -> None:
    """Misread intents and entity spans, one line each, on stderr."""
    for (text, _, _), (gold, predicted), want, got in zip(
        items, pairs, gold_entities, found_entities, strict=True
    ):
        if gold != predicted:
            print(f"! {name} intent {gold} -> {predicted}: {text}", file=sys.stderr)
        want_set = {
            (e["entity"], text[e["start"] : e["end"]])
            for e in want
            if e["entity"] in ENTITY_TYPES
        }
        got_set = {
            (e["entity"], text[e["start"] : e["end"]])
            for e in got
            if e["entity"] in ENTITY_TYPES
        }
        if want_set != got_set:
            print(
                f"! {name} entities want {sorted(want_set)} got {sorted(got_set)}: "
                f"{text}",
                file=sys.stderr,
            )


async def evaluate(agent, name: str, items, errors: bool = False) -> dict:
    pairs, gold_entities, found_entities = [], [], []
    started = time.perf_counter()
    for text, intent, entities in items:
        parsed = await agent.parse_message(text)
        predicted = (parsed.get("intent") or {}).get("name")
        pairs.append((intent, predicted))
        gold_entities.append(entities)
        found_entities.append(
            [
                {"entity": e["entity"], "start": e["start"], "end": e["end"]}
                for e in parsed.get("entities", [])
                if e.get("extractor") != "RegexEntityExtractor"
            ]
        )
    seconds = time.perf_counter() - started
    if errors:
        show_errors(name, items, pairs, gold_entities, found_entities)
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs)
    confusions = Counter((g, p) for g, p in pairs if g != p).most_common(8)
    return {
        "set": name,
        "examples": len(items),
        "intent_accuracy": round(accuracy, 4),
        "intent_macro_f1": round(macro_f1(pairs), 4),
        "entities": entity_scores(gold_entities, found_entities),
        "fallbacks": sum(1 for _, p in pairs if p == "nlu_fallback"),
        "top_confusions": [f"{g} -> {p} x{n}" for (g, p), n in confusions],
        "parse_ms_mean": round(1000 * seconds / len(items), 2),
    }


def newest_model() -> Path:
    models = sorted((REPO / "bot" / "models").glob("*.tar.gz"), key=os.path.getmtime)
    if not models:
        sys.exit("no trained model under bot/models: run `make bot-model` first")
    return models[-1]


async def main_async(args) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(args.model))
    results = [await evaluate(agent, "in-domain", in_domain_set(), args.errors)]
    if args.sgd.exists():
        results.append(await evaluate(agent, "sgd", sgd_set(args.sgd), args.errors))
    else:
        print(f"# {args.sgd} not found: SGD set skipped", file=sys.stderr)
    for result in results:
        result["model"] = args.model.name
        print(json.dumps(result), flush=True)
    for result in results:
        target = TARGETS[result["set"]]
        verdict = "met" if result["intent_accuracy"] >= target else "MISSED"
        ents = ", ".join(f"{k} {v['f1']:.3f}" for k, v in result["entities"].items())
        print(
            f"# {result['set']:9}: intent accuracy {result['intent_accuracy']:.3f} "
            f"(target {target}: {verdict}), macro F1 {result['intent_macro_f1']:.3f}, "
            f"entity F1: {ents or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--sgd", type=Path, default=Path(os.environ.get("BECKON_SGD_FILE", SGD))
    )
    parser.add_argument(
        "--errors",
        action="store_true",
        help="also list every misread intent and entity span on stderr",
    )
    args = parser.parse_args()
    args.model = args.model or newest_model()
    logging.disable(logging.WARNING)
    import structlog  # Rasa logs every parse at debug level through structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
