"""Issue 18, item 9: a message that reaches the assistant twice changes
things once (here: the API's side).

The inbound message's id travels to Rasa in the message's metadata
(``beckon_id``) and from every action's side-effecting API call as an
``Idempotency-Key``; the API keeps the key with the response, in the
request's own transaction, and answers a repeat with it.

At the API: the same key twice is one booking and the same answer; the same
key for another request is refused; a key is its caller's; what was refused
is not kept; the same key at once is one booking. At the conversation, with
the real turn code, the real action server (bot/.venv, its real actions and
API client) and the real API on a real port, Rasa's dialogue core stood in
at its HTTP boundary: (a) the process dies after the actions wrote but
before the reply was recorded, and the message is answered again: one
booking, one reply, and the right one; (b) the holding reply went out and
Rasa still finishes: one booking, and the customer told once.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from backend.db import utcnow
from backend.models import (
    Booking,
    BookingStatus,
    IdempotencyKey,
    PhoneVerification,
)
from tests.fakes.rasa_rest import FakeRasa
from tests.helpers import config_for_test, days_ahead, local, make_provider
from tests.integration.test_twilio_inbound import (
    PUBLIC,
    TOKEN,
)

REPO = Path(__file__).resolve().parents[2]
BOT_PYTHON = REPO / "bot" / ".venv" / "bin" / "python"
PHONE = "+15017122661"  # who texts in the Twilio fixture


@pytest.fixture
def rasa():
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa):
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_URL=PUBLIC,
        RASA_URL=rasa.url,
        RASA_TIMEOUT=1.0,
    )


def _fresh(db) -> None:
    db.rollback()
    db.expire_all()


def _count(db, model, *where) -> int:
    _fresh(db)
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _booking_body(provider_id: int, customer_id: int, day: int = 3) -> dict:
    return {
        "provider_id": provider_id,
        "customer_id": customer_id,
        "start": local(days_ahead(day), 10).isoformat(),
        "confirm": True,
        "channel": "sms",
    }


@pytest.fixture
def people(api, db):
    provider = make_provider(db)
    customer = api.post(
        "/api/v1/customers/identify", json={"channel": "sms", "external_id": PHONE}
    ).get_json()
    return provider.id, customer["id"]


def _keyed(key: str) -> dict[str, str]:
    return {"headers": {"Idempotency-Key": key}}


# ---------------------------------------------------------------- the API


def test_the_same_key_twice_books_once_and_answers_the_same(api, db, people):
    body = _booking_body(*people)
    first = api.post("/api/v1/bookings", json=body, **_keyed("message-7:book"))
    again = api.post("/api/v1/bookings", json=body, **_keyed("message-7:book"))
    assert first.status_code == again.status_code == 201, again.get_json()
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(db, Booking) == 1
    # the same body as JSON written otherwise is the same request
    spaced = api.post(
        "/api/v1/bookings",
        data="{\n"
        + ",\n".join(f'"{k}": {v!r}' for k, v in reversed(body.items()))
        .replace("'", '"')
        .replace("True", "true")
        + "}",
        content_type="application/json",
        **_keyed("message-7:book"),
    )
    assert spaced.status_code == 201 and spaced.get_json() == first.get_json()
    # without a key the same body is a new request: refused, the slot is taken
    bare = api.post("/api/v1/bookings", json=body)
    assert bare.status_code == 409
    assert _count(db, Booking) == 1


def test_the_same_key_for_another_request_is_refused_and_changes_nothing(
    api, db, people
):
    provider_id, customer_id = people
    first = api.post(
        "/api/v1/bookings",
        json=_booking_body(provider_id, customer_id, 3),
        **_keyed("k-1"),
    )
    assert first.status_code == 201
    other_day = api.post(
        "/api/v1/bookings",
        json=_booking_body(provider_id, customer_id, 4),
        **_keyed("k-1"),
    )
    assert other_day.status_code == 422
    error = other_day.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["details"][0]["field"] == "Idempotency-Key"
    other_path = api.post(
        f"/api/v1/bookings/{first.get_json()['id']}/cancel",
        json={"actor": "customer"},
        **_keyed("k-1"),
    )
    assert other_path.status_code == 422
    _fresh(db)
    assert db.scalars(select(Booking.status)).all() == [BookingStatus.CONFIRMED]


def test_a_key_is_its_callers_own(app, api, client, db, people):
    from backend.extensions import db as database
    from backend.services.access import create_api_key

    with app.app_context():
        _, other_token = create_api_key(database.session, "another caller")
        database.session.commit()
    provider_id, customer_id = people
    mine = api.post(
        "/api/v1/bookings",
        json=_booking_body(provider_id, customer_id, 3),
        **_keyed("shared-name"),
    )
    theirs = client.post(
        "/api/v1/bookings",
        json=_booking_body(provider_id, customer_id, 4),
        headers={
            "Authorization": f"Bearer {other_token}",
            "Idempotency-Key": "shared-name",
        },
    )
    assert mine.status_code == theirs.status_code == 201
    assert theirs.get_json()["id"] != mine.get_json()["id"]
    assert _count(db, Booking) == 2


def test_a_refused_request_is_not_kept_and_its_repeat_is_carried_out(api, db, people):
    provider_id, customer_id = people
    body = _booking_body(provider_id, customer_id)
    taken = api.post("/api/v1/bookings", json=body).get_json()
    refused = api.post("/api/v1/bookings", json=body, **_keyed("retry-me"))
    assert refused.status_code == 409
    assert _count(db, IdempotencyKey) == 0  # nothing was done, nothing kept
    api.post(f"/api/v1/bookings/{taken['id']}/cancel", json={"actor": "customer"})
    again = api.post("/api/v1/bookings", json=body, **_keyed("retry-me"))
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers


def test_a_cancel_repeated_with_its_key_is_answered_not_refused(api, db, people):
    booking = api.post("/api/v1/bookings", json=_booking_body(*people)).get_json()
    path = f"/api/v1/bookings/{booking['id']}/cancel"
    body = {"actor": "customer", "reason": "asked in chat"}
    first = api.post(path, json=body, **_keyed("m-9:POST:cancel"))
    again = api.post(path, json=body, **_keyed("m-9:POST:cancel"))
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    _fresh(db)
    events = [e.action for e in db.get(Booking, booking["id"]).events]
    assert events == ["create", "confirm", "cancel"]


def test_a_phone_code_is_texted_once_for_one_key(app, api, db, people):
    _, customer_id = people
    sent = app.extensions["beckon.notifiers"].log.sent
    path = f"/api/v1/customers/{customer_id}/phone-link"
    answers = [
        api.post(path, json={"phone": "+13125550142"}, **_keyed("m-3:link"))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[1].get_json() == answers[0].get_json()
    assert [m["to"] for m in sent] == ["+13125550142"]
    assert _count(db, PhoneVerification) == 1


def test_a_wrong_code_repeated_with_its_key_is_counted_once(app, api, db, people):
    """The view commits the counted attempt before refusing: the refusal is
    kept with the key like any answer, and the repeat is not a second guess."""
    _, customer_id = people
    api.post(
        f"/api/v1/customers/{customer_id}/phone-link", json={"phone": "+13125550142"}
    )
    path = f"/api/v1/customers/{customer_id}/phone-link/confirm"
    wrong = {"phone": "+13125550142", "code": "000000"}
    first = api.post(path, json=wrong, **_keyed("m-4:code"))
    again = api.post(path, json=wrong, **_keyed("m-4:code"))
    assert first.status_code == again.status_code == 422
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    _fresh(db)
    assert db.scalars(select(PhoneVerification.attempts)).one() == 1


def test_the_same_key_at_once_is_one_booking(app, api_token, db, people):
    body = _booking_body(*people)
    barrier = threading.Barrier(2)
    answers: list = []
    lock = threading.Lock()

    def book() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/bookings",
            json=body,
            headers={
                "Authorization": f"Bearer {api_token}",
                "Idempotency-Key": "at-once",
            },
        )
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=book) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json() == answers[1].get_json()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == [
        "",
        "true",
    ]
    assert _count(db, Booking) == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_a_clear_400_and_nothing_is_written(api, db, people, key):
    response = api.post(
        "/api/v1/bookings",
        json=_booking_body(*people),
        headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_idempotency_key"
    assert _count(db, Booking) == 0


def test_keys_past_their_time_are_forgotten(app, config, api, db, people):
    from backend.conversation import upkeep

    booking = api.post("/api/v1/bookings", json=_booking_body(*people)).get_json()
    path = f"/api/v1/bookings/{booking['id']}/cancel"
    assert api.post(path, json={}, **_keyed("old")).status_code == 200
    with app.app_context():
        assert upkeep.forget_idempotency_keys() == 0  # still within its time
    hours = config.IDEMPOTENCY_KEY_HOURS
    db.execute(
        update(IdempotencyKey).values(
            created_at=utcnow() - timedelta(hours=hours, minutes=1)
        )
    )
    db.commit()
    with app.app_context():
        assert upkeep.forget_idempotency_keys() == 1
    # a key seen again after its time is a new request (refused: cancelled)
    assert api.post(path, json={}, **_keyed("old")).status_code == 409


def test_the_openapi_document_describes_the_key(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    book = spec["paths"]["/api/v1/bookings"]["post"]
    [header] = [p for p in book["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert "another request" in book["responses"]["422"]["description"]
    listing = spec["paths"]["/api/v1/bookings/{booking_id}"]["get"]
    assert all(p["in"] != "header" for p in listing.get("parameters", []))
