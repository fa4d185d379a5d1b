"""POST /api/v1/matches and the index kept in step with the database."""

import time
from datetime import timedelta

import pytest
from click.testing import CliRunner

from backend.cli import main
from backend.extensions import db as database
from tests.helpers import days_ahead, local, make_customer, make_provider

READER_HOURS = {
    d: [["17:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


@pytest.fixture
def catalogue(db):
    """A small marketplace: Chicago trades, a Houston plumber, a remote reader."""
    made = {
        "plumber": make_provider(db),
        "roofer": make_provider(
            db,
            external_id="roof",
            name="Garcia Roofing",
            categories=["roofing"],
            description="Roof leaks, missing shingles, gutters and storm damage.",
            services=[
                {
                    "name": "Roof leak repair",
                    "mode": "onsite",
                    "duration_minutes": 120,
                    "price_cents": 30000,
                }
            ],
            rating=4.6,
            review_count=40,
        ),
        "electrician": make_provider(
            db,
            external_id="volt",
            name="Volt Bros Electric",
            categories=["electrical"],
            description="Outlets, breakers, flickering lights and EV chargers.",
            services=[
                {
                    "name": "Electrical repair",
                    "mode": "onsite",
                    "duration_minutes": 60,
                    "price_cents": 14000,
                }
            ],
        ),
        "houston": make_provider(
            db,
            external_id="hou",
            name="Bayou Plumbing",
            city="Houston",
            description="Leaks, burst pipes and water heaters in Houston.",
        ),
        "reader": make_provider(
            db,
            external_id="luna",
            name="Luna Vega Tarot",
            categories=["tarot-reading"],
            description="Tarot readings on love, relationships and career.",
            city="Seattle",
            timezone="America/Los_Angeles",
            radius_km=5000,
            hours=READER_HOURS,
            services=[
                {
                    "name": "Love reading",
                    "mode": "remote",
                    "duration_minutes": 30,
                    "price_cents": 4500,
                }
            ],
        ),
    }
    return {key: p.id for key, p in made.items()}


def _match(api, **body):
    response = api.post("/api/v1/matches", json=body)
    return response.status_code, response.get_json()


def test_a_leak_through_the_ceiling_finds_plumbers_and_roofers_nearby(api, catalogue):
    day = days_ahead(2)
    status, body = _match(
        api,
        text="water dripping through my kitchen ceiling",
        city="Chicago",
        limit=2,
        when={"from": local(day, 0).isoformat(), "to": local(day, 23).isoformat()},
    )
    assert status == 200, body
    ids = [m["provider"]["id"] for m in body["matches"]]
    assert ids[0] == catalogue["plumber"]
    assert set(ids) == {catalogue["plumber"], catalogue["roofer"]}
    assert catalogue["houston"] not in ids  # does not cover Chicago
    top = body["matches"][0]
    assert top["reasons"][0] == "verified plumber"
    assert "4.8 from 120 reviews" in top["reasons"] and "from $150" in top["reasons"]
    assert any(r.startswith("free ") and "9:00" in r for r in top["reasons"]), top
    assert top["next_slots"][0]["local_start"].startswith(f"{day.isoformat()}T09:00")
    assert body["place"]["name"] == "Chicago, IL"


def test_a_reading_needs_no_place(api, catalogue):
    status, body = _match(api, text="can I get a love reading tonight?")
    assert status == 200
    assert [m["provider"]["id"] for m in body["matches"]] == [catalogue["reader"]]
    assert body["matches"][0]["remote"] is True
    assert "phone or video" in body["note"]
    assert "works by phone or video" in body["matches"][0]["reasons"]


def test_category_is_a_hard_filter(api, catalogue):
    _, body = _match(
        api,
        text="water dripping through my kitchen ceiling",
        city="Chicago",
        category="roofing",
    )
    assert [m["provider"]["id"] for m in body["matches"]] == [catalogue["roofer"]]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"text": ""}, "text"),
        ({"text": "?!?!?!"}, "text"),
        ({"text": "x" * 2000}, "text"),
        ({"text": "fix my sink", "city": "Chicago", "limit": 500}, "limit"),
        ({"text": "fix my sink", "lat": 123, "lon": 0}, "lat"),
        (
            {"text": "fix my sink", "city": "Chicago", "category": "astrophysics"},
            "category",
        ),
        ({"text": "fix my sink", "city": "Xyzzyville"}, "city"),
        (
            {
                "text": "fix my sink",
                "city": "Chicago",
                "when": {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
            },
            "when",
        ),
        (
            {
                "text": "fix my sink",
                "city": "Chicago",
                "when": {"from": "2030-01-01T00:00:00Z", "to": "2030-06-01T00:00:00Z"},
            },
            "to",
        ),
    ],
)
def test_empty_or_absurd_input_is_422_naming_the_problem(api, catalogue, body, field):
    status, answer = _match(api, **body)
    assert status == 422, answer
    fields = [d["field"] for d in answer["error"]["details"]]
    assert any(f.startswith(field) for f in fields), answer


def test_unknown_customer_is_404(api, catalogue):
    status, _ = _match(api, text="fix my sink", city="Chicago", customer_id=999)
    assert status == 404


def test_edits_reach_the_index_without_a_rebuild(api, app, catalogue):
    text = "someone to get rid of the wasps nest under my deck"
    _, body = _match(api, text=text, city="Chicago", limit=1)
    assert body["matches"][0]["provider"]["id"] != catalogue["electrician"]
    # The electrician becomes a pest controller: the next match knows.
    api.patch(
        f"/api/v1/providers/{catalogue['electrician']}",
        json={
            "categories": ["pest-control"],
            "name": "Buzz Off Pest Control",
            "description": "Wasps, hornets and bee nests removed safely.",
            "services": [
                {
                    "name": "Wasp nest removal",
                    "mode": "onsite",
                    "duration_minutes": 60,
                    "price_cents": 15000,
                }
            ],
        },
    )
    _, body = _match(api, text=text, city="Chicago", limit=1)
    assert body["matches"][0]["provider"]["id"] == catalogue["electrician"]
    api.post(f"/api/v1/providers/{catalogue['electrician']}/deactivate")
    _, body = _match(api, text=text, city="Chicago", limit=5)
    assert catalogue["electrician"] not in [
        m["provider"]["id"] for m in body["matches"]
    ]
    index = app.extensions["beckon.matching"]
    assert index.matcher.index.retired >= 1  # updated in place, not rebuilt


def test_background_sync_catches_changes_from_other_processes_within_a_second(
    app, db, catalogue
):
    index = app.extensions["beckon.matching"]
    with app.app_context():
        index.ensure_ready(database.session)
    index.start_background_sync(app.config["DATABASE_URL"], 0.1)
    try:
        newcomer = make_provider(
            db,
            external_id="new",
            name="Fresh Drains",
            description="Clogged drains cleared fast.",
        )
        deadline = time.monotonic() + 1.0
        while (
            time.monotonic() < deadline and index.matcher.profile(newcomer.id) is None
        ):
            time.sleep(0.05)
        assert index.matcher.profile(newcomer.id) is not None
    finally:
        index.stop()


def test_a_worker_is_ready_before_it_serves(app, db, catalogue):
    """What a web worker does before its first request (gunicorn_conf's
    post_worker_init): the index loaded, the model warmed, the gazetteer read,
    so no request pays seconds for them."""
    from backend.services import places

    places._gazetteer.cache_clear()
    index = app.extensions["beckon.matching"]
    index.start_background_sync(app.config["DATABASE_URL"], 60, ready_first=True)
    try:
        assert index._ready
        assert places._gazetteer.cache_info().currsize == 1  # the store is open
        assert places._regions.cache_info().currsize == 1
    finally:
        index.stop()


def test_the_index_survives_a_restart_without_re_encoding(app, config, api, catalogue):
    from backend.app import create_app

    _match(api, text="fix my sink", city="Chicago")  # builds and saves
    app.extensions["beckon.matching"].save()
    restarted = create_app(config)
    index = restarted.extensions["beckon.matching"]
    with restarted.app_context():
        encoded_before = len(index.matcher.cache)
        index.ensure_ready(database.session)
        assert index.matcher.index.size == 5
        assert len(index.matcher.cache) == encoded_before  # nothing re-encoded
        assert index.verify(database.session) == []
    database.dispose(restarted)


def test_cli_build_status_verify(app, config, monkeypatch, catalogue, db):
    monkeypatch.setenv("DATABASE_URL", config.DATABASE_URL)
    monkeypatch.setenv("BECKON_DATA_DIR", str(config.DATA_DIR))
    monkeypatch.setenv("BECKON_MODEL_CACHE_DIR", str(config.MODEL_CACHE_DIR))
    runner = CliRunner()
    db.rollback()
    missing = runner.invoke(main, ["index", "verify"])
    assert missing.exit_code == 1 and "no saved index" in missing.output
    built = runner.invoke(main, ["index", "build"])
    assert built.exit_code == 0, built.output
    assert "indexed 5 providers (3 shards: 3 flat)" in built.output
    status = runner.invoke(main, ["index", "status"])
    assert "providers: 5" in status.output
    assert "kind: 3 shards: 3 flat" in status.output
    assert runner.invoke(main, ["index", "verify"]).exit_code == 0
    # change the database behind the index's back: verify notices
    from backend.models import Provider

    provider = db.get(Provider, catalogue["roofer"])
    provider.description = "Now we only clean windows."
    db.commit()
    drift = runner.invoke(main, ["index", "verify"])
    assert drift.exit_code == 1 and "changed since it was indexed" in drift.output


def test_what_a_customer_liked_before_counts(api, db, catalogue):
    from backend.schemas import BookingCreate, ReviewCreate
    from backend.services import bookings, reviews
    from backend.services.rules import BookingRules

    customer = make_customer(db)
    second = make_provider(
        db, external_id="p-2", name="Second Plumbing", rating=4.9, review_count=300
    )
    start = local(days_ahead(-3), 10)
    booking = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=second.id, customer_id=customer.id, start=start, confirm=True
        ),
        BookingRules(),
        now=start - timedelta(days=1),
    )
    bookings.transition(db, booking.id, "complete", now=start + timedelta(hours=1))
    reviews.leave_review(db, booking.id, ReviewCreate(stars=5))
    db.commit()
    _, body = _match(
        api,
        text="leaky pipe under the sink",
        city="Chicago",
        customer_id=customer.id,
        limit=2,
    )
    top = body["matches"][0]
    assert top["provider"]["id"] == second.id
    assert "you rated them 5 stars before" in top["reasons"]


def test_jobs_are_matched_through_the_same_path(api, catalogue):
    customer = api.post(
        "/api/v1/customers/identify",
        json={"channel": "sms", "external_id": "+13125550177"},
    ).get_json()
    response = api.post(
        "/api/v1/jobs",
        json={
            "text": "roof is leaking after the storm",
            "city": "Chicago",
            "customer_id": customer["id"],
        },
    )
    assert response.status_code == 201
    assert response.get_json()["matches"][0]["provider"]["id"] == catalogue["roofer"]


# ------------------------------------------------- what was said, and where


def _plumber(db, external_id, name, city, **more):
    return make_provider(
        db,
        external_id=external_id,
        name=name,
        city=city,
        description=more.pop("description", "Leaks, drains and water heaters."),
        **more,
    ).id


def test_the_named_towns_providers_come_first_and_neighbours_say_how_far(api, db):
    skokie = [
        _plumber(db, "sk-1", "Dr. Pipes", "Skokie", rating=4.1, review_count=12),
        _plumber(db, "sk-2", "J. Novak & Co.", "Skokie", rating=4.2, review_count=8),
    ]
    evanston = [
        _plumber(db, "ev-1", "Evanston Leak & Drain Plumbing Experts", "Evanston"),
        _plumber(db, "ev-2", "North Shore Plumbing & Leak Repair", "Evanston"),
    ]
    painter = make_provider(
        db,
        external_id="sk-paint",
        name="Skokie Painting",
        city="Skokie",
        categories=["painting"],
        description="Interior and exterior painting.",
        services=[{"name": "Room painting", "mode": "onsite", "price_cents": 30000}],
    ).id
    status, body = _match(
        api, text="my kitchen sink is leaking, I need a plumber", city="Skokie"
    )
    assert status == 200, body
    ids = [m["provider"]["id"] for m in body["matches"]]
    assert set(ids[:2]) == set(skokie)  # the town named, though rated lower
    assert set(ids[2:4]) == set(evanston)  # then its neighbours
    assert painter not in ids[:4]  # never a painter before a plumber next door
    reasons = {m["provider"]["id"]: m["reasons"] for m in body["matches"]}
    assert "in Skokie" in reasons[skokie[0]]
    assert any(
        r.startswith("in Evanston, ") and r.endswith(" km from Skokie")
        for r in reasons[evanston[0]]
    ), reasons[evanston[0]]


def test_the_latest_need_wins_over_an_earlier_one(api, catalogue):
    status, body = _match(
        api,
        text=(
            "I need a plumber, the sink is leaking. Actually, forget that: the "
            "lights keep flickering and the breaker trips, I need an electrician."
        ),
        city="Chicago",
    )
    assert status == 200, body
    assert body["matches"][0]["provider"]["id"] == catalogue["electrician"]
    # a later sentence that names no kind changes nothing
    _, again = _match(
        api,
        text="I need an electrician, a breaker keeps tripping. What's their phone?",
        city="Chicago",
    )
    assert again["matches"][0]["provider"]["id"] == catalogue["electrician"]


def test_a_fine_kind_counts_for_more_than_a_word_it_shares(api, db):
    doctor = {"categories": ["Doctor"], "services": [], "hours": None}
    dermatologist = make_provider(
        db,
        external_id="derm",
        name="Dr. Elizabeth Abel, MD",
        description="Doctor at 100 Main St.",
        speciality="Dermatologist",
        **doctor,
    ).id
    make_provider(
        db,
        external_id="gp",
        name="Skin & Family Health Clinic",
        description="Doctor at 200 Main St.",
        speciality="General Practitioner",
        **doctor,
    )
    unisex = make_provider(
        db,
        external_id="uni",
        name="Blades",
        categories=["Hair stylist"],
        services=[],
        description="Salon at 1 Elm St.",
        is_unisex=True,
    ).id
    make_provider(
        db,
        external_id="not-uni",
        name="The Unisex-Free Ladies Salon",
        categories=["Hair stylist"],
        services=[],
        description="Salon at 2 Elm St.",
        is_unisex=False,
    )
    _, body = _match(api, text="I need to see a dermatologist", city="Chicago")
    top = body["matches"][0]
    assert top["provider"]["id"] == dermatologist
    assert "Dermatologist" in top["reasons"]
    _, body = _match(
        api, text="I want a unisex salon. Can you find one in Chicago?", city="Chicago"
    )
    assert body["matches"][0]["provider"]["id"] == unisex
    assert "unisex" in body["matches"][0]["reasons"]
