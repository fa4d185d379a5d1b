"""No two live bookings of one provider overlap, under concurrency and even
when the application's own check is bypassed."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from backend.models import Booking, BookingStatus
from tests.helpers import days_ahead, local, make_customer, make_provider

THREADS = 20


def test_twenty_threads_racing_for_overlapping_slots(app, db, api_token):
    provider = make_provider(db)
    customer = make_customer(db)
    day = days_ahead(5)
    # Every start overlaps every other: 10:00, 10:05, ... 10:45 for one hour.
    starts = [local(day, 10) + timedelta(minutes=5 * (i % 10)) for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: list[int] = []
    lock = threading.Lock()

    def attempt(start):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/bookings",
            json={
                "provider_id": provider.id,
                "customer_id": customer.id,
                "start": start.isoformat(),
                "confirm": True,
            },
            headers={"Authorization": f"Bearer {api_token}"},
        )
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(results) == {201: 1, 409: THREADS - 1}
    db.expire_all()
    stored = db.query(Booking).filter(Booking.provider_id == provider.id).all()
    assert len(stored) == 1


def test_the_database_refuses_an_overlap_the_app_did_not_check(app, db):
    provider = make_provider(db)
    customer = make_customer(db)
    start = local(days_ahead(5), 10)
    row = {
        "provider_id": provider.id,
        "customer_id": customer.id,
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
        "status": BookingStatus.CONFIRMED,
        "channel": "api",
        "notes": "",
        "created_at": start,
        "updated_at": start,
    }
    db.execute(insert(Booking), [row])
    db.commit()
    overlapping = row | {
        "starts_at": start + timedelta(minutes=30),
        "ends_at": start + timedelta(minutes=90),
    }
    with pytest.raises(IntegrityError, match="bookings_no_overlap"):
        db.execute(insert(Booking), [overlapping])
    db.rollback()
    # back to back is fine, and so is overlapping a cancelled booking
    db.execute(
        insert(Booking),
        [
            row
            | {
                "starts_at": start + timedelta(hours=1),
                "ends_at": start + timedelta(hours=2),
            }
        ],
    )
    db.execute(insert(Booking), [row | {"status": BookingStatus.CANCELLED}])
    db.commit()
    # reviving the cancelled one would overlap: refused on update too
    cancelled = db.query(Booking).filter_by(status=BookingStatus.CANCELLED).one()
    cancelled.status = BookingStatus.CONFIRMED
    with pytest.raises(IntegrityError, match="bookings_no_overlap"):
        db.commit()
    db.rollback()
