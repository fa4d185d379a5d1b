"""Follow-up throughput and lag through real Celery workers and beat.

For each broker (``embedded``: kombu's SQL transport on a file, with SQLite;
``redis``: Redis, with PostgreSQL), this starts one worker (prefork, two
processes: this machine has two cores) and one beat as ``beckon run`` does,
then measures two loads of ``--count`` follow-ups each (booking confirmations
rendered from their templates, sent by the log notifier):

- ``paced``: due one after another at ``--rate`` per second; the lag from each
  one's due time to its ``sent_at`` (p50, p99, max) is the figure of merit
  (target: p99 under 5 s at 100/s);
- ``burst``: all due at once; the sustained throughput of sweep + send.

Prints one JSON line per (broker, load), then a summary. Run from the
repository root: ``.venv/bin/python benchmarks/followups.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend.celery_app import celery_argv  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import make_engine, make_session_factory  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models import Channel, FollowUp, FollowUpState  # noqa: E402
from backend.schemas import (  # noqa: E402
    BookingCreate,
    IdentityInput,
    ProviderCreate,
    reading,
)
from backend.services import bookings  # noqa: E402
from backend.services.customers import find_or_create_by_identity  # noqa: E402
from backend.services.providers import (  # noqa: E402
    create_provider,
    ensure_default_categories,
)
from backend.services.rules import BookingRules, FollowUpRules  # noqa: E402
from benchmarks.serving import scratch_dir  # noqa: E402

PG_ADMIN = os.environ.get(
    "BECKON_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BECKON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
TARGET_P99_LAG_S = 5.0
BOOKINGS = 40  # the follow-ups are spread over these bookings' confirmations


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fresh_postgres(name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def seed(url: str) -> tuple[int, list[int]]:
    """A provider, a customer and confirmed bookings to hang follow-ups on."""
    engine = make_engine(url)
    session = make_session_factory(engine)()
    ensure_default_categories(session)
    hours = {
        d: [["00:00", "23:59"]]
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    provider = create_provider(
        session,
        ProviderCreate.model_validate(
            {
                "name": "Bench Plumbing",
                "categories": ["plumbing"],
                "city": "Chicago",
                "timezone": "America/Chicago",
                "hours": hours,
                "phone": "+13125550100",
                "services": [
                    {"name": "Leak repair", "mode": "onsite", "duration_minutes": 60}
                ],
            },
            context=reading("US"),
        ),
    )
    customer, _ = find_or_create_by_identity(
        session, IdentityInput(channel="sms", external_id="+13125550199")
    )
    session.flush()
    chicago = ZoneInfo("America/Chicago")
    midnight = datetime.combine(
        datetime.now(chicago).date() + timedelta(days=2), datetime.min.time(), chicago
    )
    ids = []
    for i in range(BOOKINGS):
        booking = bookings.create_booking(
            session,
            BookingCreate(
                provider_id=provider.id,
                customer_id=customer.id,
                start=midnight + timedelta(days=i // 10, hours=2 * (i % 10)),
                confirm=True,
            ),
            BookingRules(),
            follow_ups=FollowUpRules(),
        )
        ids.append(booking.id)
    # the bookings' own follow-ups are not part of the measurement
    session.execute(update(FollowUp).values(state=FollowUpState.SKIPPED))
    session.commit()
    provider_id = provider.id
    session.close()
    engine.dispose()
    return provider_id, ids


def schedule(
    url: str,
    provider_id: int,
    booking_ids: list[int],
    count: int,
    rate: float | None,
    tag: str,
) -> datetime:
    """Insert ``count`` follow-ups due from a moment 2 s ahead, ``rate`` per
    second (all at once if None). Returns the first due time."""
    engine = make_engine(url)
    first = datetime.now(UTC) + timedelta(seconds=2)
    rows = [
        {
            "booking_id": booking_ids[i % len(booking_ids)],
            "customer_id": None,
            "provider_id": provider_id,
            "kind": "confirmation",
            "recipient": "provider",
            "channel": Channel.SMS,
            "due_at": first + timedelta(seconds=(i / rate) if rate else 0),
            "state": FollowUpState.PENDING,
            "send_key": f"bench:{tag}:{i}",
            "attempts": 0,
            "payload": {},
            "created_at": datetime.now(UTC),
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(insert(FollowUp), rows[start : start + 2000])
    engine.dispose()
    return first


def wait_sent(
    url: str, tag: str, count: int, timeout: float
) -> list[tuple[datetime, datetime]]:
    engine = make_engine(url, sqlite_begin="DEFERRED")
    deadline = time.monotonic() + timeout
    pattern = f"bench:{tag}:%"
    done = 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            done = conn.scalar(
                select(func.count()).where(
                    FollowUp.send_key.like(pattern),
                    FollowUp.state.in_(
                        (
                            FollowUpState.SENT,
                            FollowUpState.FAILED,
                            FollowUpState.SKIPPED,
                        )
                    ),
                )
            )
        if done >= count:
            break
        time.sleep(0.5)
    with engine.connect() as conn:
        pairs = conn.execute(
            select(FollowUp.due_at, FollowUp.sent_at).where(
                FollowUp.send_key.like(pattern), FollowUp.state == FollowUpState.SENT
            )
        ).all()
    engine.dispose()
    if done < count:
        log(f"  only {done}/{count} settled within {timeout:.0f} s")
    return [(due, sent) for due, sent in pairs]


def start(env: dict[str, str], logs: Path, concurrency: int) -> list[subprocess.Popen]:
    commands = {
        "worker": celery_argv(
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
        ),
        "beat": celery_argv(
            "beat",
            "--loglevel=WARNING",
            "-s",
            str(logs / "beat-schedule"),
        ),
    }
    procs = []
    for name, argv in commands.items():
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        procs.append(
            subprocess.Popen(
                argv,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def figures(
    pairs: list[tuple[datetime, datetime]], count: int, began: datetime
) -> dict[str, Any]:
    lags = np.array([(sent - due).total_seconds() for due, sent in pairs])
    last = max(sent for _, sent in pairs) if pairs else began
    span = max((last - began).total_seconds(), 1e-9)
    return {
        "sent": len(pairs),
        "scheduled": count,
        "lag_p50_s": round(float(np.percentile(lags, 50)), 3) if len(lags) else None,
        "lag_p99_s": round(float(np.percentile(lags, 99)), 3) if len(lags) else None,
        "lag_max_s": round(float(lags.max()), 3) if len(lags) else None,
        "throughput_per_s": round(len(pairs) / span, 1),
    }


def run_broker(broker: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    workdir = scratch_dir(f"beckon-bench-{broker}-")
    if broker == "embedded":
        db_url = f"sqlite:///{workdir / 'beckon.sqlite3'}"
        broker_url = f"sqla+sqlite:///{workdir / 'broker.sqlite3'}"
    else:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        db_url = fresh_postgres("beckon_bench_followups")
        broker_url = REDIS_URL
    upgrade(db_url)
    provider_id, booking_ids = seed(db_url)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker_url,
        "BECKON_DATA_DIR": str(workdir / "var"),
        "BECKON_NOTIFY_LOG": str(workdir / "notifications.jsonl"),
        "BECKON_SWEEP_SECONDS": str(args.sweep_seconds),
        "BECKON_FOLLOWUP_QUIET_START_HOUR": "0",
        "BECKON_FOLLOWUP_QUIET_END_HOUR": "0",
        "BECKON_FOLLOWUP_SWEEP_BATCH": str(args.sweep_batch),
    }
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "MESSENGER_PAGE_ACCESS_TOKEN",
    ):
        env.pop(name, None)
    procs = start(env, workdir, args.concurrency)
    results = []
    try:
        time.sleep(5)  # worker and beat up
        for load, rate in (("paced", args.rate), ("burst", None)):
            log(f"{broker}: {load} load of {args.count} follow-ups")
            began = schedule(db_url, provider_id, booking_ids, args.count, rate, load)
            budget = (args.count / rate if rate else 0) + args.timeout
            pairs = wait_sent(db_url, load, args.count, budget)
            result = {
                "broker": broker,
                "database": "sqlite" if broker == "embedded" else "postgresql",
                "load": load,
                "rate_per_s": rate,
                "concurrency": args.concurrency,
                "sweep_seconds": args.sweep_seconds,
                "notifier": "log",
                **figures(pairs, args.count, began),
                "cpus": os.cpu_count(),
            }
            print(json.dumps(result), flush=True)
            results.append(result)
    finally:
        stop(procs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument(
        "--rate", type=float, default=100.0, help="paced load, per second"
    )
    parser.add_argument("--brokers", default="embedded,redis")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--sweep-seconds", type=float, default=Config.SWEEP_SECONDS)
    parser.add_argument("--sweep-batch", type=int, default=FollowUpRules().sweep_batch)
    parser.add_argument(
        "--timeout", type=float, default=300, help="extra seconds to wait"
    )
    args = parser.parse_args()
    results = []
    for broker in [b.strip() for b in args.brokers.split(",") if b.strip()]:
        results += run_broker(broker, args)
    for r in results:
        verdict = ""
        if r["load"] == "paced":
            ok = r["lag_p99_s"] is not None and r["lag_p99_s"] < TARGET_P99_LAG_S
            verdict = (
                f"  (target p99 < {TARGET_P99_LAG_S:g} s: {'met' if ok else 'MISSED'})"
            )
        print(
            f"# {r['broker']:8} {r['load']:5}: {r['sent']}/{r['scheduled']} sent, "
            f"{r['throughput_per_s']}/s, lag p50 {r['lag_p50_s']} s, "
            f"p99 {r['lag_p99_s']} s, max {r['lag_max_s']} s{verdict}"
        )


if __name__ == "__main__":
    main()
