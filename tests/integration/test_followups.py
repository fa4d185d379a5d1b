"""Follow-ups through the services: planned with the booking change, claimed
once, sent or settled by the rules (quiet hours, opt-outs, booking state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.db import unit_of_work
from backend.models import (
    Booking,
    Channel,
    Conversation,
    Direction,
    FollowUp,
    FollowUpState,
    Message,
    Review,
)
from backend.schemas import BookingCreate
from backend.services import bookings, delivery, followups, reviews, texts
from backend.services.rules import BookingRules, FollowUpRules
from tests.helpers import (
    CHICAGO,
    confirmed_booking,
    days_ahead,
    local,
    make_customer,
    make_provider,
)

RULES = BookingRules()
FU = FollowUpRules()


@pytest.fixture
def parties(db):
    provider = make_provider(db)
    customer = make_customer(db)
    customer.display_name = "Dana"
    db.commit()
    return provider, customer


def _book(db, provider, customer, start, *, confirm=True) -> Booking:
    booking = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=start,
            confirm=confirm,
            channel="sms",
        ),
        RULES,
        follow_ups=FU,
    )
    db.commit()
    return booking


def _rows(db, booking_id):
    db.expire_all()
    rows = {
        (r.kind, r.recipient): r
        for r in db.scalars(select(FollowUp).where(FollowUp.booking_id == booking_id))
    }
    db.commit()  # end the read, so this session can write next
    return rows


def test_a_confirmed_booking_plans_its_messages(db, parties):
    provider, customer = parties
    start = local(days_ahead(3), 10)
    booking = _book(db, provider, customer, start)
    rows = _rows(db, booking.id)
    assert set(rows) == {
        ("confirmation", "customer"),
        ("confirmation", "provider"),
        ("reminder_24h", "customer"),
        ("reminder_1h", "customer"),
        ("check_in_prompt", "provider"),
    }
    assert rows["reminder_24h", "customer"].due_at == start - timedelta(hours=24)
    assert rows["reminder_1h", "customer"].due_at == start - timedelta(hours=1)
    assert rows["check_in_prompt", "provider"].due_at == start - timedelta(minutes=30)
    assert all(r.state == FollowUpState.PENDING for r in rows.values())


def test_a_hold_plans_nothing_until_confirmed(db, parties):
    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(3), 10), confirm=False)
    assert _rows(db, booking.id) == {}
    bookings.transition(db, booking.id, "confirm", follow_ups=FU)
    db.commit()
    assert ("confirmation", "customer") in _rows(db, booking.id)


def test_a_rolled_back_change_leaves_no_follow_ups(app, db, parties):
    provider, customer = parties
    from backend.extensions import db as database

    with (
        app.app_context(),
        pytest.raises(RuntimeError),
        unit_of_work(database.session_factory) as session,
    ):
        bookings.create_booking(
            session,
            BookingCreate(
                provider_id=provider.id,
                customer_id=customer.id,
                start=local(days_ahead(3), 10),
                confirm=True,
            ),
            RULES,
            follow_ups=FU,
        )
        assert session.scalars(select(FollowUp)).all()  # written with it...
        raise RuntimeError("the request failed after the booking")
    db.expire_all()
    assert db.scalars(select(FollowUp)).all() == []  # ...and gone with it
    assert db.scalars(select(Booking)).all() == []


def test_reschedule_moves_pending_reminders_and_cancel_removes_them(db, parties):
    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    before = _rows(db, booking.id)
    new_start = local(days_ahead(5), 14)
    bookings.reschedule(db, booking.id, new_start, RULES, follow_ups=FU)
    db.commit()
    after = _rows(db, booking.id)
    moved = after["reminder_24h", "customer"]
    assert moved.id == before["reminder_24h", "customer"].id  # the same row, moved
    assert moved.due_at == new_start - timedelta(hours=24)
    assert after["reminder_1h", "customer"].due_at == new_start - timedelta(hours=1)
    assert after["rescheduled", "customer"].state == FollowUpState.PENDING

    bookings.transition(db, booking.id, "cancel", reason="plans changed", follow_ups=FU)
    db.commit()
    rows = _rows(db, booking.id)
    for kind in ("reminder_24h", "reminder_1h"):
        assert rows[kind, "customer"].state == FollowUpState.CANCELLED
    assert rows["check_in_prompt", "provider"].state == FollowUpState.CANCELLED
    assert rows["cancellation", "provider"].state == FollowUpState.PENDING
    assert rows["rebooking_offer", "customer"].state == FollowUpState.PENDING


def _midday() -> datetime:
    """Tomorrow noon in Chicago: no one's quiet hours, before any reminder."""
    return local(days_ahead(1), 12)


def _send_all(app, now):
    """Claim what is due at ``now`` and run each attempt as the task would."""
    from backend.extensions import db as database
    from backend.notifiers import Outgoing

    results = {}
    with app.app_context():
        factory = database.session_factory
        with unit_of_work(factory) as session:
            claimed = followups.claim_due(session, FU, now=now)
        for row_id, token in claimed:
            with unit_of_work(factory) as session:
                attempt = followups.begin_attempt(
                    session, row_id, token, FU, RULES, now=now
                )
            if attempt is None:
                results[row_id] = None
                continue
            notifiers = app.extensions["beckon.notifiers"]
            receipt = notifiers.for_channel(attempt.channel).send(
                Outgoing(
                    attempt.channel,
                    attempt.to,
                    attempt.body,
                    attempt.key,
                    attempt.since,
                    attempt.tag,
                )
            )
            with unit_of_work(factory) as session:
                assert followups.record_sent(
                    session, attempt, receipt.external_id, receipt.status, now=now
                )
            results[row_id] = attempt
    return results


def test_sent_once_with_a_message_on_record(app, db, parties):
    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    now = _midday()
    sent = _send_all(app, now)
    assert len([a for a in sent.values() if a]) == 2  # the two confirmations
    assert _send_all(app, now) == {}  # nothing twice
    to_customer = next(a for a in sent.values() if a and a.to == customer.phone)
    assert f"booking number is {booking.id}" in to_customer.body
    assert "Reyes Plumbing" in to_customer.body
    messages = db.scalars(select(Message).where(Message.direction == Direction.OUT))
    by_follow_up = {m.follow_up_id: m for m in messages}
    assert set(by_follow_up) == set(sent)
    conversation = db.get(
        Conversation, by_follow_up[to_customer.follow_up_id].conversation_id
    )
    assert conversation.customer_id == customer.id
    assert conversation.channel == Channel.SMS
    log = app.extensions["beckon.notifiers"].log
    assert len(log.records()) == 2


def test_a_reminder_for_a_cancelled_booking_is_never_sent(app, db, parties):
    provider, customer = parties
    start = local(days_ahead(3), 10)
    booking = _book(db, provider, customer, start)
    reminder = _rows(db, booking.id)["reminder_24h", "customer"]
    due = reminder.due_at + timedelta(seconds=1)
    with app.app_context():
        from backend.extensions import db as database

        with unit_of_work(database.session_factory) as session:
            claimed = dict(followups.claim_due(session, FU, now=due))
    assert reminder.id in claimed
    # the booking is cancelled after the reminder was claimed, before it is sent
    bookings.transition(db, booking.id, "cancel", follow_ups=FU)
    db.commit()
    with app.app_context():
        from backend.extensions import db as database

        with unit_of_work(database.session_factory) as session:
            attempt = followups.begin_attempt(
                session, reminder.id, claimed[reminder.id], FU, RULES, now=due
            )
    assert attempt is None
    db.expire_all()
    assert db.get(FollowUp, reminder.id).state == FollowUpState.CANCELLED


def test_two_sweeps_never_claim_one_row(app, db, parties):
    provider, customer = parties
    _book(db, provider, customer, local(days_ahead(3), 10))
    now = datetime.now(UTC) + timedelta(seconds=1)
    with app.app_context():
        from backend.extensions import db as database

        with unit_of_work(database.session_factory) as session:
            first = followups.claim_due(session, FU, now=now)
        with unit_of_work(database.session_factory) as session:
            second = followups.claim_due(session, FU, now=now)
        assert len(first) == 2 and second == []
        # a claim that outlives the lease (its worker died) is taken again
        later = now + timedelta(seconds=FU.lease_seconds + 1)
        with unit_of_work(database.session_factory) as session:
            again = followups.claim_due(session, FU, now=later)
        assert {i for i, _ in again} == {i for i, _ in first}
        # the old claim's token is stale now: its task does nothing
        row_id, old_token = first[0]
        with unit_of_work(database.session_factory) as session:
            assert (
                followups.begin_attempt(
                    session, row_id, old_token, FU, RULES, now=later
                )
                is None
            )


def test_quiet_hours_wait_but_urgent_messages_do_not(app, db, parties):
    provider, customer = parties
    customer.timezone = "America/Chicago"
    db.commit()
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    late_night = local(days_ahead(1), 23)
    sent = _send_all(app, late_night)
    rows = _rows(db, booking.id)
    # the customer's confirmation is urgent; the provider's waits for the morning
    assert sent[rows["confirmation", "customer"].id] is not None
    waiting = rows["confirmation", "provider"]
    assert sent[waiting.id] is None and waiting.state == FollowUpState.PENDING
    morning = waiting.due_at.astimezone(CHICAGO)
    assert morning.date() == days_ahead(2) and morning.hour == FU.quiet_end_hour


def test_opted_out_channels_are_skipped(app, db, parties):
    provider, customer = parties
    customer.opt_outs = ["sms"]
    db.commit()
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    sent = _send_all(app, _midday())
    row = _rows(db, booking.id)["confirmation", "customer"]
    assert sent[row.id] is None
    assert row.state == FollowUpState.SKIPPED and "opted out of sms" in row.last_error


def test_messenger_outside_24_hours_uses_the_tag_or_nothing(app, db, parties):
    provider, _ = parties
    from backend.schemas import IdentityInput
    from backend.services.customers import find_or_create_by_identity

    customer, _ = find_or_create_by_identity(
        db, IdentityInput(channel="messenger", external_id="6543210987654321")
    )
    db.commit()
    booking = confirmed_booking(db, provider, customer, channel="messenger")
    sent = _send_all(app, _midday())
    confirmation = sent[_rows(db, booking.id)["confirmation", "customer"].id]
    assert confirmation.channel == Channel.MESSENGER
    assert confirmation.tag == "CONFIRMED_EVENT_UPDATE"  # no message from them yet

    # a review request is no event update: outside the window it is not sent
    booking = db.get(Booking, booking.id)
    now = booking.starts_at + timedelta(hours=2)
    bookings.transition(
        db, booking.id, "check_in", now=booking.starts_at, follow_ups=FU
    )
    bookings.transition(db, booking.id, "complete", now=now, follow_ups=FU)
    db.commit()
    later = now + timedelta(minutes=FU.review_delay_minutes + 1)
    sent = _send_all(app, later)
    request = _rows(db, booking.id)["review_request", "customer"]
    assert request.state == FollowUpState.SKIPPED
    assert "24-hour window" in request.last_error


def test_a_review_reply_becomes_a_review_of_that_booking(app, db, parties):
    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(2), 10))
    done = booking.ends_at
    bookings.transition(
        db, booking.id, "check_in", now=booking.starts_at, follow_ups=FU
    )
    bookings.transition(db, booking.id, "complete", now=done, follow_ups=FU)
    db.commit()
    assert reviews.review_from_reply(db, customer.id, "5 great job", now=done) is None
    sent = _send_all(app, done + timedelta(minutes=FU.review_delay_minutes, seconds=1))
    request = _rows(db, booking.id)["review_request", "customer"]
    assert sent[request.id] is not None and "1 to 5 stars" in sent[request.id].body
    later = done + timedelta(hours=5)
    assert reviews.review_from_reply(db, customer.id, "see you soon", now=later) is None
    review = reviews.review_from_reply(db, customer.id, "5 great job", now=later)
    db.commit()
    assert review is not None
    stored = db.scalars(select(Review)).one()
    assert (stored.booking_id, stored.stars, stored.text) == (
        booking.id,
        5,
        "great job",
    )
    assert db.get(Booking, booking.id).status.value == "reviewed"


def test_messages_follow_the_customers_language(app, db, parties):
    provider, customer = parties
    customer.locale = "es-MX"
    db.commit()
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    sent = _send_all(app, _midday())
    body = sent[_rows(db, booking.id)["confirmation", "customer"].id].body
    assert body.startswith("Reservado: Reyes Plumbing") and str(booking.id) in body


def test_delivery_status_never_moves_backwards(app, db, parties):
    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    _send_all(app, _midday())
    message = db.scalars(
        select(Message).where(Message.direction == Direction.OUT)
    ).first()
    sid = message.external_id
    for status, expected in [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),  # late and out of order: ignored
        ("undelivered", "delivered"),
        ("read", "read"),
    ]:
        delivery.apply_delivery_status(db, sid, status)
        db.commit()
        db.expire_all()
        assert db.get(Message, message.id).delivery_status == expected
    assert delivery.apply_delivery_status(db, "SMnotours", "delivered") is None
    assert booking.id


def test_provider_agendas_are_planned_once_per_day(db, parties):
    provider, customer = parties
    _book(db, provider, customer, local(days_ahead(1), 10))
    _book(db, provider, customer, local(days_ahead(1), 14))
    now = datetime.now(UTC)
    assert followups.plan_agendas(db, FU, now=now) == 1
    assert followups.plan_agendas(db, FU, now=now) == 0
    db.commit()
    agenda = db.scalars(
        select(FollowUp).where(FollowUp.kind == "provider_agenda")
    ).one()
    due = agenda.due_at.astimezone(CHICAGO)
    assert due.date() == days_ahead(1) and due.hour == FU.agenda_hour


def test_stop_on_sms_moves_messages_to_another_channel(app, db, parties):
    from backend.schemas import IdentityInput
    from backend.services.customers import find_or_create_by_identity, set_opt_out

    provider, customer = parties
    find_or_create_by_identity(
        db, IdentityInput(channel="whatsapp", external_id="whatsapp:" + customer.phone)
    )
    set_opt_out(db, customer.id, Channel.SMS, True)
    db.commit()
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    sent = _send_all(app, _midday())
    attempt = sent[_rows(db, booking.id)["confirmation", "customer"].id]
    assert attempt.channel == Channel.WHATSAPP
    assert attempt.to == "whatsapp:" + customer.phone
    set_opt_out(db, customer.id, Channel.SMS, False)
    db.commit()
    db.expire_all()
    assert db.get(type(customer), customer.id).opt_outs == []


def test_a_rebooking_offer_names_free_times(app, db, parties):
    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    bookings.transition(db, booking.id, "cancel", reason="sick", follow_ups=FU)
    db.commit()
    later = _midday() + timedelta(minutes=FU.rebooking_delay_minutes + 1)
    sent = _send_all(app, later)
    rows = _rows(db, booking.id)
    offer = sent[rows["rebooking_offer", "customer"].id]
    assert f"Booking {booking.id} with Reyes Plumbing was cancelled" in offer.body
    assert "1. Reyes Plumbing," in offer.body and "Reply with a number" in offer.body
    notice = sent[rows["cancellation", "provider"].id]
    assert notice.to == provider.phone and "was cancelled" in notice.body


def test_a_reading_is_followed_up_after_a_day_and_a_week(app, db):
    reader = make_provider(
        db,
        external_id="r-1",
        name="Luna Tarot",
        categories=["tarot-reading"],
        description="Tarot readings by phone or video.",
        services=[
            {
                "name": "Love reading",
                "mode": "remote",
                "duration_minutes": 45,
                "price_cents": 6000,
            }
        ],
    )
    customer = make_customer(db)
    booking = _book(db, reader, customer, local(days_ahead(2), 11))
    rows = _rows(db, booking.id)
    assert ("check_in_prompt", "provider") not in rows  # no address to arrive at
    done = booking.ends_at
    bookings.transition(
        db, booking.id, "check_in", now=booking.starts_at, follow_ups=FU
    )
    bookings.transition(db, booking.id, "complete", now=done, follow_ups=FU)
    db.commit()
    rows = _rows(db, booking.id)
    assert rows["session_follow_up", "customer"].due_at == done + timedelta(days=1)
    assert rows["session_rebook", "customer"].due_at == done + timedelta(days=7)
    week = done + timedelta(days=7, minutes=1)
    sent = _send_all(app, local(week.astimezone(CHICAGO).date(), 12))
    rebook = sent[rows["session_rebook", "customer"].id]
    assert "your tarot reading with Luna Tarot" in rebook.body
    assert "Luna Tarot is free:\n1. " in rebook.body


def test_a_providers_agenda_lists_the_days_jobs(app, db, parties):
    provider, customer = parties
    day = days_ahead(1)
    first = _book(db, provider, customer, local(day, 10))
    second = _book(db, provider, customer, local(day, 14))
    followups.plan_agendas(db, FU, now=local(days_ahead(0), 12))
    db.commit()
    sent = _send_all(app, local(day, FU.agenda_hour, 1))
    agenda = next(a for a in sent.values() if a and a.key.startswith("provider_agenda"))
    assert agenda.to == provider.phone
    lines = agenda.body.splitlines()
    assert lines[1].startswith(f"10:00 AM job {first.id}: plumbing for Dana")
    assert lines[2].startswith(f"2:00 PM job {second.id}")


def test_every_kind_has_an_english_text():
    english = texts.available_templates()["en"]
    for kind, audience in followups.KINDS:
        assert f"{kind}.{audience}.txt" in english


def test_only_a_failed_follow_up_is_retried(db, parties):
    from backend.services.errors import Conflict

    provider, customer = parties
    booking = _book(db, provider, customer, local(days_ahead(3), 10))
    row = _rows(db, booking.id)["confirmation", "customer"]
    with pytest.raises(Conflict, match="only a failed one"):
        followups.retry_failed(db, row.id)
    followups.fail(db, row.id, "cannot be prepared: test")
    db.commit()
    again = followups.retry_failed(db, row.id, now=_midday())
    db.commit()
    assert (again.state, again.attempts, again.due_at) == (
        FollowUpState.PENDING,
        0,
        _midday(),
    )
