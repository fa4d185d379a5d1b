"""Issue 18, item 9: a message that reaches the assistant twice changes
things once.

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

import os
import socket
import subprocess
import threading
import time
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from backend.db import utcnow
from backend.models import (
    Booking,
    BookingStatus,
    Direction,
    FollowUp,
    IdempotencyKey,
    Message,
    PhoneVerification,
)
from tests.fakes.rasa_rest import FakeRasa
from tests.helpers import config_for_test, days_ahead, local, make_provider
from tests.integration.test_twilio_inbound import (
    PUBLIC,
    TOKEN,
    _bodies,
    _inbound,
    _post,
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
        _, other_token = create_api_key(
            database.session, "another caller", ["read", "book", "admin"]
        )
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
    [header] = [p for p in book["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and header["required"] is False
    assert "another request" in book["responses"]["422"]["description"]
    listing = spec["paths"]["/api/v1/bookings/{booking_id}"]["get"]
    assert all(p["name"] != "Idempotency-Key" for p in listing.get("parameters", []))


# ---------------------------------------------------------------- the conversation


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(app):
    """The API on a real port, as the action server reaches it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def action_server(live, api_token, tmp_path):
    """The assistant's real action server (rasa_sdk, in the bot's own
    environment), calling the live API with a key of its own."""
    if not BOT_PYTHON.exists():
        pytest.skip("the bot's environment: make bot-install")
    port = _free_port()
    log = tmp_path / "actions.log"
    env = os.environ | {
        "BECKON_API_URL": live,
        "BECKON_API_KEY": api_token,
        "BECKON_API_TIMEOUT": "20",
        "PYTHONPATH": str(REPO / "bot"),
        "SANIC_HOST": "127.0.0.1",
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BOT_PYTHON), "-m", "rasa_sdk", "--actions", "actions"]
            + ["--port", str(port)],
            cwd=REPO / "bot",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the action server stopped:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the action server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class BookingCore:
    """Rasa's dialogue core at the point where the customer said "yes" to
    the offer read back to them: it runs ``action_book_provider`` on the
    action server with the message's metadata in the tracker, and answers
    with what the action said. ``hold`` makes the n-th run wait (after the
    action ran, or before it) until told to go on."""

    def __init__(self, url: str, provider, *, day: int = 3) -> None:
        start = local(days_ahead(day), 10)
        self.url = url
        self.offer = {
            "provider_id": provider.id,
            "name": provider.name,
            "start": start.astimezone(UTC).isoformat(),
            "local_start": start.isoformat(),
            "remote": False,
        }
        self.runs = 0
        self.acted = threading.Event()  # an action has run and written
        self.go_on = threading.Event()
        self.hold: tuple[int, str] | None = None  # (which run, "before"/"after")
        self.said: list[list[dict]] = []

    def __call__(self, body: dict) -> list[dict]:
        self.runs += 1
        run = self.runs
        if self.hold == (run, "before"):
            self.go_on.wait(timeout=30)
        tracker = {
            "sender_id": body["sender"],
            "slots": {
                "offers": [self.offer],
                "provider_choice": self.offer["provider_id"],
                "booking_confirmed": True,
                "place": "Chicago",
            },
            "latest_message": {
                "text": body["message"],
                "intent": {"name": "affirm", "confidence": 0.99},
                "entities": [],
                "metadata": body.get("metadata") or {},
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "booking_form",
        }
        answer = requests.post(
            f"{self.url}/webhook",
            json={
                "next_action": "action_book_provider",
                "sender_id": body["sender"],
                "tracker": tracker,
                "domain": {},
                "version": "3.6.20",
            },
            timeout=30,
        )
        answer.raise_for_status()
        replies = [
            {"text": r["text"]} for r in answer.json()["responses"] if r.get("text")
        ]
        self.said.append(replies)
        self.acted.set()
        if self.hold == (run, "after"):
            self.go_on.wait(timeout=30)
        return replies


def _sms_to(app, phone: str) -> list[str]:
    return [
        m["body"]
        for m in app.extensions["beckon.notifiers"].log.sent
        if m["to"] == phone
    ]


def test_a_message_answered_again_after_a_crash_books_once_and_is_answered_once(
    app, config, db, rasa, action_server
):
    """(a) The first attempt's assistant booked, then its process was as
    good as dead (held up past its lease, the sweep took the message back):
    nothing of its answer is recorded. The message is answered again: the
    action books again under the same key, so the API answers with the first
    booking, and the customer is told once that it is booked."""
    from backend.conversation import Inbound, turn
    from backend.extensions import db as database
    from backend.models import Channel
    from backend.services import inbound

    provider = make_provider(db)
    core = rasa.core = BookingCore(action_server, provider)
    core.hold = (1, "after")
    with app.test_request_context():
        received = turn.take(
            Inbound(Channel.SMS, PHONE, "yes", message_id="SM" + "1" * 32)
        )
        message_id = received.message.id

    def first_attempt() -> None:
        with app.app_context():
            turn.answer_later(message_id, PHONE)

    first = threading.Thread(target=first_attempt)
    first.start()
    assert core.acted.wait(timeout=60), "the first attempt never reached the action"
    assert _count(db, Booking) == 1  # its actions wrote; its answer is not recorded
    later = utcnow() + timedelta(seconds=config.FOLLOW_UPS.lease_seconds + 1)
    with app.app_context():  # beat's sweep, a lease later
        session = database.session
        stale = inbound.take_stale(
            session, lease_seconds=config.FOLLOW_UPS.lease_seconds, now=later
        )
        session.commit()
        assert [s.message_id for s in stale] == [message_id]
        assert turn.answer_later(message_id, PHONE) == 1  # answered again, sent
    core.go_on.set()  # the first attempt wakes: its claim is gone
    first.join(timeout=60)
    assert core.runs == 2 and len(rasa.received) == 2
    assert [m["metadata"]["beckon_id"] for m in rasa.received] == [message_id] * 2
    _fresh(db)
    [booking] = db.scalars(select(Booking)).all()
    assert booking.status == BookingStatus.CONFIRMED
    told = _sms_to(app, PHONE)
    assert len(told) == 1, told
    assert told[0].startswith(f"Booked! #{booking.id}: Reyes Plumbing")
    replies = db.scalars(
        select(Message).where(Message.direction == Direction.OUT)
    ).all()
    assert [r.text for r in replies] == told
    # the call was named by the message
    assert db.scalars(select(IdempotencyKey.key)).all() == [
        f"beckon-message-{message_id}:POST:/bookings"
    ]


def test_a_booking_finished_after_the_holding_reply_is_made_once_and_told_once(
    app, client, config, db, rasa, action_server
):
    """(b) Rasa outlives the webhook's wait: the person gets the holding reply
    and the message is held; Rasa's action then books (under the message's
    key). One booking; the customer hears of it once, by its confirmation
    (Rasa's late reply reaches no one); a redelivery of the message gets the
    holding reply again without asking Rasa again."""
    from backend.conversation import follow_ups

    provider = make_provider(db)
    core = rasa.core = BookingCore(action_server, provider)
    core.hold = (1, "before")
    params = _inbound(Body="yes", MessageSid="SM" + "2" * 32)
    holding = _bodies(_post(client, params))
    assert len(holding) == 1 and "can't answer right now" in holding[0]
    core.go_on.set()  # ...and Rasa goes on, past the webhook's wait
    assert core.acted.wait(timeout=60), "the late action never ran"
    assert core.said[0][0]["text"].startswith("Booked! #")
    _fresh(db)
    [booking] = db.scalars(select(Booking)).all()
    [message] = db.scalars(select(Message).where(Message.direction == Direction.IN))
    assert (message.status, message.held_reason) == ("held", "assistant_unreachable")
    assert db.scalars(select(IdempotencyKey.key)).all() == [
        f"beckon-message-{message.id}:POST:/bookings"
    ]
    # a redelivery: the same holding reply, Rasa not asked again
    assert _bodies(_post(client, params)) == holding
    assert core.runs == 1 and _count(db, Booking) == 1
    # the customer is told of the booking once: its confirmation
    with app.app_context():
        follow_ups.send(follow_ups.claim_due())
    told = _sms_to(app, PHONE)
    assert len(told) == 1, told
    assert f"Your booking number is {booking.id}." in told[0]
    assert _count(db, FollowUp, FollowUp.kind == "confirmation") == 2  # and provider
    # and the one reply recorded to the message is the holding one
    replies = [Message.direction == Direction.OUT, Message.follow_up_id.is_(None)]
    assert _count(db, Message, *replies) == 1
