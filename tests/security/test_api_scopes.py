"""Issue 18, item 6: an API key can do only what its scopes allow.

Every route of the OpenAPI description names the scopes that may call it,
and a key without any of them gets 403; the assistant's key (the action
server's, which handles untrusted chat input) reaches only the routes the
actions call, each for the one person it names, so it cannot verify a
provider, read or cancel someone else's booking, or act for a person it does
not name; each key has a rate limit of its own, counted on its id.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from backend.assistant import assistant_key
from backend.extensions import db as database
from backend.models import Booking, BookingStatus, Provider, VerificationState
from backend.services.access import create_api_key
from tests.helpers import days_ahead, local, make_customer, make_provider

SCOPES = ("read", "book", "admin", "assistant")
IDENTITY = "Beckon-Identity"
ANA, BEN = "+13125550141", "+13125550142"
PLUMBER_PHONE = "+13125550101"  # make_provider's

#: What the assistant's actions call (bot/actions/beckon_api.py, used by
#: bot/actions/*.py), and nothing else.
ACTIONS_CALL = {
    ("post", "/api/v1/customers/identify"),
    ("post", "/api/v1/customers/{customer_id}/phone-link"),
    ("post", "/api/v1/customers/{customer_id}/phone-link/confirm"),
    ("post", "/api/v1/customers/{customer_id}/handoff"),
    ("get", "/api/v1/customers/{customer_id}/bookings"),
    ("get", "/api/v1/categories"),
    ("get", "/api/v1/places"),
    ("get", "/api/v1/providers/{provider_id}"),
    ("get", "/api/v1/providers/{provider_id}/availability"),
    ("post", "/api/v1/matches"),
    ("post", "/api/v1/bookings"),
    ("get", "/api/v1/bookings/{booking_id}"),
    ("post", "/api/v1/bookings/{booking_id}/cancel"),
    ("post", "/api/v1/bookings/{booking_id}/check-in"),
    ("post", "/api/v1/bookings/{booking_id}/complete"),
    ("post", "/api/v1/bookings/{booking_id}/reschedule"),
    ("post", "/api/v1/bookings/{booking_id}/review"),
}


def _token(app, *scopes: str, name: str = "key") -> str:
    with app.app_context():
        _, token = create_api_key(database.session, name, scopes)
        database.session.commit()
    return token


def _auth(token: str, person: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if person:
        headers[IDENTITY] = person
    return headers


def _operations(client) -> list[tuple[str, str, set[str]]]:
    """Each described operation with a key, and the scopes that may call it."""
    spec = client.get("/api/v1/openapi.json").get_json()
    found = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path == "/api/v1/openapi.json":
                assert "security" not in op
                continue
            allowed = {s for need in op.get("security", []) for s in need["bearer"]}
            found.append((method, path, allowed))
    return found


def _call(client, method: str, path: str, headers: dict[str, str]):
    url = re.sub(r"\{\w+\}", "1", path)
    body = {} if method in ("post", "patch") else None
    return client.open(url, method=method.upper(), json=body, headers=headers)


def test_every_route_names_its_scopes_and_refuses_a_key_without_them(app, client):
    operations = _operations(client)
    assert len(operations) >= 25
    for method, path, allowed in operations:
        assert allowed and allowed <= set(SCOPES), (method, path, allowed)
        others = [s for s in SCOPES if s not in allowed]
        token = _token(app, *others, name=f"without {method} {path}")
        for person in (None, f"sms:{ANA}"):
            response = _call(client, method, path, _auth(token, person))
            assert response.status_code == 403, (method, path, response.json)
            error = response.get_json()["error"]
            assert error["code"] == "missing_scope"
            assert any(f"'{s}' scope" in error["message"] for s in allowed)
        # ... and the scope it names is the one it takes
        for scope in allowed:
            token = _token(app, scope, name=f"with {scope} {method} {path}")
            response = _call(client, method, path, _auth(token, f"sms:{ANA}"))
            assert response.status_code != 403 or (
                response.get_json()["error"]["code"] != "missing_scope"
            ), (method, path, scope)


def test_the_assistant_scope_opens_exactly_what_the_actions_call(client):
    opened = {(m, p) for m, p, allowed in _operations(client) if "assistant" in allowed}
    assert opened == ACTIONS_CALL


@pytest.fixture
def assistant(config) -> str:
    """The action server's key, made as `beckon run` makes it."""
    return assistant_key(config)


@pytest.fixture
def anas_booking(app, api, db) -> dict:
    """Ana texted and has a confirmed booking with Reyes Plumbing; Ben
    texted too and has none."""
    provider = make_provider(db)
    ana, ben = make_customer(db, ANA), make_customer(db, BEN)
    start = local(days_ahead(3), 10).isoformat()
    booking = api.post(
        "/api/v1/bookings",
        json={
            "provider_id": provider.id,
            "customer_id": ana.id,
            "start": start,
            "confirm": True,
        },
    )
    assert booking.status_code == 201, booking.get_json()
    return {
        "id": booking.get_json()["id"],
        "provider": provider.id,
        "ana": ana.id,
        "ben": ben.id,
        "start": start,
    }


def _status(db, booking_id: int) -> BookingStatus:
    db.rollback()
    return db.get(Booking, booking_id).status


def test_the_assistant_key_cannot_verify_or_change_a_provider(client, db, assistant):
    provider = make_provider(db, verified=False)
    for person in (None, f"sms:{PLUMBER_PHONE}"):
        headers = _auth(assistant, person)
        verify = client.post(
            f"/api/v1/providers/{provider.id}/verify",
            json={"identity": True, "licence": True, "insurance": True},
            headers=headers,
        )
        assert verify.status_code == 403
        assert verify.get_json()["error"]["code"] == "missing_scope"
        assert "'admin' scope" in verify.get_json()["error"]["message"]
        patched = client.patch(
            f"/api/v1/providers/{provider.id}", json={"name": "Mine"}, headers=headers
        )
        assert patched.status_code == 403
        gone = client.post(
            f"/api/v1/providers/{provider.id}/deactivate", headers=headers
        )
        assert gone.status_code == 403
    db.rollback()
    kept = db.get(Provider, provider.id)
    assert kept.verification_state != VerificationState.VERIFIED
    assert kept.name == "Reyes Plumbing" and kept.active


def test_the_assistant_key_cannot_reach_someone_elses_booking(
    client, db, anas_booking, assistant
):
    number, ana = anas_booking["id"], anas_booking["ana"]
    as_ben = _auth(assistant, f"sms:{BEN}")
    change = {"actor": "customer", "reason": "asked in chat"}

    # Ben (or a chat message claiming Ana's booking number) gets nothing of Ana's
    assert client.get(f"/api/v1/bookings/{number}", headers=as_ben).status_code == 404
    cancel = client.post(
        f"/api/v1/bookings/{number}/cancel", json=change, headers=as_ben
    )
    assert cancel.status_code == 404
    assert cancel.get_json()["error"]["message"] == f"booking {number} not found"
    moved = client.post(
        f"/api/v1/bookings/{number}/reschedule",
        json={"start": local(days_ahead(4), 10).isoformat(), "actor": "customer"},
        headers=as_ben,
    )
    assert moved.status_code == 404
    listed = client.get(f"/api/v1/customers/{ana}/bookings", headers=as_ben)
    assert listed.status_code == 404
    for path, body in (
        (f"/api/v1/customers/{ana}/phone-link", {"phone": BEN}),
        (f"/api/v1/customers/{ana}/handoff", {"channel": "sms"}),
    ):
        assert client.post(path, json=body, headers=as_ben).status_code == 404
    booked_for_ana = client.post(
        "/api/v1/bookings",
        json={
            "provider_id": anas_booking["provider"],
            "customer_id": ana,
            "start": local(days_ahead(5), 10).isoformat(),
        },
        headers=as_ben,
    )
    assert booked_for_ana.status_code == 404
    # nor may it say it is Ana while acting for Ben
    claimed = client.post(
        "/api/v1/customers/identify",
        json={"channel": "sms", "external_id": ANA},
        headers=as_ben,
    )
    assert claimed.status_code == 403
    assert claimed.get_json()["error"]["code"] == "not_acting_for"
    # the provider's check-in is the provider's: Ben is not them
    check_in = client.post(
        f"/api/v1/bookings/{number}/check-in", json={"actor": "x"}, headers=as_ben
    )
    assert check_in.status_code == 404
    # without naming anyone, nothing personal at all
    nobody = _auth(assistant)
    response = client.post(
        f"/api/v1/bookings/{number}/cancel", json=change, headers=nobody
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "identity_required"
    assert _status(db, number) == BookingStatus.CONFIRMED
    assert db.scalar(select(Booking.id).where(Booking.id != number)) is None

    # acting for Ana, the same calls are hers to make
    as_ana = _auth(assistant, f"sms:{ANA}")
    mine = client.get(f"/api/v1/customers/{ana}/bookings", headers=as_ana)
    assert [b["id"] for b in mine.get_json()["items"]] == [number]
    assert client.get(f"/api/v1/bookings/{number}", headers=as_ana).status_code == 200
    cancel = client.post(
        f"/api/v1/bookings/{number}/cancel", json=change, headers=as_ana
    )
    assert cancel.status_code == 200, cancel.get_json()
    assert _status(db, number) == BookingStatus.CANCELLED


def test_only_the_bookings_provider_checks_in_through_the_assistant(
    client, db, anas_booking, assistant
):
    """A provider texting "arrived at job 42" is let through as the booking's
    provider (the phone they text from is theirs); the booking's customer is
    not its provider."""
    number = anas_booking["id"]
    provider = _auth(assistant, f"sms:{PLUMBER_PHONE}")
    identified = client.post(
        "/api/v1/customers/identify",
        json={"channel": "sms", "external_id": PLUMBER_PHONE},
        headers=provider,
    )
    assert identified.status_code == 201
    read = client.get(f"/api/v1/bookings/{number}", headers=provider)
    assert read.status_code == 200
    step = {"actor": f"provider:{PLUMBER_PHONE}"}
    early = client.post(
        f"/api/v1/bookings/{number}/check-in", json=step, headers=provider
    )
    assert early.status_code == 409  # past the check: only too early, in 3 days
    as_ana = _auth(assistant, f"sms:{ANA}")
    for action in ("check-in", "complete"):
        response = client.post(
            f"/api/v1/bookings/{number}/{action}", json=step, headers=as_ana
        )
        assert response.status_code == 404, action
    assert _status(db, number) == BookingStatus.CONFIRMED


def test_each_key_has_its_own_rate_limit(
    app, client, db, monkeypatch, api_token, assistant
):
    config = app.config["BECKON"]
    monkeypatch.setattr(config, "API_KEY_RATE_LIMIT", "3 per minute", raising=False)
    busy, other = api_token, assistant
    prefix = busy.split("_")[1]
    # a wrong secret with the busy key's prefix is refused, and spends nothing
    forged = _auth(f"bk_{prefix}_not-the-secret")
    assert client.get("/api/v1/categories", headers=forged).status_code == 401
    for _ in range(3):
        assert client.get("/api/v1/categories", headers=_auth(busy)).status_code == 200
    spent = client.get("/api/v1/categories", headers=_auth(busy))
    assert spent.status_code == 429
    assert spent.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(spent.headers["Retry-After"]) <= 60
    # counted on the key, not the address: another key from here still works
    assert client.get("/api/v1/categories", headers=_auth(other)).status_code == 200
