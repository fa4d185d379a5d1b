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
import math
import random
import re
import unicodedata
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


DEMO_CITIES: tuple[DemoCity, ...] = (
    DemoCity("New York", "NY", 40.7128, -74.0060, "America/New_York"),
    DemoCity("Los Angeles", "CA", 34.0522, -118.2437, "America/Los_Angeles"),
    DemoCity("Chicago", "IL", 41.8781, -87.6298, "America/Chicago"),
    DemoCity("Houston", "TX", 29.7604, -95.3698, "America/Chicago"),
    DemoCity("Phoenix", "AZ", 33.4484, -112.0740, "America/Phoenix"),
    DemoCity("Seattle", "WA", 47.6062, -122.3321, "America/Los_Angeles"),
    DemoCity("Denver", "CO", 39.7392, -104.9903, "America/Denver"),
    DemoCity("Miami", "FL", 25.7617, -80.1918, "America/New_York"),
    DemoCity("Atlanta", "GA", 33.7490, -84.3880, "America/New_York"),
    DemoCity("Boston", "MA", 42.3601, -71.0589, "America/New_York"),
)


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


_CITY_EXTRA: dict[str, _CityExtra] = {
    "New York": _CityExtra(
        "New York",
        1.4,
        ("212", "718", "646", "917", "929"),
        "347",
        (
            "Astoria",
            "Park Slope",
            "Harlem",
            "Williamsburg",
            "the Upper West Side",
            "Bushwick",
            "Flushing",
            "Bay Ridge",
            "Chelsea",
            "the South Bronx",
            "Jackson Heights",
            "Crown Heights",
        ),
        ("Five Boroughs", "Empire", "Gotham", "Hudson", "Big Apple", "Knickerbocker"),
        ("zh", "ru", "fr", "pt"),
        0.16,
        ((200.0, 360.0), (0.0, 110.0)),
    ),
    "Los Angeles": _CityExtra(
        "California",
        1.3,
        ("213", "310", "323", "818"),
        "424",
        (
            "Echo Park",
            "Silver Lake",
            "Koreatown",
            "Venice",
            "Culver City",
            "Pasadena",
            "Glendale",
            "Burbank",
            "Highland Park",
            "Boyle Heights",
            "Inglewood",
            "the Valley",
        ),
        ("Sunset", "Golden State", "Pacific", "SoCal", "Angel City", "Canyon"),
        ("zh", "vi", "ru"),
        0.24,
    ),
    "Chicago": _CityExtra(
        "Illinois",
        1.15,
        ("312", "773", "708"),
        "872",
        (
            "Lincoln Park",
            "Wicker Park",
            "Logan Square",
            "Hyde Park",
            "Pilsen",
            "Lakeview",
            "Andersonville",
            "Bridgeport",
            "Rogers Park",
            "the West Loop",
            "Oak Park",
            "Evanston",
        ),
        ("Windy City", "Lakeshore", "Second City", "Prairie", "Chi-Town", "Calumet"),
        ("ru", "zh", "fr"),
        0.14,
        ((185.0, 355.0),),
    ),
    "Houston": _CityExtra(
        "Texas",
        1.05,
        ("713", "281", "832"),
        "346",
        (
            "the Heights",
            "Montrose",
            "Midtown",
            "Bellaire",
            "Katy",
            "Sugar Land",
            "Pearland",
            "Spring Branch",
            "the Energy Corridor",
            "Kingwood",
            "Galleria",
            "the East End",
        ),
        ("Lone Star", "Bayou City", "Gulf Coast", "Space City", "Magnolia", "Texan"),
        ("vi", "zh", "fr"),
        0.24,
    ),
    "Phoenix": _CityExtra(
        "Arizona",
        0.9,
        ("602", "480"),
        "623",
        (
            "Scottsdale",
            "Tempe",
            "Mesa",
            "Chandler",
            "Glendale",
            "Arcadia",
            "Ahwatukee",
            "Gilbert",
            "Peoria",
            "downtown Phoenix",
            "Paradise Valley",
            "Maryvale",
        ),
        (
            "Desert",
            "Valley of the Sun",
            "Saguaro",
            "Copper State",
            "Camelback",
            "Sonoran",
        ),
        ("vi", "zh"),
        0.22,
    ),
    "Seattle": _CityExtra(
        "Washington",
        0.85,
        ("206", "253"),
        "425",
        (
            "Ballard",
            "Capitol Hill",
            "Fremont",
            "Queen Anne",
            "West Seattle",
            "Beacon Hill",
            "Wallingford",
            "Bellevue",
            "Shoreline",
            "Columbia City",
            "Green Lake",
            "Rainier Valley",
        ),
        (
            "Emerald City",
            "Puget Sound",
            "Cascade",
            "Rainier",
            "Salish",
            "Evergreen State",
        ),
        ("zh", "vi", "ru"),
        0.08,
        ((330.0, 390.0), (150.0, 210.0)),
    ),
    "Denver": _CityExtra(
        "Colorado",
        0.8,
        ("303", "983"),
        "720",
        (
            "Capitol Hill",
            "the Highlands",
            "Washington Park",
            "Park Hill",
            "Lakewood",
            "Aurora",
            "Englewood",
            "Baker",
            "RiNo",
            "Littleton",
            "Arvada",
            "Sloan's Lake",
        ),
        (
            "Mile High",
            "Front Range",
            "Rocky Mountain",
            "Red Rocks",
            "Colfax",
            "Columbine",
        ),
        ("ru", "vi"),
        0.13,
    ),
    "Miami": _CityExtra(
        "Florida",
        0.85,
        ("305", "645"),
        "786",
        (
            "Coral Gables",
            "Little Havana",
            "Wynwood",
            "Brickell",
            "Coconut Grove",
            "Hialeah",
            "Kendall",
            "Doral",
            "North Miami",
            "Little Haiti",
            "Westchester",
            "Allapattah",
        ),
        ("Biscayne", "Sunshine", "Coral", "Magic City", "Tropical", "Everglades"),
        ("pt", "fr"),
        0.38,
        ((190.0, 360.0),),
    ),
    "Atlanta": _CityExtra(
        "Georgia",
        0.9,
        ("404", "678"),
        "770",
        (
            "Midtown",
            "Decatur",
            "Buckhead",
            "Inman Park",
            "East Atlanta",
            "Grant Park",
            "Sandy Springs",
            "Kirkwood",
            "the West End",
            "the Old Fourth Ward",
            "Marietta",
            "Virginia-Highland",
        ),
        (
            "Peachtree",
            "Peach State",
            "Piedmont",
            "Chattahoochee",
            "Dogwood",
            "Southern Oak",
        ),
        ("vi", "fr", "zh"),
        0.1,
    ),
    "Boston": _CityExtra(
        "Massachusetts",
        0.8,
        ("617", "781"),
        "857",
        (
            "Dorchester",
            "Jamaica Plain",
            "Somerville",
            "Cambridge",
            "South Boston",
            "Brookline",
            "Roslindale",
            "Charlestown",
            "Allston",
            "Quincy",
            "Newton",
            "East Boston",
        ),
        (
            "Bay State",
            "Beacon Hill",
            "Commonwealth",
            "Minuteman",
            "Harborside",
            "Back Bay",
        ),
        ("pt", "zh", "vi", "fr"),
        0.1,
        ((180.0, 360.0),),
    ),
}

_KIND: dict[str, str] = {c.slug: c.kind for c in DEFAULT_CATEGORIES}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAYS = _DAYS[:5]
_LANGUAGE_NAMES = {
    "es": "Spanish",
    "zh": "Mandarin",
    "vi": "Vietnamese",
    "fr": "French",
    "ru": "Russian",
    "pt": "Portuguese",
}

# --------------------------------------------------------------------------- names

_FIRST_NAMES = (
    "Marisol",
    "James",
    "Hector",
    "Aisha",
    "Tomasz",
    "Priya",
    "DeShawn",
    "Mei",
    "Luis",
    "Katie",
    "Olumide",
    "Sofía",
    "Dmitri",
    "Grace",
    "Andre",
    "Nadia",
    "Carlos",
    "Hannah",
    "Minh",
    "Rosa",
    "Patrick",
    "Yolanda",
    "Kenji",
    "Leah",
    "Mateo",
    "Tanisha",
    "Ivan",
    "Chloé",
    "Samir",
    "Brianna",
    "Diego",
    "Fatima",
    "Connor",
    "Lucia",
    "Jamal",
    "Ingrid",
    "Raj",
    "Maya",
    "Tyrone",
    "Elena",
    "Omar",
    "Jenna",
    "Vinh",
    "Camila",
    "Frank",
    "Zoë",
    "Marcus",
    "Alejandra",
    "Sean",
    "Yuki",
    "Darnell",
    "Renée",
    "Abdul",
    "Teresa",
    "Gabe",
    "Noor",
    "Ray",
    "Bianca",
    "Kwame",
    "Liz",
    "José",
    "Anya",
    "Terrence",
    "Esperanza",
    "Wes",
    "Imani",
    "Ahmed",
    "Colleen",
    "Ricardo",
    "Sunita",
    "Vince",
    "Aaliyah",
    "Marco",
    "Delia",
    "Eli",
    "Paloma",
    "Hung",
    "Tamara",
    "Bo",
    "Celeste",
)

_LAST_NAMES = (
    "Reyes",
    "Nguyen",
    "Kowalski",
    "Okafor",
    "Patel",
    "Johnson",
    "Sullivan",
    "Kim",
    "Garcia",
    "Cohen",
    "Rossi",
    "Washington",
    "Haddad",
    "Ivanova",
    "Martinez",
    "O'Brien",
    "Chen",
    "Baptiste",
    "Morales",
    "Schmidt",
    "Tran",
    "Delgado",
    "Brooks",
    "Novak",
    "Mensah",
    "Romero",
    "Fitzgerald",
    "Castillo",
    "Park",
    "Alvarez",
    "Hughes",
    "Mahmoud",
    "Petrov",
    "Silva",
    "Jackson",
    "Lindqvist",
    "Herrera",
    "Walsh",
    "Yamamoto",
    "Ortiz",
    "Greene",
    "Santos",
    "Murphy",
    "Nakamura",
    "Vega",
    "Coleman",
    "Ferreira",
    "Abernathy",
    "Moreau",
    "Dubois",
    "Russo",
    "Kaplan",
    "Osei",
    "Gutierrez",
    "Bennett",
    "Wong",
    "Jimenez",
    "Sokolov",
    "Carter",
    "Núñez",
    "Flores",
    "Mitchell",
    "Pham",
    "Adeyemi",
    "Brennan",
    "Lopez",
    "Sandoval",
    "Hoang",
    "Kelly",
    "Boateng",
    "Mendoza",
    "Foster",
    "Rahman",
    "Quinn",
    "Estrada",
    "Harrington",
    "Dang",
    "Wallace",
    "Acosta",
    "Lambert",
    "Medina",
    "Iqbal",
    "Torres",
    "Whitfield",
    "Cruz",
)

_BRAND_PREFIXES = (
    "Summit",
    "Blue Line",
    "Cornerstone",
    "True North",
    "Reliable",
    "Keystone",
    "Liberty",
    "Northside",
    "Southside",
    "Evergreen",
    "Copperline",
    "Ironwood",
    "Brightway",
    "Harbor",
    "Pioneer",
    "Redwood",
    "Anchor",
    "Patriot",
    "All-Star",
    "Straight Arrow",
    "Good Neighbor",
    "Honest Abe's",
    "Precision",
    "First Call",
    "Greenleaf",
    "Oak & Pine",
    "Lighthouse",
    "Bluebird",
    "Red Door",
    "Benchmark",
    "Trusty",
    "Level Best",
    "Hometown",
    "Bright Star",
    "Silverline",
    "Top Notch",
    "Clearwater",
    "Granite",
    "Maple Leaf",
    "Sterling",
    "Pronto",
    "A-1",
)

_MYSTIC_WORDS = (
    "Moon & Willow",
    "Silver Fern",
    "Hollow Oak",
    "Wild Rose",
    "Three of Cups",
    "Seventh Star",
    "Blue Lotus",
    "Crescent",
    "Morning Star",
    "Quiet Owl",
    "Golden Thread",
    "Amethyst",
    "Sage & Salt",
    "Lantern",
    "Little Sparrow",
    "Opal",
    "Wandering Moon",
    "Black Cat",
    "Star & Sparrow",
    "Rose Quartz",
)
_CELESTIAL_WORDS = (
    "North Node",
    "Starlit Path",
    "Venus Rising",
    "Twelve Houses",
    "Saturn Return",
    "Moonrise",
    "Night Sky",
    "Cosmic Compass",
    "Midheaven",
    "Lunar Tide",
    "Morning Star",
    "Retrograde",
    "Sun & Moon",
    "Ascendant",
)
_GROWTH_WORDS = (
    "Clear Path",
    "Next Chapter",
    "Brave Steps",
    "True North",
    "Open Door",
    "Compass",
    "Bright Path",
    "Forward Motion",
    "Steady Ground",
    "Launchpad",
    "Turning Point",
    "Groundwork",
    "Keystone",
    "Bold Move",
    "New Leaf",
)

# Trade business names: (pattern, solo voice, weight)
_TRADE_NAME_PATTERNS = (
    ("{last} {suffix}", False, 4.0),
    ("{last} & Sons {suffix}", False, 1.0),
    ("{last} Brothers {suffix}", False, 0.7),
    ("{prefix} {suffix}", False, 3.0),
    ("{local} {suffix}", False, 1.6),
    ("{first}'s {suffix}", True, 1.0),
    ("{first} {last} {suffix}", True, 1.6),
    ("{i1}&{i2} {suffix}", False, 0.6),
    ("{last} & {last2} {suffix}", False, 0.8),
)

# ------------------------------------------------------------- per-category content
#
# Service tuples are (name, duration options in minutes, low $, high $).

_TRADES: dict[str, dict[str, Any]] = {
    "plumbing": {
        "weight": 1.3,
        "noun": "plumbing",
        "person": "plumber",
        "suffixes": (
            "Plumbing",
            "Plumbing & Drain",
            "Plumbing & Heating",
            "Rooter",
            "Plumbing Co.",
            "Plumbing Services",
            "Drain & Sewer",
        ),
        "related": ("hvac", "appliance-repair"),
        "licensed": 0.95,
        "emergency": 0.6,
        "intros": (
            "{We_ve} been fixing leaks and unclogging drains across {city} for "
            "{years} years.",
            "Licensed master plumber serving {hood} and the rest of {city} since "
            "{since}.",
            "{Our} family has been plumbing in {city} for two generations.",
            "Fast, honest plumbing for {city} homes and small businesses — {years} "
            "years and counting.",
            "When water is where it shouldn't be, {we_re} the call to make in {hood} "
            "and nearby.",
            "{We} do residential plumbing repairs and replacements all over {city}, "
            "from old walk-ups to new builds.",
        ),
        "problems": (
            "burst pipes",
            "water coming through the ceiling",
            "clogged drains",
            "slow shower drains",
            "no hot water",
            "running toilets",
            "toilets that won't flush",
            "leaky faucets",
            "water heater installs",
            "tankless water heater repairs",
            "low water pressure",
            "sewer line backups",
            "garbage disposal jams",
            "leaks under the kitchen sink",
            "frozen pipes",
            "sump pump failures",
            "gas line hookups",
            "noisy pipes and water hammer",
            "dripping shower valves",
            "flooded basements",
        ),
        "extras": (
            "{We} carry common parts on the truck, so most repairs are done in one "
            "visit.",
            "Camera inspection available for recurring drain and sewer problems.",
            "{We} install and service Rheem, Bradford White and Navien water heaters.",
            "If water is actively leaking, shut off the main valve and call — {we} "
            "can usually be there within the hour.",
            "Old galvanized pipes and cast-iron drains are {our} specialty.",
            "{We} work clean: drop cloths down, shoe covers on, and a walkthrough "
            "before {we} leave.",
            "Landlords and property managers welcome — {we} can coordinate access "
            "with tenants.",
            "No overtime charge on Saturdays.",
        ),
        "services": (
            ("Service call & diagnosis", (60,), 120, 250),
            ("Drain unclogging", (60, 90), 150, 300),
            ("Toilet repair", (60, 90), 140, 280),
            ("Leak detection & repair", (90, 120), 200, 450),
            ("Water heater repair", (90, 120), 180, 400),
            ("Tank water heater replacement (labor)", (180, 240), 600, 1100),
            ("Faucet or fixture install", (60, 90), 150, 300),
            ("Garbage disposal replacement", (90,), 250, 450),
            ("Emergency after-hours call-out", (60, 120), 250, 450),
        ),
    },
    "electrical": {
        "weight": 1.1,
        "noun": "electrical",
        "person": "electrician",
        "suffixes": (
            "Electric",
            "Electrical Services",
            "Electric Co.",
            "Electrical Contractors",
            "Wiring & Lighting",
            "Power & Light",
        ),
        "related": ("hvac", "handyman"),
        "licensed": 0.97,
        "emergency": 0.45,
        "intros": (
            "Licensed electrician serving {city} homeowners for {years} years.",
            "{We} handle residential and light commercial electrical work throughout "
            "{city}.",
            "Safe, code-compliant electrical work in {hood} and surrounding "
            "neighborhoods since {since}.",
            "Master electrician-owned and operated, with {years} years in the trade.",
            "When the lights go out, {city} neighbors call {us}.",
            "Old-house wiring to new EV chargers, {we_ve} done it all over {years} "
            "years.",
        ),
        "problems": (
            "dead outlets",
            "breakers that keep tripping",
            "flickering lights",
            "ceiling fan installs",
            "light fixture swaps",
            "panel upgrades",
            "EV charger installs",
            "burning smells from outlets",
            "GFCI outlets in kitchens and baths",
            "outdoor and landscape lighting",
            "knob-and-tube rewiring",
            "recessed lighting",
            "whole-house surge protection",
            "generator hookups",
            "switches that buzz or spark",
            "adding outlets in old apartments",
            "half the house losing power",
        ),
        "extras": (
            "Tesla, ChargePoint and JuiceBox chargers installed, with permits pulled "
            "for you.",
            "Every job is done to code and permitted when required.",
            "If you smell burning or see scorch marks, turn off the breaker and call "
            "{us} right away.",
            "{We} upgrade old fuse boxes and 100-amp panels to 200-amp service.",
            "Smart switches, dimmers and doorbell cameras installed and set up.",
            "Free safety check with any panel work.",
        ),
        "services": (
            ("Electrical troubleshooting", (60, 90), 120, 250),
            ("Outlet or switch replacement", (60,), 110, 220),
            ("Light fixture or ceiling fan install", (90, 120), 180, 350),
            ("Breaker panel inspection", (60, 90), 150, 300),
            ("Level 2 EV charger installation", (180, 240), 800, 1800),
            ("GFCI outlet upgrade", (60,), 130, 250),
            ("Recessed lighting install (4 lights)", (180, 240), 600, 1200),
        ),
    },
    "hvac": {
        "weight": 1.1,
        "noun": "heating and cooling",
        "person": "heating and cooling technician",
        "suffixes": (
            "Heating & Air",
            "HVAC",
            "Heating & Cooling",
            "Air Conditioning",
            "Comfort Systems",
            "Climate Control",
            "Mechanical",
        ),
        "related": ("plumbing", "electrical", "appliance-repair"),
        "licensed": 0.95,
        "emergency": 0.55,
        "intros": (
            "Heating and cooling specialists keeping {city} comfortable for {years} "
            "years.",
            "{We} repair, maintain and install furnaces, boilers, AC units and heat "
            "pumps across {city}.",
            "EPA-certified HVAC service with {years} years of experience in {city} "
            "homes.",
            "{We_ve} kept {hood} warm in winter and cool in summer since {since}.",
            "Honest HVAC service — {we} fix what's broken and don't push "
            "replacements you don't need.",
        ),
        "problems": (
            "AC blowing warm air",
            "furnaces that won't turn on",
            "no heat",
            "boiler repairs",
            "cold radiators",
            "heat pump installs",
            "thermostat problems",
            "frozen AC coils",
            "strange noises from the furnace",
            "seasonal tune-ups",
            "mini-split installs",
            "ductwork repairs",
            "short-cycling systems",
            "water leaking from the AC unit",
            "carbon monoxide concerns",
            "uneven heating between rooms",
            "sky-high energy bills",
        ),
        "extras": (
            "{We} service all major brands, including Carrier, Trane, Lennox and "
            "Daikin.",
            "Ask about {our} maintenance plan: two tune-ups a year and priority "
            "scheduling.",
            "Heat pump rebates can be confusing — {we} help you with the paperwork.",
            "No-heat calls get priority when it's freezing out.",
            "Every visit includes a carbon monoxide check.",
            "Ductless mini-splits are a great fix for that one room that never gets "
            "cool.",
        ),
        "services": (
            ("AC tune-up", (60, 90), 90, 180),
            ("Furnace repair visit", (60, 120), 150, 350),
            ("AC repair & diagnostic", (60, 120), 120, 300),
            ("Heat pump service", (90, 120), 150, 300),
            ("Boiler service", (90, 120), 180, 350),
            ("Smart thermostat install", (60, 90), 150, 300),
            ("Duct cleaning", (180, 240), 350, 700),
        ),
    },
    "cleaning": {
        "weight": 1.3,
        "noun": "cleaning",
        "person": "house cleaner",
        "suffixes": (
            "Cleaning Co.",
            "Cleaning Services",
            "Maids",
            "Home Cleaning",
            "Clean Team",
            "Housekeeping",
        ),
        "related": ("moving", "handyman"),
        "licensed": 0.4,
        "emergency": 0.0,
        "intros": (
            "Reliable home cleaning in {city} — same cleaner every visit whenever "
            "possible.",
            "{We_ve} been cleaning homes and offices around {hood} for {years} years.",
            "Detail-oriented house cleaning with {years} years of experience and a "
            "lot of happy regulars.",
            "Woman-owned cleaning service based in {hood}.",
            "{We} make busy {city} households feel calm again, one room at a time.",
        ),
        "problems": (
            "weekly and biweekly cleans",
            "deep cleans",
            "move-out cleans that get your deposit back",
            "move-in cleans",
            "post-renovation dust",
            "Airbnb turnovers",
            "inside the fridge and oven",
            "baseboards and blinds",
            "greasy kitchens",
            "bathroom soap scum and mildew",
            "pet hair everywhere",
            "office cleaning after hours",
            "before-and-after party cleanups",
            "interior windows",
            "laundry and linen changes",
            "closet and pantry organizing",
        ),
        "extras": (
            "{We} bring all supplies and equipment, including a HEPA vacuum.",
            "Eco-friendly, pet-safe products on request at no extra charge.",
            "Landlord-approved move-out checklist so you get your deposit back.",
            "Same cleaner each visit, so you're not explaining your home every time.",
            "Key pickup and lockbox entry are fine — you don't have to be home.",
            "Flat-rate pricing based on bedrooms and bathrooms, no surprises.",
        ),
        "services": (
            ("Standard home cleaning", (120, 180), 120, 220),
            ("Deep clean", (180, 240), 250, 450),
            ("Move-out clean", (180, 240), 300, 550),
            ("Office cleaning", (120, 180), 150, 300),
            ("Post-construction clean", (240,), 400, 700),
            ("Fridge & oven add-on", (60,), 50, 90),
        ),
    },
    "handyman": {
        "weight": 1.3,
        "noun": "handyman",
        "person": "handyman",
        "suffixes": (
            "Handyman Services",
            "Home Repair",
            "Fix-It",
            "Handyman Co.",
            "Odd Jobs & Repairs",
            "Home Services",
        ),
        "related": ("painting", "electrical", "moving", "appliance-repair"),
        "licensed": 0.35,
        "emergency": 0.0,
        "intros": (
            "Handyman with {years} years of experience fixing the little things that "
            "pile up.",
            "{We} tackle the to-do list you've been putting off, anywhere in {city}.",
            "Reliable handyman help for {hood} apartments and houses since {since}.",
            "Carpentry background and {years} years of handyman work across {city}.",
            "One call for all those small jobs around the house.",
        ),
        "problems": (
            "IKEA furniture assembly",
            "TV wall mounting",
            "drywall holes and patches",
            "floating shelves",
            "curtain rods and blinds",
            "sticking or squeaky doors",
            "loose cabinet hinges",
            "caulking tubs and showers",
            "picture and mirror hanging",
            "baby-proofing",
            "replacing towel bars",
            "weatherstripping drafty windows",
            "minor tile repairs",
            "fence and gate fixes",
            "light fixture swaps",
            "closet systems",
        ),
        "extras": (
            "Hourly or flat-rate — your choice, with a one-hour minimum.",
            "{We} bring {our} own tools, ladders and anchors for any wall type, "
            "including plaster and brick.",
            "Send a list and a few photos and {we}'ll quote the whole thing.",
            "Great for new homeowners, landlords between tenants and anyone short on "
            "time.",
            "Cables hidden in the wall for a clean TV install.",
            "If a job needs a licensed plumber or electrician, {we}'ll tell you "
            "straight away.",
        ),
        "services": (
            ("Handyman hour", (60,), 75, 130),
            ("Furniture assembly", (90, 120, 180), 90, 250),
            ("TV wall mounting", (60, 90), 100, 220),
            ("Drywall patch", (90, 120), 150, 300),
            ("Shelf & curtain rod install", (60, 90), 80, 180),
            ("Door repair & adjustment", (60, 90), 100, 200),
            ("Half-day odd jobs", (240,), 280, 450),
        ),
    },
    "painting": {
        "weight": 0.9,
        "noun": "painting",
        "person": "painter",
        "suffixes": (
            "Painting",
            "Painting Co.",
            "Painters",
            "Painting & Drywall",
            "Fine Finishes",
            "Paint Pros",
        ),
        "related": ("handyman",),
        "licensed": 0.55,
        "emergency": 0.0,
        "intros": (
            "Interior and exterior painting in {city} with {years} years of "
            "experience.",
            "Careful, tidy painting for {hood} and nearby since {since}.",
            "{We} paint apartments, houses and small offices all over {city}.",
            "Professional painting without the mess — {we_ve} been at it for {years} "
            "years.",
            "Color consults, careful prep and clean lines are what {we_re} known for "
            "in {city}.",
        ),
        "problems": (
            "living rooms and bedrooms",
            "accent walls",
            "kitchen cabinet refinishing",
            "ceilings with old water stains",
            "peeling exterior paint",
            "drywall patching before paint",
            "trim, doors and baseboards",
            "smoke-stained walls",
            "popcorn ceiling removal",
            "deck and fence staining",
            "wallpaper removal",
            "touch-ups before you sell",
            "nurseries with zero-VOC paint",
            "stairwells and high ceilings",
        ),
        "extras": (
            "{We} use Benjamin Moore and Sherwin-Williams paints and can match any "
            "color.",
            "Furniture is moved and covered, floors protected, and everything put "
            "back.",
            "EPA lead-safe certified for older homes.",
            "Free color consultation with every full-room job.",
            "Most single rooms are done in a day.",
            "Written estimates within 24 hours of the walkthrough.",
        ),
        "services": (
            ("Single room interior painting", (240,), 350, 700),
            ("Accent wall", (180, 240), 250, 450),
            ("Drywall repair & paint touch-up", (120, 180), 200, 400),
            ("Cabinet painting consultation", (60,), 50, 100),
            ("Ceiling painting", (180, 240), 300, 600),
            ("Exterior trim painting", (240,), 500, 1000),
        ),
    },
    "roofing": {
        "weight": 0.7,
        "noun": "roofing",
        "person": "roofer",
        "suffixes": (
            "Roofing",
            "Roofing & Gutters",
            "Roofing Co.",
            "Roof Repair",
            "Exteriors",
            "Roofing & Restoration",
        ),
        "related": ("handyman", "painting"),
        "licensed": 0.9,
        "emergency": 0.4,
        "intros": (
            "Roofing contractor serving {city} for {years} years.",
            "{We} repair and replace roofs on homes throughout {hood} and greater "
            "{city}.",
            "Roof leaks, storm damage and gutters — {we_ve} handled them all since "
            "{since}.",
            "Licensed local roofing: {we} show up when {we} say {we} will.",
            "Honest roof inspections with photos, so you see exactly what {we} see.",
        ),
        "problems": (
            "roof leaks after heavy rain",
            "missing or blown-off shingles",
            "storm and hail damage",
            "clogged or sagging gutters",
            "flashing around chimneys",
            "flat roof repairs",
            "ice dams",
            "attic leaks and water stains",
            "skylight leaks",
            "full roof replacements",
            "soft spots and rotted decking",
            "moss and debris removal",
            "cracked vent boots",
        ),
        "extras": (
            "{We} help with insurance claims and document storm damage with photos.",
            "Same-day emergency tarping for active leaks.",
            "GAF and Owens Corning certified installs with manufacturer warranties.",
            "Free drone inspections for steep or hard-to-reach roofs.",
            "Gutter guards installed to keep leaves out for good.",
            "Every repair comes with a written workmanship warranty.",
        ),
        "services": (
            ("Roof inspection", (60, 90), 150, 350),
            ("Roof leak repair", (120, 180, 240), 350, 950),
            ("Shingle replacement (small area)", (180, 240), 400, 1000),
            ("Gutter cleaning", (90, 120, 180), 150, 300),
            ("Gutter repair", (120, 180), 200, 500),
            ("Flashing repair", (120, 180), 300, 700),
        ),
    },
    "locksmith": {
        "weight": 0.7,
        "noun": "locksmith",
        "person": "locksmith",
        "suffixes": (
            "Locksmith",
            "Lock & Key",
            "Locksmiths",
            "Lock & Safe",
            "Security Locksmith",
            "Key Shop",
        ),
        "related": ("handyman",),
        "licensed": 0.8,
        "emergency": 0.85,
        "intros": (
            "Mobile locksmith covering all of {city}.",
            "{We_ve} been getting people back into their homes and cars in {city} "
            "for {years} years.",
            "Fast, fair locksmith service in {hood} and nearby neighborhoods since "
            "{since}.",
            "Licensed locksmith with {years} years of experience — no bait-and-switch "
            "pricing.",
            "Locked out — {we} usually arrive within 30 minutes anywhere in {city}.",
        ),
        "problems": (
            "home lockouts",
            "car lockouts",
            "broken keys stuck in the lock",
            "rekeying after a move",
            "deadbolt installs",
            "smart lock installs",
            "lost car keys and fobs",
            "mailbox locks",
            "sticky or jammed locks",
            "high-security locks",
            "lock changes after a bad tenant",
            "safe openings",
            "master key systems for small buildings",
        ),
        "extras": (
            "Price quoted on the phone, and that's the price you pay.",
            "{We} install and program Schlage, Kwikset, August and Yale smart locks.",
            "ID required for lockouts — it protects you too.",
            "Rekeying is usually cheaper than replacing the whole lock, and {we}'ll "
            "tell you when it is.",
            "Fully stocked van, so most jobs are finished on the first visit.",
            "Landlord and property manager accounts available.",
        ),
        "services": (
            ("Home lockout", (60,), 90, 200),
            ("Car lockout", (60,), 90, 180),
            ("Rekey locks (up to 3)", (60, 90), 120, 250),
            ("Lock change or deadbolt install", (60, 90), 150, 300),
            ("Smart lock installation", (60, 90), 150, 280),
            ("Mailbox lock replacement", (60,), 80, 150),
        ),
    },
    "pest-control": {
        "weight": 0.7,
        "noun": "pest control",
        "person": "exterminator",
        "suffixes": (
            "Pest Control",
            "Pest Solutions",
            "Exterminating",
            "Pest & Termite",
            "Wildlife & Pest",
            "Pest Defense",
        ),
        "related": ("landscaping",),
        "licensed": 0.95,
        "emergency": 0.25,
        "intros": (
            "Licensed pest control serving {city} homes and businesses for {years} "
            "years.",
            "{We} get rid of pests and keep them from coming back, all over {hood} "
            "and {city}.",
            "Family- and pet-safe extermination with {years} years of field "
            "experience.",
            "Local exterminator, not a national chain — serving {city} since {since}.",
            "Discreet, unmarked vehicles and fast appointments across {city}.",
        ),
        "problems": (
            "mice in the kitchen",
            "rats in the walls or attic",
            "cockroaches",
            "bed bugs",
            "termites",
            "wasp and hornet nests",
            "ants in the kitchen",
            "fleas from pets",
            "spiders",
            "silverfish in bathrooms",
            "mosquitoes in the yard",
            "scratching noises in the ceiling",
            "droppings in the cabinets",
            "stinging insects near doors",
        ),
        "extras": (
            "Free re-treatment if pests return between scheduled visits.",
            "{We} seal entry points so mice and rats can't get back in.",
            "Bed bug heat treatments done in a single day for most apartments.",
            "Treatments are safe for kids and pets once dry.",
            "Quarterly prevention plans for homes and restaurants.",
            "Termite inspections for home sales, with same-week reports.",
        ),
        "services": (
            ("Pest inspection", (60,), 90, 180),
            ("Mouse & rat control", (90, 120), 200, 400),
            ("Cockroach treatment", (60, 90), 150, 300),
            ("Bed bug heat treatment", (240,), 900, 1800),
            ("Wasp & hornet nest removal", (60,), 150, 350),
            ("Termite inspection", (90, 120), 100, 250),
            ("Quarterly prevention visit", (60,), 100, 180),
        ),
    },
    "landscaping": {
        "weight": 0.9,
        "noun": "landscaping",
        "person": "landscaper",
        "suffixes": (
            "Landscaping",
            "Lawn & Garden",
            "Lawn Care",
            "Landscape Co.",
            "Tree & Lawn",
            "Yard Works",
        ),
        "related": ("pest-control", "handyman"),
        "licensed": 0.5,
        "emergency": 0.0,
        "intros": (
            "Lawn care and landscaping across {city} for {years} years.",
            "{We} keep yards in {hood} and nearby looking sharp all season.",
            "Small, reliable landscaping crew serving {city} since {since}.",
            "From weekly mowing to full yard makeovers, {we} do it all.",
            "Local gardening with {years} years of experience and a soft spot for "
            "native plants.",
        ),
        "problems": (
            "weekly lawn mowing",
            "overgrown yards",
            "hedge and shrub trimming",
            "tree trimming and branch removal",
            "leaf cleanup",
            "garden bed planting",
            "mulching",
            "sod installation",
            "sprinkler repairs",
            "weed control",
            "drought-tolerant landscaping",
            "spring and fall cleanups",
            "raised vegetable beds",
            "stump grinding",
        ),
        "extras": (
            "Weekly, biweekly and one-time visits available.",
            "All clippings and yard waste hauled away.",
            "{We} recommend low-water, native plants that suit the {city} climate.",
            "Free on-site estimates for larger projects.",
            "Sprinkler systems tuned so you're not watering the sidewalk.",
            "Tree work done with proper rigging — no branches on the roof.",
        ),
        "services": (
            ("Lawn mowing & edging", (60, 90), 50, 120),
            ("Yard clean-up", (180, 240), 250, 600),
            ("Hedge & shrub trimming", (120, 180), 180, 400),
            ("Tree trimming (small trees)", (180, 240), 350, 900),
            ("Garden bed planting", (120, 240), 250, 600),
            ("Leaf removal", (120, 180), 180, 400),
            ("Sprinkler repair", (60, 120), 120, 280),
        ),
    },
    "appliance-repair": {
        "weight": 0.8,
        "noun": "appliance repair",
        "person": "appliance repair tech",
        "suffixes": (
            "Appliance Repair",
            "Appliance Service",
            "Appliance Doctor",
            "Appliance Pros",
            "Appliance Care",
        ),
        "related": ("hvac", "plumbing", "electrical"),
        "licensed": 0.6,
        "emergency": 0.1,
        "intros": (
            "Appliance repair serving {city} for {years} years.",
            "{We} fix washers, dryers, refrigerators, dishwashers and ovens all over "
            "{city}.",
            "Factory-trained appliance repair based in {hood}, in business since "
            "{since}.",
            "Repair before you replace — {we_ve} saved {city} households thousands "
            "since {since}.",
            "Same-day appliance repair in {hood} and surrounding areas.",
        ),
        "problems": (
            "washers that won't drain",
            "washers that won't spin",
            "dryers that run but don't heat",
            "fridges that aren't cooling",
            "ice makers that stopped working",
            "dishwashers leaking on the floor",
            "dishwashers that don't clean",
            "ovens that won't heat",
            "gas burners that won't light",
            "loud or shaking washers",
            "mystery error codes",
            "freezers frosting up",
            "microwaves that spark",
            "range hood repairs",
        ),
        "extras": (
            "{We} work on Whirlpool, GE, Samsung, LG, Bosch, Maytag and KitchenAid.",
            "The diagnostic fee is waived if you go ahead with the repair.",
            "90-day warranty on parts and labor.",
            "Most common parts are on the van, so many repairs are done in one visit.",
            "Send the model number and a photo of the error code when you book.",
            "{We}'ll tell you honestly when a repair isn't worth it.",
        ),
        "services": (
            ("Appliance diagnostic visit", (60,), 90, 160),
            ("Washer repair", (60, 120), 150, 350),
            ("Dryer repair", (60, 120), 150, 320),
            ("Refrigerator repair", (60, 120), 180, 400),
            ("Dishwasher repair", (60, 90), 150, 300),
            ("Oven & range repair", (60, 120), 160, 350),
        ),
    },
    "moving": {
        "weight": 0.8,
        "noun": "moving",
        "person": "mover",
        "suffixes": (
            "Moving",
            "Movers",
            "Moving & Storage",
            "Moving Co.",
            "Hauling & Moving",
            "Relocation",
        ),
        "related": ("cleaning", "handyman"),
        "licensed": 0.85,
        "emergency": 0.0,
        "intros": (
            "Careful, on-time local moves in {city} for {years} years.",
            "{We} handle apartment and house moves all over {city}, big or small.",
            "Licensed and insured moving crew based in {hood} since {since}.",
            "No-drama moves for {city} — fair hourly rates and no hidden fees.",
            "Small moves, big moves and everything in between.",
        ),
        "problems": (
            "studio and one-bedroom moves",
            "walk-up apartments with lots of stairs",
            "moving a couch or a single heavy item",
            "packing and unpacking",
            "piano moving",
            "storage unit moves",
            "junk removal and hauling",
            "office moves",
            "furniture disassembly and reassembly",
            "last-minute moves",
            "senior moves",
            "student moves",
        ),
        "extras": (
            "Blankets, dollies and shrink wrap included at no extra charge.",
            "{We} take apart and reassemble beds and tables so you don't have to.",
            "Two-hour minimum, billed in 15-minute increments after that.",
            "Building COI paperwork handled for you before move day.",
            "Weekend moves book up fast — reserve early at the end of the month.",
            "Packing boxes and tape available to buy on the truck.",
        ),
        "services": (
            ("2 movers + truck (2 hours)", (120,), 250, 400),
            ("Local move, studio or 1BR", (180, 240), 450, 900),
            ("Packing help", (120, 180), 200, 450),
            ("Furniture moving within the home", (60, 90), 120, 250),
            ("Junk hauling (partial truck)", (60, 120), 180, 400),
            ("Piano moving", (120,), 350, 700),
        ),
    },
}

_READINGS: dict[str, dict[str, Any]] = {
    "tarot-reading": {
        "weight": 1.4,
        "noun": "tarot",
        "names": (
            "{first} {last} — Tarot & Intuitive Readings",
            "{mystic} Tarot",
            "Tarot by {first}",
            "{first} {last} Tarot",
            "The {mystic} Tarot Studio",
            "{first} {last} — Tarot & Oracle",
        ),
        "related": ("astrology", "psychic-medium", "numerology"),
        "intros": (
            "I've been reading tarot professionally for {years} years.",
            "Intuitive tarot reader based in {city}, reading since {since}.",
            "{first} here — I read tarot with warmth, honesty and a little humor.",
            "Tarot found me during a hard year, and I've been reading for others for "
            "{years} years now.",
            "Grounded, practical tarot for people who want clarity, not drama.",
        ),
        "topics": (
            "love and relationships",
            "career moves",
            "money worries",
            "whether to stay or go",
            "new beginnings",
            "reconciliation with an ex",
            "family tension",
            "creative blocks",
            "the year ahead",
            "big decisions",
            "soulmate and twin flame questions",
            "moving to a new city",
            "friendships",
            "spiritual growth",
        ),
        "extras": (
            "I read with the {deck} deck and often close with an oracle card.",
            "Celtic Cross, three-card and year-ahead spreads available.",
            "Quick yes-or-no questions are welcome, though I'll always show you the "
            "bigger picture.",
            "Love and relationship readings are my most requested session.",
            "I explain every card, so you leave understanding your spread, not just "
            "hearing a prediction.",
            "A photo of your spread is sent after every session.",
        ),
        "services": (
            ("Quick question reading", (30,), 30, 60),
            ("Celtic Cross reading", (45, 60), 60, 120),
            ("Love & relationship reading", (45, 60), 55, 120),
            ("Career & money spread", (45,), 50, 100),
            ("Year-ahead tarot reading", (90,), 120, 200),
            ("Tarot reading + follow-up email", (60,), 80, 150),
        ),
    },
    "astrology": {
        "weight": 1.2,
        "noun": "astrology",
        "names": (
            "{first} {last} Astrology",
            "{celestial} Astrology",
            "Astrology with {first}",
            "{first} {last} — Evolutionary Astrology",
            "{celestial} Charts",
            "{first} {last}, Astrologer",
        ),
        "related": ("tarot-reading", "numerology"),
        "intros": (
            "Professional astrologer with {years} years of practice, based in {city}.",
            "I've been reading birth charts since {since} and still find every chart "
            "fascinating.",
            "{tradition} astrologer helping clients understand their charts in plain "
            "English.",
            "Astrology is a map, not a verdict — that's how I read it.",
            "{first} here: astrologer, chart nerd, and {years} years into this work.",
        ),
        "topics": (
            "birth chart readings",
            "relationship compatibility and synastry",
            "Saturn returns",
            "career timing",
            "relocation astrology",
            "your rising sign and what it means",
            "the year ahead with transits",
            "solar returns",
            "moon signs and emotional patterns",
            "picking dates for weddings and launches",
            "Venus and love patterns",
            "eclipse seasons",
            "Mercury retrograde planning",
        ),
        "extras": (
            "I use the {house_system} house system and always explain why.",
            "Please have your birth date, time and place ready — the time matters.",
            "Every chart reading comes with a PDF of your chart and session notes.",
            "Don't know your birth time — I offer rectification sessions too.",
            "Compatibility readings look at both charts side by side.",
            "Sessions are recorded so you can revisit them later.",
        ),
        "services": (
            ("Birth chart reading", (60, 90), 90, 200),
            ("Synastry compatibility reading", (60, 90), 100, 200),
            ("Solar return (birthday year ahead)", (60,), 80, 160),
            ("Transits & timing check-in", (30, 45), 45, 100),
            ("Horoscope mini-reading", (30,), 30, 60),
        ),
    },
    "psychic-medium": {
        "weight": 1.0,
        "noun": "psychic",
        "names": (
            "{first} {last}, Psychic Medium",
            "Psychic {first}",
            "{mystic} Psychic Readings",
            "{first} {last} — Medium & Intuitive",
            "{first} {last} Spiritual Readings",
        ),
        "related": ("tarot-reading",),
        "intros": (
            "Psychic medium with {years} years of experience connecting clients with "
            "loved ones in spirit.",
            "I've been sensing things since childhood and reading professionally "
            "since {since}.",
            "Compassionate psychic and medium based in {city}.",
            "{first} here — a clairvoyant reader who keeps things gentle and honest.",
            "Evidential medium: I aim to bring details you can recognize, not vague "
            "messages.",
        ),
        "topics": (
            "connecting with a parent who passed",
            "grief and closure",
            "messages from loved ones",
            "relationship questions",
            "career crossroads",
            "pet communication",
            "spirit guides",
            "energy and aura readings",
            "past life impressions",
            "whether someone is coming back",
            "intuitive guidance on big decisions",
            "signs from the other side",
        ),
        "extras": (
            "I can't promise who will come through, but I'll always be honest about "
            "what I receive.",
            "Mediumship sessions are unhurried — please allow a full hour.",
            "I work mainly through {modality} and {modality2}.",
            "Pets who have crossed over come through more often than you'd think.",
            "Grief is tender; I'll go at your pace.",
            "No cold reading, no fishing — I tell you what I get.",
        ),
        "services": (
            ("Psychic reading", (30, 45, 60), 40, 150),
            ("Mediumship session", (60, 90), 90, 200),
            ("Pet communication reading", (30, 45), 40, 90),
            ("Quick psychic check-in", (30,), 30, 60),
            ("Energy & aura reading", (45, 60), 60, 120),
        ),
    },
    "life-coaching": {
        "weight": 1.0,
        "noun": "life coaching",
        "names": (
            "{first} {last} Coaching",
            "{first} {last}, Certified Life Coach",
            "{growth} Life Coaching",
            "Coaching with {first} {last}",
            "{growth} Coaching Co.",
        ),
        "related": ("career-coaching",),
        "intros": (
            "Certified life coach with {years} years of experience helping people "
            "get unstuck.",
            "I help busy people in {city} and beyond figure out what they actually "
            "want.",
            "Coaching for people in the middle of a big change, since {since}.",
            "{first} here: life coach, former corporate manager, and big believer in "
            "small steps.",
            "Practical, warm coaching that turns someday into a plan.",
        ),
        "topics": (
            "feeling stuck",
            "confidence and self-doubt",
            "setting goals that stick",
            "life after divorce",
            "burnout recovery",
            "work-life balance",
            "procrastination",
            "big life transitions",
            "boundaries with family",
            "moving to a new city",
            "finding purpose",
            "building healthy habits",
            "becoming an empty nester",
            "public speaking nerves",
        ),
        "extras": (
            "Trained through {cert}, with a focus on accountability between sessions.",
            "Every session ends with one or two concrete next steps.",
            "I'm not a therapist, and I'll tell you if therapy would serve you better.",
            "Text check-ins between sessions are included in monthly packages.",
            "Clients often start with a single session and stay for a three-month "
            "plan.",
            "Most clients work with me every two weeks.",
        ),
        "services": (
            ("Discovery call", (30,), 30, 50),
            ("Coaching session", (60,), 90, 200),
            ("Goal-setting intensive", (90,), 150, 200),
            ("Confidence coaching", (45, 60), 80, 180),
            ("Life transition session", (60,), 90, 180),
        ),
    },
    "career-coaching": {
        "weight": 0.9,
        "noun": "career coaching",
        "names": (
            "{first} {last} Career Coaching",
            "{growth} Career Strategies",
            "{first} {last}, Career & Interview Coach",
            "{growth} Careers",
            "Career Coaching with {first}",
        ),
        "related": ("life-coaching",),
        "intros": (
            "Career coach with {years} years in recruiting and HR.",
            "I help professionals land better jobs and negotiate better offers.",
            "Former tech recruiter turned career coach, based in {city}.",
            "{first} here — I've reviewed thousands of resumes and sat on the hiring "
            "side for {years} years.",
            "Career coaching for career changers, new grads and anyone between jobs.",
        ),
        "topics": (
            "resume rewrites",
            "interview preparation",
            "mock interviews",
            "career changes",
            "salary negotiation",
            "LinkedIn profiles",
            "getting back to work after a break",
            "bouncing back from a layoff",
            "promotion strategy",
            "job search plans",
            "cover letters",
            "moving from teaching into tech",
            "first-time manager coaching",
            "leaving a job you hate",
        ),
        "extras": (
            "Mock interviews include behavioral and case questions with detailed "
            "feedback.",
            "Industries I know best: {industries}.",
            "Resume reviews are turned around within 48 hours.",
            "I'll help you tell your story in a way hiring managers remember.",
            "Negotiation coaching has helped clients add thousands to their offers.",
            "Every session comes with a written action plan.",
        ),
        "services": (
            ("Resume review", (45, 60), 80, 180),
            ("Interview prep session", (60,), 90, 200),
            ("Career direction session", (60, 90), 100, 200),
            ("LinkedIn profile makeover", (45,), 70, 150),
            ("Salary negotiation coaching", (45, 60), 90, 180),
        ),
    },
    "numerology": {
        "weight": 0.5,
        "noun": "numerology",
        "names": (
            "{first} {last} Numerology",
            "Numerology by {first}",
            "{mystic} Numbers",
            "{first} {last} — Numerologist",
            "{first} {last} Numbers & Names",
        ),
        "related": ("astrology", "tarot-reading"),
        "intros": (
            "Numerologist with {years} years of experience reading life path and "
            "name numbers.",
            "I've been studying numbers and what they reveal since {since}.",
            "{system} numerology readings from {city}, for clients anywhere.",
            "{first} here — numerology is my language for patterns and timing.",
            "Friendly, down-to-earth numerology for curious beginners and longtime "
            "fans.",
        ),
        "topics": (
            "your life path number",
            "name numerology",
            "choosing a baby name",
            "business name numbers",
            "personal year cycles",
            "compatibility numbers",
            "lucky dates",
            "master numbers 11, 22 and 33",
            "birthday numbers",
            "soul urge and destiny numbers",
            "house and address numbers",
            "career timing",
        ),
        "extras": (
            "I work mainly with the {system} system.",
            "Bring your full birth name and date of birth.",
            "Every reading includes a written summary of your core numbers.",
            "Business name checks are popular with new founders.",
            "Personal year forecasts make a thoughtful birthday gift.",
            "I combine numerology with a little astrology when it helps.",
        ),
        "services": (
            ("Life path number reading", (30, 45), 35, 90),
            ("Full numerology chart", (60, 90), 80, 180),
            ("Name & business name numerology", (45, 60), 60, 140),
            ("Personal year forecast", (30, 45), 40, 90),
            ("Compatibility numbers reading", (45,), 50, 100),
        ),
    },
}

_COACHING = frozenset({"life-coaching", "career-coaching"})

# Problems nobody has in a warm city.
_WARM_CITIES = frozenset({"Los Angeles", "Houston", "Phoenix", "Miami"})
_COLD_ONLY = frozenset(
    {"frozen pipes", "ice dams", "cold radiators", "boiler repairs", "no heat"}
)

# ------------------------------------------------------------ shared sentence banks

_TRADE_INTROS_COMPANY = (
    "Family-owned {noun} company serving {city} and nearby suburbs for {years} years.",
    "Local {noun} crew based in {hood}, in business since {since}.",
    "{city}'s friendly {noun} team, with {years} years of experience and a lot of "
    "repeat customers.",
    "Veteran-owned {noun} business covering greater {city}.",
    "Small, owner-operated {noun} company in {hood} with {years} years in the trade.",
    "{We_re} {a_noun} company that actually picks up the phone, serving {city} since "
    "{since}.",
)
_TRADE_INTROS_SOLO = (
    "Independent {person} with {years} years of experience, based in {hood}.",
    "I'm {a_person} in {city} and have been doing this work for {years} years.",
    "Born and raised in {city}, and {a_person} for the last {years} years.",
    "Owner-operator {person} — when you call, you get me, not a call center.",
    "{first} here: {years} years as {a_person}, most of them right here in {city}.",
)
_TRADE_SPECIALTIES = (
    "{We} handle {p1}, {p2} and {p3}.",
    "Most of {our} calls are {p1}, {p2} or {p3}.",
    "Call {us} for {p1}, {p2}, {p3} and everything in between.",
    "Typical jobs: {p1}, {p2} and {p3}.",
    "Whether it's {p1}, {p2} or {p3}, {we}'ll get it sorted, usually in one visit.",
    "{We} specialize in {p1}, {p2} and {p3}.",
    "Common fixes include {p1}, {p2} and {p3}.",
    "No job too small — {p1}, {p2}, {p3}.",
    "From {p1} to {p2}, plus {p3}, {we_ve} seen it all.",
    "Happy to help with {p1}, {p2} and {p3}.",
    "{Our} customers mostly call about {p1}, {p2} and {p3}.",
)
_TRADE_LICENSED = (
    "Licensed, bonded and insured.",
    "Fully licensed and insured in {state}.",
    "Licensed in {state} and insured for your peace of mind.",
    "{We_re} licensed and carry full liability insurance.",
)
_TRADE_INSURED = (
    "Fully insured, with references available on request.",
    "Insured, background-checked and happy to share references.",
)
_TRADE_TRUST = (
    "Upfront flat-rate pricing — you approve the price before any work starts.",
    "Free estimates, and no trip charge if you hire {us}.",
    "Background-checked, courteous technicians who respect your home.",
    "{We} clean up after {ourselves} and leave the place better than {we} found it.",
    "Same-day and next-day appointments available most weeks.",
    "Text {us} a photo of the problem and {we}'ll give you a ballpark right away.",
    "Senior and military discounts available.",
    "All work guaranteed for 12 months, parts and labor.",
    "Cash, card, Venmo and Zelle accepted.",
    "On time, or {we} call ahead — always.",
    "A real person answers the phone, not a call center.",
    "Clear written quotes, no pressure and no upselling.",
    "{Our} reviews say it best: on time, fair and tidy.",
)
_TRADE_EMERGENCY = (
    "Emergency call-outs 24/7, including weekends and holidays.",
    "Emergencies handled nights and weekends — just call.",
    "After-hours emergency service available across {city}.",
)
_TRADE_AREA = (
    "Serving {hood}, {hood2}, {hood3} and surrounding neighborhoods.",
    "{We} cover most of {city}, including {hood} and {hood2}.",
    "Based in {hood} and happy to travel up to {miles} miles.",
    "Regular routes through {hood}, {hood2} and {hood3}, so short notice is rarely "
    "a problem.",
    "Proudly serving {hood} and {hood2} since {since}.",
    "Service area: {city} within about {miles} miles of {hood}.",
)
_READING_TOPICS = (
    "Sessions focus on {p1}, {p2} and {p3}.",
    "Clients usually come to me with questions about {p1}, {p2} or {p3}.",
    "I'm especially drawn to {p1}, {p2} and {p3}.",
    "Bring your questions about {p1}, {p2} or {p3}.",
    "My work centers on {p1}, {p2} and {p3}.",
    "Popular sessions cover {p1}, {p2} and {p3}.",
    "Lately I've been helping a lot of people with {p1}, {p2} and {p3}.",
)
_READER_GENERIC = (
    "Sessions by phone or video, with a recording sent afterward.",
    "Based in {city}, reading for clients everywhere by phone and video.",
    "Compassionate, honest and judgment-free.",
    "First-time clients are always welcome — no question is too small.",
    "For entertainment and personal insight; not a substitute for medical, legal or "
    "financial advice.",
    "Gift certificates available.",
    "I'll never tell you what you want to hear just to keep you coming back.",
    "Sessions are confidential and unhurried.",
    "Booked sessions start on time, and I send a reminder the day before.",
)
_COACH_GENERIC = (
    "Sessions on Zoom or by phone, with notes and action steps emailed afterward.",
    "Confidential, practical and focused on what you want to change.",
    "Free 15-minute consultation to see if we're a good fit.",
    "Based in {city} and working with clients across the US.",
    "Packages of four or six sessions are available at a discount.",
    "Direct, kind and allergic to jargon.",
)

_VOICE_COMPANY = {
    "We": "We",
    "we": "we",
    "Our": "Our",
    "our": "our",
    "us": "us",
    "We_re": "We're",
    "we_re": "we're",
    "We_ve": "We've",
    "we_ve": "we've",
    "ourselves": "ourselves",
}
_VOICE_SOLO = {
    "We": "I",
    "we": "I",
    "Our": "My",
    "our": "my",
    "us": "me",
    "We_re": "I'm",
    "we_re": "I'm",
    "We_ve": "I've",
    "we_ve": "I've",
    "ourselves": "myself",
}

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

_TRADE_HOUR_STYLES = {
    "weekdays": 5.0,
    "weekdays_sat": 3.0,
    "split": 1.5,
    "four_tens": 0.7,
    "six_days": 1.0,
    "all_week": 0.3,
    "always": 0.0,
    "tue_sat": 0.5,
}
_TRADE_HOUR_OVERRIDES: dict[str, dict[str, float]] = {
    "locksmith": {"always": 3.0, "all_week": 3.0, "six_days": 2.0, "weekdays": 1.0},
    "plumbing": {"always": 0.6, "all_week": 0.8},
    "hvac": {"always": 0.5, "all_week": 0.8},
    "electrical": {"always": 0.3, "all_week": 0.5},
    "moving": {"all_week": 2.5, "six_days": 2.5},
    "landscaping": {"weekdays_sat": 4.0, "six_days": 2.0, "tue_sat": 1.0},
    "cleaning": {"six_days": 2.0, "tue_sat": 1.5},
    "pest-control": {"weekdays_sat": 4.0},
}
_READER_HOUR_STYLES = {
    "evenings_weekends": 4.0,
    "evenings": 3.0,
    "thu_sun": 2.0,
    "late": 2.0,
    "split": 1.5,
    "daytime": 1.0,
    "before_after_work": 0.3,
}
_COACH_HOUR_STYLES = {
    "daytime": 4.0,
    "before_after_work": 3.0,
    "split": 2.0,
    "evenings_weekends": 1.5,
    "evenings": 0.5,
}


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


_CERT_PHRASES = {
    "ICF ACC": "an ICF-accredited program",
    "ICF PCC": "an ICF-accredited program",
    "CPCC": "the Co-Active Training Institute",
    "iPEC CPC": "iPEC",
}


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


# What a provider whose main trade is the first slug takes on from the second.
_CROSS_PROBLEMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("landscaping", "pest-control"): (
        "mosquitoes in the yard",
        "wasp and hornet nests",
        "grubs in the lawn",
        "fire ants",
    ),
    ("roofing", "painting"): (
        "peeling exterior paint",
        "deck and fence staining",
        "exterior trim painting",
    ),
    ("roofing", "handyman"): (
        "fence and gate fixes",
        "weatherstripping drafty windows",
        "siding patches",
    ),
    ("locksmith", "handyman"): (
        "sticking or squeaky doors",
        "doors that won't latch",
        "sliding door repairs",
    ),
    ("cleaning", "handyman"): (
        "picture and mirror hanging",
        "replacing towel bars",
        "curtain rods and blinds",
    ),
    ("moving", "handyman"): (
        "IKEA furniture assembly",
        "TV wall mounting",
        "picture and mirror hanging",
    ),
    ("moving", "cleaning"): (
        "move-out cleans that get your deposit back",
        "move-in cleans",
    ),
}


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


# ---------------------------------------------------------------------------- jobs

_JOB_REQUESTS: tuple[tuple[str, str], ...] = (
    ("water coming through my kitchen ceiling, upstairs bathroom maybe??", "plumbing"),
    ("my toilet won't stop running", "plumbing"),
    (
        "no hot water since this morning and the water heater is making a weird noise",
        "plumbing",
    ),
    ("kitchen sink clogged and it smells bad", "plumbing"),
    ("pipe burst under the bathroom sink need someone asap", "plumbing"),
    ("half the outlets in my living room stopped working", "electrical"),
    ("breaker keeps tripping whenever i run the microwave", "electrical"),
    ("need an electrician to install a tesla charger in the garage", "electrical"),
    ("lights flickering in the whole house, kinda scary", "electrical"),
    ("can someone swap a light fixture for a ceiling fan", "electrical"),
    ("AC is blowing warm air and its 95 outside", "hvac"),
    ("furnace wont turn on, house is freezing", "hvac"),
    ("boiler making banging noises and the radiators are cold", "hvac"),
    ("want a quote for a heat pump for a 3 bed house", "hvac"),
    ("need a deep clean before my in-laws visit on friday", "cleaning"),
    ("move out cleaning for a 2br apartment, landlord is picky", "cleaning"),
    ("looking for someone to clean my house every other week", "cleaning"),
    ("office cleaning for a small dental practice, evenings", "cleaning"),
    ("need someone to put together an ikea wardrobe saturday", "handyman"),
    ("mount a 65 inch tv on drywall and hide the cables", "handyman"),
    (
        "few odd jobs: hang shelves, fix a sticking door, replace a towel bar",
        "handyman",
    ),
    ("hole in the wall from a doorknob, needs patching", "handyman"),
    ("want to paint my living room and hallway, walls are beige ugh", "painting"),
    ("looking for a painter for the outside of a small house", "painting"),
    ("bedroom ceiling needs repainting, old paint is peeling", "painting"),
    ("quote to repaint kitchen cabinets white please", "painting"),
    ("roof is leaking into the attic every time it rains", "roofing"),
    ("lost a bunch of shingles in the storm last night", "roofing"),
    ("gutters overflowing and pulling away from the house", "roofing"),
    ("need a roof inspection before we buy a house", "roofing"),
    ("locked out of my apartment keys inside!!", "locksmith"),
    ("just moved in, want all the locks rekeyed", "locksmith"),
    ("key broke off in the front door lock", "locksmith"),
    ("can someone install a smart lock, i have a schlage", "locksmith"),
    ("i think we have mice in the kitchen, droppings everywhere", "pest-control"),
    ("bed bugs in my daughters room how fast can u come", "pest-control"),
    ("wasp nest under the deck, kids cant play outside", "pest-control"),
    ("seeing cockroaches at night in the bathroom", "pest-control"),
    ("termite swarm near the back porch", "pest-control"),
    ("lawn needs mowing every week this summer", "landscaping"),
    ("big tree branch hanging over the driveway, needs trimming", "landscaping"),
    ("yard clean up, leaves everywhere and overgrown bushes", "landscaping"),
    ("want help planting a vegetable garden bed", "landscaping"),
    ("washing machine wont drain, still full of water", "appliance-repair"),
    ("fridge isnt cold but the freezer is fine", "appliance-repair"),
    ("dryer runs but doesnt heat", "appliance-repair"),
    ("dishwasher leaking all over the kitchen floor", "appliance-repair"),
    ("samsung oven not heating up", "appliance-repair"),
    ("moving from a studio to a 1 bedroom across town next saturday", "moving"),
    ("need 2 guys and a truck to move a couch and a bed", "moving"),
    ("help packing up a 3 bedroom house", "moving"),
    ("piano needs moving to the second floor", "moving"),
    ("can I get a love reading tonight?", "tarot-reading"),
    (
        "looking for a tarot reader, feeling stuck about my relationship",
        "tarot-reading",
    ),
    ("celtic cross reading about my career pls", "tarot-reading"),
    ("want a tarot card reading for the new year", "tarot-reading"),
    ("looking for an astrologer to read my birth chart", "astrology"),
    (
        "compatibility reading for me and my boyfriend, we're both scorpios lol",
        "astrology",
    ),
    ("what do my transits look like this year, is this my saturn return", "astrology"),
    ("need someone to explain my horoscope and rising sign", "astrology"),
    ("I want to connect with my grandmother who passed last year", "psychic-medium"),
    ("looking for a psychic to tell me if he's coming back", "psychic-medium"),
    ("medium reading for my dad who died in march", "psychic-medium"),
    ("anyone do pet psychic readings? my dog passed", "psychic-medium"),
    ("I feel stuck and unmotivated, think I need a life coach", "life-coaching"),
    ("want help setting goals and actually sticking to them", "life-coaching"),
    ("going thru a divorce and need to figure out whats next", "life-coaching"),
    ("coach for confidence and public speaking anxiety", "life-coaching"),
    ("need help with my resume, applying for product manager jobs", "career-coaching"),
    ("interview at google next week, want mock interview prep", "career-coaching"),
    ("thinking about switching careers from teaching to tech", "career-coaching"),
    ("how do i negotiate a higher salary offer", "career-coaching"),
    ("what does my life path number mean", "numerology"),
    ("numerology reading for my baby's name", "numerology"),
    ("want a numerologist to look at my birthday numbers", "numerology"),
    ("picking a business name, can numerology help with that?", "numerology"),
)


def demo_job_requests(seed: int = 7) -> list[dict[str, str]]:
    """Requests in customers' own words, each with the category it should match."""
    rng = random.Random(seed * 104729 + 3)
    requests = [
        {"text": text, "category": slug, "city": rng.choice(DEMO_CITIES).name}
        for text, slug in _JOB_REQUESTS
    ]
    rng.shuffle(requests)
    return requests
