"""Hard filters, soft features and the reasons read out to people."""

import numpy as np
import pytest

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


# ---------------------------------------------------------------- what was said last


def test_a_request_is_read_sentence_by_sentence_and_by_changes_of_mind():
    from matching.matcher import MAX_CLAUSES, split_clauses

    assert split_clauses(
        "I need a dentist. Actually a dermatologist in Palo Alto."
    ) == [
        "I need a dentist.",
        "Actually a dermatologist in Palo Alto.",
    ]
    assert split_clauses(
        "an ophthalmologist in oakland I prefer someone in santa rosa, a GP"
    ) == ["an ophthalmologist in oakland", "I prefer someone in santa rosa, a GP"]
    assert split_clauses("water  coming through\nmy ceiling") == [
        "water coming through",
        "my ceiling",
    ]
    assert split_clauses("a plumber") == ["a plumber"]
    many = " ".join(f"Sentence {i}." for i in range(20))
    assert (
        split_clauses(many)[-1] == "Sentence 19."
        and len(split_clauses(many)) == MAX_CLAUSES
    )


def _kinds_matcher():
    """A matcher whose catalogue has two dermatologists and a general
    practitioner, all doctors: each fine kind on an axis of its own, "Doctor"
    between them, and a fourth axis that no kind is on."""
    from matching.matcher import Matcher

    matcher = Matcher(encoder=None)
    store = matcher.store
    store.upsert(
        [
            _p(1, facets=("doctor: Dermatologist", "Doctor")),
            _p(2, facets=("doctor: Dermatologist", "Doctor")),
            _p(3, facets=("doctor: GP", "Doctor")),
        ]
    )
    axes = np.eye(4, 384, dtype=np.float32)
    doctor = (axes[0] + axes[1]) / np.linalg.norm(axes[0] + axes[1])
    by_text = {
        "doctor: Dermatologist": axes[0],
        "doctor: GP": axes[1],
        "Doctor": doctor,
    }
    store.facet_vectors = np.stack([by_text[t] for t in store.facet_texts])
    assert store.widens(store._facet_codes["Doctor"], 0)
    return matcher, axes


def test_the_latest_need_wins_over_one_it_contradicts():
    matcher, axes = _kinds_matcher()
    # "a dermatologist" ... "rather a general practitioner"
    need = matcher.read_need(np.stack([axes[0], axes[1]]))
    assert need.weights.tolist() == pytest.approx([Weights().earlier_need, 1.0])
    assert (need.vector @ axes[1]) > (need.vector @ axes[0])


def test_a_later_broad_word_does_not_undo_a_fine_kind():
    matcher, axes = _kinds_matcher()
    doctor = (axes[0] + axes[1]) / np.linalg.norm(axes[0] + axes[1])
    # "a dermatologist" ... "what's this doctor's address?"
    need = matcher.read_need(np.stack([axes[0], doctor]))
    assert need.weights.tolist() == pytest.approx([1.0, 1.0])


def test_sentences_that_name_no_kind_hardly_count():
    matcher, axes = _kinds_matcher()
    # "a dermatologist" ... "yes, what is their phone number?"
    need = matcher.read_need(np.stack([axes[0], axes[3]]))
    assert need.weights.tolist() == pytest.approx([1.0, 0.0])
    assert need.vector[0] @ axes[0] == pytest.approx(1.0)


def test_the_named_towns_providers_come_first_among_those_who_fit():
    profiles = [
        _p(1, town="Skokie, IL", facets=("Plumbing",)),
        _p(2, town="Evanston, IL", facets=("Plumbing",)),
        _p(3, town="Skokie, IL", categories=("painting",), facets=("Painting",)),
    ]
    store, rows = _store(*profiles)
    query = MatchQuery("a plumber", lat=CHICAGO[0], lon=CHICAGO[1], town="Skokie, IL")
    similarity = np.array([0.5, 0.6, 0.3])
    # the painter fits the need far worse than either plumber
    category = np.full(max(store._codes.values()) + 1, -1.0)
    category[store.code("plumbing")], category[store.code("painting")] = 0.6, 0.1
    facet_fit = np.array([0.7, 0.7, 0.2])
    total, features, _ = score(
        store, rows, similarity, query, Weights(), category, facet_fit
    )
    assert features["town"].tolist() == [1.0, 0.0, 0.0]
    assert np.argsort(-total).tolist() == [0, 1, 2]
    # without a town named, the better text fit comes first
    query.town = None
    total, features, _ = score(
        store, rows, similarity, query, Weights(), category, facet_fit
    )
    assert not features["town"].any() and np.argmax(total) == 1


def test_reasons_say_where_from_the_town_named():
    skokie, evanston = _p(1, town="Skokie, IL"), _p(2, town="Evanston, IL")
    query = MatchQuery("a plumber", town="Skokie, IL")
    near = Match(1, 1.0, 0.6, 0.4, False, {})
    assert reasons_for(skokie, near, query)[1] == "in Skokie"
    neighbour = Match(2, 1.0, 0.6, 6.2, False, {}, facet="plumber: emergency call-outs")
    assert reasons_for(evanston, neighbour, query)[1:3] == [
        "emergency call-outs",
        "in Evanston, 6 km from Skokie",
    ]
    assert reasons_for(evanston, neighbour, MatchQuery("x"))[2] == "6 km away"


def test_the_named_towns_providers_are_candidates_however_crowded_its_neighbours():
    """Many near-identical providers next door must not keep the named town's
    own out of the candidates."""
    from matching.matcher import Matcher

    class Same:
        name, dimension = "same", 384

        def encode(self, texts, batch_size=64):
            out = np.zeros((len(texts), 384), dtype=np.float32)
            out[:, 0] = 1.0
            for i, text in enumerate(texts):
                out[i, 1] = 0.01 if "Skokie" in text else 0.2  # next door fits more
            return out / np.linalg.norm(out, axis=1, keepdims=True)

    neighbours = [
        _p(i, text=f"plumber {i}", town="Evanston, IL", facets=("Plumbing",))
        for i in range(1, 200)
    ]
    local = _p(999, text="Skokie plumber", town="Skokie, IL", facets=("Plumbing",))
    matcher = Matcher(Same())
    matcher.rebuild([*neighbours, local])
    query = MatchQuery("plumber", lat=CHICAGO[0], lon=CHICAGO[1], town="Skokie, IL")
    found = matcher.search(query)
    assert found[0].provider_id == 999
    assert found[0].features["town"] == 1.0


def test_which_kinds_go_together_and_who_is_in_town_follow_every_change():
    store, _ = _store(
        _p(1, town="Skokie, IL", facets=("doctor: Dermatologist", "Doctor")),
        _p(2, town="Skokie, IL", facets=("doctor: GP", "Doctor")),
    )
    derm, doctor, gp = (
        store._facet_codes[t] for t in ("doctor: Dermatologist", "Doctor", "doctor: GP")
    )
    assert store.widens(doctor, derm) and not store.widens(derm, doctor)
    assert not store.related(derm, gp)
    assert sorted(store.town_ids("Skokie, IL").tolist()) == [1, 2]
    # provider 2 becomes a dermatologist in Evanston, without the broad kind
    store.upsert([_p(2, town="Evanston, IL", facets=("doctor: Dermatologist",))])
    assert store.town_ids("Skokie, IL").tolist() == [1]
    assert store.town_ids("Evanston, IL").tolist() == [2]
    assert not store.widens(doctor, derm)  # one of two dermatologists is a doctor
    store.remove([2])
    assert store.widens(doctor, derm) and store.facet_count[gp] == 0
