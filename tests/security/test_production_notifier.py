"""Issue 18, item 5: production never falls back to the log notifier.

A channel without its credentials is off outside development: the app
starts and says so, naming the settings to set; a follow-up on it ends
failed with that reason (the console lists it to retry), never "sent"; and
no phone code or message body reaches a log or ``notifications.jsonl``.
Development keeps its log-only notifier, bodies included (``make run`` and
the tests read them there).
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from backend.app import create_app
from backend.config import Config
from backend.db import unit_of_work, utcnow
from backend.extensions import db as database
from backend.models import Channel, FollowUp, FollowUpState, Message
from backend.notifiers import DeliveryError, Outgoing, send_phone_code
from backend.services import customers, followups
from backend.services.rules import FollowUpRules
from tests.helpers import (
    confirmed_booking,
    console_login,
    days_ahead,
    local,
    make_admin,
    make_customer,
    make_provider,
)

FU = FollowUpRules()
MIDDAY = local(days_ahead(1), 12)
SECRET = "production-notifier-secret-key"


@pytest.fixture
def config(database_url, tmp_path, model_cache) -> Config:
    """Production with every secret it needs and no channel's credentials."""
    return Config.from_env(
        ENV="production",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
        TESTING=True,
    )


@pytest.fixture
def booking(db):
    provider = make_provider(db, phone="+13125550101")
    customer = make_customer(db, phone="+13125550199")
    return confirmed_booking(db, provider, customer)


def _send_due(app, monkeypatch) -> dict[int, str]:
    """Claim what is due at midday and send it as the worker does."""
    from backend.conversation import follow_ups

    monkeypatch.setattr(followups.outbox, "utcnow", lambda: MIDDAY)
    with app.app_context():
        with unit_of_work(database.session_factory) as session:
            claimed = followups.claim_due(session, FU, now=MIDDAY)
        return {row_id: follow_ups.send_one(row_id, token) for row_id, token in claimed}


def _logged(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_production_starts_and_names_the_channels_that_are_off(config, caplog):
    caplog.set_level(logging.WARNING)
    app = create_app(config)
    try:
        notifiers = app.extensions["beckon.notifiers"]
        assert notifiers.log is None  # nothing can be only logged
        assert set(notifiers.unavailable) == {
            Channel.SMS,
            Channel.WHATSAPP,
            Channel.MESSENGER,
            Channel.TELEGRAM,
        }
        said = _logged(caplog)
        assert "CHANNELS OFF" in said
        for setting in (
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_SMS_FROM",
            "TWILIO_WHATSAPP_FROM",
            "MESSENGER_PAGE_ACCESS_TOKEN",
            "TELEGRAM_BOT_TOKEN",
        ):
            assert setting in said
    finally:
        database.dispose(app)


def test_a_configured_channel_is_not_off(config, caplog):
    caplog.set_level(logging.WARNING)
    config.TELEGRAM_BOT_TOKEN = "123:telegram-token"
    app = create_app(config)
    try:
        notifiers = app.extensions["beckon.notifiers"]
        assert Channel.TELEGRAM not in notifiers.unavailable
        assert notifiers.for_channel(Channel.TELEGRAM).name == "telegram"
        assert "TELEGRAM_BOT_TOKEN" not in _logged(caplog)
    finally:
        database.dispose(app)


def test_follow_ups_on_a_channel_that_is_off_fail_with_the_reason(
    app, db, booking, monkeypatch, caplog, config
):
    caplog.set_level(logging.DEBUG)
    results = _send_due(app, monkeypatch)
    assert sorted(results.values()) == ["failed", "failed"]  # the confirmations
    db.expire_all()
    rows = db.scalars(
        select(FollowUp).where(FollowUp.state == FollowUpState.FAILED)
    ).all()
    assert len(rows) == 2
    for row in rows:
        assert row.sent_at is None
        assert "sms is off" in row.last_error
        assert "TWILIO_ACCOUNT_SID" in row.last_error
    # nothing recorded as sent, nothing written or logged of what was to be said
    assert db.scalars(select(Message)).all() == []
    assert not config.NOTIFY_LOG.exists()
    assert f"booking number is {booking.id}" not in _logged(caplog)
    assert "Reyes Plumbing" not in _logged(caplog)

    # the console lists them as failed, with the reason, to retry
    make_admin(db)
    client = app.test_client()
    assert console_login(client).status_code == 302
    page = client.get("/admin/follow-ups?queue=failed").get_data(as_text=True)
    assert "sms is off: set TWILIO_ACCOUNT_SID" in page


def test_a_phone_code_is_never_logged_or_written(app, db, config, caplog):
    caplog.set_level(logging.DEBUG)
    customer = make_customer(db, phone="+13125550177")
    link = customers.start_phone_link(
        db, customer.id, "+13125550188", code_minutes=10, now=utcnow()
    )
    db.commit()
    code = link.code
    with app.app_context(), pytest.raises(DeliveryError) as refused:
        send_phone_code(app.extensions["beckon.notifiers"], link)
    assert refused.value.permanent
    assert "TWILIO_ACCOUNT_SID" in str(refused.value)
    assert code not in _logged(caplog)
    assert not config.NOTIFY_LOG.exists()


def test_development_keeps_logging_what_it_would_send(
    database_url, tmp_path, model_cache
):
    config = Config.from_env(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
        TESTING=True,
    )
    app = create_app(config)
    try:
        notifier = app.extensions["beckon.notifiers"].for_channel(Channel.SMS)
        notifier.send(
            Outgoing(Channel.SMS, "+13125550199", "Your code is 123456.", "k", utcnow())
        )
        (record,) = app.extensions["beckon.notifiers"].log.records()
        assert record["body"] == "Your code is 123456."
        assert config.NOTIFY_LOG.exists()
    finally:
        database.dispose(app)
