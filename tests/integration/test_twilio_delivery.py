"""Follow-ups sent through Twilio (a stand-in at its HTTP boundary): sent once,
opted-out numbers remembered, server errors retried later, a lost outcome
found again instead of sent twice, and signed status callbacks applied."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from backend.config import Config
from backend.db import unit_of_work
from backend.extensions import db as database
from backend.models import Customer, Direction, FollowUp, FollowUpState, Message
from backend.services import followups
from backend.services.rules import BookingRules, FollowUpRules
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import (
    confirmed_booking,
    days_ahead,
    local,
    make_customer,
    make_provider,
)

ACCOUNT, TOKEN, SENDER = "AC" + "1" * 32, "twilio-test-token", "+13125550000"
PUBLIC = "https://beckon.example.com"
FU = FollowUpRules()


@pytest.fixture
def fake_twilio():
    fake = FakeTwilio(ACCOUNT, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def config(database_url, tmp_path, model_cache, fake_twilio) -> Config:
    return Config.from_env(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
        TESTING=True,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_SMS_FROM=SENDER,
        TWILIO_API_BASE_URL=fake_twilio.url,
        PUBLIC_URL=PUBLIC,
    )


@pytest.fixture
def celery(app):
    return app.extensions["celery"]


@pytest.fixture
def booking(db):
    provider = make_provider(db, phone="+13125550101")
    customer = make_customer(db, phone="+13125550199")
    return confirmed_booking(db, provider, customer)


MIDDAY = local(days_ahead(1), 12)


def _claim(app, now=MIDDAY):
    with app.app_context(), unit_of_work(database.session_factory) as session:
        return followups.claim_due(session, FU, now=now)


def _confirmation_to_customer(db, booking) -> FollowUp:
    db.expire_all()
    row = db.scalars(
        select(FollowUp).where(
            FollowUp.booking_id == booking.id,
            FollowUp.kind == "confirmation",
            FollowUp.recipient == "customer",
        )
    ).one()
    db.commit()
    return row


def _run_sends(app, claimed, monkeypatch, now=MIDDAY):
    """Run each claimed send as the worker would (the task's own code)."""
    from backend.conversation import follow_ups

    monkeypatch.setattr(followups.outbox, "utcnow", lambda: now)
    with app.app_context():
        return {row_id: follow_ups.send_one(row_id, token) for row_id, token in claimed}


def test_sent_through_twilio_once(app, db, celery, booking, fake_twilio, monkeypatch):
    results = _run_sends(app, _claim(app), monkeypatch)
    assert sorted(results.values()) == ["sent", "sent"]
    assert _claim(app) == []
    assert sorted(m["to"] for m in fake_twilio.messages) == [
        "+13125550101",
        "+13125550199",
    ]
    assert {m["from"] for m in fake_twilio.messages} == {SENDER}
    stored = {
        m.external_id: m
        for m in db.scalars(select(Message).where(Message.direction == Direction.OUT))
    }
    assert set(stored) == {m["sid"] for m in fake_twilio.messages}
    assert {m.status for m in stored.values()} == {"sent"}
    assert {m.delivery_status for m in stored.values()} == {"queued"}


def test_an_unsubscribed_number_is_remembered_and_not_retried(
    app, db, celery, booking, fake_twilio, monkeypatch
):
    fake_twilio.unsubscribed.add("+13125550199")
    row = _confirmation_to_customer(db, booking)
    results = _run_sends(app, _claim(app), monkeypatch)
    assert results[row.id] == "skipped"
    db.expire_all()
    assert db.get(FollowUp, row.id).state == FollowUpState.SKIPPED
    assert "21610" in db.get(FollowUp, row.id).last_error
    assert db.get(Customer, booking.customer_id).opt_outs == ["sms"]
    posts = fake_twilio.posts
    assert _claim(app, MIDDAY + timedelta(hours=2)) == []  # never due again
    assert fake_twilio.posts == posts


def test_a_server_error_is_retried_later(
    app, db, celery, booking, fake_twilio, monkeypatch
):
    fake_twilio.fail_next = 2  # both confirmations meet a 500
    results = _run_sends(app, _claim(app), monkeypatch)
    assert sorted(results.values()) == ["pending", "pending"]
    row = _confirmation_to_customer(db, booking)
    assert row.attempts == 1 and "500" in row.last_error
    assert row.due_at > MIDDAY  # backed off, not hammered
    assert _claim(app) == []
    later = MIDDAY + timedelta(hours=2)
    results = _run_sends(app, _claim(app, later), monkeypatch, later)
    assert sorted(results.values()) == ["sent", "sent"]
    assert len(fake_twilio.messages) == 2


def test_a_lost_outcome_is_found_not_sent_again(
    app, db, celery, booking, fake_twilio, monkeypatch
):
    """The worker died after Twilio took the message, before recording it."""
    from backend.notifiers import Outgoing

    row = _confirmation_to_customer(db, booking)
    claims = dict(_claim(app))
    with app.app_context():
        with unit_of_work(database.session_factory) as session:
            attempt = followups.begin_attempt(
                session, row.id, claims[row.id], FU, BookingRules(), now=MIDDAY
            )
        notifier = app.extensions["beckon.notifiers"].for_channel(attempt.channel)
        notifier.send(
            Outgoing(
                attempt.channel, attempt.to, attempt.body, attempt.key, attempt.since
            )
        )  # ...and then the process was killed
    assert len(fake_twilio.messages) == 1
    after_lease = MIDDAY + timedelta(seconds=FU.lease_seconds + 5)
    results = _run_sends(app, _claim(app, after_lease), monkeypatch, after_lease)
    assert results[row.id] == "sent"
    to_customer = [m for m in fake_twilio.messages if m["to"] == "+13125550199"]
    assert len(to_customer) == 1  # found, not sent again
    stored = db.scalars(select(Message).where(Message.follow_up_id == row.id)).one()
    assert stored.external_id == to_customer[0]["sid"]


def _status(client, params, signature=None, url=PUBLIC + "/webhooks/twilio/status"):
    signature = signature or RequestValidator(TOKEN).compute_signature(url, params)
    return client.post(
        "/webhooks/twilio/status",
        data=params,
        headers={"X-Twilio-Signature": signature},
    )


def test_signed_status_callbacks_update_the_message(
    app, db, client, celery, booking, fake_twilio, monkeypatch
):
    _run_sends(app, _claim(app), monkeypatch)
    sid = fake_twilio.messages[0]["sid"]
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "AccountSid": ACCOUNT,
        "From": SENDER,
        "To": fake_twilio.messages[0]["to"],
        "ApiVersion": "2010-04-01",
    }
    assert _status(client, params).status_code == 204
    late = {**params, "MessageStatus": "sent", "SmsStatus": "sent"}
    assert _status(client, late).status_code == 204
    message = db.scalars(select(Message).where(Message.external_id == sid)).one()
    assert message.delivery_status == "delivered"  # a late "sent" does not undo it

    failed = {**params, "MessageStatus": "failed", "ErrorCode": "30008"}
    tampered = _status(client, {**failed, "To": "+15555550100"}, signature=_sig(failed))
    assert tampered.status_code == 403
    unsigned = client.post("/webhooks/twilio/status", data=failed)
    assert unsigned.status_code == 403
    db.expire_all()
    assert db.get(Message, message.id).delivery_status == "delivered"
    missing = {k: v for k, v in params.items() if k != "MessageStatus"}
    assert _status(client, missing).status_code == 400
    bogus = {**params, "MessageStatus": "teleported"}
    assert _status(client, bogus).status_code == 422


def _sig(params):
    return RequestValidator(TOKEN).compute_signature(
        PUBLIC + "/webhooks/twilio/status", params
    )


@pytest.mark.parametrize(
    ("reported", "becomes"),
    [
        (["accepted", "scheduled", "queued"], "queued"),
        (["scheduled", "canceled", "delivered"], "canceled"),  # final
        (["sent", "partially_delivered", "sent"], "partially_delivered"),
        (["delivered", "read", "delivered"], "read"),
        (["sending", "failed", "delivered"], "failed"),
        (["receiving", "received"], "queued"),  # an inbound's: changes nothing
    ],
)
def test_every_twilio_status_is_taken_in_its_order(
    app, db, client, celery, booking, fake_twilio, monkeypatch, reported, becomes
):
    _run_sends(app, _claim(app), monkeypatch)
    sid = fake_twilio.messages[0]["sid"]
    for status in reported:
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT,
            "From": SENDER,
            "To": fake_twilio.messages[0]["to"],
            "ApiVersion": "2010-04-01",
        }
        assert _status(client, params).status_code == 204, status
    db.rollback()
    db.expire_all()
    message = db.scalars(select(Message).where(Message.external_id == sid)).one()
    assert message.delivery_status == becomes
