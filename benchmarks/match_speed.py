"""Matching speed, memory and recall at catalogue sizes from 10k to 1M providers.

For each size N the matcher builds the index it would build (the kind from
``choose_kind`` unless ``--kind``), and this measures:

- the build: seconds, peak RSS (VmHWM, reset before the build) and its increase
  over the RSS before it, index size in total and per provider;
- ``recall_at_10`` of the index against exact search (``faiss.IndexFlatIP`` on
  the same vectors) for query vectors of request texts in people's words (the
  labelled ``demo_job_requests()`` and variations of them); a hit tied with the
  exact 10th score counts as found; ``recall_at_10_strict`` compares ids only;
- single-request latency, one request at a time after a warm-up: end to end
  (``Matcher.search`` + ``finish``: encode, search, filter, rank, explain) next
  to the raw model encode of the same texts (``encoder.encode([text])``:
  tokenize + ONNX ``session.run``), interleaved; p50/p99 and ``ratio_p50``;
  with diagnostics: the match without the encode, the index search alone
  (over the shards that can serve the request's place) and how many shards a
  request searches;
- catalogue encode throughput (once per run): ``Matcher.profile_vectors`` on
  real profiles with an empty cache against ``encoder.encode`` on the same texts
  with the same batch size.

Providers are the demo marketplace's (``backend.demo.demo_provider_records``,
2,000 per seed, renumbered), made into profiles as
``backend.services.matching.profile_of`` does, in the ten demo cities at their
own coordinates; requests carry a demo city's coordinates. Up to 100k the
vectors are real embeddings (``Matcher.profile_vectors``), cached per seed
under ``var/bench/speed/`` (gitignored) so re-runs skip encoding: encoding runs
at some 27 profiles/s on one thread here, so 100k takes about an hour once.
Above 100k they are synthetic: row i is the real vector (i mod 100k) plus
Gaussian noise with the real vectors' own covariance, renormalised, its length
fitted so the synthetic set's nearest-neighbour distance is what the real
data's trend with size predicts at N (the JSON line says how its vectors were
made, with both distances). ``--synthetic-from 10000 --sizes 20000`` exercises
that path at a small size.

Everything runs on one thread (ONNX Runtime, FAISS, BLAS), as a web or worker
process does. Run from the repository root on a quiet machine:

    .venv/bin/python benchmarks/match_speed.py
    .venv/bin/python benchmarks/match_speed.py --sizes 10k,100k --kind hnsw \\
        --params '{"ef_search": 256}' --out benchmarks/results/match_speed.jsonl

Prints one JSON line per size (progress goes to stderr), then a summary whose
lines start with ``#``.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import gc
import hashlib
import json
import logging
import math
import os
import platform
import random
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from backend.catalogue import DEFAULT_CATEGORIES
from backend.demo import DEMO_CITIES, demo_job_requests, demo_provider_records
from backend.services.matching import kinds_of
from matching.encoder import Encoder, load_encoder
from matching.index import KINDS, IndexParams
from matching.matcher import Matcher
from matching.ranking import MatchQuery, ProviderProfile

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "var" / "bench"
MODEL_CACHE = BENCH_DIR / "models"
VECTOR_CACHE = BENCH_DIR / "speed"
CHUNK = 2_000  # providers per demo seed (the demo's phone pools allow ~2,300)
PROFILE_VERSION = 1  # bump when the profile texts change: old vectors are stale
REAL_UP_TO = 100_000
TARGETS = {
    "recall_at_10": 0.98,  # at 100k and 1M
    "ratio_p50": 1.3,  # at 100k
    "index_mb": 1024,  # at 1M
    "encode_throughput_ratio": 0.9,
}

log = logging.getLogger("match_speed")
CATEGORIES = {c.slug: c for c in DEFAULT_CATEGORIES}
CITIES = {c.name: c for c in DEMO_CITIES}


# ---------------------------------------------------------------- memory


def memory_mb() -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of this process, in MiB."""
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return out


def release_free_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc), so the
    RSS before a build counts live memory only."""
    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@contextmanager
def peak_rss() -> Iterator[dict[str, Any]]:
    """Peak RSS over the block: VmHWM after a reset, else sampled every 10 ms."""
    release_free_memory()
    result: dict[str, Any] = {"rss_before_mb": memory_mb()["VmRSS"]}
    exact = reset_peak()
    stop = threading.Event()
    sampled = [result["rss_before_mb"]]

    def sample() -> None:
        while not stop.wait(0.01):
            sampled.append(memory_mb()["VmRSS"])

    sampler = None
    if not exact:
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    try:
        yield result
    finally:
        stop.set()
        if sampler is not None:
            sampler.join()
        now = memory_mb()
        peak = now["VmHWM"] if exact else max(*sampled, now["VmRSS"])
        result.update(
            peak_rss_mb=round(peak, 1),
            peak_rss_increase_mb=round(peak - result["rss_before_mb"], 1),
            rss_after_mb=round(now["VmRSS"], 1),
            rss_before_mb=round(result["rss_before_mb"], 1),
            peak_method="VmHWM reset" if exact else "VmRSS sampled every 10 ms",
        )


# ---------------------------------------------------------------- providers


def profile_of_record(pid: int, record: dict[str, Any]) -> ProviderProfile:
    """A demo import record as the matcher sees it, as ``profile_of`` makes it."""
    categories = [CATEGORIES[slug] for slug in record["categories"]]
    services = record.get("services") or []
    headline = ". ".join(
        part
        for part in (
            record["name"],
            ", ".join(c.name for c in categories),
            ", ".join(s["name"] for s in services),
        )
        if part
    )
    attrs = record.get("attributes") or {}
    extras = [
        f"{key.replace('_', ' ')}: {value}"
        for key, value in attrs.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    extras += [key.replace("_", " ") for key, value in attrs.items() if value is True]
    languages = [lang for lang in record.get("languages") or () if lang != "en"]
    text = (
        " ".join(
            part
            for part in (
                record.get("description") or "",
                ("Also: " + ", ".join(extras) + ".") if extras else "",
                ("Languages: " + ", ".join(languages) + ".") if languages else "",
            )
            if part
        )
        or headline
    )
    prices = [s["price_cents"] for s in services if s.get("price_cents")]
    remote = bool(services) and all(s["mode"] == "remote" for s in services)
    return ProviderProfile(
        id=pid,
        text=text,
        headline=headline,
        categories=tuple(c.slug for c in categories),
        category_labels=tuple(label_of(c) for c in categories),
        lat=float(record["lat"]),
        lon=float(record["lon"]),
        radius_km=float(record["radius_km"]),
        remote=remote,
        active=True,
        verified=bool(record.get("verified")),
        rating=float(record.get("rating") or 0.0),
        review_count=int(record.get("review_count") or 0),
        price_cents=min(prices) if prices else None,
        languages=tuple(record.get("languages") or ("en",)),
        licensed=bool(attrs.get("licensed")),
        insured=bool(attrs.get("insured")),
        town="" if remote else town_label(CITIES[record["city"]]),
        facets=kinds_of(
            attrs,
            label_of(categories[0]),
            [c.name for c in categories],
            [
                (s["name"], label_of(CATEGORIES[s["category"]]))
                if s.get("category")
                else (s["name"], "")
                for s in services
            ],
        ),
    )


def label_of(category) -> str:
    return category.synonyms[0] if category.synonyms else category.name.lower()


def town_label(city) -> str:
    """A demo city as the gazetteer labels it ("Chicago, IL")."""
    return f"{city.name}, {city.state}"


def category_texts() -> dict[str, str]:
    """The categories in the catalogue's words, as the backend gives the matcher."""
    return {
        c.slug: f"{c.name}: {c.description} ({', '.join(c.synonyms)})"
        for c in DEFAULT_CATEGORIES
    }


def chunks(n: int, seed: int) -> list[tuple[int, int]]:
    """(demo seed, count) per block of providers: the first blocks of every N
    are the same, so smaller sizes' cached vectors are reused by larger ones."""
    return [
        (seed + i, min(CHUNK, n - start)) for i, start in enumerate(range(0, n, CHUNK))
    ]


def real_profiles(n: int, seed: int) -> list[ProviderProfile]:
    """``n`` demo providers with ids 1..n."""
    profiles: list[ProviderProfile] = []
    for chunk_seed, count in chunks(n, seed):
        records = demo_provider_records(count, chunk_seed)
        first = len(profiles) + 1
        profiles.extend(profile_of_record(first + i, r) for i, r in enumerate(records))
    return profiles


def _cache_tag(encoder: Encoder) -> str:
    key = f"{encoder.name}|profiles-v{PROFILE_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def real_vectors(
    profiles: Sequence[ProviderProfile], seed: int, encoder: Encoder
) -> tuple[np.ndarray, int]:
    """Provider vectors by ``Matcher.profile_vectors``, cached per demo seed.

    Returns the vectors and how many providers had to be encoded now."""
    VECTOR_CACHE.mkdir(parents=True, exist_ok=True)
    tag = _cache_tag(encoder)
    parts, encoded, start = [], 0, 0
    plan = chunks(len(profiles), seed)
    for number, (chunk_seed, count) in enumerate(plan, 1):
        path = VECTOR_CACHE / f"vectors-s{chunk_seed}-n{count}-{tag}.npy"
        block = profiles[start : start + count]
        start += count
        if path.exists():
            parts.append(np.load(path))
            continue
        began = time.perf_counter()
        vectors, _ = Matcher(encoder).profile_vectors(block)  # an empty cache
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        os.replace(tmp, path)
        parts.append(vectors)
        encoded += count
        log.info(
            "encoded demo seed %d (%d/%d): %d profiles in %.1f s",
            chunk_seed,
            number,
            len(plan),
            count,
            time.perf_counter() - began,
        )
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32), encoded


def median_nn(vectors: np.ndarray, seed: int, sample: int = 1000) -> float:
    """Median distance from sampled rows to their nearest other row (exact);
    exact duplicates left out."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(vectors), min(sample, len(vectors)), replace=False)
    sims, labels = exact_search(vectors, vectors[rows], 2)
    other = np.where(labels[:, 0] == rows, sims[:, 1], sims[:, 0])
    distances = np.sqrt(np.clip(2 - 2 * other, 0, None))
    distances = distances[distances > 1e-4]
    return float(np.median(distances)) if len(distances) else 0.0


def noisy_copies(base: np.ndarray, n: int, seed: int, length: float) -> np.ndarray:
    """Row i: ``base[i % len(base)]`` plus Gaussian noise with the covariance of
    ``base``, of expected length ``length``; renormalised."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    sample = base[rng.choice(len(base), min(len(base), 50_000), replace=False)]
    centred = (sample - sample.mean(axis=0)).astype(np.float64)
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred / len(sample))
    eigvals = np.clip(eigvals, 0, None)
    shape = (eigvecs * np.sqrt(eigvals)).T * (length / np.sqrt(eigvals.sum()))
    shape = shape.astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = base[np.arange(start, stop) % len(base)]
        block += rng.standard_normal((stop - start, dim), np.float32) @ shape
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out


def calibrate_noise(base: np.ndarray, n: int, seed: int) -> dict[str, float]:
    """The noise scale (in units of the real nearest-neighbour distance) that
    gives ``n`` synthetic vectors the nearest-neighbour distance the real data's
    own trend predicts at ``n``: measured from a tenth of the real vectors to
    all of them, extrapolated by decades, and fitted on a trial one tenth the
    size (a tenth of the real vectors grown by the same factor)."""
    rng = np.random.default_rng(seed + 1)
    tenth = base[rng.choice(len(base), max(len(base) // 10, 50), replace=False)]
    full_nn, tenth_nn = median_nn(base, seed), median_nn(tenth, seed)
    per_decade = full_nn / tenth_nn
    decades = math.log10(n / len(base))
    aim = tenth_nn * per_decade**decades
    trial_n = max(int(len(tenth) * n / len(base)), len(tenth) + 1)

    def trial(scale: float) -> float:
        return median_nn(noisy_copies(tenth, trial_n, seed, scale * tenth_nn), seed)

    # The synthetic nearest-neighbour distance grows about linearly with the
    # noise: two secant steps from scale 1 land within a few percent.
    s0, m0 = 1.0, trial(1.0)
    s1 = s0 * aim / m0
    m1 = trial(s1)
    if abs(m1 - m0) > 1e-6:
        s1 = max(0.05, s1 + (aim - m1) * (s1 - s0) / (m1 - m0))
    return {
        "noise_scale": round(s1, 4),
        "real_nn_median": round(full_nn, 4),
        "real_nn_median_tenth": round(tenth_nn, 4),
        "expected_nn_median_at_n": round(full_nn * per_decade**decades, 4),
    }


def synthetic_vectors(
    base: np.ndarray, n: int, seed: int, scale: float | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """``n`` distinct vectors keeping the real data's cluster structure:
    noisy copies of the real ones (see ``noisy_copies``), the noise calibrated
    by ``calibrate_noise`` unless ``scale`` is given."""
    if scale is None:
        info: dict[str, Any] = calibrate_noise(base, n, seed)
    else:
        info = {"noise_scale": scale, "real_nn_median": round(median_nn(base, seed), 4)}
    vectors = noisy_copies(base, n, seed, info["noise_scale"] * info["real_nn_median"])
    rows = np.arange(0, n, max(1, n // 2000))[:2000]
    cosine = np.einsum("ij,ij->i", vectors[rows], base[rows % len(base)])
    info = {
        "from_real": len(base),
        "method": (
            "row i = real vector (i mod from_real) + Gaussian noise with the real "
            "vectors' covariance, of expected length noise_scale x real_nn_median, "
            "renormalised; noise_scale fitted so the synthetic nearest-neighbour "
            "distance follows the real data's trend with size"
        ),
        **info,
        "synthetic_nn_median": round(median_nn(vectors, seed, 500), 4),
        "cosine_to_source_mean": round(float(cosine.mean()), 4),
    }
    return vectors, info


def synthetic_profiles(
    base: Sequence[ProviderProfile], n: int
) -> list[ProviderProfile]:
    """Profile i copies base profile (i mod len(base)) with id i + 1."""
    return [dataclasses.replace(base[i % len(base)], id=i + 1) for i in range(n)]


# ---------------------------------------------------------------- requests

PREFIXES = (
    "",
    "hi, ",
    "hello! ",
    "um ",
    "hey there, ",
    "quick question: ",
    "please help, ",
    "ok so ",
)
SUFFIXES = (
    "",
    " please",
    " asap",
    " in {city}",
    " this weekend",
    " today if possible",
    ", how much would that cost?",
    " thanks",
    " near downtown {city}",
)


def request_set(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` distinct (text, city) requests: the demo's labelled requests
    first, then variations of them with greetings, urgency and places."""
    rng = random.Random(seed)
    base = demo_job_requests(seed)
    out = [(r["text"], r["city"]) for r in base]
    seen = {text for text, _ in out}
    variants = [
        (r["text"], prefix, suffix)
        for r in base
        for prefix in PREFIXES
        for suffix in SUFFIXES
        if prefix or suffix
    ]
    rng.shuffle(variants)
    for text, prefix, suffix in variants:
        if len(out) >= count:
            break
        city = rng.choice(DEMO_CITIES).name
        full = prefix + text + suffix.format(city=city)
        if full not in seen:
            seen.add(full)
            out.append((full, city))
    return out[:count]


def query_of(text: str, city: str) -> MatchQuery:
    place = CITIES[city]
    return MatchQuery(text, place.lat, place.lon, limit=5, town=town_label(place))


# ---------------------------------------------------------------- measuring


def exact_search(
    vectors: np.ndarray, queries: np.ndarray, k: int, block: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by inner product (``IndexFlatIP`` over blocks of rows)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_l = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), block):
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors[start : start + block])
        sims, labels = flat.search(queries, min(k, flat.ntotal))
        best_s = np.concatenate([best_s, sims], axis=1)
        best_l = np.concatenate([best_l, labels + start], axis=1)
        order = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(best_s, order, axis=1)
        best_l = np.take_along_axis(best_l, order, axis=1)
        del flat
    return best_s, best_l


def recall_at_k(
    found: np.ndarray,
    true_ids: np.ndarray,
    true_sims: np.ndarray,
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
) -> tuple[float, float]:
    """(tie-aware, strict) recall@k: found ids (provider id = row + 1) against
    the exact top k; tie-aware also accepts a row whose exact score equals the
    exact k-th score (duplicate profiles give equal vectors)."""
    strict = tied = 0
    for q in range(len(queries)):
        truth = set(true_ids[q, :k].tolist())
        hits = [int(p) - 1 for p in found[q, :k] if p > 0]
        strict += sum(1 for row in hits if row in truth)
        exact = vectors[hits] @ queries[q] if hits else np.zeros(0)
        floor = true_sims[q, k - 1] - 1e-5
        tied += sum(
            1
            for row, sim in zip(hits, exact.tolist(), strict=True)
            if row in truth or sim >= floor
        )
    total = k * len(queries)
    return min(tied, total) / total, strict / total


def pct(samples: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank) of samples in seconds, in ms."""
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def availability_for(matches) -> dict[int, float]:
    """Stand-in free time per pooled provider, as the backend passes to finish."""
    return {m.provider_id: (m.provider_id % 7) / 6 for m in matches}


def latency(
    matcher: Matcher,
    encoder: Encoder,
    requests: Sequence[tuple[str, str]],
    count: int,
    warmup: int,
) -> dict[str, Any]:
    """End-to-end and raw encode latency, interleaved, one request at a time."""
    clock = time.perf_counter

    def end_to_end(text: str, city: str) -> float:
        started = clock()
        query = query_of(text, city)
        pool = matcher.search(query)
        matcher.finish(pool, query, availability_for(pool))
        return clock() - started

    def raw(text: str) -> float:
        started = clock()
        encoder.encode([text])
        return clock() - started

    for i in range(warmup):
        text, city = requests[i % len(requests)]
        raw(text)
        end_to_end(text, city)
    e2e, enc = [], []
    for i in range(count):
        text, city = requests[i % len(requests)]
        if i % 2:  # alternate which goes first
            enc.append(raw(text))
            e2e.append(end_to_end(text, city))
        else:
            e2e.append(end_to_end(text, city))
            enc.append(raw(text))
    return {
        "requests": count,
        "e2e_p50_ms": round(pct(e2e, 0.5), 3),
        "e2e_p99_ms": round(pct(e2e, 0.99), 3),
        "encode_p50_ms": round(pct(enc, 0.5), 3),
        "encode_p99_ms": round(pct(enc, 0.99), 3),
        "ratio_p50": round(pct(e2e, 0.5) / pct(enc, 0.5), 3),
    }


def match_diagnostics(
    matcher: Matcher,
    requests: Sequence[tuple[str, str]],
    vectors: np.ndarray,
    pool_k: int,
) -> dict[str, Any]:
    """Where the non-encode time goes: the match (search + filter + rank +
    finish) from a ready vector, and the index search alone over the shards
    the request's place draws from."""
    assert matcher.index is not None
    clock = time.perf_counter
    matches, search, shards = [], [], []
    for (text, city), vector in zip(requests, vectors, strict=True):
        row = vector[None, :]
        query = query_of(text, city)
        started = clock()
        pool = matcher.search_vector(row, query)
        matcher.finish(pool, query, availability_for(pool))
        matches.append(clock() - started)
        keys = matcher.index.keys_for(query.lat, query.lon)
        started = clock()
        matcher.index.search(row, pool_k, keys)
        search.append(clock() - started)
        shards.append(len(keys))
    return {
        "match_p50_ms": round(pct(matches, 0.5), 3),
        "match_p99_ms": round(pct(matches, 0.99), 3),
        "index_search_p50_ms": round(pct(search, 0.5), 3),
        "index_search_k": pool_k,
        "shards": len(matcher.index.shards),
        "shards_per_request": round(float(np.mean(shards)), 2),
        "tuned_recall": {
            k: round(v, 3) for k, v in matcher.index.tuned_recall.items() if v < 1.0
        },
    }


def encode_throughput(
    encoder: Encoder, profiles: Sequence[ProviderProfile], batch: int, rounds: int = 2
) -> dict[str, Any]:
    """``Matcher.profile_vectors`` (empty cache) against ``encoder.encode`` on
    the same texts with the same batch size; alternating, best of ``rounds``."""
    texts = [p.text for p in profiles] + [p.headline for p in profiles if p.headline]
    via_matcher, direct = [], []
    encoded = 0
    for i in range(rounds * 2):
        started = time.perf_counter()
        if (i % 2 == 0) == (i // 2 % 2 == 0):  # matcher, direct, direct, matcher
            matcher = Matcher(encoder)
            if batch != 64:  # profile_vectors embeds with Matcher.embed's default
                matcher.embed = _batched(matcher.embed, batch)  # type: ignore[method-assign]
            _, encoded = matcher.profile_vectors(profiles)
            via_matcher.append(time.perf_counter() - started)
        else:
            encoder.encode(texts, batch)
            direct.append(time.perf_counter() - started)
    best_matcher, best_direct = min(via_matcher), min(direct)
    return {
        "encode_sample": len(profiles),
        "encode_batch_size": batch,
        "encode_profiles_per_s": round(len(profiles) / best_matcher, 1),
        "encode_texts_per_s": round(encoded / best_matcher, 1),
        "direct_texts_per_s": round(len(texts) / best_direct, 1),
        "encode_throughput_ratio": round(
            (encoded / best_matcher) / (len(texts) / best_direct), 3
        ),
    }


def _batched(embed, batch: int):
    """``Matcher.embed`` with a fixed batch size (its default is 64)."""
    return lambda texts, batch_size=batch: embed(texts, batch_size)


# ---------------------------------------------------------------- one size


def run_size(
    n: int,
    args: argparse.Namespace,
    encoder: Encoder,
    requests: Sequence[tuple[str, str]],
    query_vectors: np.ndarray,
) -> dict[str, Any]:
    """Build the index for ``n`` providers and measure it."""
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    synthetic_from = args.synthetic_from
    info = None
    if n <= synthetic_from:
        profiles = real_profiles(n, args.seed)
        vectors, encoded = real_vectors(profiles, args.seed, encoder)
        source = "real"
    else:
        base = real_profiles(synthetic_from, args.seed)
        real, encoded = real_vectors(base, args.seed, encoder)
        vectors, info = synthetic_vectors(real, n, args.seed, args.noise_scale)
        profiles = synthetic_profiles(base, n)
        del real, base
        source = "synthetic"
    probe = np.random.default_rng(0).standard_normal(vectors.shape[1])
    distinct = len(np.unique(vectors @ probe))  # equal vectors, equal projections
    seconds["vectors"] = time.perf_counter() - began
    log.info(
        "n=%d: %s vectors ready in %.1f s (%d providers encoded now)",
        n,
        source,
        seconds["vectors"],
        encoded,
    )

    started = time.perf_counter()
    true_sims, true_rows = exact_search(vectors, query_vectors, 10)
    seconds["ground_truth"] = time.perf_counter() - started

    params = IndexParams.from_dict(args.params)
    matcher = Matcher(encoder, kind=args.kind, params=params)
    matcher.set_categories(category_texts())
    started = time.perf_counter()
    with peak_rss() as memory:
        stats = matcher.rebuild(profiles, vectors)
    seconds["build"] = time.perf_counter() - started
    assert matcher.index is not None
    index_bytes = matcher.index.memory_bytes(exact=True)
    log.info("n=%d: built %s in %.1f s", n, stats.kind, seconds["build"])

    started = time.perf_counter()
    found = matcher.index.search(query_vectors, 10)[1]
    recall, strict = recall_at_k(found, true_rows, true_sims, vectors, query_vectors)
    # the k Matcher._candidates asks each shard for at limit 5 (pool 15)
    pool_k = min(max(15 * 4, 40), matcher.index.size)
    in_pool = matcher.index.search(query_vectors, pool_k)[1]
    pool_hits = sum(
        len(set((true_rows[q] + 1).tolist()) & set(in_pool[q].tolist()))
        for q in range(len(query_vectors))
    )
    seconds["recall"] = time.perf_counter() - started
    del vectors, profiles
    gc.collect()

    started = time.perf_counter()
    timings = latency(matcher, encoder, requests, args.requests, args.warmup)
    seconds["latency"] = time.perf_counter() - started
    started = time.perf_counter()
    diagnostics = match_diagnostics(matcher, requests, query_vectors, pool_k)
    seconds["diagnostics"] = time.perf_counter() - started
    seconds["total"] = time.perf_counter() - began

    return {
        "n": n,
        "kind": stats.kind,
        "params": dataclasses.asdict(params),
        "vectors": source,
        "synthetic": info,
        "distinct_vectors": distinct,
        "build_seconds": round(seconds["build"], 2),
        **memory,
        "index_mb": round(index_bytes / 2**20, 1),
        "index_bytes_per_provider": round(index_bytes / n, 1),
        "recall_at_10": round(recall, 4),
        "recall_at_10_strict": round(strict, 4),
        "recall_at_10_in_pool": round(pool_hits / (10 * len(query_vectors)), 4),
        "queries": len(query_vectors),
        **timings,
        **diagnostics,
        "seconds": {key: round(value, 1) for key, value in seconds.items()},
    }


# ---------------------------------------------------------------- main


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def summary(lines: list[dict[str, Any]]) -> list[str]:
    """A short table and the targets, as ``#`` lines."""
    out = [
        "# n        kind      vectors    build s  peak MB  index MB  B/prov  "
        "recall@10  e2e p50/p99 ms  encode p50/p99 ms  ratio  shards"
    ]
    for r in lines:
        out.append(
            f"# {r['n']:<8} {r['kind']:<9} {r['vectors']:<10} "
            f"{r['build_seconds']:7.1f} {r['peak_rss_mb']:8.0f} {r['index_mb']:9.1f} "
            f"{r['index_bytes_per_provider']:7.0f} {r['recall_at_10']:10.4f} "
            f"{r['e2e_p50_ms']:7.2f}/{r['e2e_p99_ms']:<7.2f} "
            f"{r['encode_p50_ms']:8.2f}/{r['encode_p99_ms']:<8.2f} "
            f"{r['ratio_p50']:6.2f} {r['shards_per_request']:6.1f}"
        )
    if lines and lines[0].get("encode_throughput_ratio") is not None:
        r = lines[0]
        out.append(
            f"# catalogue encode: {r['encode_profiles_per_s']:.0f} profiles/s, "
            f"{r['encode_texts_per_s']:.0f} texts/s vs {r['direct_texts_per_s']:.0f} "
            f"direct: {r['encode_throughput_ratio']:.2f}x "
            f"(target >= {TARGETS['encode_throughput_ratio']})"
        )
    for r in lines:
        checks = []
        if r["n"] >= 100_000:
            checks.append(
                f"recall@10 {r['recall_at_10']:.3f} "
                f"{'ok' if r['recall_at_10'] >= TARGETS['recall_at_10'] else 'MISS'}"
            )
        if r["n"] == 100_000:
            ok = r["ratio_p50"] <= TARGETS["ratio_p50"]
            checks.append(f"ratio {r['ratio_p50']:.2f} {'ok' if ok else 'MISS'}")
        if r["n"] >= 1_000_000:
            ok = r["index_mb"] < TARGETS["index_mb"]
            checks.append(f"index {r['index_mb']:.0f} MB {'ok' if ok else 'MISS'}")
        if checks:
            out.append(f"# targets at {r['n']}: " + "; ".join(checks))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="catalogue sizes, comma separated (10k and 1m are fine)",
    )
    parser.add_argument("--kind", default=None, help="index kind (default: by size)")
    parser.add_argument(
        "--params", type=json.loads, default=None, help="IndexParams as JSON"
    )
    parser.add_argument("--queries", type=int, default=500, help="recall queries")
    parser.add_argument(
        "--requests", type=int, default=500, help="timed requests (>= 300)"
    )
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--out", type=Path, help="also append the JSON lines here")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--encode-sample",
        type=int,
        default=2000,
        help="profiles for the encode throughput (0: skip)",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoder", default="auto", help="onnx | torch | auto")
    parser.add_argument("--threads", type=int, default=1, help="FAISS and BLAS threads")
    # Sizes above this use synthetic vectors made from this many real ones.
    parser.add_argument(
        "--synthetic-from",
        type=parse_size,
        default=REAL_UP_TO,
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--noise-scale", type=float, default=None, help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.requests < 300:
        print("warning: fewer than 300 timed requests", file=sys.stderr)
    if args.kind and args.kind not in KINDS:
        parser.error(f"--kind must be one of {', '.join(KINDS)}")
    try:
        IndexParams.from_dict(args.params)
    except (TypeError, ValueError) as exc:
        parser.error(f"--params: {exc}")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )

    faiss.omp_set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:  # numpy's BLAS keeps its default threads
        log.info("threadpoolctl missing: BLAS threads not limited")

    started = time.perf_counter()
    encoder = load_encoder(backend=args.encoder, cache_dir=MODEL_CACHE)
    log.info("encoder %s loaded in %.1f s", encoder.name, time.perf_counter() - started)
    requests = request_set(args.queries, args.seed)
    query_vectors = encoder.encode([text for text, _ in requests])

    common: dict[str, Any] = {
        "encoder": encoder.name,
        "threads": args.threads,
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "load_avg_at_start": round(os.getloadavg()[0], 2),
    }
    if args.encode_sample:
        started = time.perf_counter()
        sample = real_profiles(args.encode_sample, args.seed + 10_000)
        common.update(encode_throughput(encoder, sample, args.batch_size))
        log.info("encode throughput measured in %.1f s", time.perf_counter() - started)

    lines = []
    for n in sizes:
        result = {**run_size(n, args, encoder, requests, query_vectors), **common}
        result["load_avg_at_end"] = round(os.getloadavg()[0], 2)
        line = json.dumps(result)
        print(line, flush=True)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with open(args.out, "a") as fh:
                fh.write(line + "\n")
        lines.append(result)
        gc.collect()
    print("\n".join(summary(lines)))


if __name__ == "__main__":
    main()
