"""Hard filters, soft features and the reasons read out to people."""

import numpy as np

from matching.ranking import (
    FeatureStore,
    Match,
    MatchQuery,
    Preferences,
    ProviderProfile,
    Weights,
    hard_filter,
    reasons_for,
    score,
)

CHICAGO = (41.85, -87.65)


def _store(*profiles):
    store = FeatureStore()
    store.upsert(list(profiles))
    return store, np.array([store.row_of[p.id] for p in profiles])


def _p(pid, **kw):
    base = dict(
        id=pid,
        text="x",
        categories=("plumbing",),
        category_labels=("plumber",),
        lat=CHICAGO[0],
        lon=CHICAGO[1],
        radius_km=20,
        rating=4.5,
        review_count=50,
    )
    base.update(kw)
    return ProviderProfile(**base)


def test_hard_filters():
    store, rows = _store(
        _p(1),
        _p(2, lat=29.76, lon=-95.37),  # Houston: does not cover Chicago
        _p(3, categories=("tarot-reading",), remote=True, lat=47.6, lon=-122.3),
        _p(4, verified=True, languages=("en", "es")),
        _p(5, active=False),
    )
    query = MatchQuery("leak", lat=CHICAGO[0], lon=CHICAGO[1])
    assert store.ids[rows[hard_filter(store, rows, query)]].tolist() == [1, 3, 4]
    query.category = "plumbing"
    assert store.ids[rows[hard_filter(store, rows, query)]].tolist() == [1, 4]
    query.verified_only, query.language = True, "es"
    assert store.ids[rows[hard_filter(store, rows, query)]].tolist() == [4]
    no_place = MatchQuery("reading")
    assert store.ids[rows[hard_filter(store, rows, no_place)]].tolist() == [3]
    unknown = MatchQuery("x", lat=CHICAGO[0], lon=CHICAGO[1], category="dentistry")
    assert not hard_filter(store, rows, unknown).any()


def test_soft_features_prefer_near_well_reviewed_cheap_and_liked():
    store, rows = _store(
        _p(1, lat=CHICAGO[0] + 0.15, rating=5.0, review_count=1, price_cents=20000),
        _p(2, rating=4.8, review_count=120, price_cents=9000),
    )
    query = MatchQuery("leak", lat=CHICAGO[0], lon=CHICAGO[1])
    total, features, distance = score(
        store, rows, np.array([0.5, 0.5]), query, Weights()
    )
    assert distance[0] > 15 and distance[1] < 1
    assert features["proximity"][1] > features["proximity"][0]
    # one five-star review counts for less than 120 reviews at 4.8
    assert features["quality"][1] > features["quality"][0]
    assert features["price"].tolist() == [0.0, 1.0]
    assert total[1] > total[0]
    query.preferences = Preferences(provider_stars={1: 5.0})
    liked, features, _ = score(store, rows, np.array([0.5, 0.5]), query, Weights())
    assert features["preference"][0] == 1.0 and liked[0] > total[0]


def test_reasons_read_like_a_person_talks():
    profile = _p(
        7, licensed=True, insured=True, price_cents=12000, review_count=120, rating=4.8
    )
    match = Match(7, 1.0, 0.6, 3.2, False, {})
    query = MatchQuery("leak", preferences=Preferences(provider_stars={7: 5}))
    assert reasons_for(profile, match, query, "free tomorrow 9:00") == [
        "licensed and insured plumber",
        "3 km away",
        "4.8 from 120 reviews",
        "from $120",
        "you rated them 5 stars before",
        "free tomorrow 9:00",
    ]
    reader = _p(
        8,
        categories=("tarot-reading",),
        category_labels=("tarot reader",),
        remote=True,
        review_count=0,
    )
    assert reasons_for(reader, Match(8, 1, 1, None, True, {}), MatchQuery("love"))[
        :3
    ] == ["tarot reader", "works by phone or video", "new on Beckon"]


def test_weights_come_from_config_and_unknown_ones_are_refused():
    assert Weights.from_dict({"semantic": 2}).semantic == 2.0
    try:
        Weights.from_dict({"vibes": 1})
    except ValueError as exc:
        assert "vibes" in str(exc)
    else:
        raise AssertionError("unknown weight accepted")


def test_embedding_cache_round_trips_every_key(tmp_path):
    from matching.matcher import EmbeddingCache, text_key

    # find a text whose 16-byte key ends in a zero byte (numpy S16 would strip it)
    text = next(f"text {i}" for i in range(100_000) if text_key(f"text {i}")[-1] == 0)
    cache = EmbeddingCache(tmp_path / "e.npz")
    vectors = np.eye(2, 384, dtype=np.float32)
    cache.add([text, "plain"], vectors)
    cache.save()
    again = EmbeddingCache(tmp_path / "e.npz")
    found, missing = again.lookup([text, "plain"])
    assert missing == [] and np.allclose(found, vectors)
    again.add(["third"], vectors[:1])
    again.save()  # saving after a reload works
    assert len(EmbeddingCache(tmp_path / "e.npz")) == 3


def test_the_matcher_finds_local_providers_the_global_search_missed():
    """Many close matches far away must not hide the one nearby provider."""
    from matching.matcher import Matcher

    class Fixed:
        name, dimension = "fixed", 384

        def encode(self, texts, batch_size=64):
            rng = np.random.default_rng(abs(hash(texts[0])) % 2**32)
            base = np.zeros((len(texts), 384), dtype=np.float32)
            base[:, 0] = 1.0
            noise = rng.normal(scale=0.01, size=base.shape).astype(np.float32)
            vectors = base + noise
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    far = [_p(i, text=f"plumber {i}", lat=29.76, lon=-95.37) for i in range(1, 300)]
    near = _p(999, text="plumber nearby", lat=CHICAGO[0], lon=CHICAGO[1])
    matcher = Matcher(Fixed())
    matcher.rebuild([*far, near])
    found = matcher.search(MatchQuery("plumber", lat=CHICAGO[0], lon=CHICAGO[1]))
    assert [m.provider_id for m in found] == [999]
