"""The categories every Beckon marketplace starts with.

Trades are done on site at an address; readings are remote sessions by phone or
video. Synonyms are the words people use for a category; they feed the Alexa
slot type, the Dialogflow entity and speech hints.
"""

from __future__ import annotations

from typing import NamedTuple


class CategorySpec(NamedTuple):
    slug: str
    name: str
    kind: str  # "trade" | "reading"
    description: str
    synonyms: tuple[str, ...]


DEFAULT_CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "plumbing",
        "Plumbing",
        "trade",
        "Leaks, pipes, drains, toilets, water heaters and fixtures.",
        ("plumber", "leak", "pipe", "drain", "toilet", "water heater"),
    ),
    CategorySpec(
        "electrical",
        "Electrical",
        "trade",
        "Wiring, outlets, breakers, lighting and EV chargers.",
        ("electrician", "wiring", "outlet", "breaker", "lights"),
    ),
    CategorySpec(
        "hvac",
        "Heating and cooling",
        "trade",
        "Furnaces, boilers, air conditioning and heat pumps.",
        ("HVAC technician", "hvac", "heating", "air conditioning", "furnace", "boiler"),
    ),
    CategorySpec(
        "cleaning",
        "Cleaning",
        "trade",
        "Home and office cleaning, deep cleans, move-out cleans.",
        ("cleaner", "maid", "house cleaning", "deep clean"),
    ),
    CategorySpec(
        "handyman",
        "Handyman",
        "trade",
        "Small repairs, furniture assembly, mounting and odd jobs.",
        ("handyman", "odd jobs", "furniture assembly", "tv mounting"),
    ),
    CategorySpec(
        "painting",
        "Painting",
        "trade",
        "Interior and exterior painting, drywall patching.",
        ("painter", "paint", "drywall"),
    ),
    CategorySpec(
        "roofing",
        "Roofing",
        "trade",
        "Roof repairs, shingles, gutters and leaks from above.",
        ("roofer", "roof", "gutters", "shingles"),
    ),
    CategorySpec(
        "locksmith",
        "Locksmith",
        "trade",
        "Lockouts, lock changes, rekeying and smart locks.",
        ("locksmith", "locked out", "lock", "keys"),
    ),
    CategorySpec(
        "pest-control",
        "Pest control",
        "trade",
        "Mice, rats, cockroaches, bed bugs, termites and wasps.",
        ("pest control technician", "exterminator", "pests", "mice", "bed bugs"),
    ),
    CategorySpec(
        "landscaping",
        "Landscaping",
        "trade",
        "Lawn care, gardening, tree trimming and yard clean-up.",
        ("landscaper", "gardener", "lawn", "yard", "tree trimming"),
    ),
    CategorySpec(
        "appliance-repair",
        "Appliance repair",
        "trade",
        "Washers, dryers, fridges, ovens and dishwashers.",
        (
            "appliance repair technician",
            "appliance repair",
            "washer",
            "dryer",
            "fridge",
        ),
    ),
    CategorySpec(
        "moving",
        "Moving",
        "trade",
        "Movers, packing, furniture moving and hauling.",
        ("mover", "movers", "moving", "hauling", "packing"),
    ),
    CategorySpec(
        "tarot-reading",
        "Tarot reading",
        "reading",
        "Tarot card readings on love, career and life questions.",
        ("tarot reader", "tarot", "card reading", "love reading"),
    ),
    CategorySpec(
        "astrology",
        "Astrology",
        "reading",
        "Birth charts, horoscopes, synastry and transits.",
        ("astrologer", "birth chart", "horoscope", "zodiac"),
    ),
    CategorySpec(
        "psychic-medium",
        "Psychic and mediumship",
        "reading",
        "Psychic readings and mediumship sessions.",
        ("psychic medium", "psychic", "medium", "clairvoyant"),
    ),
    CategorySpec(
        "life-coaching",
        "Life coaching",
        "reading",
        "Coaching sessions on goals, confidence and life changes.",
        ("life coach", "coaching", "mindset"),
    ),
    CategorySpec(
        "career-coaching",
        "Career coaching",
        "reading",
        "Career direction, job search, interviews and CV reviews.",
        ("career coach", "job coach", "interview prep", "resume"),
    ),
    CategorySpec(
        "numerology",
        "Numerology",
        "reading",
        "Readings of life path, name and birthday numbers.",
        ("numerologist", "life path number"),
    ),
)

CATEGORY_SLUGS = frozenset(c.slug for c in DEFAULT_CATEGORIES)
