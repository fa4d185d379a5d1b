"""Issue 18, item 2: merging two customers (a phone linked that another
customer already has) moves every row that names the first to the second:
nothing is deleted by a cascade or orphaned by a SET NULL. The rows are
listed from the models' foreign keys, so a table added later fails here until
it is covered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db import utcnow
from backend.models import (
    Booking,
    BookingStatus,
    Channel,
    ChannelIdentity,
    Conversation,
    Customer,
    FollowUp,
    FollowUpState,
    Job,
    MatchLog,
    PhoneVerification,
    Review,
)
from backend.services.customers import merge_customers, references_to_customers
from tests.helpers import make_provider

#: For each column that names a customer, a row naming ``customer`` (and the
#: model, to find it again).
ROWS = {
    ("channel_identities", "customer_id"): lambda c, p, b: ChannelIdentity(
        customer_id=c.id, channel=Channel.TELEGRAM, external_id=f"tg-{c.id}"
    ),
    ("conversations", "customer_id"): lambda c, p, b: Conversation(
        customer_id=c.id, channel=Channel.TELEGRAM
    ),
    ("jobs", "customer_id"): lambda c, p, b: Job(
        customer_id=c.id, text="water through the kitchen ceiling"
    ),
    ("match_requests", "customer_id"): lambda c, p, b: MatchLog(
        customer_id=c.id, text="plumber"
    ),
    ("phone_verifications", "customer_id"): lambda c, p, b: PhoneVerification(
        customer_id=c.id,
        phone="+13125550123",
        code_hash="x" * 64,
        expires_at=utcnow() + timedelta(minutes=10),
    ),
    ("bookings", "customer_id"): lambda c, p, b: b,
    ("follow_ups", "customer_id"): lambda c, p, b: FollowUp(
        booking_id=b.id,
        customer_id=c.id,
        kind="reminder_24h",
        recipient="customer",
        channel=Channel.TELEGRAM,
        due_at=b.starts_at - timedelta(hours=24),
        state=FollowUpState.PENDING,
        send_key=f"reminder_24h:customer:b{b.id}",
        attempts=0,
        payload={},
    ),
    ("reviews", "customer_id"): lambda c, p, b: Review(
        booking_id=b.id, provider_id=p.id, customer_id=c.id, stars=5
    ),
}


def test_every_column_naming_a_customer_is_covered_here():
    found = {(c.table.name, c.name) for c in references_to_customers()}
    assert found == set(ROWS), (
        "a table names customers: add a row of it to ROWS, so merging is "
        f"checked to move it: {sorted(found ^ set(ROWS))}"
    )


def test_merging_moves_every_row_and_keeps_the_pending_follow_up(db):
    provider = make_provider(db)
    source = Customer(display_name="Web visitor", opt_outs=["sms"])
    target = Customer(display_name="Dana", phone="+13125550123")
    db.add_all([source, target])
    db.flush()
    start = utcnow() + timedelta(days=3)
    booking = Booking(
        provider_id=provider.id,
        customer_id=source.id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        status=BookingStatus.CONFIRMED,
    )
    db.add(booking)
    db.flush()
    rows = {}
    for key, make in ROWS.items():
        row = make(source, provider, booking)
        db.add(row)
        db.flush()
        rows[key] = (type(row), row.id)
    db.commit()
    source_id, target_id = source.id, target.id

    merge_customers(db, source=source, target=target)
    db.commit()
    db.expire_all()

    assert db.get(Customer, source_id) is None
    for (table, column), (model, row_id) in rows.items():
        row = db.get(model, row_id)
        assert row is not None, f"{table} row {row_id} was deleted by the merge"
        assert getattr(row, column) == target_id, f"{table}.{column} not moved"
    pending = db.scalars(
        select(FollowUp).where(FollowUp.customer_id == target_id)
    ).all()
    assert [f.state for f in pending] == [FollowUpState.PENDING]
    merged = db.get(Customer, target_id)
    assert merged.opt_outs == ["sms"]  # a STOP said before the merge stays said
