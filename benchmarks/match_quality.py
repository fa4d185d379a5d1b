"""Match quality: how often the matcher puts the right providers first.

Prints precision@3, capped precision@3 (hits in the top 3 / min(3, relevant
providers that exist)), recall@10 and nDCG@10 (binary relevance), with the
number of requests, for each source; one line and one JSON line per source:

- ``demo``: the seeded demo marketplace, built for real (temporary SQLite
  database, the Flask app, ``seed_demo``) and matched through
  ``MatchingIndex.match`` with the labelled ``demo_job_requests()``. The category
  is never passed: the text must do the work. Relevant = the provider has the
  expected category and covers the request's city (or works remotely).
- ``sgd``: Google's Schema-Guided Dialogue, Services_1/2/3 (hair stylists,
  dentists, doctors), as an operator would load it: the services' search
  results written as a catalogue (the kind as category, "<city>, CA", phones
  as the data writes them, the doctor type, unisex and cosmetic services as
  attributes), imported through the real JSONL import and profiled and
  indexed as the app does. Requests are the user turns looking for a provider
  in a city, the place resolved from the city as the user named it (no
  state), in two forms: ``sgd`` with what the user said for this need (a new
  service or doctor type starts afresh, as an assistant's form would), and
  ``sgd-conversation`` with everything they said so far (the latest need and
  place must win). Relevant = a provider of that service in that city
  satisfying the turn's other slots; the annotators' spellings ("SF", "San
  Fran") are mapped to the providers' city names through the slot
  annotations. Figures are given per fine category too.
- ``--leave-out-category``: for each fine category of ``sgd`` (the three
  services and the five doctor types), the ranking's weights in ``TUNED`` are
  chosen on the other categories' conversation requests alone, then scored on
  that category's: precision@3 where its texts never tuned the weights.

Data: Schema-Guided Dialogue by Google Research
(github.com/google-research-datasets/dstc8-schema-guided-dialogue), licensed
CC BY-SA 4.0; read from ../shared/data/sgd/ beside the checkout (or $BECKON_SGD_FILE).

Embeddings are cached under ``var/bench/`` (gitignored), so a second run only
encodes what changed. Run from the repository root:

    .venv/bin/python benchmarks/match_quality.py [--source demo|sgd|all]
        [--limit N] [--misses FILE] [--leave-out-category]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "var" / "bench"
MODEL_CACHE = BENCH_DIR / "models"
SGD_FILE = Path(
    os.environ.get(
        "BECKON_SGD_FILE",
        Path(__file__).resolve().parents[2]
        / "shared/data/sgd/sgd_services_train.jsonl.gz",
    )
)
SGD_CREDIT = (
    "Schema-Guided Dialogue (Services_1/2/3, train) by Google Research, "
    "github.com/google-research-datasets/dstc8-schema-guided-dialogue, CC BY-SA 4.0"
)
K_PRECISION, K_RANK = 3, 10


# ---------------------------------------------------------------- metrics


@dataclass
class Scores:
    """Running sums of the per-request metrics."""

    requests: int = 0
    precision: float = 0.0
    capped: float = 0.0
    recall: float = 0.0
    ndcg: float = 0.0

    def add(self, ranked: list[int], relevant: set[int]) -> dict[str, float]:
        """Score one request's ranked provider ids; returns its own metrics."""
        hits = [pid in relevant for pid in ranked[:K_RANK]]
        top = sum(hits[:K_PRECISION])
        dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(hits) if hit)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(K_RANK, len(relevant))))
        own = {
            "precision@3": top / K_PRECISION,
            "capped precision@3": top / min(K_PRECISION, len(relevant)),
            "recall@10": sum(hits) / len(relevant),
            "nDCG@10": dcg / ideal,
        }
        self.requests += 1
        self.precision += own["precision@3"]
        self.capped += own["capped precision@3"]
        self.recall += own["recall@10"]
        self.ndcg += own["nDCG@10"]
        return own

    def summary(self) -> dict[str, float | int]:
        n = max(self.requests, 1)
        return {
            "requests": self.requests,
            "precision@3": round(self.precision / n, 4),
            "capped precision@3": round(self.capped / n, 4),
            "recall@10": round(self.recall / n, 4),
            "nDCG@10": round(self.ndcg / n, 4),
        }


def report(source: str, scores: Scores, seconds: float, **extra) -> None:
    """One readable line and one JSON line for a source."""
    s = scores.summary()
    print(
        f"{source:<5} requests {s['requests']:>5}  precision@3 {s['precision@3']:.3f}"
        f"  capped precision@3 {s['capped precision@3']:.3f}"
        f"  recall@10 {s['recall@10']:.3f}  nDCG@10 {s['nDCG@10']:.3f}"
        f"  ({seconds:.1f} s)"
    )
    print(json.dumps({"source": source, **s, "seconds": round(seconds, 2), **extra}))


def spread(items: list, limit: int | None) -> list:
    """At most ``limit`` items, evenly spaced over the list (all if no limit)."""
    if not limit or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


# ---------------------------------------------------------------- demo


@contextmanager
def temporary_app(name: str):
    """The Flask app on a temporary SQLite database and data directory; its
    index starts from (and leaves behind) the embeddings cached for ``name``,
    so only texts that changed are encoded again."""
    from backend.app import create_app
    from backend.config import Config
    from backend.migrate import upgrade

    cache = BENCH_DIR / name / "embeddings.npz"
    workdir = Path(tempfile.mkdtemp(prefix="beckon-match-quality-"))
    try:
        (workdir / "index").mkdir()
        if cache.exists():
            shutil.copy(cache, workdir / "index" / "embeddings.npz")
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(url)
        yield create_app(
            Config.from_env(
                DATABASE_URL=url, DATA_DIR=workdir, MODEL_CACHE_DIR=MODEL_CACHE
            )
        )
        if (workdir / "index" / "embeddings.npz").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(workdir / "index" / "embeddings.npz", cache)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_demo(limit: int | None, misses: list[dict]) -> None:
    """Seed the demo marketplace in a temporary database and match its requests."""
    from sqlalchemy import select

    from backend.demo import demo_job_requests
    from backend.extensions import db
    from backend.models import Provider
    from backend.seed import seed_demo
    from backend.services.geo import haversine_km
    from backend.services.matching import match_request, provider_is_remote
    from backend.services.places import resolve_city

    started = time.perf_counter()
    with temporary_app("demo") as app:
        rules = app.extensions["beckon.rules"]
        index = app.extensions["beckon.matching"]
        with app.app_context():
            seed_demo(db.session, rules)
            db.session.commit()
            seeded = time.perf_counter()
            stats = index.rebuild(db.session)
            built = time.perf_counter()
            providers = [
                (
                    p.id,
                    p.name,
                    {c.slug for c in p.categories},
                    p.lat,
                    p.lon,
                    p.radius_km,
                    provider_is_remote(p),
                )
                for p in db.session.scalars(select(Provider).where(Provider.active))
            ]
            names = {p[0]: (p[1], sorted(p[2])) for p in providers}
            requests = spread(demo_job_requests(), limit)
            scores, by_category, empty = Scores(), defaultdict(Scores), 0
            for item in requests:
                place = resolve_city(item["city"])
                relevant = {
                    pid
                    for pid, _, cats, lat, lon, radius, remote in providers
                    if item["category"] in cats
                    and (
                        remote or haversine_km(place.lat, place.lon, lat, lon) <= radius
                    )
                }
                if not relevant:
                    empty += 1
                    continue
                request = match_request(
                    item["text"],
                    city=item["city"],
                    lat=None,
                    lon=None,
                    start=None,
                    end=None,
                    limit=K_RANK,
                )
                ranked = [
                    r.provider.id for r in index.match(db.session, request, rules)
                ]
                own = scores.add(ranked, relevant)
                by_category[item["category"]].add(ranked, relevant)
                if own["capped precision@3"] < 1:
                    misses.append(
                        {
                            "source": "demo",
                            **item,
                            "relevant": len(relevant),
                            **own,
                            "top3": [
                                {
                                    "id": pid,
                                    "name": names[pid][0],
                                    "cats": names[pid][1],
                                }
                                for pid in ranked[:K_PRECISION]
                            ],
                        }
                    )
            matched = time.perf_counter()
    each = 1000 * (matched - built) / max(scores.requests, 1)
    print(
        f"demo: {len(providers)} providers seeded in {seeded - started:.1f} s; "
        f"index built in {built - seeded:.1f} s ({stats.encoded} texts encoded); "
        f"{scores.requests} requests matched in "
        f"{matched - built:.1f} s ({each:.0f} ms each); {empty} skipped "
        "(no relevant provider)"
    )
    report(
        "demo",
        scores,
        time.perf_counter() - started,
        providers=len(providers),
        skipped_requests=empty,
        by_category={k: v.summary() for k, v in sorted(by_category.items())},
    )


# ---------------------------------------------------------------- sgd


@dataclass(frozen=True)
class Kind:
    """One SGD service as a marketplace category."""

    slug: str
    title: str
    label: str
    name_key: str
    address_key: str


KINDS = {
    "Services_1": Kind(
        "hair-stylist",
        "Hair stylist",
        "hair stylist",
        "stylist_name",
        "street_address",
    ),
    "Services_2": Kind(
        "dentist",
        "Dentist",
        "dentist",
        "dentist_name",
        "address",
    ),
    "Services_3": Kind(
        "doctor",
        "Doctor",
        "doctor",
        "doctor_name",
        "street_address",
    ),
}
FILTER_SLOTS = ("type", "is_unisex", "offers_cosmetic_services")


def slug_of(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class SgdProvider:
    id: int
    service: str
    name: str
    city: str
    facts: dict[str, str]


@dataclass
class SgdRequest:
    dialogue: str
    service: str
    text: str
    city: str
    slots: dict[str, str]
    lat: float = 0.0
    lon: float = 0.0
    relevant: set[int] = field(default_factory=set)


def load_dialogues() -> list[dict]:
    with gzip.open(SGD_FILE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def sgd_providers(dialogues: list[dict]) -> list[SgdProvider]:
    """Unique providers (service, name, city) among the system turns' results."""
    found: dict[tuple[str, str, str], SgdProvider] = {}
    for dialogue in dialogues:
        for turn in dialogue["turns"]:
            if turn["speaker"] != "SYSTEM":
                continue
            for frame in turn["frames"]:
                kind = KINDS.get(frame["service"])
                for result in frame.get("service_results", []):
                    if kind is None or "city" not in result:
                        continue  # booking results carry no city
                    key = (frame["service"], result[kind.name_key], result["city"])
                    if key not in found:
                        found[key] = SgdProvider(
                            len(found) + 1, key[0], key[1], key[2], dict(result)
                        )
    return list(found.values())


def catalogue_record(provider: SgdProvider) -> dict:
    """The provider as an operator's catalogue line would give it: the kind as
    its category, the city and state, the phone as written in the data
    (national format), and the data's facts (doctor type, unisex, cosmetic
    services) as attributes, not as words in a description."""
    kind, facts = KINDS[provider.service], provider.facts
    record = {
        "external_id": f"sgd-{provider.id}",
        "name": provider.name,
        "categories": [kind.title],
        "city": f"{provider.city}, CA",
        "timezone": "America/Los_Angeles",
    }
    if facts.get(kind.address_key):
        address = facts[kind.address_key]
        record["description"] = f"{kind.title} at {address}, {provider.city}."
        record["address"] = address
    if facts.get("phone_number"):
        record["phone"] = facts["phone_number"]
    if facts.get("average_rating"):
        record["rating"] = round(float(facts["average_rating"]), 1)
    if facts.get("type"):
        record["speciality"] = facts["type"]
    for flag in ("is_unisex", "offers_cosmetic_services"):
        if flag in facts:
            record[flag] = facts[flag] == "True"
    return record


def city_spellings(dialogues: list[dict], known: set[str]) -> dict[str, str]:
    """Case-folded spellings of a city ("SF", "san fran") -> the providers' name.

    Learnt from the annotations: a city slot lists the surface forms of one city,
    so a form that shares a list with exactly one known name is that city.
    """
    folded = {city.casefold(): city for city in known}
    votes: defaultdict[str, Counter] = defaultdict(Counter)
    for dialogue in dialogues:
        for turn in dialogue["turns"]:
            for frame in turn["frames"]:
                values = (frame.get("slot_values") or {}).get("city") or []
                named = {folded[v.casefold()] for v in values if v.casefold() in folded}
                if len(named) == 1:
                    city = named.pop()
                    for value in values:
                        votes[value.casefold()][city] += 1
    spellings = {alias: count.most_common(1)[0][0] for alias, count in votes.items()}
    return spellings | folded


def sgd_requests(
    dialogues: list[dict],
    cities: dict[str, str],
    skipped: Counter,
    *,
    conversation: bool = False,
) -> list[SgdRequest]:
    """User turns looking for a provider in a city, deduplicated.

    ``cities`` maps a case-folded spelling of a city to the providers' name for
    it; a turn whose city is none of them has no relevant provider: skipped.
    The text is what the user said for this need (a new service or doctor type
    starts afresh, as an assistant's form would), or with ``conversation``
    everything they said so far: the latest need and place must win over the
    earlier ones.
    """
    seen: set[tuple] = set()
    out = []
    for dialogue in dialogues:
        said: list[str] = []
        need: tuple[str | None, str | None] = (None, None)  # (service, doctor type)
        for turn in dialogue["turns"]:
            if turn["speaker"] != "USER":
                continue
            # What an assistant gathers for one request: a new service, or another
            # doctor type, starts a new request (its form is filled afresh).
            for frame in turn["frames"]:
                if frame.get("active_intent") != "FindProvider":
                    continue
                kind = (frame.get("slot_values") or {}).get("type", [None])[-1]
                service_changed = need[0] is not None and frame["service"] != need[0]
                type_changed = bool(kind and need[1] and kind != need[1])
                if (service_changed or type_changed) and not conversation:
                    said = []
                need = (
                    frame["service"],
                    kind or (None if service_changed else need[1]),
                )
            said.append(turn["utterance"].strip())
            for frame in turn["frames"]:
                values = frame.get("slot_values") or {}
                if frame.get("active_intent") != "FindProvider" or not values.get(
                    "city"
                ):
                    continue
                city = next(
                    (
                        cities[v.casefold()]
                        for v in values["city"]
                        if v.casefold() in cities
                    ),
                    None,
                )
                if city is None:
                    skipped["city with no provider in the data"] += 1
                    continue
                slots = {
                    name: values[name][-1] for name in FILTER_SLOTS if values.get(name)
                }
                text = " ".join(said)
                key = (frame["service"], text, city, tuple(sorted(slots.items())))
                if key in seen:
                    skipped["duplicate (text, slots)"] += 1
                    continue
                seen.add(key)
                out.append(
                    SgdRequest(
                        dialogue["dialogue_id"], frame["service"], text, city, slots
                    )
                )
    return out


def satisfies(provider: SgdProvider, request: SgdRequest) -> bool:
    return (
        provider.service == request.service
        and provider.city == request.city
        and all(
            provider.facts.get(name, "").casefold() == value.casefold()
            for name, value in request.slots.items()
        )
    )


def fine_category(request: SgdRequest) -> str:
    """The request's kind at its finest: a doctor type when one was asked for."""
    if request.slots.get("type"):
        return slug_of(request.slots["type"])
    return KINDS[request.service].slug


@dataclass
class SgdMarket:
    """The SGD providers imported into a marketplace, and the requests for them."""

    matcher: object  # matching.matcher.Matcher
    by_id: dict[int, SgdProvider]  # database id -> provider
    refused: Counter  # providers the import refused, by reason
    places: dict[str, object]  # city as said -> Place (None: unknown)
    clause_vectors: dict[str, np.ndarray]


def load_sgd_market(dialogues, providers, request_sets) -> SgdMarket:
    """Import the catalogue through the real JSONL import, index it as the app
    does, and embed every sentence of every request (cached on disk)."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.models import Provider
    from backend.services.errors import Invalid
    from backend.services.places import place_from
    from backend.services.providers import (
        ensure_default_categories,
        import_providers,
        served_by,
    )
    from matching.matcher import split_clauses

    by_external = {f"sgd-{p.id}": p for p in providers}
    with temporary_app("sgd") as app:
        index = app.extensions["beckon.matching"]
        with app.app_context():
            ensure_default_categories(db.session)
            result = import_providers(
                db.session,
                [json.dumps(catalogue_record(p)) for p in providers],
                skip_invalid=True,
                region=app.config["DEFAULT_REGION"],
            )
            db.session.commit()
            refused = Counter(
                re.sub(r"'[^']*'", "'...'", e["message"]) for e in result.errors
            )
            index.rebuild(db.session)
            by_id = {
                pid: by_external[ext]
                for pid, ext in db.session.execute(
                    select(Provider.id, Provider.external_id)
                )
                if ext in by_external
            }
            matcher = index.matcher
            clauses = sorted(
                {c for rs in request_sets for r in rs for c in split_clauses(r.text)}
            )
            vectors, _ = matcher.embed(clauses)
            matcher.cache.save()
            index.save()
            places, served = {}, served_by(db.session)
            for city in sorted({r.city for rs in request_sets for r in rs}):
                try:  # as the customer says it: no state
                    places[city] = place_from(city, served=served)
                except Invalid:
                    places[city] = None
    return SgdMarket(
        matcher, by_id, refused, places, dict(zip(clauses, vectors, strict=True))
    )


def rank_sgd(market: SgdMarket, request: SgdRequest) -> list:
    """The matcher's top ten for a request, as the app's match path ranks them
    (the request's place resolved from the city as said; no availability)."""
    from backend.services.matching import named_town
    from matching.matcher import split_clauses
    from matching.ranking import MatchQuery

    place = market.places[request.city]
    if place is None:
        return []  # the API answers 422 unknown_place
    matcher = market.matcher
    need = matcher.read_need(
        np.array([market.clause_vectors[c] for c in split_clauses(request.text)])
    )
    query = MatchQuery(
        request.text, place.lat, place.lon, limit=K_RANK, town=named_town(place)
    )
    return matcher.finish(matcher.search_vector(need, query), query)


def sgd_relevance(market: SgdMarket, requests: list[SgdRequest], skipped: Counter):
    """Keep the requests some imported provider satisfies, with their relevant ids."""
    kept = []
    for request in requests:
        request.relevant = {
            pid for pid, p in market.by_id.items() if satisfies(p, request)
        }
        if request.relevant:
            kept.append(request)
        else:
            skipped["no imported provider satisfies the slots"] += 1
    return kept


def score_sgd(market, name, requests, misses) -> None:
    """Match every request; one report line, with figures per fine category."""
    started = time.perf_counter()
    scores, by_kind = Scores(), defaultdict(Scores)
    for request in requests:
        ranked = rank_sgd(market, request)
        ids = [m.provider_id for m in ranked]
        own = scores.add(ids, request.relevant)
        by_kind[fine_category(request)].add(ids, request.relevant)
        if own["capped precision@3"] < 1:
            misses.append(
                {
                    "source": name,
                    "dialogue": request.dialogue,
                    "category": fine_category(request),
                    "text": request.text,
                    "city": request.city,
                    "slots": request.slots,
                    "relevant": len(request.relevant),
                    **own,
                    "top3": [
                        {
                            "name": market.by_id[m.provider_id].name,
                            "service": KINDS[market.by_id[m.provider_id].service].slug,
                            "city": market.by_id[m.provider_id].city,
                            **{
                                k: market.by_id[m.provider_id].facts[k]
                                for k in FILTER_SLOTS
                                if k in market.by_id[m.provider_id].facts
                            },
                            "score": round(m.score, 3),
                            "reasons": m.reasons,
                            "relevant": m.provider_id in request.relevant,
                        }
                        for m in ranked[:K_PRECISION]
                    ],
                }
            )
    unknown = sum(1 for r in requests if market.places[r.city] is None)
    report(
        name,
        scores,
        time.perf_counter() - started,
        unknown_place=unknown,
        by_category={k: v.summary() for k, v in sorted(by_kind.items())},
        data=SGD_CREDIT,
    )


#: what the leave-one-category-out check tunes, and the values it tries
TUNED = {
    "facet_fit": (0.5, 1.0, 1.5),
    "facet_floor": (0.2, 0.3, 0.4),
    "town": (0.05, 0.15, 0.3),
    "suitable_margin": (0.1, 0.2),
    "earlier_need": (0.1, 0.2, 0.35),
    "need_change": (0.1, 0.2),
}


def leave_out_categories(market: SgdMarket, requests: list[SgdRequest]) -> None:
    """For each fine category, choose the weights on the other categories'
    requests only, then measure precision@3 on that category's: figures for
    categories whose requests never tuned the ranking."""
    import itertools

    matcher = market.matcher
    defaults = matcher.weights
    categories = [fine_category(r) for r in requests]
    names = sorted(set(categories))
    combos = [
        dict(zip(TUNED, values, strict=True))
        for values in itertools.product(*TUNED.values())
    ]
    in_grid = len(combos)
    default_combo = {name: getattr(defaults, name) for name in TUNED}
    if default_combo not in combos:
        combos.append(default_combo)  # scored beside the grid, never chosen
    started = time.perf_counter()
    hits = np.zeros((len(combos), len(requests)))  # precision@3 per request
    for c, combo in enumerate(combos):
        matcher.weights = replace(defaults, **combo)
        for i, request in enumerate(requests):
            top = [m.provider_id for m in rank_sgd(market, request)[:K_PRECISION]]
            hits[c, i] = sum(pid in request.relevant for pid in top) / K_PRECISION
    # what a perfect ranking could score: min(3, relevant providers) / 3
    ceiling = np.array(
        [min(K_PRECISION, len(r.relevant)) / K_PRECISION for r in requests]
    )
    matcher.weights = defaults
    default_row = combos.index(default_combo)
    mask = {name: np.array([c == name for c in categories]) for name in names}
    rows = []
    for name in names:
        inside = mask[name]
        best = int(np.argmax(hits[:in_grid, ~inside].mean(axis=1)))
        rows.append(
            {
                "left_out": name,
                "requests": int(inside.sum()),
                "precision@3 tuned without it": round(hits[best, inside].mean(), 4),
                "capped precision@3 tuned without it": round(
                    (hits[best, inside] / ceiling[inside]).mean(), 4
                ),
                "ceiling": round(ceiling[inside].mean(), 4),
                "precision@3 with the defaults": round(
                    hits[default_row, inside].mean(), 4
                ),
                "precision@3 if tuned on it too": round(
                    hits[:in_grid, inside].mean(axis=1).max(), 4
                ),
                "weights chosen": combos[best],
            }
        )
    for row in rows:
        print(
            f"left out {row['left_out']:<22} requests {row['requests']:>5}  "
            f"precision@3 {row['precision@3 tuned without it']:.3f} tuned without "
            f"it (capped {row['capped precision@3 tuned without it']:.3f}, ceiling "
            f"{row['ceiling']:.3f}), {row['precision@3 with the defaults']:.3f} "
            f"with the defaults, {row['precision@3 if tuned on it too']:.3f} at "
            f"best  {row['weights chosen']}"
        )
    held = [r["precision@3 tuned without it"] for r in rows]
    capped = [r["capped precision@3 tuned without it"] for r in rows]
    print(
        json.dumps(
            {
                "source": "sgd leave-out-category",
                "categories": len(rows),
                "mean precision@3 (left out)": round(float(np.mean(held)), 4),
                "min precision@3 (left out)": round(float(np.min(held)), 4),
                "mean capped precision@3 (left out)": round(float(np.mean(capped)), 4),
                "min capped precision@3 (left out)": round(float(np.min(capped)), 4),
                "combinations": len(combos),
                "seconds": round(time.perf_counter() - started, 1),
                "rows": rows,
            }
        )
    )


def run_sgd(limit: int | None, misses: list[dict], leave_out: bool = False) -> None:
    """Import the SGD providers as a catalogue and match the user turns."""
    started = time.perf_counter()
    dialogues = load_dialogues()
    providers = sgd_providers(dialogues)
    cities = city_spellings(dialogues, {p.city for p in providers})
    skipped: Counter = Counter()
    per_need = spread(sgd_requests(dialogues, cities, skipped), limit)
    conversation = spread(
        sgd_requests(dialogues, cities, Counter(), conversation=True), limit
    )
    market = load_sgd_market(dialogues, providers, [per_need, conversation])
    loaded = time.perf_counter()
    per_need = sgd_relevance(market, per_need, skipped)
    conversation = sgd_relevance(market, conversation, Counter())
    print(f"sgd data: {SGD_CREDIT}")
    print(
        f"sgd: {len(dialogues)} dialogues; {len(providers)} providers in the data, "
        f"{len(market.by_id)} imported, refused: {dict(market.refused) or 'none'}; "
        f"cities unknown: "
        f"{sorted(c for c, p in market.places.items() if p is None) or 'none'}; "
        f"{len(per_need)} requests per need, {len(conversation)} as whole "
        f"conversations; skipped: {dict(skipped) or 'none'} "
        f"(loaded in {loaded - started:.1f} s)"
    )
    score_sgd(market, "sgd", per_need, misses)
    score_sgd(market, "sgd-conversation", conversation, misses)
    if leave_out:
        leave_out_categories(market, spread(conversation, 1500))


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("demo", "sgd", "all"), default="all")
    parser.add_argument(
        "--limit", type=int, default=None, help="requests per source, evenly spread"
    )
    parser.add_argument(
        "--misses", type=Path, default=None, help="write missed requests (JSON lines)"
    )
    parser.add_argument(
        "--leave-out-category",
        action="store_true",
        help="for each SGD category, tune the ranking on the others and measure it",
    )
    args = parser.parse_args()
    # Before the app configures logging at INFO: keep the output to the figures.
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    misses: list[dict] = []
    if args.source in ("demo", "all"):
        run_demo(args.limit, misses)
    if args.source in ("sgd", "all"):
        run_sgd(args.limit, misses, args.leave_out_category)
    if args.misses:
        args.misses.parent.mkdir(parents=True, exist_ok=True)
        args.misses.write_text("".join(json.dumps(m) + "\n" for m in misses))
        print(f"{len(misses)} missed requests written to {args.misses}")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
