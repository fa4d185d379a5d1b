"""The matcher: encode, search, filter, rank; and keep all of it on disk.

Used by the backend (which feeds it provider profiles and availability) and by
the benchmarks. It knows nothing of the database or the web.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matching.encoder import Encoder
from matching.index import IndexParams
from matching.ranking import (
    FeatureStore,
    Match,
    MatchQuery,
    ProviderProfile,
    Weights,
    hard_filter,
    reasons_for,
    score,
)
from matching.sharded import ShardedIndex, shard_key

log = logging.getLogger(__name__)

#: a facet must fit the need this well to be named among the reasons
FACET_REASON_MIN = 0.55
#: a named town with at most this many providers has them all searched
TOWN_SEARCH_MAX = 500
#: the last clauses of a request that are read (a long conversation's first
#: words no longer say what is needed now)
MAX_CLAUSES = 8
# a sentence ends, or a change of mind begins ("... an ophthalmologist in
# Oakland I prefer someone in Santa Rosa, a general practitioner")
_CLAUSE_END = re.compile(
    r"(?<=[.!?;])\s+|\n+|[\s,]+(?=(?:actually|instead|rather|but|i(?:'d| would)?"
    r" prefer|how about|what about|or maybe)\b)",
    re.IGNORECASE,
)


def split_clauses(text: str) -> list[str]:
    """A request's sentences and changes of mind, in order ("I need a dentist.
    Actually a dermatologist in Palo Alto." is two); at most the last
    ``MAX_CLAUSES``."""
    parts = [" ".join(part.split()) for part in _CLAUSE_END.split(text)]
    return [part for part in parts if part][-MAX_CLAUSES:] or [text.strip()]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class EmbeddingCache:
    """Vectors keyed by a hash of their text: unchanged texts are never re-encoded.

    The matrix grows by doubling, so adding a few vectors never copies it all.
    """

    def __init__(self, path: Path | None = None, dimension: int = 384):
        self.path = path
        self.dimension = dimension
        self._rows: dict[bytes, int] = {}
        self._matrix = np.zeros((0, dimension), dtype=np.float32)
        self.dirty = False
        if path is not None and path.exists():
            with np.load(path) as data:
                keys, self._matrix = data["keys"], data["vectors"]
            # Keys are (N, 16) uint8: numpy's fixed-width bytes drop trailing NULs.
            # Files from before that are read back by padding the NULs again.
            if keys.dtype.kind == "S":
                pairs = ((bytes(k).ljust(16, b"\0"), i) for i, k in enumerate(keys))
            else:
                pairs = ((k.tobytes(), i) for i, k in enumerate(keys))
            self._rows = dict(pairs)

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """Vectors for the texts already known, and the positions of the others."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing, found, at = [], [], []
        for i, text in enumerate(texts):
            row = self._rows.get(text_key(text))
            if row is None:
                missing.append(i)
            else:
                found.append(i)
                at.append(row)
        if found:
            out[found] = self._matrix[at]
        return out, missing

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            key = text_key(text)
            if key in self._rows:
                continue
            row = len(self._rows)
            if row >= len(self._matrix):
                size = max(1024, 2 * len(self._matrix))
                grown = np.zeros((size, self.dimension), dtype=np.float32)
                grown[: len(self._matrix)] = self._matrix
                self._matrix = grown
            self._matrix[row] = vector
            self._rows[key] = row
            self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        keys = np.zeros((len(self._rows), 16), dtype=np.uint8)
        for key, row in self._rows.items():
            keys[row] = np.frombuffer(key, dtype=np.uint8)
        tmp = self.path.with_suffix(".tmp.npz")
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=keys, vectors=self._matrix[: len(self._rows)])
        os.replace(tmp, self.path)
        self.dirty = False


@dataclass
class BuildStats:
    providers: int
    encoded: int  # texts (a profile and its headline are two)
    reused: int  # texts whose vectors came from the cache
    seconds: float
    kind: str


@dataclass
class Need:
    """What a request asks for: the vector it is searched with, and the
    sentences that say it, each with how much it counts (the most: 1)."""

    vector: np.ndarray  # (1, dimension), normalised
    sentences: np.ndarray  # (n, dimension)
    weights: np.ndarray  # (n,)

    @classmethod
    def of(cls, vector: np.ndarray) -> Need:
        """A need said in one sentence."""
        vector = np.atleast_2d(vector).astype(np.float32)
        return cls(vector, vector, np.ones(1))


class Matcher:
    """Providers in, ranked matches out."""

    def __init__(
        self,
        encoder: Encoder | Callable[[], Encoder],
        *,
        directory: Path | None = None,
        weights: Weights | None = None,
        kind: str | None = None,
        params: IndexParams | None = None,
    ):
        self._encoder = encoder
        self.directory = directory
        self.weights = weights or Weights()
        self.kind = kind if kind not in (None, "", "auto") else None
        self.params = params or IndexParams()
        self.index: ShardedIndex | None = None
        self.store = FeatureStore()
        self.cache = EmbeddingCache(directory / "embeddings.npz" if directory else None)
        self.meta: dict[str, Any] = {}
        self.category_slugs: list[str] = []
        self.category_vectors = np.zeros((0, 384), dtype=np.float32)
        self._lock = threading.RLock()

    @property
    def encoder(self) -> Encoder:
        if callable(self._encoder) and not hasattr(self._encoder, "encode"):
            self._encoder = self._encoder()
        return self._encoder  # type: ignore[return-value]

    # ------------------------------------------------------------ vectors

    def profile_vectors(
        self, profiles: Sequence[ProviderProfile]
    ) -> tuple[np.ndarray, int]:
        """One vector per provider: the normalised sum of its headline's and its
        profile text's vectors, so a long description cannot drown what they do."""
        vectors, encoded = self.embed([p.text for p in profiles])
        with_headline = [i for i, p in enumerate(profiles) if p.headline]
        if with_headline:
            heads, more = self.embed([profiles[i].headline for i in with_headline])
            vectors[with_headline] += heads
            encoded += more
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors, encoded

    def set_categories(self, texts: dict[str, str]) -> None:
        """The catalogue's categories in its own words: slug -> descriptive text."""
        slugs = list(texts)
        vectors, _ = self.embed([texts[s] for s in slugs])
        with self._lock:
            self.category_slugs, self.category_vectors = slugs, vectors
            self.meta["categories"] = texts

    def _category_similarity(self, vector: np.ndarray) -> np.ndarray | None:
        """The request's similarity to each category, by the store's tag codes."""
        if not len(self.category_vectors):
            return None
        sims = self.category_vectors @ vector[0]
        by_code = np.full(max(len(self.store._codes), 1), -1.0)
        for slug, sim in zip(self.category_slugs, sims.tolist(), strict=True):
            code = self.store.code(slug)
            if code >= 0:
                by_code[code] = sim
        return by_code

    def _embed_facets(self, store: FeatureStore) -> None:
        """Vectors for the facets the store learnt since the last call."""
        known = len(store.facet_vectors)
        if known < len(store.facet_texts):
            fresh, _ = self.embed(store.facet_texts[known:])
            store.facet_vectors = np.concatenate([store.facet_vectors, fresh])

    def read_need(self, clause_vectors: np.ndarray) -> Need:
        """What a request needs, from its sentences' vectors (in order).

        A sentence counts as much as it says what is needed (its best
        similarity to a category or a provider's fine kind, between
        ``need_floor`` and ``need_full``): "yes", "what's their number?" hardly
        at all. A need that a later sentence contradicts counts
        ``earlier_need`` as much for each such sentence: the two name
        different fine kinds that no provider has together, and neither takes
        the other's kind within ``need_change`` of its own ("a dermatologist"
        ... "rather a general practitioner"). A later sentence that restates or
        widens the need ("any other doctors?": every dermatologist is a
        doctor) takes nothing from it. The search vector is the weighted sum
        of the sentences'."""
        vectors = np.atleast_2d(clause_vectors).astype(np.float32)
        if len(vectors) == 1:
            return Need.of(vectors)
        w, store = self.weights, self.store
        strength = np.full(len(vectors), -1.0)
        if len(self.category_vectors):
            strength = (vectors @ self.category_vectors.T).max(axis=1)
        against = np.zeros((len(vectors), len(vectors)), dtype=bool)
        if len(store.facet_vectors):
            sims = vectors @ store.facet_vectors.T
            best = sims.argmax(axis=1)
            own = sims[np.arange(len(vectors)), best]
            strength = np.maximum(strength, own)
            # takes[i, j]: sentence i's need takes sentence j's kind nearly as
            # well as its own
            takes = sims[:, best] >= own[:, None] - w.need_change
            kinds = best.tolist()
            related = np.array([[store.related(a, b) for b in kinds] for a in kinds])
            against = ~takes & ~takes.T & ~related
        gate = np.clip(
            (strength - w.need_floor) / max(w.need_full - w.need_floor, 1e-6), 0, 1
        )
        if not gate.any():
            gate = np.ones(len(vectors))
        later = np.triu(np.ones_like(against), 1)
        weight = gate * w.earlier_need ** ((against & later) @ gate)
        combined = weight @ vectors
        vector = (combined / max(np.linalg.norm(combined), 1e-9))[None, :]
        return Need(vector.astype(np.float32), vectors, weight / weight.max())

    def read_request(self, text: str) -> Need:
        """What a request in a person's words needs (see :meth:`read_need`)."""
        return self.read_need(self.encoder.encode(split_clauses(text)))

    def _facet_fit(self, rows: np.ndarray, need: Need) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate row: how well one of its facets fits one of the need's
        sentences (times what the sentence counts), and that facet's code (-1:
        none). A fine kind said once ("a unisex salon") counts even when a
        later sentence asks only for the broad kind ("a salon in Sunnyvale")."""
        store = self.store
        codes = store.facets[rows]
        present = np.unique(codes[codes >= 0])
        if not len(present):
            return np.zeros(len(rows)), np.full(len(rows), -1)
        counted = need.weights > 0
        fits = (store.facet_vectors[present] @ need.sentences[counted].T) * (
            need.weights[counted]
        )
        lookup = np.full(len(store.facet_texts) + 1, -1.0)  # [-1] reads "none"
        lookup[present] = fits.max(axis=1)
        sims = lookup[codes]
        best = sims.argmax(axis=1)
        picked = sims[np.arange(len(rows)), best]
        fit = np.maximum(picked, 0.0)
        return fit, np.where(picked > -1, codes[np.arange(len(rows)), best], -1)

    def embed(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts``, encoding only those not cached; and how many were."""
        vectors, missing = self.cache.lookup(texts)
        if missing:
            fresh = self.encoder.encode([texts[i] for i in missing], batch_size)
            vectors[missing] = fresh
            self.cache.add([texts[i] for i in missing], fresh)
        return vectors, len(missing)

    # ------------------------------------------------------------ catalogue

    def rebuild(
        self, profiles: Sequence[ProviderProfile], vectors: np.ndarray | None = None
    ) -> BuildStats:
        """Index these providers from scratch (reusing cached vectors), or with
        ``vectors`` given (one normalised row per profile)."""
        started = time.perf_counter()
        if vectors is None:
            vectors, encoded = self.profile_vectors(profiles)
        else:
            encoded = 0
        ids = np.array([p.id for p in profiles], dtype=np.int64)
        index = ShardedIndex.build(
            ids,
            vectors,
            [_shard_of(p) for p in profiles],
            kind=self.kind,
            params=self.params,
        )
        store = FeatureStore()
        store.upsert(list(profiles))
        self._embed_facets(store)
        with self._lock:
            self.index, self.store = index, store
        texts = len(profiles) + sum(1 for p in profiles if p.headline)
        return BuildStats(
            len(profiles),
            encoded,
            texts - encoded,
            time.perf_counter() - started,
            index.describe(),
        )

    def upsert(self, profiles: Sequence[ProviderProfile]) -> int:
        """Add or refresh providers; inactive ones leave the index. Returns encodes."""
        if not profiles:
            return 0
        live = [p for p in profiles if p.active]
        gone = [p.id for p in profiles if not p.active]
        vectors, encoded = self.profile_vectors(live)
        with self._lock:
            if self.index is None:
                self.index = ShardedIndex(kind=self.kind, params=self.params)
            live_ids = np.array([p.id for p in live], dtype=np.int64)
            self.index.upsert(live_ids, vectors, [_shard_of(p) for p in live])
            self.index.remove(gone)
            self.store.upsert(list(profiles))
            self.store.remove(gone)
            self._embed_facets(self.store)
        return encoded

    def remove(self, ids: Sequence[int]) -> None:
        with self._lock:
            if self.index is not None:
                self.index.remove(list(ids))
            self.store.remove(ids)

    def needs_compaction(self) -> bool:
        index = self.index
        return index is not None and index.retired > max(1000, index.size // 4)

    # ------------------------------------------------------------ matching

    def _candidates(self, vector: np.ndarray, query: MatchQuery, pool: int):
        """Rows the request allows, with their similarity, from the shards that
        can serve its place (only the global one when it has none)."""
        index = self.index
        assert index is not None
        keys = index.keys_for(query.lat, query.lon)
        k = max(pool * 4, 40)
        while True:
            sims, ids = index.search(vector, k, keys)
            if query.town:
                # the named town's best are candidates even when its
                # neighbours crowd the nearest vectors (a town of thousands
                # fills the nearest vectors on its own)
                local = self.store.town_ids(query.town)
                if 0 < len(local) <= TOWN_SEARCH_MAX:
                    near = index.search(vector, 2 * pool, keys, local)
                    fresh = ~np.isin(near[1][0], ids[0])
                    sims = np.concatenate([sims[0], near[0][0][fresh]])[None, :]
                    ids = np.concatenate([ids[0], near[1][0][fresh]])[None, :]
            rows = self.store.rows(ids[0])
            keep = hard_filter(self.store, rows, query)
            if keep.sum() >= pool or k >= index.size:
                return rows[keep], sims[0][keep]
            k *= 8  # the filters left too few: look further

    def search(self, query: MatchQuery, pool: int | None = None) -> list[Match]:
        """The best ``pool`` providers for a request, ranked before availability."""
        return self.search_vector(self.read_request(query.text), query, pool)

    def search_vector(
        self, need: Need | np.ndarray, query: MatchQuery, pool: int | None = None
    ) -> list[Match]:
        """:meth:`search` for a need already read (or one sentence's vector)."""
        pool = pool or max(query.limit * 3, 10)
        if not isinstance(need, Need):
            need = Need.of(need)
        vector = need.vector
        with self._lock:
            if self.index is None or self.index.size == 0:
                return []
            rows, sims = self._candidates(vector, query, pool)
            if len(rows) == 0:
                return []
            facet_fit, facet_codes = self._facet_fit(rows, need)
            total, features, distance = score(
                self.store,
                rows,
                sims,
                query,
                self.weights,
                self._category_similarity(vector),
                facet_fit,
            )
            order = np.argsort(-total, kind="stable")[:pool]
            texts = self.store.facet_texts
            return [
                Match(
                    provider_id=int(self.store.ids[rows[i]]),
                    score=float(total[i]),
                    similarity=float(sims[i]),
                    distance_km=None
                    if distance is None
                    else round(float(distance[i]), 1),
                    remote=bool(self.store.remote[rows[i]]),
                    features={
                        name: float(values[i]) for name, values in features.items()
                    },
                    facet=texts[facet_codes[i]]
                    if facet_fit[i] >= FACET_REASON_MIN
                    else None,
                )
                for i in order
            ]

    def finish(
        self,
        matches: list[Match],
        query: MatchQuery,
        availability: dict[int, float] | None = None,
        slot_texts: dict[int, str] | None = None,
    ) -> list[Match]:
        """Add availability (0..1 per provider), re-rank, trim, and explain."""
        availability = availability or {}
        for match in matches:
            free = availability.get(match.provider_id)
            if free is not None:
                match.features["availability"] = free
                match.score += self.weights.availability * free
        ranked = sorted(matches, key=lambda m: -m.score)[: query.limit]
        for match in ranked:
            profile = self.profile(match.provider_id)
            if profile is not None:
                match.reasons = reasons_for(
                    profile, match, query, (slot_texts or {}).get(match.provider_id)
                )
        return ranked

    def profile(self, provider_id: int) -> ProviderProfile | None:
        row = self.store.row_of.get(provider_id)
        return None if row is None else self.store.profiles[row]

    # ------------------------------------------------------------ persistence

    def save(self, **meta: Any) -> None:
        """Write index, features' source (profiles) and cache under the directory."""
        if self.directory is None:
            return
        with self._lock:
            if self.index is None:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            self.index.save(self.directory / "index")
            profiles = [p.__dict__ for p in self.store.profiles if p is not None]
            tmp = self.directory / "profiles.json.tmp"
            tmp.write_text(json.dumps(profiles))
            os.replace(tmp, self.directory / "profiles.json")
            self.meta.update(meta)
            tmp = self.directory / "meta.json.tmp"
            tmp.write_text(json.dumps(self.meta, default=str))
            os.replace(tmp, self.directory / "meta.json")
            self.cache.save()

    def load(self) -> bool:
        """Load what :meth:`save` wrote; False if nothing is there or it is damaged."""
        if (
            self.directory is None
            or not (self.directory / "index" / "manifest.json").exists()
        ):
            return False
        try:
            index = ShardedIndex.load(self.directory / "index")
            raw = json.loads((self.directory / "profiles.json").read_text())
            meta = json.loads((self.directory / "meta.json").read_text())
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning(
                "matching index at %s is unreadable (%s); rebuild it",
                self.directory,
                exc,
            )
            return False
        store = FeatureStore()
        store.upsert(
            [
                ProviderProfile(
                    **{
                        k: tuple(v) if isinstance(v, list) else v
                        for k, v in item.items()
                    }
                )
                for item in raw
            ]
        )
        store.remove([pid for pid in store.row_of if pid not in index])
        self._embed_facets(store)
        with self._lock:
            self.index, self.store, self.meta = index, store, meta
        if meta.get("categories"):
            self.set_categories(meta["categories"])
        return True

    def status(self) -> dict[str, Any]:
        index = self.index
        return {
            "kind": index.describe() if index else None,
            "providers": index.size if index else 0,
            "retired_vectors": index.retired if index else 0,
            "index_bytes": index.memory_bytes() if index else 0,
            "cached_embeddings": len(self.cache),
            **self.meta,
        }


def _shard_of(profile: ProviderProfile) -> str:
    return shard_key(profile.lat, profile.lon, profile.radius_km, profile.remote)
