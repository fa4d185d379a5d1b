"""Shards by geography: a place searches only the shards that can serve it."""

import numpy as np

from matching.index import VectorIndex
from matching.sharded import GLOBAL, ShardedIndex, keys_near, shard_key, tune

CHICAGO, HOUSTON = (41.85, -87.65), (29.76, -95.37)


def _vectors(n, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_shard_keys():
    assert shard_key(*CHICAGO, 30, False) == "41:-88"
    assert shard_key(*CHICAGO, 30, True) == GLOBAL
    assert shard_key(*CHICAGO, 500, False) == GLOBAL  # reaches further than a cell
    near = keys_near(*CHICAGO)
    assert (
        "41:-88" in near
        and "42:-88" in near
        and shard_key(*HOUSTON, 30, False) not in near
    )


def test_search_draws_only_from_the_shards_of_a_place_and_moves_providers(tmp_path):
    vectors = _vectors(300)
    keys = ["41:-88"] * 100 + ["29:-96"] * 100 + [GLOBAL] * 100
    index = ShardedIndex.build(np.arange(1, 301), vectors, keys)
    assert index.describe() == "3 shards: 3 flat"
    chicago = index.keys_for(*CHICAGO)
    assert sorted(chicago) == sorted([GLOBAL, "41:-88"])
    _, found = index.search(vectors[150], 5, chicago)  # a Houston provider's vector
    assert 151 not in found[0] and set(found[0]) <= set(range(1, 101)) | set(
        range(201, 301)
    )
    _, everywhere = index.search(vectors[150], 1)
    assert everywhere[0, 0] == 151
    assert index.keys_for(None, None) == [GLOBAL]

    index.upsert(np.array([151]), vectors[150:151], ["41:-88"])  # moved to Chicago
    _, found = index.search(vectors[150], 1, chicago)
    assert found[0, 0] == 151 and index.size == 300
    assert index.remove([151, 9999]) == 1 and 151 not in index

    index.save(tmp_path / "ix")
    again = ShardedIndex.load(tmp_path / "ix")
    assert again.size == 299 and again.ids() == index.ids()


def test_approximate_shards_are_tuned_to_the_target_recall():
    vectors = _vectors(5000, seed=4)
    shard = VectorIndex.build(np.arange(5000), vectors, kind="hnsw")
    shard.params.ef_search = shard.index.hnsw.efSearch = 4  # far too narrow
    recall = tune(shard, vectors)
    assert recall >= 0.98 and shard.params.ef_search > 4
    big = ShardedIndex.build(np.arange(5000), vectors, ["1:1"] * 5000, kind="hnsw")
    assert big.tuned_recall["1:1"] >= 0.98


def test_an_empty_index_saves_and_loads(tmp_path):
    empty = ShardedIndex.build(np.zeros(0, dtype=np.int64), _vectors(0), [])
    empty.save(tmp_path / "ix")
    assert ShardedIndex.load(tmp_path / "ix").size == 0
