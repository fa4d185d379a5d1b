"""The console's pages and actions against a real database: every change
through its service, forms that show errors next to their fields, lists that
page and sort, the dashboard's figures, takeover, export and erasure."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func, select, text

from backend.admin.stats import Range, dashboard
from backend.models import (
    ApiKey,
    Booking,
    BookingStatus,
    Channel,
    ChannelIdentity,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    FollowUp,
    FollowUpState,
    MatchLog,
    Message,
    ModerationState,
    Provider,
    Review,
    VerificationState,
)
from backend.schemas import BookingCreate, ReviewCreate
from backend.services import bookings, matchlog, reviews
from backend.services.rules import BookingRules
from tests.helpers import (
    config_for_test,
    console_login,
    csrf_token_of,
    make_admin,
    make_customer,
    make_provider,
)

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa):
    return config_for_test(
        database_url, tmp_path, model_cache, RASA_URL=rasa.url, RASA_TIMEOUT=1.0
    )


@pytest.fixture
def console(client, db):
    make_admin(db)
    assert console_login(client).status_code == 302
    return client


def _post(client, page_path: str, path: str, data: dict | None = None, prefix=""):
    """Submit a form of ``page_path`` to ``path`` with the page's CSRF token."""
    token = csrf_token_of(client.get(page_path).get_data(as_text=True))
    return client.post(path, data={**(data or {}), f"{prefix}csrf_token": token})


def _book(db, provider, customer, start, **kw):
    booking = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id, customer_id=customer.id, start=start, **kw
        ),
        BookingRules(minimum_notice_minutes=0),
        now=start - timedelta(days=1),
    )
    db.commit()
    return booking


# ---------------------------------------------------------------- dashboard


def test_the_dashboard_counts_the_funnel_and_match_acceptance(db):
    provider = make_provider(db)
    other = make_provider(db, external_id="p-2", name="Other Plumbing")
    customer = make_customer(db)
    start = NOW + timedelta(days=1)
    # a match that proposed the provider first, then a booking of it
    matchlog.record_match(
        db, "leaking sink", [provider.id, other.id], customer_id=customer.id, now=NOW
    )
    matchlog.record_match(db, "nothing found", [], customer_id=customer.id, now=NOW)
    matchlog.record_match(
        db, "sink again", [other.id, provider.id], customer_id=customer.id, now=NOW
    )
    db.commit()
    first = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=start,
            confirm=True,
            channel="sms",
        ),
        BookingRules(),
        now=NOW + timedelta(minutes=5),
    )
    db.commit()
    assert first.match_rank == 2  # the latest match proposed it second
    second = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=start + timedelta(days=3, hours=3),
            confirm=True,
            channel="whatsapp",
        ),
        BookingRules(),
        now=NOW + timedelta(days=2),  # long after any match
    )
    db.commit()
    assert second.match_rank is None
    bookings.transition(db, first.id, "complete", now=start + timedelta(hours=2))
    reviews.leave_review(
        db, first.id, ReviewCreate(stars=4, text="good"), now=start + timedelta(hours=3)
    )
    db.commit()

    rng = Range(date(2026, 10, 20), date(2026, 11, 10))
    # bookings are counted on the day they were made (created_at, UTC)
    db.execute(
        Booking.__table__.update()
        .where(Booking.id == first.id)
        .values(created_at=NOW + timedelta(minutes=5))
    )
    db.execute(
        Booking.__table__.update()
        .where(Booking.id == second.id)
        .values(created_at=NOW + timedelta(days=2))
    )
    db.commit()
    figures = dashboard(db, rng)
    assert figures.funnel == [
        ("Requests", 3),
        ("Matches", 2),
        ("Bookings", 2),
        ("Completed", 1),
        ("Reviewed", 1),
    ]
    assert figures.acceptance == 1.0 and figures.matched_bookings == 1
    assert figures.average_rating == 4.0
    day = rng.days.index(NOW.date())
    assert figures.per_day["sms"][day] == 1
    assert figures.per_day["whatsapp"][day + 2] == 1
    assert figures.categories == [("Plumbing", 2)]
    assert figures.cities == [("Chicago", 2)]


def test_the_dashboard_s_rollup_always_equals_a_direct_count(db):
    """Closed days come from the rollup (a day altered there shows: it is
    read, not counted again), and every change of a booking made on a day
    sums that day again, so the figures equal a direct count throughout."""
    from sqlalchemy import update

    from backend.db import utcnow
    from backend.models import RollupBookings, RollupDay
    from benchmarks.console import seed_traffic

    provider = make_provider(db)
    for n in range(3):
        make_provider(db, external_id=f"p-x{n}", name=f"Plumber {n}")
    seed_traffic(db, 300, days=20)
    today = utcnow().date()
    rng = Range(today - timedelta(days=29), today)

    def rolled_and_direct():
        rolled = dashboard(db, rng, margin=timedelta(0))
        db.commit()
        assert rolled.figures() == dashboard(db, rng, rollup=False).figures()
        return rolled

    first = rolled_and_direct()
    assert first.bookings > 200 and first.cities and first.categories
    assert db.scalar(select(func.count()).select_from(RollupDay)) == 29

    # a confirmed booking made on a closed day (it starts in the coming week)
    booking = db.scalars(
        select(Booking)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.created_at < datetime.combine(today, datetime.min.time(), UTC),
        )
        .order_by(Booking.id)
    ).first()
    day = booking.created_at.date()
    rows_that_day = db.scalar(
        select(func.count())
        .select_from(RollupBookings)
        .where(RollupBookings.day == day)
    )
    db.execute(
        update(RollupBookings)
        .where(RollupBookings.day == day)
        .values(bookings=RollupBookings.bookings + 1000)
    )
    db.commit()
    tampered = dashboard(db, rng, margin=timedelta(0))
    db.commit()
    assert tampered.bookings == first.bookings + 1000 * rows_that_day

    # changes: that booking cancelled, another one made and dated back
    bookings.transition(db, booking.id, "cancel", reason="provider ill")
    db.commit()
    late = _book(
        db,
        provider,
        make_customer(db, phone="+13125550177"),
        datetime.combine(today + timedelta(days=9), datetime.min.time(), UTC)
        + timedelta(hours=17),
    )
    db.execute(
        Booking.__table__.update()
        .where(Booking.id == late.id)
        .values(
            created_at=datetime.combine(today, datetime.min.time(), UTC)
            - timedelta(days=12, hours=-9)
        )
    )
    db.commit()
    after = rolled_and_direct()
    assert after.bookings == first.bookings + 1
    assert after.cancelled == first.cancelled + 1


def test_opted_out_follow_ups_are_counted_by_the_code_they_were_skipped_with(db):
    """An opt-out skips a follow-up with the code "opted_out", both where
    the customer said STOP before and where Twilio refuses (21610); the
    dashboard counts that code, not words in the error."""
    from backend.models import SKIP_OPTED_OUT, SKIP_UNREACHABLE
    from backend.services import followups
    from backend.services.customers import set_opt_out
    from backend.services.rules import FollowUpRules
    from tests.helpers import days_ahead, local

    rules = FollowUpRules()
    provider = make_provider(db)
    stopped = make_customer(db, phone="+13125550161")
    refused = make_customer(db, phone="+13125550162")
    set_opt_out(db, stopped.id, Channel.SMS, True)
    db.commit()
    for n, customer in enumerate((stopped, refused)):
        bookings.create_booking(
            db,
            BookingCreate(
                provider_id=provider.id,
                customer_id=customer.id,
                start=local(days_ahead(3), 10 + 2 * n),
                confirm=True,
            ),
            BookingRules(),
            follow_ups=rules,
        )
    db.commit()
    midday = local(days_ahead(1), 12)
    attempts = {}
    for follow_up_id, token in followups.claim_due(db, rules, now=midday):
        attempt = followups.begin_attempt(
            db, follow_up_id, token, rules, BookingRules(), now=midday
        )
        if attempt is not None:
            attempts[follow_up_id] = attempt
    db.commit()

    def confirmation(customer) -> FollowUp:
        return db.scalars(
            select(FollowUp).where(
                FollowUp.customer_id == customer.id,
                FollowUp.recipient == "customer",
                FollowUp.kind == "confirmation",
            )
        ).one()

    skipped = confirmation(stopped)
    assert skipped.state == FollowUpState.SKIPPED
    assert skipped.skip_reason == SKIP_OPTED_OUT
    assert "opted out of sms" in skipped.last_error
    sending = confirmation(refused)
    followups.record_failure(
        db,
        attempts[sending.id],
        "21610: Attempt to send to unsubscribed recipient",
        permanent=True,
        opted_out=True,
        rules=rules,
        backoff_seconds=30,
        now=midday,
    )
    # skipped for another reason, though its words speak of opting out
    db.add(
        FollowUp(
            customer_id=refused.id,
            kind="confirmation",
            recipient="customer",
            channel=Channel.SMS,
            due_at=sending.due_at,
            state=FollowUpState.SKIPPED,
            send_key="test:not-an-opt-out",
            last_error="no channel: the customer opted out of email only",
            skip_reason=SKIP_UNREACHABLE,
        )
    )
    db.commit()
    assert db.get(FollowUp, sending.id).skip_reason == SKIP_OPTED_OUT
    day = sending.due_at.date()
    figures = dashboard(db, Range(day, day), rollup=False)
    assert figures.follow_ups["Opted out"] == 2


def test_the_dashboard_page_and_its_date_range(console):
    page = console.get("/admin/?from=2026-10-01&to=2026-10-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Oct 1, 2026 – Oct 31, 2026" in html
    assert "vendor/chart-4.6.1.umd.min.js" in html and "cdn" not in html.lower()
    bad = console.get("/admin/?from=2026-10-31&to=2026-10-01").get_data(as_text=True)
    assert "the range ends before it starts" in bad
    assert console.get("/admin/static/vendor/chart-4.6.1.umd.min.js").status_code == 200


def test_the_dashboard_reuses_its_figures_until_refreshed(console, db):
    def booked() -> str:
        html = console.get(path).get_data(as_text=True)
        return html.split('data-test="kpi-bookings">')[1].split("<")[0]

    path = "/admin/?days=7"
    assert booked() == "0"
    _book(
        db,
        make_provider(db),
        make_customer(db),
        (datetime.now(UTC) + timedelta(days=2)).replace(hour=16, minute=0),
    )
    assert booked() == "0"  # from the cache, at most 30 s old
    path = "/admin/?days=7&fresh=1"
    assert booked() == "1"


# ---------------------------------------------------------------- providers


def test_providers_list_filters_sorts_and_pages(console, db):
    for n in range(30):
        make_provider(
            db,
            external_id=f"p-{n}",
            name=f"Plumber {n:02d}",
            rating=3 + (n % 3),
            verified=n % 2 == 0,
        )
    html = console.get("/admin/providers?sort=name&dir=asc").get_data(as_text=True)
    assert "1–25 of 30 providers" in html
    assert html.index("Plumber 00") < html.index("Plumber 01")
    second = console.get("/admin/providers?sort=name&dir=asc&page=2").get_data(
        as_text=True
    )
    assert "26–30 of 30" in second and "Plumber 29" in second
    verified = console.get("/admin/providers?verified=verified&rating=5").get_data(
        as_text=True
    )
    assert "of 5 providers" in verified  # even n with n % 3 == 2


def test_edit_shows_errors_next_to_fields_then_saves(console, db):
    provider = make_provider(db)
    path = f"/admin/providers/{provider.id}/edit"
    response = _post(
        console,
        path,
        path,
        {
            "name": "",
            "radius_km": "30",
            "timezone": "Mars/Olympus",
            "languages": "en",
            "phone": "555",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-error-for="name"' in html
    assert 'data-error-for="timezone"' in html and "IANA time zone" in html
    assert 'data-error-for="phone"' in html
    assert "&#39;555&#39; is too short to be a phone number" in html
    # the schema's rules, each next to its field, all at once
    response = _post(
        console,
        path,
        path,
        {
            "name": "Reyes",
            "radius_km": "30",
            "timezone": "America/Chicago",
            "languages": "en",
            "phone": "",
            "email": "not-an-address",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-error-for="email"' in html and "not an email address" in html
    assert 'data-error-for="phone"' not in html  # emptied: to be cleared
    db.rollback()
    db.expire_all()
    assert db.get(Provider, provider.id).phone == "+13125550101"
    response = _post(
        console,
        path,
        path,
        {
            "name": "Reyes Plumbing & Heating",
            "description": "Leaks, heaters, boilers.",
            "city": "Chicago",
            "radius_km": "40",
            "timezone": "America/Chicago",
            "languages": "en, es",
            "phone": "+1 (312) 555-0109",
            "email": "Office@Reyes.example",
        },
    )
    assert response.status_code == 302
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    saved = db.get(Provider, provider.id)
    assert saved.name == "Reyes Plumbing & Heating" and saved.radius_km == 40
    assert saved.languages == ["en", "es"] and saved.email == "office@reyes.example"
    assert saved.phone == "+13125550109"  # as the schema writes it
    response = _post(
        console,
        path,
        path,
        {
            "name": "Reyes Plumbing & Heating",
            "radius_km": "40",
            "timezone": "America/Chicago",
            "languages": "en, es",
            "phone": "+13125550109",
            "email": "",
        },
    )
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    cleared = db.get(Provider, provider.id)
    assert cleared.email is None and cleared.phone == "+13125550109"


def test_the_console_takes_a_national_phone_of_the_configured_region(
    console, db, config, monkeypatch
):
    provider = make_provider(db)
    path = f"/admin/providers/{provider.id}/edit"
    form = {
        "name": "Reyes",
        "radius_km": "30",
        "timezone": "America/Chicago",
        "languages": "en",
    }
    saved = _post(console, path, path, {**form, "phone": "312.555.0108"})
    assert saved.status_code == 302
    db.rollback()
    db.expire_all()
    assert db.get(Provider, provider.id).phone == "+13125550108"
    monkeypatch.setattr(config, "DEFAULT_REGION", "GB")
    refused = _post(console, path, path, {**form, "phone": "312.555.0107"})
    assert refused.status_code == 400
    assert "is not a valid GB number" in refused.get_data(as_text=True)
    response = _post(console, path, path, {**form, "phone": "(020) 7946 0958"})
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    assert db.get(Provider, provider.id).phone == "+442079460958"


def test_edits_reach_the_matching_index(console, db, app):
    provider = make_provider(db)
    index = app.extensions["beckon.matching"]
    with app.app_context():
        from backend.extensions import db as database

        index.rebuild(database.session)
    before = index.matcher.profile(provider.id)
    path = f"/admin/providers/{provider.id}/edit"
    _post(
        console,
        path,
        path,
        {
            "name": "Reyes Drains",
            "description": "Clogged drains and sewer lines only.",
            "city": "Chicago",
            "radius_km": "30",
            "timezone": "America/Chicago",
            "languages": "en",
        },
    )
    after = index.matcher.profile(provider.id)
    assert after != before and "sewer lines" in after.text
    _post(
        console,
        f"/admin/providers/{provider.id}",
        f"/admin/providers/{provider.id}/deactivate",
    )
    assert index.matcher.profile(provider.id).active is False


def test_verification_needs_the_checklist_and_records_who_and_when(console, db):
    provider = make_provider(db, verified=False)
    page = f"/admin/providers/{provider.id}"
    path = f"{page}/verify"
    response = _post(
        console, page, path, {"identity": "y", "decision": "approve", "notes": ""}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-error-for="licence"' in html and 'data-error-for="insurance"' in html
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert (
        db.get(Provider, provider.id).verification_state != VerificationState.VERIFIED
    )
    response = _post(
        console,
        page,
        path,
        {
            "licence": "y",
            "insurance": "y",
            "identity": "y",
            "decision": "approve",
            "notes": "all good",
        },
    )
    assert response.status_code == 302
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    checked = db.get(Provider, provider.id)
    assert checked.verification_state == VerificationState.VERIFIED
    assert checked.verification_notes["by"] == "ops@example.com"
    assert checked.verification_notes["notes"] == "all good"
    assert "Last checked by" in console.get(page).get_data(as_text=True)


def test_deactivate_and_reactivate(console, db):
    provider = make_provider(db)
    page = f"/admin/providers/{provider.id}"
    _post(console, page, f"{page}/deactivate")
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(Provider, provider.id).active is False
    _post(console, page, f"{page}/deactivate")
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(Provider, provider.id).active is True


# ---------------------------------------------------------------- bookings


def test_bookings_actions_reschedule_calendar_and_csv(console, db):
    provider = make_provider(db)
    customer = make_customer(db)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    booking = _book(db, provider, customer, start, channel="sms")
    page = f"/admin/bookings/{booking.id}"
    assert "Confirm" in console.get(page).get_data(as_text=True)
    assert _post(console, page, f"{page}/confirm").status_code == 302
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    # a no-show needs a reason, next to its box; before the start the
    # service refuses it, said next to the action, the reason kept
    response = _post(console, page, f"{page}/no_show", prefix="no_show-")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-error-for="no_show-reason"' in html and "say why" in html
    assert '<details class="confirm" data-test="no_show" open>' in html
    response = _post(
        console,
        page,
        f"{page}/no_show",
        {"no_show-reason": "nobody answered the door"},
        prefix="no_show-",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-error-for="no_show"' in html and "has not started yet" in html
    assert "nobody answered the door</textarea>" in html
    db.rollback()
    assert db.get(Booking, booking.id).status == BookingStatus.CONFIRMED

    # reschedule: an empty time is an error next to the field
    response = _post(console, page, f"{page}/reschedule", {"start": ""})
    assert response.status_code == 400
    assert 'data-error-for="start"' in response.get_data(as_text=True)
    moved = (start + timedelta(days=1)).astimezone(provider_zone(provider))
    response = _post(
        console,
        page,
        f"{page}/reschedule",
        {"start": moved.strftime("%Y-%m-%dT%H:%M"), "reason": "asked"},
    )
    assert response.status_code == 302
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(Booking, booking.id).starts_at == start + timedelta(days=1)

    calendar = console.get(
        f"/admin/providers/{provider.id}/calendar?week={moved.date().isoformat()}"
    ).get_data(as_text=True)
    assert f"#{booking.id}" in calendar

    page_html = console.get(page).get_data(as_text=True)
    assert 'data-test="confirm-cancel"' in page_html  # asked before it is done
    response = _post(
        console,
        page,
        f"{page}/cancel",
        {"cancel-reason": '=HYPERLINK("http://evil.example") customer asked'},
        prefix="cancel-",
    )
    assert response.status_code == 302
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    cancelled = db.get(Booking, booking.id)
    assert cancelled.status == BookingStatus.CANCELLED
    assert cancelled.cancel_reason.endswith("customer asked")

    listed = console.get("/admin/bookings?status=cancelled&channel=sms")
    assert f"/admin/bookings/{booking.id}" in listed.get_data(as_text=True)
    exported = console.get("/admin/bookings.csv?status=cancelled")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["id"] for r in rows] == [str(booking.id)]
    assert rows[0]["provider"] == provider.name and rows[0]["channel"] == "sms"
    # a cell a spreadsheet would run as a formula is written as text
    assert rows[0]["cancel_reason"].startswith("'=HYPERLINK(")


def test_pages_of_equal_sort_keys_neither_repeat_nor_skip_rows(app, console, db):
    """30 bookings at one time, 25 a page: the id breaks the tie in the
    query itself, so page 2 holds exactly the 5 that page 1 did not."""
    from sqlalchemy import event, insert

    from backend.extensions import db as database

    provider = make_provider(db)
    start = datetime(2026, 12, 1, 16, tzinfo=UTC)
    db.execute(
        insert(Booking),
        [
            {
                "provider_id": provider.id,
                "starts_at": start,
                "ends_at": start + timedelta(hours=1),
                "status": BookingStatus.CANCELLED,
                "channel": Channel.SMS,
                "notes": "",
                "created_at": start - timedelta(days=1),
            }
            for _ in range(30)
        ],
    )
    db.commit()
    ids = db.scalars(select(Booking.id)).all()
    statements: list[str] = []
    with app.app_context():
        engine = database.engine

    def keep(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        for sort in ("starts", "created"):
            shown = []
            for number in (1, 2):
                html = console.get(f"/admin/bookings?sort={sort}&page={number}")
                shown += [
                    int(n)
                    for n in re.findall(
                        r'<td><a href="/admin/bookings/(\d+)">',
                        html.get_data(as_text=True),
                    )
                ]
            assert shown == sorted(ids, reverse=True), sort
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    pages = [s for s in statements if "LIMIT" in s and "FROM bookings" in s]
    assert pages and all("bookings.id DESC" in s.split("ORDER BY")[1] for s in pages)


def provider_zone(provider):
    from zoneinfo import ZoneInfo

    return ZoneInfo(provider.timezone)


# ---------------------------------------------------------------- conversations


def test_take_over_holds_messages_reply_goes_out_then_hand_back(app, console, db, rasa):
    from backend import tasks
    from backend.conversation import Inbound
    from backend.conversation.turn import converse
    from backend.extensions import db as database

    phone = "+13125550123"
    with app.test_request_context():
        converse(Inbound(Channel.SMS, phone, "hello", message_id="SM1"))
    conversation = db.scalar(select(Conversation))
    page = f"/admin/conversations/{conversation.id}"
    assert "Take over" in console.get(page).get_data(as_text=True)
    # replying before taking over is not possible
    response = _post(console, page, f"{page}/reply", {"text": "hi"})
    assert "take the conversation over" in response.get_data(as_text=True).lower()

    _post(console, page, f"{page}/take-over")
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    conversation = db.get(Conversation, conversation.id)
    assert conversation.status == ConversationStatus.HUMAN
    asked = len(rasa.received)
    with app.test_request_context():
        converse(Inbound(Channel.SMS, phone, "is anyone there?", message_id="SM2"))
    assert len(rasa.received) == asked  # the assistant is quiet
    db.rollback()
    held = db.scalar(select(Message).where(Message.external_id == "SM2"))
    assert held.status == "held"

    response = _post(console, page, f"{page}/reply", {"text": ""})
    assert response.status_code == 400
    assert 'data-error-for="text"' in response.get_data(as_text=True)
    _post(console, page, f"{page}/reply", {"text": "Yes! Sam here, how can I help?"})
    db.rollback()
    db.expire_all()
    reply = db.scalar(
        select(Message).where(
            Message.direction == Direction.OUT, Message.text.like("Yes! Sam%")
        )
    )
    assert reply.status == "queued" and reply.payload["by_admin"]
    assert db.get(Message, held.id).status == "answered"
    assert tasks.send_console_reply(reply.id) == "logged"
    assert tasks.send_console_reply(reply.id) == "logged"  # sent once
    log = app.extensions["beckon.notifiers"].log
    sent = [r for r in log.sent if r["key"] == f"console:{reply.id}"]
    assert len(sent) == 1 and sent[0]["to"] == phone and sent[0]["channel"] == "sms"

    _post(console, page, f"{page}/hand-back")
    with app.test_request_context():
        converse(Inbound(Channel.SMS, phone, "thanks", message_id="SM3"))
    assert len(rasa.received) == asked + 1
    with app.app_context():
        database.session.rollback()


TWILIO_ACCOUNT, TWILIO_TOKEN = "AC" + "7" * 32, "twilio-test-token"
SMS_FROM, WHATSAPP_FROM = "+13125550000", "whatsapp:+14155238886"


@pytest.mark.parametrize(
    ("channel", "address"),
    [
        (Channel.SMS, "+13125550188"),
        (Channel.WHATSAPP, "whatsapp:+13125550188"),
        (Channel.MESSENGER, "6543210987654321"),
    ],
    ids=["sms", "whatsapp", "messenger"],
)
def test_a_console_reply_reaches_the_channel_s_api(
    app, console, db, monkeypatch, database_url, tmp_path, model_cache, channel, address
):
    """Twilio's Messages API and Meta's Send API (stand-ins at their HTTP
    boundary) receive the reply the worker's task sends: to the customer's
    identity, from our number, the admin's words; once."""
    from backend import tasks
    from backend.notifiers import Notifiers
    from backend.schemas import IdentityInput
    from backend.services.customers import find_or_create_by_identity
    from tests.fakes.messenger_api import FakeSendApi
    from tests.fakes.twilio_api import FakeTwilio

    twilio = FakeTwilio(TWILIO_ACCOUNT, TWILIO_TOKEN).start()
    graph = FakeSendApi()
    try:
        wired = config_for_test(
            database_url,
            tmp_path,
            model_cache,
            TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            TWILIO_SMS_FROM=SMS_FROM,
            TWILIO_WHATSAPP_FROM=WHATSAPP_FROM,
            TWILIO_API_BASE_URL=twilio.url,
            MESSENGER_PAGE_ACCESS_TOKEN="page-token",
            MESSENGER_API_BASE_URL=graph.url,
        )
        monkeypatch.setitem(
            app.extensions, "beckon.notifiers", Notifiers.from_config(wired)
        )
        customer, _ = find_or_create_by_identity(
            db, IdentityInput(channel=channel.value, external_id=address)
        )
        conversation = Conversation(customer_id=customer.id, channel=channel)
        db.add(conversation)
        db.flush()
        db.add(  # the customer wrote a minute ago: inside Messenger's window
            Message(
                conversation=conversation,
                direction=Direction.IN,
                channel=channel,
                text="can a person help me?",
                created_at=datetime.now(UTC) - timedelta(minutes=1),
            )
        )
        db.commit()
        page = f"/admin/conversations/{conversation.id}"
        _post(console, page, f"{page}/take-over")
        words = "Hi, this is Sam at Beckon: a plumber can come at 3pm."
        assert _post(console, page, f"{page}/reply", {"text": words}).status_code == 302
        db.rollback()
        reply = db.scalar(select(Message).where(Message.text == words))

        assert tasks.send_console_reply(reply.id) not in ("failed", "logged")
        assert tasks.send_console_reply(reply.id)  # a second run sends nothing
        db.rollback()
        db.expire_all()
        sent = db.get(Message, reply.id)
        if channel == Channel.MESSENGER:
            assert len(graph.requests) == 1
            request = graph.requests[0]
            assert request["path"].endswith("/me/messages")
            assert request["query"] == {"access_token": ["page-token"]}
            assert request["body"] == {
                "recipient": {"id": address},
                "message": {"text": words},
                "messaging_type": "RESPONSE",
            }
            assert sent.external_id.startswith("m_")
        else:
            assert len(twilio.messages) == 1
            message = twilio.messages[0]
            assert message["to"] == address and message["body"] == words
            assert message["from"] == (
                SMS_FROM if channel == Channel.SMS else WHATSAPP_FROM
            )
            assert sent.external_id == message["sid"] and sent.status == "sent"
            assert sent.delivery_status == "queued"  # Twilio's word
    finally:
        twilio.stop()
        graph.server.shutdown()


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_take_over_only_where_a_reply_can_reach_the_customer(console, db, channel):
    from backend.services import conversations as conversation_service
    from backend.services.errors import Conflict

    customer = make_customer(db)
    conversation = Conversation(customer_id=customer.id, channel=channel)
    db.add(conversation)
    db.commit()
    page = f"/admin/conversations/{conversation.id}"
    html = console.get(page).get_data(as_text=True)
    reachable = channel in (
        Channel.SMS,
        Channel.WHATSAPP,
        Channel.MESSENGER,
        Channel.TELEGRAM,
        Channel.WEBCHAT,
    )
    assert ('data-test="take-over"' in html) is reachable
    assert ('data-test="no-takeover"' in html) is not reachable
    response = _post(console, page, f"{page}/take-over")
    assert response.status_code == 302
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    taken = db.get(Conversation, conversation.id)
    assert (taken.status == ConversationStatus.HUMAN) is reachable
    if not reachable:
        # the service refuses too, with the reason the page gives
        with pytest.raises(Conflict) as refused:
            conversation_service.take_over(db, conversation.id, admin_id=1)
        assert refused.value.code == "cannot_take_over"
        assert refused.value.message in html.replace("&#39;", "'")
        db.rollback()


def test_a_reply_is_refused_on_a_channel_it_cannot_reach(db):
    """A voice conversation marked taken over (by hand, as older data may
    be) still cannot get a typed reply."""
    from backend.services import conversations as conversation_service
    from backend.services.errors import Conflict

    admin = make_admin(db)
    customer = make_customer(db)
    conversation = Conversation(
        customer_id=customer.id,
        channel=Channel.VOICE,
        status=ConversationStatus.HUMAN,
        taken_over_by_id=admin.id,
    )
    db.add(conversation)
    db.commit()
    with pytest.raises(Conflict) as refused:
        conversation_service.console_reply(db, conversation.id, admin.id, "hello")
    assert "live speech" in refused.value.message
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_flagged_conversations_are_listed(app, console, db, rasa):
    from backend.conversation import Inbound
    from backend.conversation.turn import converse

    rasa.failing = True
    with app.test_request_context():
        converse(Inbound(Channel.SMS, "+13125550124", "help me", message_id="SM9"))
    db.rollback()
    html = console.get("/admin/conversations?view=flagged").get_data(as_text=True)
    assert "flagged" in html and "+13125550124" in html
    conversation = db.scalar(select(Conversation).where(Conversation.flagged))
    detail = console.get(f"/admin/conversations/{conversation.id}").get_data(
        as_text=True
    )
    assert "assistant unreachable" in detail
    assert "No conversations here." in console.get(
        "/admin/conversations?view=human"
    ).get_data(as_text=True)


def test_a_provider_s_conversation_is_named_and_offers_no_takeover(console, db):
    from backend.services.conversations import conversation_of

    provider = make_provider(db, name="Reyes Plumbing")
    conversation = conversation_of(db, Channel.SMS, provider_id=provider.id)
    db.flush()
    db.add(
        Message(
            conversation_id=conversation.id,
            direction=Direction.OUT,
            channel=Channel.SMS,
            text="New booking 7: plumbing for a customer on Thu, Dec 3, 8:00 AM.",
            status="sent",
            delivery_status="logged",
        )
    )
    db.commit()
    listed = console.get("/admin/conversations").get_data(as_text=True)
    assert "Reyes Plumbing (provider)" in listed
    detail = console.get(f"/admin/conversations/{conversation.id}").get_data(
        as_text=True
    )
    assert "<h1>Reyes Plumbing</h1>" in detail
    assert f"/admin/providers/{provider.id}" in detail
    assert "What Beckon told this provider" in detail
    assert 'data-test="take-over"' not in detail


# ---------------------------------------------------------------- customers


DANA = ("+13125550150", "3125550150", "dana@example.com", "Dana", "Whitfield", "Elm")


def _customer_with_history(app, db, monkeypatch):
    """Dana: a booking done and reviewed, one ahead (for a job at her
    address) and one she cancelled, requests, follow-ups sent to her and to
    the provider (which name her), one failed, conversations on two channels."""
    from backend.conversation import Inbound, follow_ups
    from backend.conversation.turn import converse
    from backend.schemas import JobCreate
    from backend.services import followups, jobs
    from backend.services.rules import FollowUpRules
    from tests.helpers import days_ahead, local

    provider = make_provider(db)
    customer = make_customer(db, phone="+13125550150")
    customer.display_name = "Dana Whitfield"
    customer.email = "dana@example.com"
    db.commit()
    start = (datetime.now(UTC) - timedelta(days=3)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    booking = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=start,
            confirm=True,
            notes="gate code 1234, ask for Dana",
        ),
        BookingRules(minimum_notice_minutes=0),
        now=start - timedelta(days=1),
    )
    bookings.transition(db, booking.id, "complete", now=start + timedelta(hours=2))
    reviews.leave_review(db, booking.id, ReviewCreate(stars=5, text="Dana loved it"))
    matchlog.record_match(
        db, "sink at 12 Elm St", [provider.id], customer_id=customer.id
    )
    db.commit()
    rules = FollowUpRules()
    job = jobs.create_job(
        db,
        JobCreate(
            text="kitchen sink leaking",
            customer_id=customer.id,
            address="12 Elm Street",
            city="Chicago",
        ),
    )
    db.commit()
    for days, job_id in ((5, job.id), (6, None)):
        bookings.create_booking(
            db,
            BookingCreate(
                provider_id=provider.id,
                customer_id=customer.id,
                start=local(days_ahead(days), 10),
                job_id=job_id,
                confirm=True,
                channel="sms",
            ),
            BookingRules(),
            follow_ups=rules,
        )
        db.commit()
    cancelled = db.scalars(select(Booking).order_by(Booking.id.desc())).first()
    bookings.transition(
        db,
        cancelled.id,
        "cancel",
        reason="Dana Whitfield moved to 40 Oak Ave",
        follow_ups=rules,
    )
    db.commit()
    # the worker sends what is due by tomorrow noon (the log notifier)
    midday = local(days_ahead(1), 12)
    claimed = followups.claim_due(db, rules, now=midday)
    db.commit()
    monkeypatch.setattr(followups.outbox, "utcnow", lambda: midday)
    with app.app_context():
        for follow_up_id, token in claimed:
            follow_ups.send_one(follow_up_id, token)
    monkeypatch.undo()
    db.rollback()
    reminder = db.scalars(
        select(FollowUp).where(
            FollowUp.customer_id == customer.id, FollowUp.kind == "reminder_24h"
        )
    ).first()
    reminder.state = FollowUpState.FAILED
    reminder.last_error = "21211: The 'To' number +13125550150 is not valid"
    db.commit()
    with app.test_request_context():
        converse(
            Inbound(Channel.SMS, "+13125550150", "my name is Dana", message_id="SM20")
        )
    telegram = Conversation(customer_id=customer.id, channel=Channel.TELEGRAM)
    db.add(telegram)
    db.flush()
    db.add(
        Message(
            conversation=telegram,
            direction=Direction.IN,
            channel=Channel.TELEGRAM,
            text="hi",
            payload={"from": {"first_name": "Dana", "last_name": "Whitfield"}},
        )
    )
    db.commit()
    return customer, booking


def _cells(db):
    """Every value of every column of every table in the database, as text."""
    from sqlalchemy import MetaData

    tables = MetaData()
    tables.reflect(bind=db.get_bind())
    for table in tables.sorted_tables:
        for row in db.execute(select(table)).mappings():
            for column, value in row.items():
                if value is not None:
                    shown = (
                        value
                        if isinstance(value, str)
                        else json.dumps(value, default=str, ensure_ascii=False)
                    )
                    yield table.name, column, shown


def test_export_is_one_json_of_everything(app, console, db, monkeypatch):
    customer, booking = _customer_with_history(app, db, monkeypatch)
    response = console.get(f"/admin/customers/{customer.id}/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data(as_text=True))
    assert document["profile"]["display_name"] == "Dana Whitfield"
    assert document["identities"][0]["external_id"] == "+13125550150"
    assert document["bookings"][0]["id"] == booking.id
    assert document["bookings"][0]["notes"] == "gate code 1234, ask for Dana"
    assert document["reviews"][0]["text"] == "Dana loved it"
    messages = [m for c in document["conversations"] for m in c["messages"]]
    assert "my name is Dana" in [m["text"] for m in messages]
    assert {"from": {"first_name": "Dana", "last_name": "Whitfield"}} in [
        m["payload"] for m in messages
    ]
    assert {"confirmation", "reminder_24h"} <= {
        f["kind"] for f in document["follow_ups"]
    }
    failed = [f for f in document["follow_ups"] if f["state"] == "failed"]
    assert "+13125550150" in failed[0]["last_error"]
    assert any(r["text"] == "sink at 12 Elm St" for r in document["requests"])


def test_erasure_anonymises_here_and_in_the_tracker_store(
    app, console, db, rasa, tmp_path, monkeypatch
):
    customer, booking = _customer_with_history(app, db, monkeypatch)
    # what there is to erase
    held = {(t, c) for t, c, v in _cells(db) for word in DANA if word in v}
    assert {
        ("customers", "display_name"),
        ("customers", "email"),
        ("channel_identities", "external_id"),
        ("bookings", "notes"),
        ("bookings", "cancel_reason"),
        ("booking_events", "note"),
        ("follow_ups", "last_error"),
        ("messages", "text"),
        ("messages", "payload"),
        ("reviews", "text"),
        ("jobs", "address"),
        ("match_requests", "text"),
    } <= held
    states = db.scalars(
        select(FollowUp.state).where(FollowUp.customer_id == customer.id)
    ).all()
    assert FollowUpState.PENDING in states and FollowUpState.SENT in states
    to_provider = db.scalars(
        select(Message.text)
        .join(Conversation)
        .where(Conversation.provider_id == booking.provider_id)
    ).all()
    assert any("Dana Whitfield" in t and "12 Elm Street" in t for t in to_provider)
    # Rasa's SQL tracker store, as its `events` table is
    tracker_db = f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    engine = create_engine(tracker_db)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE events "
                "(id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO events (sender_id, data) VALUES (:s, 'x'), ('other', 'y')"
            ),
            {"s": "+13125550150"},
        )
    monkeypatch.setattr(app.config["BECKON"], "RASA_TRACKER_DB_URL", tracker_db)
    page = f"/admin/customers/{customer.id}"

    response = _post(console, page, f"{page}/erase", {"confirm": "erase"})
    assert response.status_code == 400
    assert 'data-error-for="confirm"' in response.get_data(as_text=True)

    rasa.failing = True  # the assistant cannot be reached: nothing is erased
    _post(console, page, f"{page}/erase", {"confirm": "ERASE"})
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(Customer, customer.id).erased_at is None
    assert "Not erased" in console.get(page).get_data(as_text=True)

    rasa.failing = False
    response = _post(console, page, f"{page}/erase", {"confirm": "ERASE"})
    assert response.status_code == 302
    assert rasa.replaced == {"+13125550150": []}
    with engine.connect() as conn:
        left = conn.execute(text("SELECT sender_id FROM events")).scalars().all()
    assert left == ["other"]
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    erased = db.get(Customer, customer.id)
    assert erased.erased_at and erased.phone is None and erased.display_name is None
    assert erased.email is None
    assert db.scalar(select(func.count()).select_from(ChannelIdentity)) == 0
    # her conversations and their messages are gone; the provider's remain
    left = db.scalars(select(Conversation)).all()
    assert left and all(c.customer_id is None and c.provider_id for c in left)
    assert {m.conversation_id for m in db.scalars(select(Message))} <= {
        c.id for c in left
    }
    kept = db.get(Booking, booking.id)
    assert kept.status == BookingStatus.REVIEWED and kept.notes == ""
    assert kept.customer_id == customer.id and kept.price_cents == booking.price_cents
    review = db.scalar(select(Review))
    assert review.text == "" and review.stars == 5
    assert db.scalar(select(MatchLog.text)) == "[erased]"
    states = db.scalars(
        select(FollowUp.state).where(FollowUp.customer_id == customer.id)
    ).all()
    assert states and FollowUpState.PENDING not in states
    assert FollowUpState.SENT in states  # the record of what was sent stays
    # the provider's copy of what they were told keeps the booking, not her
    to_provider = db.scalars(
        select(Message.text)
        .join(Conversation)
        .where(Conversation.provider_id == booking.provider_id)
    ).all()
    assert to_provider and all("[erased]" in t for t in to_provider)
    assert any(f"New booking {booking.id + 1}" in t for t in to_provider)
    # nowhere in the database: her number, email, name or street
    leaks = [(t, c, v) for t, c, v in _cells(db) for word in DANA if word in v]
    assert leaks == []
    engine.dispose()


# ---------------------------------------------------------------- the rest


def test_moderation_needs_a_reason_to_hide_and_moves_the_rating(console, db):
    provider = make_provider(db, rating=0, review_count=0)
    customer = make_customer(db)
    start = (datetime.now(UTC) - timedelta(days=2)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    booking = _book(db, provider, customer, start, confirm=True)
    bookings.transition(db, booking.id, "complete", now=start + timedelta(hours=2))
    review = reviews.leave_review(db, booking.id, ReviewCreate(stars=2, text="rude"))
    db.commit()
    prefix = f"r{review.id}"
    path = f"/admin/reviews/{review.id}/moderate"
    response = _post(
        console,
        "/admin/reviews",
        path,
        {f"{prefix}-state": "hidden"},
        prefix=f"{prefix}-",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'data-error-for="{prefix}-reason"' in html
    assert "say why the review is hidden" in html
    _post(
        console,
        "/admin/reviews",
        path,
        {f"{prefix}-state": "hidden", f"{prefix}-reason": "abusive words"},
        prefix=f"{prefix}-",
    )
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    hidden = db.get(Review, review.id)
    assert hidden.moderation == ModerationState.HIDDEN
    assert hidden.moderation_reason == "abusive words"
    assert db.get(Provider, provider.id).review_count == 0
    listed = console.get("/admin/reviews?state=hidden").get_data(as_text=True)
    assert "abusive words" in listed


def test_a_failed_follow_up_is_retried(console, db):
    provider = make_provider(db)
    customer = make_customer(db)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    booking = _book(db, provider, customer, start, confirm=True)
    row = db.scalar(select(FollowUp).where(FollowUp.booking_id == booking.id))
    row.state, row.last_error, row.attempts = FollowUpState.FAILED, "21211: bad To", 5
    db.commit()
    html = console.get("/admin/follow-ups?queue=failed").get_data(as_text=True)
    assert "21211: bad To" in html
    listed = console.get("/admin/follow-ups?queue=failed")
    token = csrf_token_of(listed.get_data(as_text=True))
    response = console.post(
        f"/admin/follow-ups/{row.id}/retry?queue=failed&kind=confirmation&x=1",
        data={"csrf_token": token},
        headers={"Referer": "https://evil.example/"},  # not where it goes
    )
    assert response.headers["Location"] == (
        "/admin/follow-ups?queue=failed&kind=confirmation"
    )
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    retried = db.get(FollowUp, row.id)
    assert retried.state == FollowUpState.PENDING and retried.attempts == 0


def test_search_bookings_reviews_and_follow_ups(console, db):
    reyes = make_provider(db)
    lakeview = make_provider(db, external_id="p-2", name="Lakeview Drains")
    ana = make_customer(db, phone="+13125550141")
    ana.display_name = "Ana Rivera"
    ben = make_customer(db, phone="+13125550142")
    ben.display_name = "Ben Okafor"
    db.commit()
    start = (datetime.now(UTC) - timedelta(days=2)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    made = {}
    for provider, customer, words in (
        (reyes, ana, "Fixed the leak, very tidy"),
        (lakeview, ben, "Late and rude"),
    ):
        booking = _book(db, provider, customer, start, confirm=True)
        bookings.transition(db, booking.id, "complete", now=start + timedelta(hours=2))
        reviews.leave_review(db, booking.id, ReviewCreate(stars=5, text=words))
        db.commit()
        made[customer.display_name] = booking

    def booking_ids(query: str) -> set[int]:
        html = console.get(f"/admin/bookings?q={query}").get_data(as_text=True)
        return {
            int(n) for n in re.findall(r'<td><a href="/admin/bookings/(\d+)">', html)
        }

    assert booking_ids("lakeview") == {made["Ben Okafor"].id}
    assert booking_ids("ana riv") == {made["Ana Rivera"].id}
    assert booking_ids("5550142") == {made["Ben Okafor"].id}  # a number, in part
    # a number as people write it finds the E.164 one it is, or is part of
    assert booking_ids(quote("(312) 555-0142")) == {made["Ben Okafor"].id}
    assert booking_ids(quote("555-0141")) == {made["Ana Rivera"].id}
    people = console.get("/admin/customers?q=" + quote("312.555.0141")).get_data(
        as_text=True
    )
    assert "Ana Rivera" in people and "Ben Okafor" not in people
    found = console.get(
        "/admin/providers?q=" + quote(f"({lakeview.phone[2:5]}) {lakeview.phone[5:]}")
    ).get_data(as_text=True)
    assert "Lakeview Drains" in found
    assert booking_ids("99999999999999999999") == set()  # no id that big
    assert booking_ids(f"%23{made['Ana Rivera'].id}") == {made["Ana Rivera"].id}

    page = console.get("/admin/reviews").get_data(as_text=True)
    assert 'id="provider"' in page and "Lakeview Drains</option>" in page
    found = console.get("/admin/reviews?q=RUDE").get_data(as_text=True)
    assert "Late and rude" in found and "very tidy" not in found
    found = console.get(f"/admin/reviews?provider={reyes.id}").get_data(as_text=True)
    assert "very tidy" in found and "Late and rude" not in found

    def follow_up_bookings(query: str) -> set[int]:
        html = console.get(f"/admin/follow-ups?q={query}").get_data(as_text=True)
        return {int(n) for n in re.findall(r'href="/admin/bookings/(\d+)"', html)}

    number = made["Ben Okafor"].id
    assert follow_up_bookings(f"%23{number}") == {number}
    assert follow_up_bookings("5550141") == {made["Ana Rivera"].id}
    assert follow_up_bookings("Ana") == {made["Ana Rivera"].id}
    assert follow_up_bookings("lakeview") == {made["Ben Okafor"].id}
    html = console.get("/admin/follow-ups?q=Ana").get_data(as_text=True)
    assert "Ana Rivera</a>" in html  # who it is to, not only "customer"


def test_api_keys_are_shown_once_and_revoked(console, db, client):
    response = _post(console, "/admin/api-keys", "/admin/api-keys", {"name": ""})
    assert response.status_code == 400
    response = _post(console, "/admin/api-keys", "/admin/api-keys", {"name": "partner"})
    assert response.status_code == 400
    assert "choose at least one scope" in response.get_data(as_text=True)
    response = _post(
        console,
        "/admin/api-keys",
        "/admin/api-keys",
        {"name": "partner", "scopes": ["read", "book"]},
    )
    html = response.get_data(as_text=True)
    token = html.split('data-test="new-key">')[1].split("<")[0]
    assert token.startswith("bk_")
    assert token not in console.get("/admin/api-keys").get_data(as_text=True)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/categories", headers=auth).status_code == 200
    key = db.scalar(select(ApiKey).where(ApiKey.name == "partner"))
    assert key.scopes == ["read", "book"]
    assert '<td data-test="scopes">read, book</td>' in console.get(
        "/admin/api-keys"
    ).get_data(as_text=True)
    _post(console, "/admin/api-keys", f"/admin/api-keys/{key.id}/revoke")
    assert client.get("/api/v1/categories", headers=auth).status_code == 401


def test_every_page_renders(console, db):
    provider = make_provider(db)
    customer = make_customer(db)
    for path in (
        "/admin/",
        "/admin/providers",
        f"/admin/providers/{provider.id}",
        f"/admin/providers/{provider.id}/edit",
        f"/admin/providers/{provider.id}/calendar",
        "/admin/bookings",
        "/admin/conversations",
        "/admin/customers",
        f"/admin/customers/{customer.id}",
        "/admin/reviews",
        "/admin/follow-ups",
        "/admin/api-keys",
    ):
        assert console.get(path).status_code == 200, path
    assert console.get("/admin/providers/999999").status_code == 404


def test_the_api_records_each_match_and_a_booking_keeps_its_rank(api, db):
    provider = make_provider(db)
    make_provider(
        db,
        external_id="p-2",
        name="Lakeview Drains",
        description="Drain cleaning and leak repair.",
    )
    customer = make_customer(db)
    found = api.post(
        "/api/v1/matches",
        json={
            "text": "my sink is leaking",
            "city": "Chicago",
            "customer_id": customer.id,
        },
    ).get_json()["matches"]
    db.rollback()
    db.expire_all()
    logged = db.scalar(select(MatchLog))
    assert logged.customer_id == customer.id and logged.text == "my sink is leaking"
    assert logged.provider_ids == [m["provider"]["id"] for m in found]
    assert logged.result_count == len(found) and logged.city == "Chicago"
    start = (datetime.now(UTC) + timedelta(days=2)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    booked = api.post(
        "/api/v1/bookings",
        json={
            "provider_id": provider.id,
            "customer_id": customer.id,
            "start": start.isoformat(),
            "confirm": True,
        },
    )
    assert booked.status_code == 201, booked.get_json()
    db.rollback()
    db.expire_all()
    rank = db.scalar(select(Booking.match_rank))
    assert rank == logged.provider_ids.index(provider.id) + 1
