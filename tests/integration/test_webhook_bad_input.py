"""Bad input at every webhook: never a 500, and a refusal writes nothing.

Each endpoint gets its real request (tests/fixtures, signed as the
service signs it) with every field, one at a time, replaced by values that
no column holds or that are of the wrong type: missing, empty, huge, NUL
characters, numbers where text is expected, objects where a list is, and so
on. The answer is a 2xx (the input was still usable, or, for Messenger and
Telegram, which retry anything else, acknowledged and ignored) or a 4xx in
the one JSON error shape; after a 4xx the database holds what it held
before. Messenger's published signature vectors are replayed against the
endpoint too.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from backend.app import create_app
from backend.config import Config
from backend.extensions import db as database
from backend.models import ChannelIdentity, Customer, Message
from tests.fuzz import BAD_FORM_VALUES, variants
from tests.helpers import config_for_test, fixture_path

TOKEN, PUBLIC = "bad-input-twilio-token", "https://beckon.example.com"
SECRET, TELEGRAM_SECRET = "bad-input-app-secret", "bad-input-telegram-secret"
UPDATES = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "telegram_updates.json").read_text()
)


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa) -> Config:
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_URL=PUBLIC,
        RASA_URL=rasa.url,
        RASA_TIMEOUT=1.0,
        MESSENGER_APP_SECRET=SECRET,
        TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET,
        SECRET_KEY="bad-input-secret-key",
    )


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Answers of Messenger and Telegram are noted, not queued, here."""
    from webhooks import messenger, telegram

    for module in (messenger, telegram):
        monkeypatch.setattr(module, "queue_answer", lambda received: None)


def _rows(db) -> tuple[int, int, int]:
    db.rollback()
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (Message, Customer, ChannelIdentity)
    )


def _check(db, response, before, what) -> None:
    """No 500; a refusal is a JSON error and wrote nothing."""
    assert response.status_code < 500, (what, response.data[:300])
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert error["code"] and error["message"], what
        assert _rows(db) == before, what


# ---------------------------------------------------------------- Twilio


def _form(name: str) -> dict[str, str]:
    return dict(parse_qsl(fixture_path("twilio", name).read_text().strip()))


def _twilio(client, path: str, params: dict[str, str]):
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    return client.post(
        path, data=params, headers={"X-Twilio-Signature": signature}, buffered=True
    )


def _formvariants(params: dict[str, str]) -> Iterator[tuple[str, dict]]:
    for key in params:
        yield f"drop {key}", {k: v for k, v in params.items() if k != key}
        for value in BAD_FORM_VALUES:
            yield f"{key} = {value!r:.40}", {**params, key: value}


def test_the_sms_webhook_never_fails_on_bad_fields(client, db, rasa):
    base = _form("sms_inbound_webhook.form")
    base |= {"NumMedia": "1", "MediaUrl0": "https://x/1", "MediaContentType0": "a/b"}
    for what, params in _formvariants(base):
        before = _rows(db)
        _check(db, _twilio(client, "/webhooks/twilio/sms", params), before, what)


def test_the_call_webhooks_never_fail_on_bad_fields(client, db, rasa):
    call = _form("voice_incoming_call_webhook.form")
    for what, params in _formvariants(call):
        before = _rows(db)
        _check(db, _twilio(client, "/webhooks/twilio/voice", params), before, what)
    turn = {**call, "SpeechResult": "a plumber please", "Confidence": "0.9"}
    for n, (what, params) in enumerate(_formvariants(turn)):
        before = _rows(db)
        path = f"/webhooks/twilio/voice/turn?turn={n + 1}&quiet=0&lang=en&caller=call"
        _check(db, _twilio(client, path, params), before, what)
    for query in ("turn=x&quiet=y", "turn=-5&lang=xx&caller=number", "turn=9" * 50):
        before = _rows(db)
        path = f"/webhooks/twilio/voice/turn?{query}"
        _check(db, _twilio(client, path, turn), before, query)


def test_the_status_webhook_never_fails_on_bad_fields(client, db):
    callback = {
        "AccountSid": "AC" + "b" * 32,
        "ApiVersion": "2010-04-01",
        "From": "+15558675310",
        "To": "+15017122661",
        "MessageSid": "SM" + "f" * 32,
        "MessageStatus": "delivered",
        "ErrorCode": "30008",
    }
    for what, params in _formvariants(callback):
        for path in ("/webhooks/twilio/status", "/webhooks/twilio/status?reply=x"):
            before = _rows(db)
            _check(db, _twilio(client, path, params), before, what)


# ---------------------------------------------------------------- Messenger


def _messenger(client, body: bytes, secret: str = SECRET):
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/webhooks/messenger",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


def test_messenger_acknowledges_every_malformed_event_and_never_fails(client, db, rasa):
    event = json.loads(
        fixture_path("messenger", "events/fbmessenger_message.json").read_bytes()
    )
    for what, variant in variants(event):
        response = _messenger(client, json.dumps(variant).encode())
        assert response.status_code == 200, (what, response.data[:300])
    for raw in (b"", b"null", b"[]", b'"page"', b"{", b"\xff\xfe", b'{"object": 1}'):
        assert _messenger(client, raw).status_code == 200, raw
    # what was still a message (e.g. its mid replaced by a long one) is kept once
    db.rollback()
    texts = db.scalars(select(Message.text)).all()
    assert set(texts) <= {"hello, world!", "", "x" * 300, "9" * 5000, "nul inside"}


def _vectors() -> dict:
    return json.loads(fixture_path("messenger", "signature_vectors.json").read_text())


def test_messenger_s_signature_vectors_replayed_against_the_endpoint(
    app, database_url, tmp_path, model_cache, db, monkeypatch
):
    """Each vector's app secret configured: its X-Hub-Signature-256 is
    accepted (a page event in it is recorded), the body changed by a byte is
    403, and the SHA-1 X-Hub-Signature alone (deprecated by Meta) is 403;
    a refusal writes nothing."""
    vectors = _vectors()
    sha1 = {v["raw_body"]: v for v in vectors["sha1_vectors_from_sources"]}
    for n, case in enumerate(vectors["sha256_values_computed_here_not_from_a_source"]):
        served = create_app(
            config_for_test(
                database_url,
                tmp_path / f"v{n}",
                model_cache,
                MESSENGER_APP_SECRET=case["app_secret"],
            )
        )
        try:
            client = served.test_client()
            body = case["raw_body"].encode()

            def post(data, headers, client=client):
                return client.post(
                    "/webhooks/messenger",
                    data=data,
                    headers={"Content-Type": "application/json", **headers},
                )

            before = _rows(db)
            tampered = post(body + b" ", {case["header"]: case["value"]})
            assert tampered.status_code == 403, case["raw_body"][:40]
            if body in (c.encode() for c in sha1):
                old = sha1[case["raw_body"]]
                only_sha1 = post(body, {old["header"]: old["value"]})
                assert only_sha1.status_code == 403
            assert _rows(db) == before
            accepted = post(body, {case["header"]: case["value"]})
            assert accepted.status_code == 200
            try:
                page_event = json.loads(body).get("object") == "page"
            except ValueError:
                page_event = False
            texts = [
                item.get("message", {}).get("text")
                for entry in (json.loads(body).get("entry", []) if page_event else [])
                for item in entry.get("messaging", [])
            ]
            written = _rows(db)[0] - before[0]
            assert written == len([t for t in texts if t]), case["raw_body"][:40]
        finally:
            database.dispose(served)
    recorded = db.scalars(select(Message.text)).all()
    assert "Test äëï" in recorded  # the escapes in the raw body, as sent


# ---------------------------------------------------------------- Telegram


def _telegram(client, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/webhooks/telegram",
        data=data,
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        },
    )


def test_telegram_acknowledges_every_malformed_update_and_never_fails(client, db, rasa):
    for name in ("text_message", "callback_query"):
        for n, (what, variant) in enumerate(variants(UPDATES[name])):
            if isinstance(variant.get("update_id"), int):
                variant["update_id"] = 900000000 + n  # each its own update
            response = _telegram(client, variant)
            assert response.status_code == 200, (what, response.data[:300])
    long_name = copy.deepcopy(UPDATES["text_message"]) | {"update_id": 990000001}
    long_name["message"]["chat"]["id"] = 2222222
    long_name["message"]["from"] |= {
        "id": 2222222,
        "first_name": "A" * 200,
        "last_name": "B" * 200,
        "language_code": "x-" + "y" * 40,
    }
    assert _telegram(client, long_name).status_code == 200
    db.rollback()
    customer = db.scalars(
        select(Customer)
        .join(ChannelIdentity)
        .where(ChannelIdentity.external_id == "2222222")
    ).one()
    assert len(customer.display_name) == 120 and customer.locale == "en-US"
    for raw in (b"", b"null", b"[]", b"{", b"\xff"):
        assert _telegram(client, raw).status_code == 200, raw


# ---------------------------------------------------------------- web chat


def _token(client) -> str:
    import re

    html = client.get("/chat").get_data(as_text=True)
    return re.search(r'\|\| "([^"]+)"', html)[1]


def test_the_web_chat_never_fails_on_bad_fields(client, db, rasa, monkeypatch):
    from backend.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # hundreds of posts here
    token = _token(client)
    post = {"sender": token, "message": "I need a plumber", "message_id": "m1"}
    for n, (what, body) in enumerate(variants(post)):
        if body.get("message_id") == "m1":
            body["message_id"] = f"m{n}"
        before = _rows(db)
        response = client.post(
            "/webhooks/webchat",
            data=json.dumps(body),  # escaped: a lone surrogate travels as JSON has it
            headers={"Content-Type": "application/json"},
        )
        _check(db, response, before, what)
    for language in ("x" * 50, "en-US-x-" + "a" * 30, "*", "\x00", "zz-ZZ;q=0.5"):
        before = _rows(db)
        response = client.post(
            "/webhooks/webchat",
            json={"sender": token, "message": "hi", "message_id": language[:20]},
            headers={"Accept-Language": language},
        )
        _check(db, response, before, language)
    for raw in (b"", b"[]", b"{", b"null", b'"x"'):
        before = _rows(db)
        response = client.post(
            "/webhooks/webchat", data=raw, headers={"Content-Type": "application/json"}
        )
        _check(db, response, before, raw)
        assert response.status_code >= 400
    outbox = {"sender": token, "after": 0}
    for what, body in variants(outbox):
        before = _rows(db)
        response = client.post(
            "/webhooks/webchat/outbox",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        _check(db, response, before, what)


def test_a_web_chat_message_id_no_column_holds_is_a_clear_422(client, db, rasa):
    token = _token(client)
    response = client.post(
        "/webhooks/webchat",
        json={"sender": token, "message": "hi", "message_id": "m" * 65},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "bad_message_id"
    assert _rows(db) == (0, 0, 0) and rasa.received == []
