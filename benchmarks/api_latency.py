"""Latency of the booking paths on a seeded demo marketplace.

Measures, in-process through the WSGI app (no network), the p50/p95/p99 of:
one provider's free slots for a week, the free slots of a category near a city
for a day, and creating a confirmed booking. Prints one line per operation.

    .venv/bin/python benchmarks/api_latency.py [--providers 360] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (
        f"p50 {statistics.median(ordered):6.2f} ms  p95 {pick(0.95):6.2f} ms  "
        f"p99 {pick(0.99):6.2f} ms  (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=360)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from backend.app import create_app
    from backend.config import Config
    from backend.extensions import db
    from backend.migrate import upgrade
    from backend.models import Customer, Provider
    from backend.seed import seed_demo
    from backend.services.access import create_api_key

    workdir = Path(tempfile.mkdtemp(prefix="beckon-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade(url)
    app = create_app(
        Config.from_env(
            DATABASE_URL=url,
            DATA_DIR=workdir,
            API_KEY_RATE_LIMIT="1000000 per minute",  # latency, not the limit
        )
    )
    with app.app_context():
        started = time.perf_counter()
        seed_demo(
            db.session,
            app.extensions["beckon.rules"],
            provider_count=args.providers,
            if_empty=True,
        )
        _, token = create_api_key(db.session, "bench", ["read,book"])
        db.session.commit()
        seeded = time.perf_counter() - started
        providers = db.session.query(Provider.id, Provider.timezone).all()
        customer_id = db.session.query(Customer.id).first()[0]
    print(
        f"database {url.split(':')[0]}, {len(providers)} providers "
        f"(seeded in {seeded:.1f} s)"
    )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1)

    def timed(call) -> tuple[float, object]:
        t0 = time.perf_counter()
        response = call()
        return (time.perf_counter() - t0) * 1000, response

    week = []
    for _ in range(args.requests):
        pid, zone = rng.choice(providers)
        day = datetime.now(ZoneInfo(zone)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        query = {
            "from": (day + timedelta(days=1)).isoformat(),
            "to": (day + timedelta(days=8)).isoformat(),
        }
        ms, response = timed(
            lambda pid=pid, query=query: client.get(
                f"/api/v1/providers/{pid}/availability",
                query_string=query,
                headers=headers,
            )
        )
        assert response.status_code == 200, response.get_json()
        week.append(ms)
    print(f"provider availability, 7 days     {percentiles(week)}")

    area = []
    cities = ["Chicago", "New York", "Houston", "Seattle", "Miami", "Denver"]
    categories = ["plumbing", "electrical", "cleaning", "tarot-reading", "handyman"]
    for _ in range(args.requests):
        day = datetime.now(ZoneInfo("America/Chicago")).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) + timedelta(days=rng.randint(1, 7))
        query = {
            "category": rng.choice(categories),
            "city": rng.choice(cities),
            "from": day.isoformat(),
            "to": (day + timedelta(days=1)).isoformat(),
        }
        ms, response = timed(
            lambda query=query: client.get(
                "/api/v1/availability", query_string=query, headers=headers
            )
        )
        assert response.status_code == 200, response.get_json()
        area.append(ms)
    print(f"category near a city, 1 day       {percentiles(area)}")

    booked, refused = [], 0
    for _ in range(args.requests):
        pid, zone = rng.choice(providers)
        day = datetime.now(ZoneInfo(zone)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        slots = client.get(
            f"/api/v1/providers/{pid}/availability",
            headers=headers,
            query_string={
                "from": (day + timedelta(days=1)).isoformat(),
                "to": (day + timedelta(days=15)).isoformat(),
            },
        ).get_json()["slots"]
        if not slots:
            continue
        body = {
            "provider_id": pid,
            "customer_id": customer_id,
            "start": rng.choice(slots)["start"],
            "confirm": True,
        }
        ms, response = timed(
            lambda body=body: client.post(
                "/api/v1/bookings", json=body, headers=headers
            )
        )
        if response.status_code == 201:
            booked.append(ms)
        else:
            refused += 1
    print(f"create a confirmed booking        {percentiles(booked)}  refused {refused}")


if __name__ == "__main__":
    main()
