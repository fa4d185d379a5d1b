"""The FAISS index: ids are provider ids, updates in place, survives a reload."""

import numpy as np
import pytest

from matching.index import KINDS, IndexParams, VectorIndex, choose_kind


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "hnsw", "hnsw_sq8", "ivf_sq8"])
def test_search_update_remove_and_reload(kind, tmp_path):
    vectors = _vectors(3000)
    pids = np.arange(1000, 4000)
    index = VectorIndex.build(
        pids, vectors, kind=kind, params=IndexParams(ivf_lists=32)
    )
    _, found = index.search(vectors[:5], 1)
    assert found[:, 0].tolist() == pids[:5].tolist()

    index.upsert(np.array([1000]), vectors[7:8])  # provider 1000 now looks like row 7
    _, found = index.search(vectors[7:8], 2)
    assert set(found[0].tolist()) == {1000, 1007}
    _, found = index.search(vectors[0:1], 3)
    assert 1000 not in found[0].tolist()  # its old vector is gone

    assert index.remove([1001, 999999]) == 1
    _, found = index.search(vectors[1:2], 5)
    assert 1001 not in found[0].tolist()
    assert index.size == 2999 and index.retired == 2

    index.save(tmp_path / "ix")
    again = VectorIndex.load(tmp_path / "ix")
    assert again.kind == kind and again.size == 2999
    _, reloaded = again.search(vectors[7:8], 2)
    assert set(reloaded[0].tolist()) == {1000, 1007}


@pytest.mark.parametrize("kind", ["flat", "ivf_flat", "hnsw"])
def test_a_search_among_given_ids_finds_only_those_alive(kind):
    vectors = _vectors(3000)
    pids = np.arange(1000, 4000)
    index = VectorIndex.build(
        pids, vectors, kind=kind, params=IndexParams(ivf_lists=32, nprobe=32)
    )
    among = np.array([1005, 1010, 2020, 3999, 123])  # 123 is not indexed
    index.remove([2020])
    scores, found = index.search(vectors[10:11], 10, only=among)
    assert set(found[0].tolist()) - {-1} == {1005, 1010, 3999}
    assert found[0][0] == 1010 and scores[0][0] == pytest.approx(1.0, abs=1e-3)
    index.upsert(np.array([1005]), vectors[10:11])  # now as close as 1010
    _, found = index.search(vectors[10:11], 2, only=among)
    assert set(found[0].tolist()) == {1005, 1010}
    _, none = index.search(vectors[10:11], 3, only=np.array([42]))
    assert none[0].tolist() == [-1]


def test_ids_must_be_unique_and_kinds_are_checked():
    with pytest.raises(ValueError, match="unique"):
        VectorIndex.build(np.array([1, 1]), _vectors(2))
    with pytest.raises(ValueError, match="unknown index kind"):
        VectorIndex.build(np.array([1]), _vectors(1), kind="magic")
    assert set(KINDS) >= {"flat", "hnsw", "hnsw_sq8"}


def test_kind_follows_catalogue_size():
    assert choose_kind(500) == "flat"
    assert choose_kind(30_000) == "ivf_flat"
    assert choose_kind(100_000) == "ivf_sq8"
    assert choose_kind(1_000_000) == "ivf_sq8"


def test_quantised_index_is_smaller_and_still_finds_neighbours():
    vectors = _vectors(4000, seed=3)
    pids = np.arange(4000)
    flat = VectorIndex.build(pids, vectors, kind="flat")
    sq8 = VectorIndex.build(pids, vectors, kind="hnsw_sq8")
    assert sq8.memory_bytes() < 0.5 * flat.memory_bytes()
    _, exact = flat.search(vectors[:50], 10)
    _, approx = sq8.search(vectors[:50], 10)
    overlap = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(exact, approx, strict=True)]
    )
    assert overlap > 0.9
