"""A deterministic demo marketplace: providers, customers and job requests.

Everything here is made up but shaped like the real thing, so the matcher, the
availability engine and the channels have something believable to work with:

* :func:`demo_provider_records` returns provider import records in the JSONL
  import format (one dict per line), spread over :data:`DEMO_CITIES` and every
  category of :data:`backend.catalogue.DEFAULT_CATEGORIES`;
* :func:`demo_customer_records` returns customers to book with;
* :func:`demo_job_requests` returns requests written the way customers type or
  say them, each labelled with the category a good matcher should pick.

The same seed always gives the same output (only :mod:`random` seeded
explicitly, no set iteration). Phone numbers use the fictional 555-01xx range and
e-mail addresses use example.com / example.org.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import random
import re
import unicodedata
from importlib import resources
from typing import Any, NamedTuple

from backend.catalogue import DEFAULT_CATEGORIES

__all__ = [
    "DEMO_CITIES",
    "DemoCity",
    "demo_customer_records",
    "demo_job_requests",
    "demo_provider_records",
]


class DemoCity(NamedTuple):
    name: str
    state: str
    lat: float
    lon: float
    timezone: str


class _CityExtra(NamedTuple):
    state_name: str
    weight: float
    provider_area_codes: tuple[str, ...]
    customer_area_code: str  # reserved for customers: never clashes with providers
    neighborhoods: tuple[str, ...]
    local_prefixes: tuple[str, ...]
    other_languages: tuple[str, ...]
    spanish_share: float
    # compass sectors (degrees clockwise from north) that stay on land
    sectors: tuple[tuple[float, float], ...] = ((0.0, 360.0),)


_KIND: dict[str, str] = {c.slug: c.kind for c in DEFAULT_CATEGORIES}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAYS = _DAYS[:5]


def load_demo_data(name: str) -> dict[str, Any]:
    """The demo data file ``backend/data/demo/NAME.json``, its arrays as tuples."""
    path = resources.files("backend").joinpath("data", "demo", f"{name}.json")
    return _tuples(json.loads(path.read_text(encoding="utf-8")))


def _tuples(value: Any) -> Any:
    # the tables were tuples in code; keeping them so keeps them immutable
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


_CITIES = load_demo_data("cities")["cities"]
DEMO_CITIES: tuple[DemoCity, ...] = tuple(
    DemoCity(**{f: c[f] for f in DemoCity._fields}) for c in _CITIES
)
_CITY_EXTRA: dict[str, _CityExtra] = {
    c["name"]: _CityExtra(**{f: c[f] for f in _CityExtra._fields if f in c})
    for c in _CITIES
}

_NAMES = load_demo_data("names")
_FIRST_NAMES: tuple[str, ...] = _NAMES["first_names"]
_LAST_NAMES: tuple[str, ...] = _NAMES["last_names"]
_BRAND_PREFIXES: tuple[str, ...] = _NAMES["brand_prefixes"]
_MYSTIC_WORDS: tuple[str, ...] = _NAMES["mystic_words"]
_CELESTIAL_WORDS: tuple[str, ...] = _NAMES["celestial_words"]
_GROWTH_WORDS: tuple[str, ...] = _NAMES["growth_words"]
_TRADE_NAME_PATTERNS: tuple[tuple[str, bool, float], ...] = _NAMES[
    "trade_name_patterns"
]

# Service tuples are (name, duration options in minutes, low $, high $).
_CATEGORY_CONTENT = load_demo_data("categories")
_TRADES: dict[str, dict[str, Any]] = _CATEGORY_CONTENT["trades"]
_READINGS: dict[str, dict[str, Any]] = _CATEGORY_CONTENT["readings"]
_COACHING = frozenset(_CATEGORY_CONTENT["coaching"])

_PROBLEMS = load_demo_data("problems")
# Problems nobody has in a warm city.
_WARM_CITIES = frozenset(_PROBLEMS["warm_cities"])
_COLD_ONLY = frozenset(_PROBLEMS["cold_only"])
# What a provider whose main trade is the first slug takes on from the second.
_CROSS_PROBLEMS: dict[tuple[str, str], tuple[str, ...]] = {
    (row["main"], row["also"]): row["problems"] for row in _PROBLEMS["cross_problems"]
}

_SENTENCES = load_demo_data("sentences")
_LANGUAGE_NAMES: dict[str, str] = _SENTENCES["language_names"]
_TRADE_INTROS_COMPANY: tuple[str, ...] = _SENTENCES["trade_intros_company"]
_TRADE_INTROS_SOLO: tuple[str, ...] = _SENTENCES["trade_intros_solo"]
_TRADE_SPECIALTIES: tuple[str, ...] = _SENTENCES["trade_specialties"]
_TRADE_LICENSED: tuple[str, ...] = _SENTENCES["trade_licensed"]
_TRADE_INSURED: tuple[str, ...] = _SENTENCES["trade_insured"]
_TRADE_TRUST: tuple[str, ...] = _SENTENCES["trade_trust"]
_TRADE_EMERGENCY: tuple[str, ...] = _SENTENCES["trade_emergency"]
_TRADE_AREA: tuple[str, ...] = _SENTENCES["trade_area"]
_READING_TOPICS: tuple[str, ...] = _SENTENCES["reading_topics"]
_READER_GENERIC: tuple[str, ...] = _SENTENCES["reader_generic"]
_COACH_GENERIC: tuple[str, ...] = _SENTENCES["coach_generic"]
_VOICE_COMPANY: dict[str, str] = _SENTENCES["voice_company"]
_VOICE_SOLO: dict[str, str] = _SENTENCES["voice_solo"]
_CERT_PHRASES: dict[str, str] = _SENTENCES["cert_phrases"]

_HOURS = load_demo_data("hours")
_TRADE_HOUR_STYLES: dict[str, float] = _HOURS["trade_hour_styles"]
_TRADE_HOUR_OVERRIDES: dict[str, dict[str, float]] = _HOURS["trade_hour_overrides"]
_READER_HOUR_STYLES: dict[str, float] = _HOURS["reader_hour_styles"]
_COACH_HOUR_STYLES: dict[str, float] = _HOURS["coach_hour_styles"]

_JOB_REQUESTS: tuple[tuple[str, str], ...] = tuple(
    (row["text"], row["category"])
    for row in load_demo_data("job_requests")["job_requests"]
)

# ------------------------------------------------------------------------- helpers


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by ``weights`` (largest remainder), one each first if we can."""
    n = len(weights)
    base = [1] * n if total >= n else [0] * n
    rest = total - sum(base)
    wsum = sum(weights)
    raw = [rest * w / wsum for w in weights]
    alloc = [int(x) for x in raw]
    order = sorted(range(n), key=lambda i: (-(raw[i] - alloc[i]), i))
    for i in order[: rest - sum(alloc)]:
        alloc[i] += 1
    return [b + a for b, a in zip(base, alloc, strict=True)]


def _weighted(rng: random.Random, options: dict[str, float]) -> str:
    keys = [k for k, w in options.items() if w > 0]
    return rng.choices(keys, weights=[options[k] for k in keys])[0]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _email_local(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", _ascii(name).lower().replace("'", ""))
    skip = {"and", "the", "co", "by", "with", "of"}
    words = [w for w in words if w not in skip][:3]
    return ".".join(words) or "provider"


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(template: str, values: dict[str, Any]) -> str:
    text = template.format_map(values)
    return text[:1].upper() + text[1:]


def _jitter(rng: random.Random, city: DemoCity) -> tuple[float, float]:
    sectors = _CITY_EXTRA[city.name].sectors
    start, end = rng.choice(sectors)
    bearing = math.radians(rng.uniform(start, end) % 360.0)
    dist = 14.5 * math.sqrt(rng.random())
    dlat = dist * math.cos(bearing) / 110.574
    dlon = dist * math.sin(bearing) / (111.320 * math.cos(math.radians(city.lat)))
    return round(city.lat + dlat, 5), round(city.lon + dlon, 5)


def _fictional_phones(rng: random.Random, codes: tuple[str, ...]) -> list[str]:
    pool = [f"+1{code}55501{n:02d}" for code in codes for n in range(100)]
    rng.shuffle(pool)
    return pool


# --------------------------------------------------------------------------- hours


def _trade_hours(rng: random.Random, slug: str) -> dict[str, list[list[str]]]:
    style = _weighted(
        rng, {**_TRADE_HOUR_STYLES, **_TRADE_HOUR_OVERRIDES.get(slug, {})}
    )
    start = rng.choice(["07:00", "07:30", "08:00", "08:00", "08:30"])
    end = rng.choice(["16:00", "16:30", "17:00", "17:00", "17:30", "18:00"])
    day = [[start, end]]
    hours: dict[str, list[list[str]]] = {}
    if style in ("weekdays", "weekdays_sat"):
        hours = {d: day for d in _WEEKDAYS}
        if rng.random() < 0.2:
            hours["fri"] = [[start, rng.choice(["14:00", "15:00"])]]
        if style == "weekdays_sat":
            saturday = [rng.choice(["08:00", "09:00"]), rng.choice(["12:00", "14:00"])]
            hours["sat"] = [saturday]
    elif style == "split":
        lunch = rng.choice([["12:00", "13:00"], ["12:00", "12:30"], ["12:30", "13:30"]])
        shift = [
            [rng.choice(["08:00", "09:00"]), lunch[0]],
            [lunch[1], rng.choice(["17:00", "18:00"])],
        ]
        hours = {d: shift for d in _WEEKDAYS}
        if rng.random() < 0.3:
            hours["sat"] = [["09:00", "12:00"]]
    elif style == "four_tens":
        days = _DAYS[:4] if rng.random() < 0.7 else _DAYS[1:5]
        long_day = [["07:00", rng.choice(["17:00", "17:30"])]]
        hours = {d: long_day for d in days}
    elif style == "six_days":
        block = [[rng.choice(["07:00", "08:00"]), rng.choice(["18:00", "19:00"])]]
        hours = {d: block for d in _DAYS[:6]}
    elif style == "all_week":
        wide = [[rng.choice(["07:00", "08:00"]), rng.choice(["20:00", "22:00"])]]
        hours = {d: wide for d in _DAYS}
        if rng.random() < 0.5:
            hours["sun"] = [["10:00", "16:00"]]
    elif style == "always":
        hours = {d: [["00:00", "24:00"]] for d in _DAYS}
    else:  # tue_sat
        block = [["08:00", rng.choice(["16:00", "17:00"])]]
        hours = {d: block for d in _DAYS[1:6]}
    return hours


def _reader_hours(rng: random.Random, slug: str) -> dict[str, list[list[str]]]:
    styles = _COACH_HOUR_STYLES if slug in _COACHING else _READER_HOUR_STYLES
    style = _weighted(rng, styles)
    hours: dict[str, list[list[str]]] = {}
    if style == "evenings_weekends":
        evening = [[rng.choice(["17:00", "18:00"]), rng.choice(["21:00", "22:00"])]]
        weekend = [[rng.choice(["10:00", "11:00"]), rng.choice(["16:00", "18:00"])]]
        hours = {d: evening for d in _WEEKDAYS}
        hours.update({"sat": weekend, "sun": weekend})
    elif style == "evenings":
        days = sorted(rng.sample(range(7), rng.randint(4, 6)))
        evening = [[rng.choice(["18:00", "19:00"]), rng.choice(["22:00", "23:00"])]]
        hours = {_DAYS[i]: evening for i in days}
    elif style == "thu_sun":
        block = [[rng.choice(["11:00", "12:00"]), rng.choice(["20:00", "21:00"])]]
        hours = {d: block for d in _DAYS[3:]}
    elif style == "late":
        hours = {d: [["19:00", "23:00"]] for d in ("sun", "mon", "tue", "wed", "thu")}
        hours.update({"fri": [["20:00", "24:00"]], "sat": [["20:00", "24:00"]]})
    elif style == "split":
        shift = [
            [rng.choice(["09:00", "10:00"]), rng.choice(["12:00", "13:00"])],
            [rng.choice(["17:00", "18:00"]), rng.choice(["20:00", "21:00"])],
        ]
        hours = {d: shift for d in _WEEKDAYS}
    elif style == "daytime":
        block = [[rng.choice(["09:00", "10:00"]), rng.choice(["17:00", "18:00"])]]
        hours = {d: block for d in _WEEKDAYS}
        if rng.random() < 0.3:
            hours["sat"] = [["10:00", "14:00"]]
    else:  # before_after_work
        shift = [["07:00", "09:00"], [rng.choice(["17:00", "17:30"]), "20:00"]]
        hours = {d: shift for d in _WEEKDAYS}
        hours["sat"] = [["09:00", "13:00"]]
    return hours


def _finish_hours(
    rng: random.Random, hours: dict[str, list[list[str]]]
) -> dict[str, Any]:
    """Fresh lists in weekday order; closed days either omitted or given as []."""
    spell_out_closed = rng.random() < 0.5
    week: dict[str, Any] = {}
    for day in _DAYS:
        if day in hours:
            week[day] = [list(interval) for interval in hours[day]]
        elif spell_out_closed:
            week[day] = []
    return week


def _exceptions(rng: random.Random, kind: str) -> list[dict[str, Any]]:
    if rng.random() < 0.45:
        return []
    found: dict[str, list[list[str]]] = {}
    if rng.random() < 0.8:
        found.setdefault("2026-12-25", [])
    if rng.random() < 0.6:
        found.setdefault("2027-01-01", [])
    if rng.random() < 0.35:
        short = [["08:00", "12:00"]] if kind == "trade" else [["10:00", "14:00"]]
        found.setdefault("2026-12-24", short)
    if rng.random() < 0.3:
        nye = [["08:00", "13:00"]] if kind == "trade" else [["19:00", "24:00"]]
        found.setdefault("2026-12-31", nye)
    if rng.random() < 0.2:
        first = _dt.date(2026, 12, 26) + _dt.timedelta(days=rng.randint(0, 20))
        for offset in range(rng.randint(2, 5)):
            found.setdefault((first + _dt.timedelta(days=offset)).isoformat(), [])
    if kind == "trade" and rng.random() < 0.1:
        found.setdefault("2027-01-18", [])  # Martin Luther King Jr. Day
    return [{"date": day, "hours": found[day]} for day in sorted(found)]


# ----------------------------------------------------------------------- providers


def _trade_attributes(rng: random.Random, slug: str, years: int) -> dict[str, Any]:
    spec = _TRADES[slug]
    attrs: dict[str, Any] = {
        "licensed": rng.random() < spec["licensed"],
        "insured": rng.random() < 0.92,
        "years_experience": years,
    }
    if spec["emergency"]:
        attrs["emergency_callouts"] = rng.random() < spec["emergency"]
    if slug in ("cleaning", "handyman", "painting", "roofing", "landscaping", "moving"):
        attrs["free_estimates"] = rng.random() < 0.7
    if slug == "plumbing":
        attrs["water_heater_brands"] = sorted(
            rng.sample(
                ["Rheem", "A. O. Smith", "Bradford White", "Navien", "Rinnai"], 2
            )
        )
    elif slug == "electrical":
        attrs["license_class"] = rng.choice(["Master", "Journeyman", "Master"])
        attrs["ev_charger_certified"] = rng.random() < 0.5
    elif slug == "hvac":
        brands = [
            "Carrier",
            "Trane",
            "Lennox",
            "Goodman",
            "Rheem",
            "Daikin",
            "Mitsubishi",
        ]
        attrs["brands"] = sorted(rng.sample(brands, rng.randint(2, 4)))
        attrs["epa_608_certified"] = True
    elif slug == "cleaning":
        attrs["eco_friendly_products"] = rng.random() < 0.6
        attrs["supplies_included"] = rng.random() < 0.85
        attrs["team_size"] = rng.randint(1, 6)
    elif slug == "handyman":
        attrs["brings_tools"] = True
        attrs["ladder_max_ft"] = rng.choice([8, 12, 16, 24])
    elif slug == "painting":
        attrs["paint_brands"] = sorted(
            rng.sample(["Benjamin Moore", "Sherwin-Williams", "Behr", "PPG"], 2)
        )
        attrs["lead_safe_certified"] = rng.random() < 0.5
    elif slug == "roofing":
        types = ["asphalt shingle", "flat/TPO", "tile", "metal", "slate"]
        attrs["roof_types"] = sorted(rng.sample(types, rng.randint(2, 4)))
        attrs["manufacturer_certified"] = rng.choice(["GAF", "Owens Corning", None])
    elif slug == "locksmith":
        attrs["mobile_service"] = True
        attrs["avg_response_minutes"] = rng.choice([20, 25, 30, 35, 45])
        attrs["automotive"] = rng.random() < 0.6
    elif slug == "pest-control":
        pests = ["mice", "rats", "cockroaches", "bed bugs", "termites", "wasps", "ants"]
        attrs["pests"] = sorted(rng.sample(pests, rng.randint(3, 6)))
        attrs["pet_safe_treatments"] = rng.random() < 0.7
    elif slug == "landscaping":
        attrs["recurring_plans"] = rng.random() < 0.75
        attrs["crew_size"] = rng.randint(1, 5)
    elif slug == "appliance-repair":
        brands = ["Whirlpool", "GE", "Samsung", "LG", "Maytag", "Bosch", "KitchenAid"]
        attrs["brands"] = sorted(rng.sample(brands, rng.randint(3, 6)))
        attrs["parts_warranty_days"] = rng.choice([30, 90, 90, 180])
    elif slug == "moving":
        attrs["crew_size"] = rng.randint(2, 6)
        attrs["trucks"] = rng.randint(1, 4)
        attrs["packing_materials"] = rng.random() < 0.7
    return attrs


def _reader_attributes(rng: random.Random, slug: str, years: int) -> dict[str, Any]:
    formats = ["phone", "video", "chat"]
    attrs: dict[str, Any] = {"years_experience": years}
    if slug == "tarot-reading":
        attrs["deck"] = rng.choice(
            [
                "Rider-Waite",
                "Thoth",
                "Tarot de Marseille",
                "Wild Unknown",
                "Modern Witch",
            ]
        )
        attrs["specialties"] = rng.sample(
            ["love", "career", "money", "family", "spiritual growth", "decisions"],
            rng.randint(2, 3),
        )
    elif slug == "astrology":
        tradition = rng.choice(
            ["Western tropical", "Vedic", "Hellenistic", "Evolutionary"]
        )
        attrs["tradition"] = tradition
        attrs["house_system"] = (
            "Whole Sign"
            if tradition in ("Vedic", "Hellenistic")
            else rng.choice(["Placidus", "Whole Sign", "Koch"])
        )
        attrs["specialties"] = rng.sample(
            ["natal charts", "synastry", "transits", "solar returns", "relocation"],
            rng.randint(2, 3),
        )
    elif slug == "psychic-medium":
        attrs["modalities"] = rng.sample(
            ["clairvoyance", "clairaudience", "clairsentience", "mediumship"], 2
        )
        attrs["specialties"] = rng.sample(
            ["grief", "love", "career", "spirit guides", "pets"], 2
        )
    elif slug == "life-coaching":
        attrs["certification"] = rng.choice(["ICF ACC", "ICF PCC", "CPCC", "iPEC CPC"])
        attrs["specialties"] = rng.sample(
            ["confidence", "transitions", "burnout", "habits", "relationships"], 2
        )
        attrs["free_consultation"] = rng.random() < 0.6
    elif slug == "career-coaching":
        attrs["certification"] = rng.choice(["ICF ACC", "CPRW", "SHRM-CP", "ICF PCC"])
        attrs["industries"] = rng.sample(
            ["tech", "healthcare", "finance", "education", "nonprofits", "retail"], 3
        )
        attrs["specialties"] = rng.sample(
            ["resumes", "interviews", "negotiation", "career change", "LinkedIn"], 2
        )
    else:  # numerology
        attrs["system"] = rng.choice(["Pythagorean", "Chaldean"])
        attrs["specialties"] = rng.sample(
            ["life path", "names", "baby names", "business names", "personal year"], 2
        )
    attrs["session_formats"] = [f for f in formats if rng.random() < 0.7] or ["phone"]
    attrs["recording_provided"] = rng.random() < 0.5
    return attrs


def _pick_name(
    rng: random.Random,
    slug: str,
    city: DemoCity,
    first: str,
    last: str,
    used: set[str],
) -> tuple[str, bool, str]:
    """A unique name, whether it reads as one person (voice "I"), the first name."""
    extra = _CITY_EXTRA[city.name]
    for attempt in range(60):
        values = {
            "first": first if attempt == 0 else rng.choice(_FIRST_NAMES),
            "last": last if attempt == 0 else rng.choice(_LAST_NAMES),
            "last2": rng.choice(_LAST_NAMES),
            "prefix": rng.choice(_BRAND_PREFIXES),
            "local": rng.choice(extra.local_prefixes),
            "i1": rng.choice("ABCDJKMRST"),
            "i2": rng.choice("ABCDJKMRST"),
            "mystic": rng.choice(_MYSTIC_WORDS),
            "celestial": rng.choice(_CELESTIAL_WORDS),
            "growth": rng.choice(_GROWTH_WORDS),
        }
        if _KIND[slug] == "trade":
            patterns = _TRADE_NAME_PATTERNS
            pattern, solo, _ = rng.choices(patterns, weights=[p[2] for p in patterns])[
                0
            ]
            values["suffix"] = rng.choice(_TRADES[slug]["suffixes"])
        else:
            pattern, solo = rng.choice(_READINGS[slug]["names"]), True
        if values["last2"] == values["last"] or values["i1"] == values["i2"]:
            continue
        name = pattern.format_map(values)
        if name not in used:
            used.add(name)
            return name, solo, values["first"]
    name = f"{pattern.format_map(values)} of {city.name}"
    while name in used:
        name += " II"
    used.add(name)
    return name, solo, values["first"]


def _services(rng: random.Random, categories: list[str]) -> list[dict[str, Any]]:
    primary = categories[0]
    count = rng.choice([1, 2, 2, 3, 3, 3, 4, 4])
    picks: list[tuple[str, tuple[str, tuple[int, ...], int, int]]] = []
    if len(categories) > 1 and count >= 2 and rng.random() < 0.75:
        secondary = categories[1]
        picks.append((secondary, rng.choice(_content(secondary)["services"])))
    own = rng.sample(_content(primary)["services"], count - len(picks))
    picks = [(primary, item) for item in own] + picks
    services = []
    for slug, (name, durations, low, high) in picks:
        remote = _KIND[slug] == "reading"
        price = rng.randrange(low, high + 1, 5) * 100
        if remote:
            price = min(max(price, 3000), 20000)
        services.append(
            {
                "name": name,
                "category": slug,
                "mode": "remote" if remote else "onsite",
                "duration_minutes": rng.choice(durations),
                "price_cents": price,
            }
        )
    return services


def _content(slug: str) -> dict[str, Any]:
    return _TRADES[slug] if slug in _TRADES else _READINGS[slug]


def _hours_sentence(kind: str, hours: dict[str, Any], voice: dict[str, str]) -> str:
    """A sentence that agrees with the provider's weekly hours, or ''."""
    open_days = [d for d in _DAYS if hours.get(d)]
    if kind == "trade":
        if all(hours.get(d) == [["00:00", "24:00"]] for d in _DAYS):
            return "Open 24 hours a day, 7 days a week."
        if len(open_days) == 7:
            return "Open seven days a week."
        if "sat" in open_days:
            return "Saturday appointments available."
        return ""
    late = any(end >= "20:00" for d in open_days for _, end in hours[d])
    weekend = "sat" in open_days or "sun" in open_days
    if late and weekend:
        return "Evening and weekend sessions available."
    if late:
        return "Evening sessions for people who work during the day."
    if weekend:
        return "Weekend sessions available."
    return "{We} keep regular daytime hours on weekdays.".format_map(voice)


def _problems(slug: str, city: str) -> list[str]:
    problems = _TRADES[slug]["problems"]
    if city in _WARM_CITIES:
        return [p for p in problems if p not in _COLD_ONLY]
    return list(problems)


def _description(
    rng: random.Random,
    categories: list[str],
    values: dict[str, Any],
    solo: bool,
    attrs: dict[str, Any],
    languages: list[str],
    hours: dict[str, Any],
) -> str:
    slug = categories[0]
    kind = _KIND[slug]
    spec = _content(slug)

    def say(template: str) -> str:
        return _sentence(template, values)

    if kind == "trade":
        generic = _TRADE_INTROS_SOLO if solo else _TRADE_INTROS_COMPANY
        intro = rng.choice(spec["intros"] if rng.random() < 0.6 else generic)
        city = values["city"]
        problems = rng.sample(_problems(slug, city), 3 if len(categories) == 1 else 2)
        if len(categories) > 1:
            cross = _CROSS_PROBLEMS.get((slug, categories[1]))
            problems.append(rng.choice(cross or _problems(categories[1], city)))
        specialties = rng.choice(_TRADE_SPECIALTIES)
    else:
        intro = rng.choice(spec["intros"])
        problems = rng.sample(spec["topics"], 3 if len(categories) == 1 else 2)
        if len(categories) > 1:
            problems.append(rng.choice(_content(categories[1])["topics"]))
        specialties = rng.choice(_READING_TOPICS)
    values.update(p1=problems[0], p2=problems[1], p3=problems[2])
    sentences = [say(intro), say(specialties)]

    pool = [say(rng.choice(spec["extras"]))]
    if kind == "trade":
        if attrs.get("licensed"):
            pool.append(say(rng.choice(_TRADE_LICENSED)))
        elif attrs.get("insured"):
            pool.append(say(rng.choice(_TRADE_INSURED)))
        pool.append(say(rng.choice(_TRADE_TRUST)))
        if attrs.get("emergency_callouts"):
            pool.append(say(rng.choice(_TRADE_EMERGENCY)))
        pool.append(say(rng.choice(_TRADE_AREA)))
        if len(categories) > 1:
            noun2 = _TRADES[categories[1]]["noun"]
            pool.append(
                say(f"{{We}} also take on {noun2} jobs, so one call covers both.")
            )
    else:
        generic = _COACH_GENERIC if slug in _COACHING else _READER_GENERIC
        pool.append(say(rng.choice(generic)))
        if len(categories) > 1:
            noun2 = _READINGS[categories[1]]["noun"]
            pool.append(say(f"I also offer {noun2} sessions."))
    hours_line = _hours_sentence(kind, hours, values)
    if hours_line:
        pool.append(hours_line)
    others = [lang for lang in languages if lang != "en"]
    if others:
        spoken = _join([_LANGUAGE_NAMES[lang] for lang in others])
        if others == ["es"] and rng.random() < 0.5:
            pool.append("Se habla español.")
        elif kind == "trade":
            pool.append(say(f"{{We}} also speak {spoken}."))
        else:
            pool.append(f"Sessions available in English and {spoken}.")
    rng.shuffle(pool)
    target = rng.choice([2, 3, 3, 4, 4, 4])
    sentences.extend(pool[: target - 2])
    return " ".join(sentences)


def _languages(rng: random.Random, city: DemoCity) -> list[str]:
    extra = _CITY_EXTRA[city.name]
    roll = rng.random()
    if roll < extra.spanish_share:
        return ["en", "es"]
    if roll < extra.spanish_share + 0.07:
        return ["en", rng.choice(extra.other_languages)]
    return ["en"]


def _rating(rng: random.Random) -> tuple[float, int]:
    if rng.random() < 0.04:
        return 0.0, 0
    rating = round(min(5.0, max(3.2, 5.0 - abs(rng.gauss(0.0, 0.45)))), 1)
    reviews = int(min(400, max(1, rng.lognormvariate(3.4, 1.0))))
    return rating, reviews


def demo_provider_records(count: int = 360, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` provider import records (the JSONL import shape), reproducibly.

    About 65% trades and 35% readers; every catalogue category gets providers
    once ``count`` is at least the number of categories, and cities are filled in
    proportion to their size (each of the ten gets 20+ at the default count).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed)

    trade_slugs = [c.slug for c in DEFAULT_CATEGORIES if c.kind == "trade"]
    reading_slugs = [c.slug for c in DEFAULT_CATEGORIES if c.kind == "reading"]
    n_trade = round(count * 0.65)
    primaries: list[str] = []
    for slugs, total, specs in (
        (trade_slugs, n_trade, _TRADES),
        (reading_slugs, count - n_trade, _READINGS),
    ):
        shares = _apportion(total, [specs[s]["weight"] for s in slugs])
        for slug, share in zip(slugs, shares, strict=True):
            primaries.extend([slug] * share)
    rng.shuffle(primaries)

    cities: list[DemoCity] = []
    shares = _apportion(count, [_CITY_EXTRA[c.name].weight for c in DEMO_CITIES])
    phones: dict[str, list[str]] = {}
    for city, share in zip(DEMO_CITIES, shares, strict=True):
        pool = _fictional_phones(rng, _CITY_EXTRA[city.name].provider_area_codes)
        if share > len(pool):
            raise ValueError(f"too many providers for {city.name}'s demo phone numbers")
        phones[city.name] = pool
        cities.extend([city] * share)
    rng.shuffle(cities)

    used_names: set[str] = set()
    used_emails: set[str] = set()
    records = []
    for index, (slug, city) in enumerate(zip(primaries, cities, strict=True), start=1):
        records.append(
            _provider(
                rng, index, slug, city, phones[city.name].pop(), used_names, used_emails
            )
        )
    return records


def _provider(
    rng: random.Random,
    index: int,
    slug: str,
    city: DemoCity,
    phone: str,
    used_names: set[str],
    used_emails: set[str],
) -> dict[str, Any]:
    kind = _KIND[slug]
    spec = _content(slug)
    extra = _CITY_EXTRA[city.name]
    categories = [slug]
    if rng.random() < 0.35:
        categories.append(rng.choice(spec["related"]))

    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    name, solo, first = _pick_name(rng, slug, city, first, last, used_names)
    if kind == "trade":
        years = int(rng.triangular(2, 35, 10))
        attributes = _trade_attributes(rng, slug, years)
        radius = rng.choice([10, 15, 15, 20, 20, 25, 30, 40])
        hours = _trade_hours(rng, slug)
    else:
        years = int(rng.triangular(1, 30, 7))
        attributes = _reader_attributes(rng, slug, years)
        radius = 5000
        hours = _reader_hours(rng, slug)
    hours = _finish_hours(rng, hours)
    languages = _languages(rng, city)
    hoods = rng.sample(extra.neighborhoods, 3)

    values: dict[str, Any] = {
        **(_VOICE_SOLO if solo else _VOICE_COMPANY),
        "years": years,
        "since": 2026 - years,
        "city": city.name,
        "state": extra.state_name,
        "hood": hoods[0],
        "hood2": hoods[1],
        "hood3": hoods[2],
        "first": first,
        "miles": int(round(radius * 0.621371 / 5.0) * 5) or 5,
        "noun": spec["noun"],
        "person": spec.get("person", ""),
        "a_noun": _article(spec["noun"]),
        "a_person": _article(spec.get("person", "")),
        "deck": attributes.get("deck", ""),
        "tradition": attributes.get("tradition", ""),
        "house_system": attributes.get("house_system", ""),
        "system": attributes.get("system", ""),
        "cert": _CERT_PHRASES.get(attributes.get("certification", ""), ""),
        "industries": _join(attributes.get("industries", [""])),
    }
    modalities = attributes.get("modalities", ["", ""])
    values.update(modality=modalities[0], modality2=modalities[1])
    description = _description(
        rng, categories, values, solo, attributes, languages, hours
    )

    lat, lon = _jitter(rng, city)
    rating, reviews = _rating(rng)
    domain = "example.com" if kind == "trade" else "example.org"
    local = _email_local(name)
    email = f"{local}@{domain}"
    if email in used_emails:
        email = f"{local}.{index}@{domain}"
    used_emails.add(email)

    return {
        "external_id": f"demo-{index:04d}",
        "name": name,
        "categories": categories,
        "description": description,
        "services": _services(rng, categories),
        "city": city.name,
        "lat": lat,
        "lon": lon,
        "radius_km": radius,
        "timezone": city.timezone,
        "hours": hours,
        "exceptions": _exceptions(rng, kind),
        "phone": phone,
        "email": email,
        "rating": rating,
        "review_count": reviews,
        "languages": languages,
        "verified": rng.random() < 0.75,
        "attributes": attributes,
    }


# ----------------------------------------------------------------------- customers


def demo_customer_records(count: int = 40, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` customers spread over the demo cities, reproducibly.

    Their phone numbers come from an area code per city that providers never
    use, so they cannot clash with :func:`demo_provider_records`.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(seed * 7919 + 13)
    pools = {
        c.name: _fictional_phones(rng, (_CITY_EXTRA[c.name].customer_area_code,))
        for c in DEMO_CITIES
    }
    cities = [DEMO_CITIES[i % len(DEMO_CITIES)] for i in range(count)]
    rng.shuffle(cities)
    used_names: set[str] = set()
    used_emails: set[str] = set()
    customers = []
    for index, city in enumerate(cities, start=1):
        if not pools[city.name]:
            raise ValueError(f"too many customers for {city.name}'s demo phone numbers")
        while True:
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            display = f"{first} {last}" if rng.random() < 0.7 else f"{first} {last[0]}."
            if display not in used_names:
                used_names.add(display)
                break
        local = re.sub(r"[^a-z0-9.]", "", _ascii(f"{first}.{last}").lower())
        email = f"{local}@example.org"
        if email in used_emails:
            email = f"{local}{index}@example.org"
        used_emails.add(email)
        customers.append(
            {
                "display_name": display,
                "phone": pools[city.name].pop(),
                "email": email,
                "timezone": city.timezone,
                "locale": "en-US",
                "city": city.name,
            }
        )
    return customers


def demo_job_requests(seed: int = 7) -> list[dict[str, str]]:
    """Requests in customers' own words, each with the category it should match."""
    rng = random.Random(seed * 104729 + 3)
    requests = [
        {"text": text, "category": slug, "city": rng.choice(DEMO_CITIES).name}
        for text, slug in _JOB_REQUESTS
    ]
    rng.shuffle(requests)
    return requests
