"""Bookings through /api/v1: availability, overlap, the state machine, history."""

from datetime import timedelta

import pytest

from tests.helpers import days_ahead, local, make_customer, make_provider


@pytest.fixture
def setup(db):
    provider = make_provider(db)
    customer = make_customer(db)
    return provider.id, customer.id


def _book(api, provider_id, customer_id, start, **extra):
    return api.post(
        "/api/v1/bookings",
        json={
            "provider_id": provider_id,
            "customer_id": customer_id,
            "start": start.isoformat(),
            **extra,
        },
    )


def _slots(api, provider_id, day):
    start, end = local(day, 0), local(day + timedelta(days=1), 0)
    response = api.get(
        f"/api/v1/providers/{provider_id}/availability",
        query_string={"from": start.isoformat(), "to": end.isoformat()},
    )
    assert response.status_code == 200, response.get_json()
    return [s["local_start"][11:16] for s in response.get_json()["slots"]]


def test_slots_follow_working_hours_in_the_providers_zone(api, setup):
    provider_id, _ = setup
    day = days_ahead(3)
    slots = _slots(api, provider_id, day)
    # 9-17 Chicago, hour-long service, every 30 minutes: 09:00 ... 16:00
    assert slots[0] == "09:00" and slots[-1] == "16:00" and len(slots) == 15


def test_a_booking_shows_in_availability(api, setup):
    provider_id, customer_id = setup
    day = days_ahead(3)
    response = _book(api, provider_id, customer_id, local(day, 10), confirm=True)
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    assert booking["status"] == "confirmed"
    assert booking["local_start"].startswith(f"{day.isoformat()}T10:00:00-0")
    slots = _slots(api, provider_id, day)
    # 10:00-11:00 booked, 15 min buffer each side: 09:00..10:30 and 11:00 gone.
    for gone in ("09:00", "09:30", "10:00", "10:30", "11:00"):
        assert gone not in slots
    assert "11:30" in slots
    listed = api.get(f"/api/v1/customers/{customer_id}/bookings").get_json()["items"]
    assert [b["id"] for b in listed] == [booking["id"]]


def test_an_overlapping_booking_is_409_and_not_stored(api, setup):
    provider_id, customer_id = setup
    day = days_ahead(3)
    assert _book(api, provider_id, customer_id, local(day, 10)).status_code == 201
    response = _book(api, provider_id, customer_id, local(day, 10, 30))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "slot_taken"
    listed = api.get(f"/api/v1/customers/{customer_id}/bookings").get_json()["items"]
    assert len(listed) == 1


def test_outside_hours_past_and_short_notice_are_refused(api, setup):
    provider_id, customer_id = setup
    day = days_ahead(3)
    late = _book(api, provider_id, customer_id, local(day, 16, 30))
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "outside_working_hours"
    past = _book(api, provider_id, customer_id, local(days_ahead(-2), 10))
    assert past.status_code == 422
    assert past.get_json()["error"]["details"][0]["field"] == "start"
    naive = api.post(
        "/api/v1/bookings",
        json={
            "provider_id": provider_id,
            "customer_id": customer_id,
            "start": "2030-01-01T10:00:00",
        },
    )
    assert naive.status_code == 422
    assert naive.get_json()["error"]["details"][0]["field"] == "start"


def test_unknown_provider_customer_or_service(api, setup):
    provider_id, customer_id = setup
    start = local(days_ahead(3), 10)
    assert _book(api, 999, customer_id, start).status_code == 404
    assert _book(api, provider_id, 999, start).status_code == 404
    response = _book(api, provider_id, customer_id, start, service_id=999)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "service_id"


def test_life_of_a_booking(api, setup, app):
    provider_id, customer_id = setup
    start = local(days_ahead(2), 10)
    booking = _book(api, provider_id, customer_id, start).get_json()
    assert booking["status"] == "held" and booking["hold_expires_at"]
    bid = booking["id"]
    assert (
        api.post(f"/api/v1/bookings/{bid}/confirm").get_json()["status"] == "confirmed"
    )
    # completing straight from confirmed is allowed (the provider forgot to check in)
    done = api.post(f"/api/v1/bookings/{bid}/complete", json={"actor": "provider"})
    assert done.get_json()["status"] == "completed"
    review = api.post(
        f"/api/v1/bookings/{bid}/review", json={"stars": 5, "text": "Great"}
    )
    assert review.status_code == 201
    final = api.get(f"/api/v1/bookings/{bid}").get_json()
    assert final["status"] == "reviewed"
    assert [h["action"] for h in final["history"]] == [
        "create",
        "confirm",
        "complete",
        "review",
    ]
    provider = api.get(f"/api/v1/providers/{provider_id}").get_json()
    assert provider["review_count"] == 121
    assert provider["rating"] == pytest.approx((4.8 * 120 + 5) / 121, abs=1e-3)


def test_illegal_transitions_are_409_with_a_clear_message(api, setup):
    provider_id, customer_id = setup
    bid = _book(api, provider_id, customer_id, local(days_ahead(2), 10)).get_json()[
        "id"
    ]
    response = api.post(f"/api/v1/bookings/{bid}/check-in")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "illegal_transition"
    assert error["message"].startswith(
        f"booking {bid} is held; it cannot be checked in"
    )
    api.post(f"/api/v1/bookings/{bid}/cancel", json={"reason": "changed my mind"})
    again = api.post(f"/api/v1/bookings/{bid}/confirm")
    assert again.status_code == 409
    assert "cancelled" in again.get_json()["error"]["message"]
    review = api.post(f"/api/v1/bookings/{bid}/review", json={"stars": 4})
    assert review.status_code == 409
    bad_stars = api.post(f"/api/v1/bookings/{bid}/review", json={"stars": 6})
    assert bad_stars.status_code == 422


def test_no_show_only_after_the_start(api, setup):
    provider_id, customer_id = setup
    bid = _book(
        api, provider_id, customer_id, local(days_ahead(2), 10), confirm=True
    ).get_json()["id"]
    response = api.post(f"/api/v1/bookings/{bid}/no-show")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "too_early"


def test_cancelling_frees_the_slot(api, setup):
    provider_id, customer_id = setup
    start = local(days_ahead(3), 13)
    bid = _book(api, provider_id, customer_id, start, confirm=True).get_json()["id"]
    assert _book(api, provider_id, customer_id, start).status_code == 409
    api.post(f"/api/v1/bookings/{bid}/cancel")
    assert _book(api, provider_id, customer_id, start).status_code == 201


def test_reschedule_keeps_history_and_checks_the_new_slot(api, setup):
    provider_id, customer_id = setup
    day = days_ahead(3)
    first = _book(
        api, provider_id, customer_id, local(day, 10), confirm=True
    ).get_json()
    _book(api, provider_id, customer_id, local(day, 14), confirm=True)
    clash = api.post(
        f"/api/v1/bookings/{first['id']}/reschedule",
        json={"start": local(day, 14, 30).isoformat()},
    )
    assert clash.status_code == 409
    moved = api.post(
        f"/api/v1/bookings/{first['id']}/reschedule",
        json={"start": local(day, 12).isoformat(), "reason": "customer asked"},
    )
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["status"] == "confirmed"
    assert body["local_start"][11:16] == "12:00"
    event = body["history"][-1]
    assert event["action"] == "reschedule"
    assert event["old_start"] == first["start"] and event["note"] == "customer asked"
    # the old time is free again, the new one is not
    slots = _slots(api, provider_id, day)
    assert "10:00" in slots and "12:00" not in slots
    # a booking can move onto its own old buffer
    assert (
        api.post(
            f"/api/v1/bookings/{first['id']}/reschedule",
            json={"start": local(day, 12, 30).isoformat()},
        ).status_code
        == 200
    )


def test_an_expired_hold_stops_blocking(api, setup, app, db):
    from backend.models import Booking

    provider_id, customer_id = setup
    start = local(days_ahead(3), 10)
    bid = _book(api, provider_id, customer_id, start).get_json()["id"]
    booking = db.get(Booking, bid)
    booking.hold_expires_at = booking.created_at - timedelta(minutes=1)
    db.commit()
    assert start.isoformat()[11:16] in [
        s for s in _slots(api, provider_id, start.date())
    ]
    response = api.post(f"/api/v1/bookings/{bid}/confirm")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "hold_expired"
    assert _book(api, provider_id, customer_id, start).status_code == 201


def test_area_availability_lists_nearby_providers_with_slots(api, db):
    make_provider(db)
    make_provider(
        db,
        external_id="far",
        name="Far Plumbing",
        city="Houston",
        timezone="America/Chicago",
    )
    make_provider(
        db, external_id="electric", name="Volt Bros", categories=["electrical"]
    )
    day = days_ahead(4)
    response = api.get(
        "/api/v1/availability",
        query_string={
            "category": "plumbing",
            "city": "Chicago",
            "from": local(day, 0).isoformat(),
            "to": local(day, 23).isoformat(),
        },
    )
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [i["provider"]["name"] for i in items] == ["Reyes Plumbing"]
    assert items[0]["slots"][0]["local_start"][11:16] == "09:00"
    unknown = api.get(
        "/api/v1/availability",
        query_string={
            "category": "plumbing",
            "city": "Xyzzyville",
            "from": local(day, 0).isoformat(),
            "to": local(day, 23).isoformat(),
        },
    )
    assert unknown.status_code == 422
    assert "Xyzzyville" in unknown.get_json()["error"]["message"]
    reversed_window = api.get(
        "/api/v1/availability",
        query_string={
            "category": "plumbing",
            "city": "Chicago",
            "from": local(day, 10).isoformat(),
            "to": local(day, 9).isoformat(),
        },
    )
    assert reversed_window.status_code == 422


def test_instants_are_always_answered_in_utc(api, setup):
    provider_id, customer_id = setup
    start = local(days_ahead(3), 10)
    body = _book(api, provider_id, customer_id, start).get_json()
    assert body["start"].endswith("Z") and body["history"][0]["start"].endswith("Z")
    assert body["local_start"] == start.isoformat()
