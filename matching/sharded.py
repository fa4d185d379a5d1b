"""The catalogue's vectors sharded by geography.

A provider who comes to people lives in the shard of its 1-degree grid cell; one
who works remotely (or reaches further than ``WIDE_KM``) lives in the global
shard. A request with a place searches only the cells that can reach it and the
global shard; a request without one, only the global shard (nobody else may
serve it). Every provider is stored once, so sharding costs no memory, and a
request reads only the few shards near it where a single global index would
look through the whole country to find the few nearby.

Each shard is a :class:`VectorIndex` of the kind its size calls for; an
approximate shard has its search breadth (``ef_search`` or ``nprobe``) tuned at
build time until it reaches ``TARGET_RECALL`` on a sample of its own vectors.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from matching.index import EXACT_BELOW, IndexParams, VectorIndex, choose_kind

GLOBAL = "global"
CELL_DEGREES = 1.0
WIDE_KM = 150.0
TARGET_RECALL = 0.985
MIN_APPROXIMATE = 2_000  # below this a shard is searched exactly, whatever is asked
TUNE_QUERIES = 200
PROBE_NOISE = 1.2  # noise length for a unit vector: cosine to its source ~0.64


def cell_key(lat: float, lon: float) -> str:
    return f"{math.floor(lat / CELL_DEGREES)}:{math.floor(lon / CELL_DEGREES)}"


def shard_key(lat: float, lon: float, radius_km: float, remote: bool) -> str:
    """The shard of a provider."""
    if remote or radius_km > WIDE_KM:
        return GLOBAL
    return cell_key(lat, lon)


def keys_near(lat: float, lon: float) -> list[str]:
    """The cells whose providers may cover the point (they reach at most WIDE_KM)."""
    reach = math.ceil(WIDE_KM / 111.0 / CELL_DEGREES)
    span = min(180, math.ceil(reach / max(math.cos(math.radians(lat)), 0.05)))
    cy, cx = math.floor(lat / CELL_DEGREES), math.floor(lon / CELL_DEGREES)
    return [
        f"{cy + dy}:{cx + dx}"
        for dy in range(-reach, reach + 1)
        for dx in range(-span, span + 1)
    ]


def probes(vectors: np.ndarray, count: int = TUNE_QUERIES, seed: int = 0) -> np.ndarray:
    """Queries that sit as far from the catalogue as people's requests do.

    A provider's own vector is too easy a query (it finds itself); requests in
    people's words land at a cosine of about 0.5-0.7 from the best profile, so
    each probe is a stored vector with noise of that size, renormalised.
    """
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), min(count, len(vectors)), replace=False)]
    noise = rng.normal(size=sample.shape).astype(np.float32)
    noise *= PROBE_NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
    queries = sample + noise
    return queries / np.linalg.norm(queries, axis=1, keepdims=True)


def _recall(index: VectorIndex, truth: np.ndarray, queries: np.ndarray) -> float:
    _, got = index.search(queries, 10)
    return float(
        np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got, strict=True)])
    )


def tune(
    index: VectorIndex, vectors: np.ndarray, target: float = TARGET_RECALL
) -> float:
    """Widen an approximate index's search until it finds ``target`` of the true
    ten nearest neighbours of request-like probes; returns that recall."""
    if index.kind == "flat" or len(vectors) < 100:
        return 1.0
    queries = probes(vectors)
    exact = VectorIndex.build(index.pids[: len(vectors)], vectors, kind="flat")
    _, truth = exact.search(queries, 10)
    recall = _recall(index, truth, queries)
    while recall < target:
        if index.kind.startswith("hnsw"):
            if index.params.ef_search >= 2048:
                break
            index.params.ef_search = index.params.ef_search * 3 // 2
            index.index.hnsw.efSearch = index.params.ef_search
        else:
            if index.index.nprobe >= index.index.nlist:
                break
            # a half step at a time: the first breadth that reaches the target
            wider = max(index.index.nprobe + 1, index.index.nprobe * 3 // 2)
            index.index.nprobe = min(index.index.nlist, wider)
            index.params.nprobe = index.index.nprobe
        recall = _recall(index, truth, queries)
    return recall


@dataclass
class ShardedIndex:
    """Provider vectors in geographic shards; ids are provider ids."""

    kind: str | None = None  # None: by each shard's size
    params: IndexParams = field(default_factory=IndexParams)
    shards: dict[str, VectorIndex] = field(default_factory=dict)
    shard_of: dict[int, str] = field(default_factory=dict)
    tuned_recall: dict[str, float] = field(default_factory=dict)
    dimension: int = 384

    # ------------------------------------------------------------ building

    def _shard_kind(self, count: int) -> str:
        if count < MIN_APPROXIMATE:
            return "flat"
        # A shard is searched beside others for every request near it: above
        # MIN_APPROXIMATE an inverted file reads a fraction of what an exact
        # scan reads (and leaves the CPU caches to the model); tuning keeps
        # its recall at TARGET_RECALL.
        return self.kind or choose_kind(max(count, EXACT_BELOW))

    @classmethod
    def build(
        cls,
        pids: np.ndarray,
        vectors: np.ndarray,
        keys: list[str],
        *,
        kind: str | None = None,
        params: IndexParams | None = None,
    ) -> ShardedIndex:
        self = cls(kind=kind, params=params or IndexParams())
        pids = np.asarray(pids, dtype=np.int64)
        if len(np.unique(pids)) != len(pids):
            raise ValueError("provider ids must be unique")
        if len(vectors):
            self.dimension = vectors.shape[1]
        by_key: dict[str, list[int]] = {}
        for position, key in enumerate(keys):
            by_key.setdefault(key, []).append(position)
        for key, positions in by_key.items():
            chosen = np.array(positions)
            shard_vectors = np.ascontiguousarray(vectors[chosen], dtype=np.float32)
            shard = VectorIndex.build(
                pids[chosen],
                shard_vectors,
                kind=self._shard_kind(len(positions)),
                params=replace(self.params),
            )
            self.tuned_recall[key] = tune(shard, shard_vectors)
            self.shards[key] = shard
            for pid in pids[chosen].tolist():
                self.shard_of[pid] = key
        return self

    def upsert(self, pids: np.ndarray, vectors: np.ndarray, keys: list[str]) -> None:
        """Add or move providers (a provider whose shard changed leaves the old one)."""
        pids = np.asarray(pids, dtype=np.int64)
        by_key: dict[str, list[int]] = {}
        for position, (pid, key) in enumerate(zip(pids.tolist(), keys, strict=True)):
            old = self.shard_of.get(pid)
            if old is not None and old != key:
                self.shards[old].remove([pid])
            by_key.setdefault(key, []).append(position)
            self.shard_of[pid] = key
        for key, positions in by_key.items():
            chosen = np.array(positions)
            shard = self.shards.get(key)
            if shard is None:
                shard = VectorIndex.build(
                    np.zeros(0, dtype=np.int64),
                    np.zeros((0, self.dimension), dtype=np.float32),
                    kind="flat",
                    params=replace(self.params),
                )
                self.shards[key] = shard
            shard.upsert(pids[chosen], vectors[chosen])

    def remove(self, pids) -> int:
        removed = 0
        for pid in np.asarray(list(pids), dtype=np.int64).tolist():
            key = self.shard_of.pop(pid, None)
            if key is not None:
                removed += self.shards[key].remove([pid])
        return removed

    # ------------------------------------------------------------ searching

    def keys_for(self, lat: float | None, lon: float | None) -> list[str]:
        """The shards a request may draw from."""
        keys = [GLOBAL] if GLOBAL in self.shards else []
        if lat is not None and lon is not None:
            keys += [key for key in keys_near(lat, lon) if key in self.shards]
        return keys

    def search(
        self,
        queries: np.ndarray,
        k: int,
        keys: list[str] | None = None,
        only: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, provider ids) of the ``k`` best per query across ``keys``
        (default: every shard), among the provider ids ``only`` if given; id -1
        is no hit."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        chosen = [
            self.shards[key] for key in (keys if keys is not None else self.shards)
        ]
        chosen = [shard for shard in chosen if shard.size]
        if not chosen:
            return (
                np.full((len(queries), 1), -np.inf, dtype=np.float32),
                np.full((len(queries), 1), -1, dtype=np.int64),
            )
        parts = [shard.search(queries, k, only) for shard in chosen]
        if len(parts) == 1:
            return parts[0]
        scores = np.concatenate([p[0] for p in parts], axis=1)
        ids = np.concatenate([p[1] for p in parts], axis=1)
        scores = np.where(ids >= 0, scores, -np.inf)
        k = min(k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(-scores, top, axis=1).argsort(axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return np.take_along_axis(scores, top, axis=1), np.take_along_axis(
            ids, top, axis=1
        )

    # ------------------------------------------------------------ facts

    @property
    def size(self) -> int:
        return len(self.shard_of)

    @property
    def retired(self) -> int:
        return sum(shard.retired for shard in self.shards.values())

    def __contains__(self, pid: int) -> bool:
        return pid in self.shard_of

    def ids(self) -> set[int]:
        return set(self.shard_of)

    def memory_bytes(self, exact: bool = False) -> int:
        return sum(shard.memory_bytes(exact) for shard in self.shards.values())

    def describe(self) -> str:
        """ "3 shards: 2 flat, 1 hnsw (ef_search 256)"."""
        kinds: dict[str, int] = {}
        for shard in self.shards.values():
            kinds[shard.kind] = kinds.get(shard.kind, 0) + 1
        text = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        return f"{len(self.shards)} shards: {text}"

    # ------------------------------------------------------------ persistence

    def save(self, directory: Path) -> None:
        """Write every shard and a manifest; the manifest is replaced last."""
        directory.mkdir(parents=True, exist_ok=True)
        for key, shard in self.shards.items():
            shard.save(directory / "shards" / key.replace(":", "_"))
        manifest = {
            "kind": self.kind,
            "params": self.params.__dict__,
            "dimension": self.dimension,
            "shards": {key: key.replace(":", "_") for key in self.shards},
            "tuned_recall": self.tuned_recall,
        }
        tmp = directory / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, directory / "manifest.json")
        # shards that no longer exist
        folders = directory / "shards"
        for folder in folders.iterdir() if folders.exists() else ():
            if folder.name not in manifest["shards"].values():
                shutil.rmtree(folder, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> ShardedIndex:
        manifest = json.loads((directory / "manifest.json").read_text())
        self = cls(
            kind=manifest["kind"],
            params=IndexParams.from_dict(manifest["params"]),
            dimension=manifest["dimension"],
            tuned_recall=manifest.get("tuned_recall", {}),
        )
        for key, folder in manifest["shards"].items():
            shard = VectorIndex.load(directory / "shards" / folder)
            self.shards[key] = shard
            for pid in shard.label_of:
                self.shard_of[pid] = key
        return self
