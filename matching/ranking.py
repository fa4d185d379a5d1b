"""What a provider is to the matcher, what a request is, and how matches are ranked.

The matcher knows providers only as ids, texts and features. Ranking combines
semantic similarity with hard filters (category, service area, active,
verified, language) and soft features (distance, rating with its review count,
price, free time in the wanted window, and the customer's own history), each
weighted by configuration, and says why in words a person can read aloud.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

EARTH_RADIUS_KM = 6371.0088
MAX_TAGS = 4  # categories or languages kept per provider for filtering


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


@dataclass(frozen=True)
class Weights:
    semantic: float = 1.0
    category_fit: float = 0.5
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

    def code(self, tag: str) -> int:
        """A small integer for a category or language tag (-2: never seen)."""
        return self._codes.get(tag, -2)

    def _tags(self, tags: Iterable[str]) -> list[int]:
        out = []
        for tag in list(tags)[:MAX_TAGS]:
            out.append(self._codes.setdefault(tag, len(self._codes)))
        return out + [-1] * (MAX_TAGS - len(out))

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
            self.profiles[row] = p
            self.ids[row] = p.id
            self.lat[row], self.lon[row], self.radius[row] = p.lat, p.lon, p.radius_km
            self.remote[row], self.active[row] = p.remote, p.active
            self.verified[row] = p.verified
            self.rating[row], self.reviews[row] = p.rating, p.review_count
            self.price[row] = np.nan if p.price_cents is None else p.price_cents
            self.categories[row] = self._tags(p.categories)
            self.languages[row] = self._tags(p.languages)
        return rows

    def remove(self, ids: Iterable[int]) -> None:
        rows = [self.row_of[pid] for pid in ids if pid in self.row_of]
        self.active[rows] = False  # a row is reused only by the same provider

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
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Scores of candidate rows (before availability), their features, distances.

    ``category_similarity[code]`` is the request's similarity to the text of the
    category with that tag code (the catalogue's own words for it).
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
    distance = None
    if query.lat is not None and query.lon is not None:
        distance = haversine_km(query.lat, query.lon, store.lat[rows], store.lon[rows])
        near = np.exp(-distance / weights.distance_scale_km)
        features["proximity"] = np.where(store.remote[rows], 0.5, near)
    else:
        features["proximity"] = np.full(len(rows), 0.5)
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
        weights.semantic * features["semantic"]
        + weights.category_fit * features["category_fit"]
        + weights.proximity * features["proximity"]
        + weights.quality * features["quality"]
        + weights.price * features["price"]
        + weights.preference * features["preference"]
    )
    return total, features, distance


def _money(cents: int) -> str:
    return f"${cents / 100:,.0f}"


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
    if profile.remote:
        reasons.append("works by phone or video")
    elif match.distance_km is not None:
        km = match.distance_km
        reasons.append("in your area" if km < 1 else f"{km:.0f} km away")
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
