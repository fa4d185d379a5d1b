"""Match quality: how often the matcher puts the right providers first.

Prints precision@3, capped precision@3 (hits in the top 3 / min(3, relevant
providers that exist)), recall@10 and nDCG@10 (binary relevance), with the
number of requests, for two sources; one line and one JSON line per source:

- ``demo``: the seeded demo marketplace, built for real (temporary SQLite
  database, the Flask app, ``seed_demo``) and matched through
  ``MatchingIndex.match`` with the labelled ``demo_job_requests()``. The category
  is never passed: the text must do the work. Relevant = the provider has the
  expected category and covers the request's city (or works remotely).
- ``sgd``: Google's Schema-Guided Dialogue, Services_1/2/3 (hair stylists,
  dentists, doctors). Providers are the services' search results, turned into
  profiles as a marketplace would; requests are the user turns looking for a
  provider in a city, with what the user said for this need (a new service
  or doctor type starts a new request, as an assistant's form would). Relevant = a
  provider of that service in that city satisfying the turn's other slots.
  Cities are resolved as "<city>, CA" (all of SGD's are in the Bay Area; bare
  "Dublin" is in Ireland); the annotators' spellings ("SF", "San Fran") are
  mapped to the providers' city names through the slot annotations.

Data: Schema-Guided Dialogue by Google Research
(github.com/google-research-datasets/dstc8-schema-guided-dialogue), licensed
CC BY-SA 4.0; read from ../shared/data/sgd/ beside the checkout (or $BECKON_SGD_FILE).

Embeddings are cached under ``var/bench/`` (gitignored), so a second run only
encodes what changed. Run from the repository root:

    .venv/bin/python benchmarks/match_quality.py [--source demo|sgd|all]
        [--limit N] [--misses FILE]
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
from dataclasses import dataclass, field
from pathlib import Path

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


def run_demo(limit: int | None, misses: list[dict]) -> None:
    """Seed the demo marketplace in a temporary database and match its requests."""
    from sqlalchemy import select

    from backend.app import create_app
    from backend.config import Config
    from backend.demo import demo_job_requests
    from backend.extensions import db
    from backend.migrate import upgrade
    from backend.models import Provider
    from backend.seed import seed_demo
    from backend.services.matching import match_request, provider_is_remote
    from backend.services.places import haversine_km, resolve_city

    started = time.perf_counter()
    cache = BENCH_DIR / "demo" / "embeddings.npz"
    workdir = Path(tempfile.mkdtemp(prefix="beckon-match-quality-"))
    try:
        # The app's index lives in the temporary data directory; seeding it with
        # the cached vectors means only changed profile texts are encoded.
        (workdir / "index").mkdir()
        if cache.exists():
            shutil.copy(cache, workdir / "index" / "embeddings.npz")
        url = f"sqlite:///{workdir / 'demo.sqlite3'}"
        upgrade(url)
        app = create_app(
            Config.from_env(
                DATABASE_URL=url, DATA_DIR=workdir, MODEL_CACHE_DIR=MODEL_CACHE
            )
        )
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
            scores, empty = Scores(), 0
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
        if (workdir / "index" / "embeddings.npz").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(workdir / "index" / "embeddings.npz", cache)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
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
    )


# ---------------------------------------------------------------- sgd


@dataclass(frozen=True)
class Kind:
    """One SGD service as a marketplace category."""

    slug: str
    title: str
    label: str
    gloss: str  # the category's description, in the data's own words
    name_key: str
    address_key: str


KINDS = {
    "Services_1": Kind(
        "hair-stylist",
        "Hair stylist",
        "hair stylist",
        "hair stylists and salons",
        "stylist_name",
        "street_address",
    ),
    "Services_2": Kind(
        "dentist",
        "Dentist",
        "dentist",
        "dentists and dental care",
        "dentist_name",
        "address",
    ),
    "Services_3": Kind(
        "doctor",
        "Doctor",
        "doctor",
        "doctors and medical care",
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


def profile_for(provider: SgdProvider, lat: float, lon: float):
    """The provider as a marketplace profile: headline, facts, categories."""
    from matching.ranking import ProviderProfile

    kind, facts = KINDS[provider.service], provider.facts
    doctor_type = facts.get("type")
    what = f"{kind.title}: {doctor_type}" if doctor_type else kind.title
    sentences = [
        f"{kind.title} ({doctor_type})" if doctor_type else kind.title,
        f"in {provider.city}.",
    ]
    if facts.get(kind.address_key):
        sentences.append(f"Address: {facts[kind.address_key]}, {provider.city}.")
    if facts.get("average_rating"):
        sentences.append(f"Average rating {float(facts['average_rating']):.1f}.")
    if facts.get("is_unisex") == "True":
        sentences.append("Unisex salon.")
    if facts.get("offers_cosmetic_services") == "True":
        sentences.append("Offers cosmetic services.")
    if doctor_type:
        sentences.append(f"Type: {doctor_type}.")
    return ProviderProfile(
        id=provider.id,
        headline=f"{provider.name}. {what}",
        text=" ".join(sentences),
        categories=(kind.slug, slug_of(doctor_type)) if doctor_type else (kind.slug,),
        category_labels=(doctor_type.lower(),) if doctor_type else (kind.label,),
        lat=lat,
        lon=lon,
        radius_km=10.0,
        rating=float(facts.get("average_rating") or 0.0),
        review_count=int(facts.get("review_count") or 0),
    )


def category_texts(providers: list[SgdProvider]) -> dict[str, str]:
    """One descriptive text per category, from the data's own vocabulary."""
    texts = {k.slug: f"{k.title}: {k.gloss}" for k in KINDS.values()}
    for doctor_type in sorted(
        {p.facts["type"] for p in providers if "type" in p.facts}
    ):
        texts[slug_of(doctor_type)] = f"{doctor_type}: {doctor_type.lower()} doctors"
    return texts


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
    dialogues: list[dict], cities: dict[str, str], skipped: Counter
) -> list[SgdRequest]:
    """User turns looking for a provider in a city, deduplicated.

    ``cities`` maps a case-folded spelling of a city to the providers' name for
    it; a turn whose city is none of them has no relevant provider: skipped.
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
                if service_changed or type_changed:
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


def run_sgd(limit: int | None, misses: list[dict]) -> None:
    """Index the SGD providers with a :class:`Matcher` and match the user turns."""
    from backend.services.errors import Invalid
    from backend.services.places import resolve_city, use_cache_dir
    from matching.encoder import load_encoder
    from matching.matcher import Matcher
    from matching.ranking import MatchQuery

    started = time.perf_counter()
    use_cache_dir(MODEL_CACHE)  # the places store beside the model, as the app's
    dialogues = load_dialogues()
    found = sgd_providers(dialogues)
    places, unresolved = {}, Counter()
    for city in sorted({p.city for p in found}):
        try:  # all SGD cities are in California: "Dublin" is not in Ireland
            places[city] = resolve_city(f"{city}, CA")
        except Invalid:
            unresolved[city] = 0
    providers = [p for p in found if p.city in places]
    for p in found:
        if p.city in unresolved:
            unresolved[p.city] += 1
    profiles = [
        profile_for(p, places[p.city].lat, places[p.city].lon) for p in providers
    ]

    skipped: Counter = Counter()
    cities = city_spellings(dialogues, {p.city for p in found})
    requests = []
    for request in sgd_requests(dialogues, cities, skipped):
        if request.city not in places:
            skipped["city not resolved"] += 1
            continue
        request.lat, request.lon = places[request.city].lat, places[request.city].lon
        request.relevant = {p.id for p in providers if satisfies(p, request)}
        if not request.relevant:
            skipped["no provider satisfies the slots"] += 1
            continue
        requests.append(request)
    requests = spread(requests, limit)
    loaded = time.perf_counter()

    directory = BENCH_DIR / "sgd"
    directory.mkdir(parents=True, exist_ok=True)
    matcher = Matcher(load_encoder(cache_dir=MODEL_CACHE), directory=directory)
    matcher.set_categories(category_texts(providers))
    stats = matcher.rebuild(profiles)
    built = time.perf_counter()
    # Matcher.search encodes the text and calls search_vector; the vectors are
    # taken through the embedding cache instead, so a second run encodes nothing.
    vectors, encoded = matcher.embed([r.text for r in requests])
    matcher.cache.save()
    embedded = time.perf_counter()

    by_id = {p.id: p for p in providers}
    scores, by_kind = Scores(), defaultdict(Scores)
    for request, vector in zip(requests, vectors, strict=True):
        query = MatchQuery(request.text, request.lat, request.lon, limit=K_RANK)
        ranked = matcher.finish(
            matcher.search_vector(vector, query, pool=K_RANK), query
        )
        ids = [m.provider_id for m in ranked]
        own = scores.add(ids, request.relevant)
        by_kind[KINDS[request.service].slug].add(ids, request.relevant)
        if own["capped precision@3"] < 1:
            misses.append(
                {
                    "source": "sgd",
                    "dialogue": request.dialogue,
                    "service": KINDS[request.service].slug,
                    "text": request.text,
                    "city": request.city,
                    "slots": request.slots,
                    "relevant": len(request.relevant),
                    **own,
                    "top3": [
                        {
                            "name": by_id[m.provider_id].name,
                            "service": KINDS[by_id[m.provider_id].service].slug,
                            "city": by_id[m.provider_id].city,
                            **{
                                k: by_id[m.provider_id].facts[k]
                                for k in FILTER_SLOTS
                                if k in by_id[m.provider_id].facts
                            },
                            "score": round(m.score, 3),
                            "relevant": m.provider_id in request.relevant,
                        }
                        for m in ranked[:K_PRECISION]
                    ],
                }
            )
    matched = time.perf_counter()
    print(f"sgd data: {SGD_CREDIT}")
    print(
        f"sgd: {len(dialogues)} dialogues; {len(providers)} providers indexed, "
        f"{sum(unresolved.values())} skipped (city not resolved: "
        f"{', '.join(sorted(unresolved)) or 'none'}); {len(requests)} requests used, "
        f"skipped: {dict(skipped) or 'none'}"
    )
    print(
        f"sgd: loaded in {loaded - started:.1f} s; index built in "
        f"{built - loaded:.1f} s ({stats.encoded} texts encoded); "
        f"{len(requests)} requests embedded in {embedded - built:.1f} s "
        f"({encoded} encoded); matched in {matched - embedded:.1f} s"
    )
    report(
        "sgd",
        scores,
        time.perf_counter() - started,
        providers=len(providers),
        skipped_providers=sum(unresolved.values()),
        skipped_requests=dict(skipped),
        by_category={k: v.summary() for k, v in sorted(by_kind.items())},
        data=SGD_CREDIT,
    )


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
    args = parser.parse_args()
    # Before the app configures logging at INFO: keep the output to the figures.
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    misses: list[dict] = []
    if args.source in ("demo", "all"):
        run_demo(args.limit, misses)
    if args.source in ("sgd", "all"):
        run_sgd(args.limit, misses)
    if args.misses:
        args.misses.parent.mkdir(parents=True, exist_ok=True)
        args.misses.write_text("".join(json.dumps(m) + "\n" for m in misses))
        print(f"{len(misses)} missed requests written to {args.misses}")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
