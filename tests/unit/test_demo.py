"""The demo marketplace generator: deterministic, well-formed and varied."""

from __future__ import annotations

import ast
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend import demo
from backend.catalogue import CATEGORY_SLUGS, DEFAULT_CATEGORIES
from backend.demo import (
    DEMO_CITIES,
    demo_customer_records,
    demo_job_requests,
    demo_provider_records,
)

KIND = {c.slug: c.kind for c in DEFAULT_CATEGORIES}
CITIES = {c.name: c for c in DEMO_CITIES}
DAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
DATE = re.compile(
    r"^(?:2026-12-(?:0[1-9]|[12]\d|3[01])|2027-01-(?:0[1-9]|[12]\d|3[01]))$"
)
PHONE = re.compile(r"^\+1[2-9]\d{2}55501\d{2}$")
EMAIL = re.compile(r"^[a-z0-9.]+@example\.(?:com|org)$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

PROVIDER_KEYS = {
    "external_id",
    "name",
    "categories",
    "description",
    "services",
    "city",
    "lat",
    "lon",
    "radius_km",
    "timezone",
    "hours",
    "exceptions",
    "phone",
    "email",
    "rating",
    "review_count",
    "languages",
    "verified",
    "attributes",
}
SERVICE_KEYS = {"name", "category", "mode", "duration_minutes", "price_cents"}
CUSTOMER_KEYS = {"display_name", "phone", "email", "timezone", "locale", "city"}


@pytest.fixture(scope="module")
def providers() -> list[dict]:
    return demo_provider_records()


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _check_intervals(intervals: list) -> None:
    assert isinstance(intervals, list)
    previous_end = -1
    for interval in intervals:
        assert isinstance(interval, list) and len(interval) == 2
        start, end = interval
        assert HHMM.match(start) and HHMM.match(end), interval
        assert _minutes(start) < _minutes(end), interval
        assert _minutes(start) >= previous_end, intervals  # sorted, no overlap
        previous_end = _minutes(end)


# ------------------------------------------------------------------------ cities


def test_cities_are_real_places_in_several_time_zones():
    assert len(DEMO_CITIES) >= 8
    assert len(CITIES) == len(DEMO_CITIES)
    for city in DEMO_CITIES:
        ZoneInfo(city.timezone)
        assert 24 < city.lat < 50 and -125 < city.lon < -66, city
        assert len(city.state) == 2
    zones = {c.timezone for c in DEMO_CITIES}
    assert {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
    } <= zones
    assert CITIES["Chicago"].timezone == "America/Chicago"
    assert CITIES["Phoenix"].timezone == "America/Phoenix"


# --------------------------------------------------------------------- providers


def test_providers_are_deterministic(providers):
    assert demo_provider_records() == providers
    assert demo_provider_records(count=50, seed=3) == demo_provider_records(50, 3)
    assert demo_provider_records(seed=8) != providers


def test_provider_count():
    assert len(demo_provider_records()) == 360
    assert len(demo_provider_records(count=25)) == 25
    assert demo_provider_records(count=0) == []
    with pytest.raises(ValueError):
        demo_provider_records(count=-1)


def test_providers_are_unique(providers):
    for key in ("external_id", "name", "phone", "email"):
        values = [p[key] for p in providers]
        assert len(set(values)) == len(values), key
    assert providers[0]["external_id"] == "demo-0001"
    assert all(re.fullmatch(r"demo-\d{4}", p["external_id"]) for p in providers)


def test_every_category_and_city_is_covered(providers):
    primaries = Counter(p["categories"][0] for p in providers)
    assert set(primaries) == set(CATEGORY_SLUGS)
    cities = Counter(p["city"] for p in providers)
    assert set(cities) == set(CITIES)
    assert min(cities.values()) >= 20
    trades = sum(KIND[p["categories"][0]] == "trade" for p in providers)
    assert 0.6 <= trades / len(providers) <= 0.7
    # small sets still cover every category
    small = demo_provider_records(count=len(CATEGORY_SLUGS), seed=1)
    assert {p["categories"][0] for p in small} == set(CATEGORY_SLUGS)


def test_provider_schema(providers):
    for p in providers:
        assert set(p) == PROVIDER_KEYS, p["external_id"]
        json.dumps(p)  # one JSONL line each
        assert isinstance(p["name"], str) and p["name"].strip()
        assert isinstance(p["description"], str)

        categories = p["categories"]
        assert isinstance(categories, list) and 1 <= len(categories) <= 2
        assert len(set(categories)) == len(categories)
        assert set(categories) <= CATEGORY_SLUGS
        kind = KIND[categories[0]]
        assert all(KIND[c] == kind for c in categories)

        services = p["services"]
        assert isinstance(services, list) and 1 <= len(services) <= 4
        assert len({s["name"] for s in services}) == len(services)
        assert any(s["category"] == categories[0] for s in services)
        for s in services:
            assert set(s) == SERVICE_KEYS
            assert isinstance(s["name"], str) and s["name"]
            assert s["category"] in categories
            duration, price = s["duration_minutes"], s["price_cents"]
            assert isinstance(duration, int) and isinstance(price, int)
            if KIND[s["category"]] == "trade":
                assert s["mode"] == "onsite"
                assert 60 <= duration <= 240
                assert 4000 <= price <= 250_000
            else:
                assert s["mode"] == "remote"
                assert duration in (30, 45, 60, 90)
                assert 3000 <= price <= 20_000

        city = CITIES[p["city"]]
        assert p["timezone"] == city.timezone
        ZoneInfo(p["timezone"])
        assert isinstance(p["lat"], float) and isinstance(p["lon"], float)
        assert _km(city.lat, city.lon, p["lat"], p["lon"]) <= 20.0
        if kind == "trade":
            assert 10 <= p["radius_km"] <= 40
        else:
            assert p["radius_km"] >= 1000

        hours = p["hours"]
        assert isinstance(hours, dict) and set(hours) <= DAYS
        assert any(hours.values()), "open at least one day"
        for intervals in hours.values():
            _check_intervals(intervals)

        assert isinstance(p["exceptions"], list)
        dates = [e["date"] for e in p["exceptions"]]
        assert dates == sorted(set(dates))
        for exception in p["exceptions"]:
            assert set(exception) == {"date", "hours"}
            assert DATE.match(exception["date"]), exception
            _check_intervals(exception["hours"])

        assert PHONE.match(p["phone"]), p["phone"]
        assert EMAIL.match(p["email"]), p["email"]

        rating, reviews = p["rating"], p["review_count"]
        assert isinstance(rating, float) and isinstance(reviews, int)
        assert rating == round(rating, 1)
        if reviews == 0:
            assert rating == 0.0
        else:
            assert 3.2 <= rating <= 5.0 and reviews <= 400

        languages = p["languages"]
        assert languages[0] == "en" and len(set(languages)) == len(languages)
        assert set(languages) <= {"en", "es", "zh", "vi", "fr", "ru", "pt"}
        assert isinstance(p["verified"], bool)
        assert isinstance(p["attributes"], dict) and p["attributes"]


def test_provider_mix_looks_realistic(providers):
    n = len(providers)
    assert 0.65 <= sum(p["verified"] for p in providers) / n <= 0.85
    ratings = [p["rating"] for p in providers if p["review_count"]]
    assert sum(ratings) / len(ratings) >= 4.3
    assert 1 <= sum(p["review_count"] == 0 for p in providers) <= n * 0.1
    assert sum(p["languages"] == ["en"] for p in providers) / n >= 0.6
    assert any("es" in p["languages"] for p in providers)
    assert sum(len(p["categories"]) == 2 for p in providers) >= n * 0.15
    assert sum(bool(p["exceptions"]) for p in providers) >= n * 0.2
    assert sum(not p["exceptions"] for p in providers) >= n * 0.2
    assert any(len(day) == 2 for p in providers for day in p["hours"].values())
    trades = [p for p in providers if KIND[p["categories"][0]] == "trade"]
    readers = [p for p in providers if KIND[p["categories"][0]] == "reading"]
    assert sum("licensed" in p["attributes"] for p in trades) == len(trades)
    assert any("deck" in p["attributes"] for p in readers)
    # readers work evenings and weekends more than trades do
    evening = [
        any(end >= "20:00" for day in p["hours"].values() for _, end in day)
        for p in readers
    ]
    assert sum(evening) >= len(readers) * 0.4


def test_descriptions_are_varied(providers):
    descriptions = [p["description"] for p in providers]
    duplicates = len(descriptions) - len(set(descriptions))
    assert duplicates < 0.05 * len(descriptions)
    sentences = Counter()
    for text in descriptions:
        parts = SENTENCE_END.split(text.strip())
        assert 2 <= len(parts) <= 4, text
        assert all(part[0].isupper() or part[0].isdigit() for part in parts), text
        assert "{" not in text and "}" not in text, text
        sentences.update(parts)
    assert len(sentences) >= 2 * len(providers)
    assert sentences.most_common(1)[0][1] <= 0.15 * len(providers)


def test_descriptions_speak_the_customers_language(providers):
    plumbing = " ".join(
        p["description"] for p in providers if p["categories"][0] == "plumbing"
    ).lower()
    hits = ["leak", "drain", "toilet", "hot water", "pipe", "ceiling"]
    assert sum(word in plumbing for word in hits) >= 4
    tarot = " ".join(
        p["description"] for p in providers if p["categories"][0] == "tarot-reading"
    ).lower()
    assert "tarot" in tarot and "love" in tarot


# --------------------------------------------------------------------- customers


def test_customers():
    customers = demo_customer_records()
    assert customers == demo_customer_records()
    assert len(customers) == 40
    assert len(demo_customer_records(count=7)) == 7
    phones = [c["phone"] for c in customers]
    assert len(set(phones)) == len(phones)
    provider_phones = {p["phone"] for p in demo_provider_records()}
    assert not set(phones) & provider_phones
    assert not {c["phone"] for c in demo_customer_records(count=200)} & provider_phones
    assert {c["city"] for c in customers} == set(CITIES)
    for c in customers:
        assert set(c) == CUSTOMER_KEYS
        assert PHONE.match(c["phone"]) and EMAIL.match(c["email"]), c
        assert c["display_name"].strip()
        assert c["locale"] == "en-US"
        assert c["timezone"] == CITIES[c["city"]].timezone
        ZoneInfo(c["timezone"])


# -------------------------------------------------------------------------- jobs


def test_job_requests():
    requests = demo_job_requests()
    assert requests == demo_job_requests()
    assert len(requests) >= 60
    texts = [r["text"] for r in requests]
    assert len(set(texts)) == len(texts)
    per_category = Counter(r["category"] for r in requests)
    assert set(per_category) == set(CATEGORY_SLUGS)
    assert min(per_category.values()) >= 2
    for r in requests:
        assert set(r) == {"text", "category", "city"}
        assert r["city"] in CITIES
        assert 3 <= len(r["text"].split()) <= 30
    # written like people text: mostly lower case, some without apostrophes
    assert sum(t[0].islower() for t in texts) >= len(texts) / 2
    assert any(
        re.search(r"\b(?:wont|dont|doesnt|isnt|cant|whats|u)\b", t) for t in texts
    )


# ---------------------------------------------------------------------- purity


def test_demo_uses_only_the_standard_library_and_the_catalogue():
    tree = ast.parse(Path(demo.__file__).read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module == "backend.catalogue":
                continue
            modules.add((node.module or "").split(".")[0])
    modules.discard("__future__")
    assert modules <= set(sys.stdlib_module_names), modules
