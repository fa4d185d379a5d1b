"""Matching wired to the domain: profiles from providers, an index kept in step
with the database, and the one path every request for a provider takes.

The index lives in each process (web, worker), loaded from the data directory
at start and caught up with the database by ``providers.updated_at``: before
every match and, in a server, from a background thread every half second. A
provider created, edited or deactivated is searchable (or gone) within a
second, without a rebuild.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import make_engine, make_session_factory, unit_of_work, utcnow
from backend.models import (
    Booking,
    BookingStatus,
    Category,
    Provider,
    Review,
    ServiceMode,
    VerificationState,
    provider_categories,
)
from backend.services.availability import Slot, check_window, free_slots_of
from backend.services.customers import get_customer
from backend.services.errors import Invalid
from backend.services.geo import haversine_km
from backend.services.places import (
    Place,
    Served,
    load_gazetteer,
    place_from,
    resolve_city,
)
from backend.services.providers import find_category
from backend.services.rules import BookingRules
from matching.encoder import Encoder, load_encoder
from matching.index import IndexParams
from matching.matcher import BuildStats, Matcher
from matching.ranking import Match, MatchQuery, Preferences, ProviderProfile, Weights

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=7)
SAVE_EVERY_SECONDS = 30.0


# ---------------------------------------------------------------- profiles


def category_label(category: Category) -> str:
    """How a person calls a provider of this category ("plumber", "tarot reader")."""
    return category.synonyms[0] if category.synonyms else category.name.lower()


#: attribute keys whose values say nothing of what a provider does
_NOT_A_KIND = re.compile(r"(^|_)(address|phone|email|url|website|id|number|name)$")
_KIND_WORDS = re.compile(r"^[^\W\d_][\w&'/ -]{0,39}$")
_TRUE, _FALSE = {"true", "yes"}, {"false", "no"}


def _kind_of_value(value: object) -> bool | str | None:
    """An attribute value as a yes/no, a short kind ("Dermatologist"), or nothing."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.casefold() in _TRUE | _FALSE:
            return text.casefold() in _TRUE
        if _KIND_WORDS.match(text) and len(text.split()) <= 5:
            return text
    return None


def kinds_of(
    attributes: dict[str, Any],
    label: str,
    categories: list[str],
    services: list[tuple[str, str]],
) -> tuple[str, ...]:
    """The fine kinds of what a provider does, most specific first, each said
    within its kind so that a shared word alone does not make a fit ("doctor:
    Dermatologist", "hair stylist: unisex", "cleaner: Fridge & oven add-on"):
    its specialities and yes/no ``attributes``, its ``categories`` (names),
    its ``services`` ((name, label of its category)). ``label`` is how a
    person calls the provider's first category ("hair stylist")."""
    kinds: list[str] = []
    for key, value in attributes.items():
        if _NOT_A_KIND.search(key):
            continue
        for item in value if isinstance(value, list) else [value]:
            kind = _kind_of_value(item)
            if kind is True:
                kinds.append(f"{label}: {key.removeprefix('is_').replace('_', ' ')}")
            elif isinstance(kind, str):
                kinds.append(f"{label}: {kind}")
    kinds += categories
    kinds += [f"{kind or label}: {name}" for name, kind in services]
    return tuple(dict.fromkeys(kinds))


def facets_of(provider: Provider) -> tuple[str, ...]:
    """:func:`kinds_of` a provider."""
    categories = provider.categories
    return kinds_of(
        provider.attributes or {},
        category_label(categories[0]) if categories else "provider",
        [c.name for c in categories],
        [
            (s.name, category_label(s.category) if s.category else "")
            for s in provider.services
            if s.active
        ],
    )


#: a provider's city names their town only if the town is this close to them
TOWN_KM = 30.0


@lru_cache(maxsize=8192)
def _town_at(city: str, lat: float, lon: float) -> str:
    def near(town_lat: float, town_lon: float) -> bool:
        return haversine_km(town_lat, town_lon, lat, lon) <= TOWN_KM

    try:
        place = resolve_city(city, near)
    except Invalid:
        return ""
    return place.label if near(place.lat, place.lon) else ""


def town_of(city: str | None, lat: float, lon: float) -> str:
    """The gazetteer's label of the town a provider's city names ("Mill
    Valley, CA"), of its namesakes the one near them; empty when it names none
    near them."""
    if not city or not city.strip():
        return ""
    return _town_at(city.strip(), round(lat, 3), round(lon, 3))


def profile_of(provider: Provider) -> ProviderProfile:
    """What the matcher knows of a provider: texts to embed and features to rank."""
    services = [s for s in provider.services if s.active]
    categories = provider.categories
    headline = ". ".join(
        part
        for part in (
            provider.name,
            ", ".join(c.name for c in categories),
            ", ".join(s.name for s in services),
        )
        if part
    )
    attrs = provider.attributes or {}
    extras = [
        f"{key.replace('_', ' ')}: {value}"
        for key, value in attrs.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    extras += [key.replace("_", " ") for key, value in attrs.items() if value is True]
    languages = [lang for lang in provider.languages if lang != "en"]
    text = (
        " ".join(
            part
            for part in (
                provider.description,
                ("Also: " + ", ".join(extras) + ".") if extras else "",
                ("Languages: " + ", ".join(languages) + ".") if languages else "",
            )
            if part
        )
        or headline
    )
    prices = [s.price_cents for s in services if s.price_cents]
    remote = provider_is_remote(provider)
    return ProviderProfile(
        id=provider.id,
        text=text,
        headline=headline,
        categories=tuple(c.slug for c in categories),
        category_labels=tuple(category_label(c) for c in categories),
        lat=provider.lat,
        lon=provider.lon,
        radius_km=provider.radius_km,
        remote=remote,
        active=provider.active,
        verified=provider.verification_state == VerificationState.VERIFIED,
        rating=provider.rating,
        review_count=provider.review_count,
        price_cents=min(prices) if prices else None,
        languages=tuple(provider.languages or ("en",)),
        licensed=bool(attrs.get("licensed")),
        insured=bool(attrs.get("insured")),
        # who works by phone or video is in no town a customer names
        town="" if remote else town_of(provider.city, provider.lat, provider.lon),
        facets=facets_of(provider),
    )


def category_text(category: Category) -> str:
    """A category in the catalogue's own words: "Plumbing: Leaks, pipes...
    (plumber, leak)", or just its name when the catalogue says no more."""
    text = category.name
    if category.description:
        text += f": {category.description}"
    if category.synonyms:
        text += f" ({', '.join(category.synonyms)})"
    return text


def category_texts(session: Session) -> dict[str, str]:
    """Each category in the catalogue's own words, for the category-fit feature."""
    return {c.slug: category_text(c) for c in session.scalars(select(Category))}


@lru_cache(maxsize=4)
def shared_encoder(model_path: str, backend: str, cache_dir: str) -> Encoder:
    """One encoder per process: the model is loaded once, never per request."""
    return load_encoder(model_path or None, backend=backend, cache_dir=cache_dir)


# ---------------------------------------------------------------- the index


@dataclass
class MatchRequest:
    text: str
    place: Place | None
    start: datetime
    end: datetime
    category: str | None = None
    customer_id: int | None = None
    limit: int = 5
    verified_only: bool = False
    language: str | None = None


@dataclass
class MatchResult:
    provider: Provider
    match: Match
    slots: list[Slot] = field(default_factory=list)


class MatchingIndex:
    """The process's matcher, kept in step with the providers table."""

    def __init__(
        self,
        *,
        directory: Path,
        model_path: str = "",
        encoder_backend: str = "auto",
        model_cache_dir: Path,
        kind: str = "auto",
        params: dict | None = None,
        weights: dict | None = None,
    ):
        self.matcher = Matcher(
            lambda: shared_encoder(model_path, encoder_backend, str(model_cache_dir)),
            directory=directory,
            weights=Weights.from_dict(weights),
            kind=kind,
            params=IndexParams.from_dict(params),
        )
        self.watermark: datetime | None = None
        self._ready = False
        self._lock = threading.RLock()
        self._dirty_since: float | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def from_config(cls, config) -> MatchingIndex:
        return cls(
            directory=config.index_dir,
            model_path=config.MODEL_PATH,
            encoder_backend=config.ENCODER_BACKEND,
            model_cache_dir=config.MODEL_CACHE_DIR,
            kind=config.INDEX_KIND,
            params=config.INDEX_PARAMS,
            weights=config.MATCH_WEIGHTS,
        )

    # -- keeping in step ------------------------------------------------------

    def ensure_ready(self, session: Session) -> None:
        """Load the saved index (or build one), then catch up with the database."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if self.matcher.load() and self.matcher.meta.get("watermark"):
                        self.watermark = datetime.fromisoformat(
                            self.matcher.meta["watermark"]
                        )
                        self.matcher.set_categories(category_texts(session))
                    else:
                        self.rebuild(session)
                    self._ready = True
        self.sync(session)

    def rebuild(self, session: Session) -> BuildStats:
        """Index every active provider from scratch (cached vectors are reused)."""
        with self._lock:
            providers = list(session.scalars(select(Provider).where(Provider.active)))
            self.matcher.set_categories(category_texts(session))
            stats = self.matcher.rebuild([profile_of(p) for p in providers])
            self.watermark = session.scalar(select(func.max(Provider.updated_at)))
            self._ready = True
            self.save()
            return stats

    def sync(self, session: Session) -> int:
        """Apply provider changes since the last sync; returns how many changed."""
        with self._lock:  # one sync at a time: a change is applied once
            return self.apply(*self.changes(session))

    def changes(
        self, session: Session
    ) -> tuple[list[ProviderProfile], datetime | None]:
        """Profiles changed since the last sync (read only), and the new watermark."""
        stmt = select(Provider)
        if self.watermark is not None:
            stmt = stmt.where(Provider.updated_at >= self.watermark)
        changed = []
        newest = self.watermark
        for provider in session.scalars(stmt):
            profile = profile_of(provider)
            if self.matcher.profile(provider.id) != profile:
                changed.append(profile)
            if newest is None or provider.updated_at > newest:
                newest = provider.updated_at
        return changed, newest

    def apply(self, changed: list[ProviderProfile], newest: datetime | None) -> int:
        """Put changed profiles into the index (encoding needs no database)."""
        if not changed:
            return 0
        with self._lock:
            self.matcher.upsert(changed)
            self.watermark = newest
            self._dirty_since = self._dirty_since or time.monotonic()
            if self.matcher.needs_compaction():
                store = self.matcher.store
                live = [p for p in store.profiles[: store.size] if p and p.active]
                self.matcher.rebuild(live)
        return len(changed)

    def save(self) -> None:
        with self._lock:
            self.matcher.save(
                watermark=self.watermark.isoformat() if self.watermark else None,
                saved_at=utcnow().isoformat(),
                encoder=getattr(self.matcher.encoder, "name", "?"),
            )
            self._dirty_since = None

    def save_if_due(self) -> None:
        if (
            self._dirty_since
            and time.monotonic() - self._dirty_since > SAVE_EVERY_SECONDS
        ):
            self.save()

    def start_background_sync(
        self, database_url: str, every: float, *, ready_first: bool = False
    ) -> None:
        """Poll the providers table every ``every`` seconds in a daemon thread.

        The thread reads through an engine of its own whose transactions never
        take SQLite's write lock, and encodes after its read has ended. With
        ``ready_first`` the index is loaded and the model warmed before this
        returns (a web worker: no request pays for it, or holds a transaction
        open while it happens).
        """
        if self._thread is not None or every <= 0:
            return
        engine = make_engine(database_url, sqlite_begin="DEFERRED")
        reader = make_session_factory(engine)

        def sync_once() -> None:
            try:
                with unit_of_work(reader) as session:
                    if not self._ready:
                        self.ensure_ready(session)
                        self.warm_up()
                        return
                    found = self.changes(session)
                self.apply(*found)
                self.save_if_due()
            except Exception:  # keep syncing through a database blip
                log.exception("matching index sync failed; retrying")

        def loop() -> None:
            if not ready_first:
                sync_once()
            while not self._stop.wait(every):
                sync_once()
            engine.dispose()

        if ready_first:
            sync_once()
        self._thread = threading.Thread(target=loop, name="matching-sync", daemon=True)
        self._thread.start()

    def warm_up(self) -> None:
        """Load the model and the gazetteer now, so the first person to ask
        waits for neither."""
        self.matcher.encoder.encode(["a plumber for a leak"])
        load_gazetteer()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._dirty_since:
            self.save()

    def verify(self, session: Session) -> list[str]:
        """Differences between the index as saved and the database (empty: in step)."""
        if not self._ready and not self.matcher.load():
            return ["no saved index: run 'beckon index build'"]
        problems = []
        active = {
            p.id: p for p in session.scalars(select(Provider).where(Provider.active))
        }
        indexed = self.matcher.index.ids() if self.matcher.index else set()
        for pid in sorted(set(active) - indexed):
            problems.append(f"provider {pid} is active but not indexed")
        for pid in sorted(indexed - set(active)):
            problems.append(f"provider {pid} is indexed but not active")
        for pid in sorted(indexed & set(active)):
            if self.matcher.profile(pid) != profile_of(active[pid]):
                problems.append(f"provider {pid} changed since it was indexed")
        return problems

    def status(self) -> dict:
        status = self.matcher.status()
        status["watermark"] = self.watermark.isoformat() if self.watermark else None
        return status

    # -- matching ---------------------------------------------------------------

    def match(
        self,
        session: Session,
        request: MatchRequest,
        rules: BookingRules,
        *,
        now: datetime | None = None,
    ) -> list[MatchResult]:
        """Ranked providers for a request, each with reasons and its next free slots."""
        now = now or utcnow()
        check_window(request.start, request.end, rules)
        if request.category:
            category = find_category(session, request.category)
            if category is None:
                raise Invalid(
                    f"unknown category '{request.category}'", field="category"
                )
            request.category = category.slug
        preferences = None
        zone = None  # the customer's, when we know them
        if request.customer_id is not None:
            customer = get_customer(session, request.customer_id)
            preferences = customer_preferences(session, customer.id)
            zone = customer.timezone
        self.ensure_ready(session)
        query = MatchQuery(
            text=request.text,
            lat=request.place.lat if request.place else None,
            lon=request.place.lon if request.place else None,
            category=request.category,
            verified_only=request.verified_only,
            language=request.language,
            limit=request.limit,
            preferences=preferences,
            town=named_town(request.place),
        )
        pool = self.matcher.search(query)
        if not pool:
            return []
        providers = {
            p.id: p
            for p in session.scalars(
                select(Provider).where(Provider.id.in_([m.provider_id for m in pool]))
            )
        }
        slots = free_slots_of(
            session,
            list(providers.values()),
            request.start,
            request.end,
            rules,
            slots_per_provider=3,
            now=now,
        )
        span = (request.end - request.start).total_seconds()
        availability, slot_texts = {}, {}
        for pid, provider in providers.items():
            free = slots.get(pid)
            if free:
                wait = max((free[0].start - max(request.start, now)).total_seconds(), 0)
                availability[pid] = 1.0 - min(wait / span, 1.0)
                # a session by phone happens on the customer's clock, a visit on
                # the provider's
                remote = zone and provider_is_remote(provider)
                shown_zone = zone if remote else provider.timezone
                slot_texts[pid] = describe_slot(free[0].start, shown_zone, now)
            else:
                availability[pid] = 0.0
                slot_texts[pid] = "no free time in that window"
        ranked = self.matcher.finish(pool, query, availability, slot_texts)
        return [
            MatchResult(providers[m.provider_id], m, slots.get(m.provider_id, []))
            for m in ranked
            if m.provider_id in providers
        ]


def named_town(place: Place | None) -> str | None:
    """The town a request names, as profiles name theirs (None for a place
    given by coordinates)."""
    return place.label if place is not None and place.country else None


def provider_is_remote(provider: Provider) -> bool:
    services = [s for s in provider.services if s.active]
    return bool(services) and all(s.mode == ServiceMode.REMOTE for s in services)


def describe_slot(start: datetime, zone: str, now: datetime) -> str:
    """ "free today 15:30", "free tomorrow 9:00", "free Thu 9:00", "free Dec 3 9:00"."""
    tz = ZoneInfo(zone)
    local, today = start.astimezone(tz), now.astimezone(tz).date()
    clock = f"{local.hour}:{local.minute:02d}"
    days = (local.date() - today).days
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days < 7:
        day = local.strftime("%a")
    else:
        day = f"{local.strftime('%b')} {local.day}"
    return f"free {day} {clock}"


def customer_preferences(session: Session, customer_id: int) -> Preferences:
    """Stars this customer gave each provider, and bookings per category."""
    stars = dict(
        session.execute(
            select(Review.provider_id, func.avg(Review.stars))
            .where(Review.customer_id == customer_id)
            .group_by(Review.provider_id)
        ).all()
    )
    booked = dict(
        session.execute(
            select(Category.slug, func.count(Booking.id))
            .join(provider_categories, provider_categories.c.category_id == Category.id)
            .join(Booking, Booking.provider_id == provider_categories.c.provider_id)
            .where(
                Booking.customer_id == customer_id,
                Booking.status.in_(
                    [
                        BookingStatus.CONFIRMED,
                        BookingStatus.COMPLETED,
                        BookingStatus.REVIEWED,
                        BookingStatus.IN_PROGRESS,
                    ]
                ),
            )
            .group_by(Category.slug)
        ).all()
    )
    return Preferences(
        provider_stars={int(k): float(v) for k, v in stars.items()},
        category_bookings={k: int(v) for k, v in booked.items()},
    )


def match_request(
    text: str,
    *,
    city: str | None,
    lat: float | None,
    lon: float | None,
    start: datetime | None,
    end: datetime | None,
    now: datetime | None = None,
    served: Served | None = None,
    **fields,
) -> MatchRequest:
    """A :class:`MatchRequest` from loose input: the place resolved (of
    namesakes, the one ``served``), the window defaulting to the next week."""
    now = now or utcnow()
    place = (
        place_from(city, lat, lon, served=served)
        if (city or lat is not None or lon is not None)
        else None
    )
    start = start or now
    end = end or start + DEFAULT_WINDOW
    return MatchRequest(text=text, place=place, start=start, end=end, **fields)
