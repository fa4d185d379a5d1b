"""Builders of realistic test data, through the same services the app uses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from backend.schemas import IdentityInput, ProviderCreate, reading
from backend.services.customers import find_or_create_by_identity
from backend.services.providers import create_provider

CHICAGO = ZoneInfo("America/Chicago")
EVERY_DAY_9_TO_5 = {
    day: [["09:00", "17:00"]]
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def provider_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "external_id": "p-1",
        "name": "Reyes Plumbing",
        "categories": ["plumbing"],
        "description": "Licensed plumber: leaks, burst pipes, water heaters.",
        "services": [
            {
                "name": "Leak repair",
                "mode": "onsite",
                "duration_minutes": 60,
                "price_cents": 15000,
            }
        ],
        "city": "Chicago",
        "radius_km": 30,
        "timezone": "America/Chicago",
        "hours": EVERY_DAY_9_TO_5,
        "phone": "+13125550101",
        "rating": 4.8,
        "review_count": 120,
        "languages": ["en", "es"],
        "verified": True,
    }
    payload.update(overrides)
    return payload


def make_provider(session, **overrides: Any):
    provider = create_provider(
        session,
        ProviderCreate.model_validate(
            provider_payload(**overrides), context=reading("US")
        ),
    )
    session.commit()
    return provider


def make_tarot_reader(session, **overrides: Any):
    """Madame Ostrova: a tarot reader who works by phone, 9 to 5 on New
    York's clock (a remote service, so any caller's city can book her)."""
    reader = {
        "external_id": "tarot-1",
        "name": "Madame Ostrova",
        "categories": ["tarot-reading"],
        "description": "Tarot readings by phone: love, career, life questions.",
        "services": [
            {
                "name": "Tarot reading",
                "mode": "remote",
                "duration_minutes": 60,
                "price_cents": 6000,
            }
        ],
        "city": "New York",
        "timezone": "America/New_York",
    }
    return make_provider(session, **{**reader, **overrides})


def make_piano_tuner(session, **overrides: Any):
    """Keys & Hammers: a piano tuner, a kind of provider the catalogue has no
    category for (filed under handyman), known only by their profile; in
    Chicago unless told otherwise."""
    tuner = {
        "external_id": "piano-1",
        "name": "Keys & Hammers",
        "categories": ["handyman"],
        "description": "Piano tuning, regulation and repair for uprights and grands.",
        "services": [
            {
                "name": "Piano tuning",
                "mode": "onsite",
                "duration_minutes": 90,
                "price_cents": 14000,
            }
        ],
        "phone": "+13125550104",
    }
    return make_provider(session, **{**tuner, **overrides})


def writers_seen_while_matching(monkeypatch, database_url: str) -> list[str]:
    """Make every match try to take SQLite's write lock from another
    connection, mid-match; the list gets "not kept waiting" each time it could
    (a match that held the lock would make it time out)."""
    import sqlite3

    import pytest

    from backend.services.matching import MatchingIndex

    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    real, writers = MatchingIndex.match, []

    def match(self, session, request, rules, **kwargs):
        other = sqlite3.connect(
            database_url.removeprefix("sqlite:///"), timeout=0.2, isolation_level=None
        )
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer, mid-match
            other.execute("ROLLBACK")
            writers.append("not kept waiting")
        finally:
            other.close()
        return real(self, session, request, rules, **kwargs)

    monkeypatch.setattr(MatchingIndex, "match", match)
    return writers


def make_customer(session, phone: str = "+13125550199"):
    customer, _ = find_or_create_by_identity(
        session, IdentityInput(channel="sms", external_id=phone)
    )
    session.commit()
    return customer


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = CHICAGO) -> datetime:
    """An aware instant at a wall-clock time in ``zone``."""
    return datetime.combine(day, time(hour, minute), zone)


def days_ahead(n: int, zone: ZoneInfo = CHICAGO) -> date:
    return datetime.now(zone).date() + timedelta(days=n)


def prepare_served_data(env: dict[str, str], providers: int) -> str:
    """Migrate and seed the data dir ``env`` points at, as a new user would
    with the ``beckon`` command; return a fresh API key."""
    import subprocess
    import sys
    from pathlib import Path

    beckon = str(Path(sys.executable).parent / "beckon")
    for argv in (["db", "upgrade"], ["seed", "demo", "--providers", str(providers)]):
        subprocess.run([beckon, *argv], env=env, check=True, capture_output=True)
    return subprocess.run(
        [beckon, "api-key", "create", "e2e", "--scope", "read,book,admin"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def config_for_test(database_url: str, tmp_path, model_cache, **overrides):
    """The test's Config: its database and data dir, the shared model cache."""
    from backend.config import Config

    return Config.from_env(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
        TESTING=True,
        **overrides,
    )


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_path(*parts: str) -> Path:
    """A file of ``tests/fixtures`` (real request shapes and test vectors,
    each with its source in that folder's SOURCES.md)."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"no fixture {path}")
    return path


# ---------------------------------------------------------------- the console

ADMIN_PASSWORD = "correct horse battery"


def make_admin(session, email: str = "ops@example.com", role: str = "admin"):
    from backend.services.access import create_admin

    user = create_admin(session, email, ADMIN_PASSWORD, role)
    session.commit()
    return user


def csrf_token_of(html: str) -> str:
    """The CSRF token of the first form on a console page."""
    import re

    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def console_login(client, email: str = "ops@example.com", password=ADMIN_PASSWORD):
    """Log the test client into the console; returns the login response."""
    page = client.get("/admin/login")
    token = csrf_token_of(page.get_data(as_text=True))
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
    )


def confirmed_booking(session, provider, customer, **fields: Any):
    """A booking of ``provider`` by ``customer`` three days ahead at 10:00 in
    Chicago, confirmed (its follow-ups planned by the default rules) and
    committed."""
    from backend.schemas import BookingCreate
    from backend.services import bookings
    from backend.services.rules import BookingRules, FollowUpRules

    booking = bookings.create_booking(
        session,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=local(days_ahead(3), 10),
            confirm=True,
            **fields,
        ),
        BookingRules(),
        follow_ups=FollowUpRules(),
    )
    session.commit()
    return booking
