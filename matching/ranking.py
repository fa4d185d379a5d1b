"""What a provider is to the matcher, what a request is, and how matches are ranked.

The matcher knows providers only as ids, texts and features. Ranking combines
semantic similarity with hard filters (category, service area, active,
verified, language) and soft features (how well the provider's categories and
fine types fit the need, distance, whether they are in the town the customer
named, rating with its review count, price, free time in the wanted window,
and the customer's own history), each weighted by configuration, and says why
in words a person can read aloud.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

EARTH_RADIUS_KM = 6371.0088
MAX_TAGS = 4  # categories or languages kept per provider for filtering
MAX_FACETS = 8  # fine types kept per provider (categories, services, attributes)


@dataclass(frozen=True)
class ProviderProfile:
    """A provider as the matcher sees it."""

    id: int
    #: the long profile: description, attributes, languages
    text: str
    #: what the provider does, briefly: name, categories, services
    headline: str = ""
    categories: tuple[str, ...] = ()
    #: how a person calls each category's provider ("plumber", "tarot reader")
    category_labels: tuple[str, ...] = ()
    lat: float = 0.0
    lon: float = 0.0
    radius_km: float = 25.0
    remote: bool = False
    active: bool = True
    verified: bool = False
    rating: float = 0.0
    review_count: int = 0
    price_cents: int | None = None
    languages: tuple[str, ...] = ("en",)
    licensed: bool = False
    insured: bool = False
    #: the provider's town as the gazetteer names it ("Mill Valley, CA"); empty
    #: when it is not known
    town: str = ""
    #: the fine kinds of what they do, each a short text said within its kind:
    #: specialities and attributes, categories, services ("doctor:
    #: Dermatologist", "hair stylist: unisex", "Plumbing", "plumber: Leak
    #: repair"); see ``backend.services.matching.kinds_of``
    facets: tuple[str, ...] = ()


@dataclass
class Preferences:
    """What one customer booked and rated before."""

    provider_stars: dict[int, float] = field(default_factory=dict)
    category_bookings: dict[str, int] = field(default_factory=dict)


@dataclass
class MatchQuery:
    text: str
    lat: float | None = None
    lon: float | None = None
    category: str | None = None
    verified_only: bool = False
    language: str | None = None
    limit: int = 5
    preferences: Preferences | None = None
    #: the town the customer named, as :attr:`ProviderProfile.town` names it
    town: str | None = None


@dataclass(frozen=True)
class Weights:
    semantic: float = 1.0
    category_fit: float = 0.5
    #: the best fit of the need with one of the provider's fine kinds, counted
    #: above ``facet_floor`` only: a kind named ("a dermatologist") fits its
    #: facet at 0.6-0.8, a problem described shares a word with some facet at
    #: 0.2-0.4
    facet_fit: float = 1.0
    facet_floor: float = 0.3
    #: added to providers in the named town whose kind (category and fine
    #: kinds) fits within ``suitable_margin`` of the best one's: they come
    #: first, neighbours follow
    town: float = 0.15
    suitable_margin: float = 0.1
    #: how a request's sentences make one need (``Matcher.read_need``)
    need_floor: float = 0.25
    need_full: float = 0.45
    need_change: float = 0.1
    earlier_need: float = 0.2
    proximity: float = 0.12
    quality: float = 0.12
    price: float = 0.04
    availability: float = 0.15
    preference: float = 0.15
    #: kilometres at which proximity has fallen to about a third
    distance_scale_km: float = 10.0
    #: reviews a rating needs before it counts fully (Bayesian prior weight)
    rating_prior_count: float = 10.0
    rating_prior_mean: float = 4.0

    @classmethod
    def from_dict(cls, data: dict[str, float] | None) -> Weights:
        known = cls.__dataclass_fields__
        unknown = set(data or {}) - set(known)
        if unknown:
            raise ValueError(f"unknown ranking weight(s): {', '.join(sorted(unknown))}")
        return cls(**{k: float(v) for k, v in (data or {}).items()})


@dataclass
class Match:
    provider_id: int
    score: float
    similarity: float
    distance_km: float | None
    remote: bool
    features: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    next_slot: datetime | None = None
    #: the provider's fine kind that fits the need best, when it fits well
    facet: str | None = None


def haversine_km(
    lat: float, lon: float, lats: np.ndarray, lons: np.ndarray
) -> np.ndarray:
    p1, p2 = math.radians(lat), np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons) - math.radians(lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class FeatureStore:
    """Provider features as numpy columns, one row per provider, updated in place.

    Rows are never reused by another provider, and the columns grow by
    doubling, so an update touches only its own rows.
    """

    def __init__(self) -> None:
        self.row_of: dict[int, int] = {}
        self.profiles: list[ProviderProfile | None] = []
        self.size = 0
        self._codes: dict[str, int] = {}
        n = 0
        self.ids = np.zeros(n, dtype=np.int64)
        self.lat = np.zeros(n)
        self.lon = np.zeros(n)
        self.radius = np.zeros(n)
        self.remote = np.zeros(n, dtype=bool)
        self.active = np.zeros(n, dtype=bool)
        self.verified = np.zeros(n, dtype=bool)
        self.rating = np.zeros(n)
        self.reviews = np.zeros(n)
        self.price = np.full(n, np.nan)
        self.categories = np.full((n, MAX_TAGS), -1, dtype=np.int32)
        self.languages = np.full((n, MAX_TAGS), -1, dtype=np.int32)
        self.town = np.full(n, -1, dtype=np.int32)
        self.facets = np.full((n, MAX_FACETS), -1, dtype=np.int32)
        #: facet texts by code, and their vectors in the same order (the
        #: matcher embeds the new ones after each upsert)
        self.facet_texts: list[str] = []
        self.facet_vectors = np.zeros((0, 384), dtype=np.float32)
        self._facet_codes: dict[str, int] = {}
        #: town code -> ids of the providers in that town, as last asked
        self._town_ids: dict[int, np.ndarray] = {}
        #: active providers with each facet, and with each pair of facets
        #: (which kinds go together: every dermatologist is a doctor)
        self.facet_count: Counter[int] = Counter()
        self.facet_pairs: Counter[tuple[int, int]] = Counter()

    def code(self, tag: str) -> int:
        """A small integer for a category, language or town tag (-2: never seen)."""
        return self._codes.get(tag, -2)

    def _tags(self, tags: Iterable[str], width: int = MAX_TAGS) -> list[int]:
        out = []
        for tag in list(tags)[:width]:
            out.append(self._codes.setdefault(tag, len(self._codes)))
        return out + [-1] * (width - len(out))

    def _facets(self, texts: Iterable[str]) -> list[int]:
        out = []
        for text in list(dict.fromkeys(texts))[:MAX_FACETS]:
            code = self._facet_codes.get(text)
            if code is None:
                code = self._facet_codes[text] = len(self.facet_texts)
                self.facet_texts.append(text)
            out.append(code)
        return out + [-1] * (MAX_FACETS - len(out))

    def _reserve(self, rows: int) -> None:
        capacity = len(self.ids)
        if rows <= capacity:
            return
        extra = max(rows - capacity, capacity)  # double: amortised O(1) appends

        def pad(arr: np.ndarray, fill) -> np.ndarray:
            shape = (extra, *arr.shape[1:])
            return np.concatenate([arr, np.full(shape, fill, dtype=arr.dtype)])

        self.ids = pad(self.ids, -1)
        self.lat, self.lon = pad(self.lat, 0), pad(self.lon, 0)
        self.radius = pad(self.radius, 0)
        self.remote, self.active = pad(self.remote, False), pad(self.active, False)
        self.verified = pad(self.verified, False)
        self.rating, self.reviews = pad(self.rating, 0), pad(self.reviews, 0)
        self.price = pad(self.price, np.nan)
        self.categories = pad(self.categories, -1)
        self.languages = pad(self.languages, -1)
        self.town = pad(self.town, -1)
        self.facets = pad(self.facets, -1)
        self.profiles.extend([None] * extra)

    def upsert(self, profiles: list[ProviderProfile]) -> np.ndarray:
        """Store profiles; returns their rows."""
        new = [p for p in profiles if p.id not in self.row_of]
        if new:
            self._reserve(self.size + len(new))
            for profile in new:
                self.row_of[profile.id] = self.size
                self.size += 1
        rows = np.array([self.row_of[p.id] for p in profiles], dtype=np.int64)
        for p, row in zip(profiles, rows.tolist(), strict=True):
            self._count_kinds(row, -1)
            self.profiles[row] = p
            self.ids[row] = p.id
            self.lat[row], self.lon[row], self.radius[row] = p.lat, p.lon, p.radius_km
            self.remote[row], self.active[row] = p.remote, p.active
            self.verified[row] = p.verified
            self.rating[row], self.reviews[row] = p.rating, p.review_count
            self.price[row] = np.nan if p.price_cents is None else p.price_cents
            self.categories[row] = self._tags(p.categories)
            self.languages[row] = self._tags(p.languages)
            town = self._tags([p.town], 1)[0] if p.town else -1
            self._town_ids.pop(int(self.town[row]), None)
            self._town_ids.pop(town, None)
            self.town[row] = town
            self.facets[row] = self._facets(p.facets)
            self._count_kinds(row, +1)
        return rows

    def remove(self, ids: Iterable[int]) -> None:
        rows = [self.row_of[pid] for pid in ids if pid in self.row_of]
        for row in rows:
            self._count_kinds(row, -1)
        self.active[rows] = False  # a row is reused only by the same provider

    def town_ids(self, town: str) -> np.ndarray:
        """The ids of the providers in a town (as profiles name it); read
        from the town column once, then kept until a provider there changes."""
        code = self.code(town)
        ids = self._town_ids.get(code)
        if ids is None:
            rows = np.flatnonzero(self.town[: self.size] == code) if code >= 0 else []
            ids = self._town_ids[code] = self.ids[rows]
        return ids

    def _count_kinds(self, row: int, sign: int) -> None:
        """Add (or take away) an active row's facets to the counts."""
        if not self.active[row]:
            return
        codes = sorted({int(c) for c in self.facets[row] if c >= 0})
        for i, code in enumerate(codes):
            self.facet_count[code] += sign
            for other in codes[i + 1 :]:
                self.facet_pairs[code, other] += sign

    def related(self, a: int, b: int) -> bool:
        """Whether one of two facets widens the other (or they are one)."""
        return self.widens(a, b) or self.widens(b, a)

    def widens(self, broad: int, fine: int) -> bool:
        """Whether most (more than half) providers of facet ``fine`` have facet
        ``broad`` too ("Doctor" widens "doctor: Dermatologist"), or they are
        the same."""
        if broad == fine:
            return True
        together = self.facet_pairs[min(broad, fine), max(broad, fine)]
        return together > self.facet_count[fine] / 2

    def rows(self, ids: np.ndarray) -> np.ndarray:
        get = self.row_of.get
        return np.fromiter(
            (get(int(i), -1) for i in ids), dtype=np.int64, count=len(ids)
        )


def hard_filter(store: FeatureStore, rows: np.ndarray, query: MatchQuery) -> np.ndarray:
    """A boolean mask of the candidate rows that a request allows at all."""
    keep = (rows >= 0) & store.active[np.maximum(rows, 0)]
    safe = np.maximum(rows, 0)
    if query.verified_only:
        keep &= store.verified[safe]
    if query.category:
        keep &= (store.categories[safe] == store.code(query.category)).any(axis=1)
    if query.language:
        keep &= (store.languages[safe] == store.code(query.language)).any(axis=1)
    if query.lat is not None and query.lon is not None:
        distance = haversine_km(query.lat, query.lon, store.lat[safe], store.lon[safe])
        keep &= store.remote[safe] | (distance <= store.radius[safe])
    else:
        keep &= store.remote[safe]  # without a place, only who works remotely
    return keep


def score(
    store: FeatureStore,
    rows: np.ndarray,
    similarity: np.ndarray,
    query: MatchQuery,
    weights: Weights,
    category_similarity: np.ndarray | None = None,
    facet_fit: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Scores of candidate rows (before availability), their features, distances.

    ``category_similarity[code]`` is the request's similarity to the text of the
    category with that tag code (the catalogue's own words for it);
    ``facet_fit[i]`` the best similarity of the request to one of row i's
    fine kinds (:attr:`ProviderProfile.facets`).
    """
    features: dict[str, np.ndarray] = {"semantic": similarity}
    if category_similarity is not None and len(category_similarity):
        # code -1 (no category in that slot) reads the last entry: -1.
        lookup = np.append(category_similarity, -1.0)
        codes = np.where(
            store.categories[rows] < 0, len(lookup) - 1, store.categories[rows]
        )
        codes = np.minimum(codes, len(lookup) - 1)
        features["category_fit"] = lookup[codes].max(axis=1)
    else:
        features["category_fit"] = np.zeros(len(rows))
    features["facet_fit"] = (
        np.zeros(len(rows))
        if facet_fit is None
        else np.maximum(facet_fit - weights.facet_floor, 0.0)
    )
    fit = (
        weights.semantic * features["semantic"]
        + weights.category_fit * features["category_fit"]
        + weights.facet_fit * features["facet_fit"]
    )
    distance = None
    if query.lat is not None and query.lon is not None:
        distance = haversine_km(query.lat, query.lon, store.lat[rows], store.lon[rows])
        near = np.exp(-distance / weights.distance_scale_km)
        features["proximity"] = np.where(store.remote[rows], 0.5, near)
    else:
        features["proximity"] = np.full(len(rows), 0.5)
    # In the town the customer named, among those whose kind fits the need
    # about as well as the best one's: a plumber in Skokie before one in
    # Evanston, never a painter in Skokie before a plumber in Evanston. Kind is
    # read from the categories and fine kinds, not the whole profile (a name
    # like "Miller Dermatology" says more to the embedding than "Dr. Abel, MD",
    # yet both are dermatologists).
    in_town = np.zeros(len(rows))
    if query.town and len(rows):
        here = store.town[rows] == store.code(query.town)
        kind = features["category_fit"] + features["facet_fit"]
        suitable = kind >= kind.max() - weights.suitable_margin
        in_town = (here & suitable).astype(float)
    features["town"] = in_town
    count = store.reviews[rows]
    prior_n, prior_mean = weights.rating_prior_count, weights.rating_prior_mean
    bayes = (prior_n * prior_mean + store.rating[rows] * count) / (prior_n + count)
    features["quality"] = (bayes - 1.0) / 4.0
    price = store.price[rows]
    known = ~np.isnan(price)
    if known.sum() > 1 and np.nanmax(price) > np.nanmin(price):
        low, high = np.nanmin(price), np.nanmax(price)
        features["price"] = np.where(known, 1 - (price - low) / (high - low), 0.5)
    else:
        features["price"] = np.full(len(rows), 0.5)
    preference = np.zeros(len(rows))
    if query.preferences:
        stars = query.preferences.provider_stars
        booked = query.preferences.category_bookings
        for i, row in enumerate(rows.tolist()):
            pid = int(store.ids[row])
            if pid in stars:
                preference[i] += (stars[pid] - 3.0) / 2.0
            profile = store.profiles[row]
            if profile and booked:
                preference[i] += 0.3 * min(
                    1.0,
                    max((booked.get(c, 0) for c in profile.categories), default=0) / 3,
                )
    features["preference"] = np.clip(preference, -1, 1)
    total = (
        fit
        + weights.town * features["town"]
        + weights.proximity * features["proximity"]
        + weights.quality * features["quality"]
        + weights.price * features["price"]
        + weights.preference * features["preference"]
    )
    return total, features, distance


def _money(cents: int) -> str:
    return f"${cents / 100:,.0f}"


def _town_name(label: str) -> str:
    return label.split(",")[0].strip()


def where(town: str, named: str | None, km: float) -> str:
    """Where the provider is, said from the place the customer named:
    "in Skokie", "in Evanston, 6 km from Skokie", "6 km away"."""
    if named and town:
        if town == named:
            return f"in {_town_name(town)}"
        return f"in {_town_name(town)}, {km:.0f} km from {_town_name(named)}"
    return "in your area" if km < 1 else f"{km:.0f} km away"


def reasons_for(
    profile: ProviderProfile,
    match: Match,
    query: MatchQuery,
    slot_text: str | None = None,
) -> list[str]:
    """Short phrases a person can read aloud: what, where, how good, when."""
    labels = profile.category_labels or ("provider",)
    kind = labels[0]
    if query.category in profile.categories:
        kind = labels[min(profile.categories.index(query.category), len(labels) - 1)]
    if profile.licensed and profile.insured:
        kind = f"licensed and insured {kind}"
    elif profile.licensed:
        kind = f"licensed {kind}"
    elif profile.verified:
        kind = f"verified {kind}"
    reasons = [kind]
    # a facet reads "doctor: Dermatologist"; the reason is the kind itself
    fine = match.facet.split(": ", 1)[-1] if match.facet else ""
    if fine and fine.casefold() not in kind.casefold():
        reasons.append(fine)
    if profile.remote:
        reasons.append("works by phone or video")
    elif match.distance_km is not None:
        reasons.append(where(profile.town, query.town, match.distance_km))
    if profile.review_count:
        reasons.append(f"{profile.rating:.1f} from {profile.review_count} reviews")
    else:
        reasons.append("new on Beckon")
    if profile.price_cents:
        reasons.append(f"from {_money(profile.price_cents)}")
    if (
        query.language
        and query.language in profile.languages
        and query.language != "en"
    ):
        reasons.append(f"speaks {query.language}")
    stars = (query.preferences.provider_stars if query.preferences else {}).get(
        profile.id
    )
    if stars and stars >= 4:
        reasons.append(f"you rated them {stars:.0f} stars before")
    if slot_text:
        reasons.append(slot_text)
    return reasons
