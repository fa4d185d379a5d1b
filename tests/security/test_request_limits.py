"""Issue 18, item 10: bodies are bounded in size and in nesting, everywhere.

Every route has a cap on its body (the API the global one, the channels'
webhooks a smaller one, the web chat its own): a larger body is 413 in the
surface's JSON error shape, unread. JSON nested deeper than the limit (a
100,000-``[`` body would be a RecursionError in Python's parser) is 400,
never a 500. Where the protocol puts the credential outside the body (a
header: the web chat's token, Telegram's secret, Dialogflow's header, the API
key; a signature over the raw bytes: Alexa, Meta) a request is authenticated
before its body is parsed. A refusal writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from backend.config import Config, ConfigError
from backend.models import Booking, ChannelIdentity, Customer, Job, Message
from tests.fakes.alexa import SKILL_ID, SigningChain, envelope
from tests.helpers import config_for_test, fixture_path
from voice_skills.alexa import verification
from webhooks import webchat
from webhooks.webchat import TOKEN_HEADER, visitor_token

TWILIO_TOKEN, PUBLIC = "limits-twilio-token", "https://beckon.example.com"
META_SECRET, TELEGRAM_SECRET = "limits-app-secret", "limits-telegram-secret"
DIALOGFLOW = "Bearer limits-dialogflow-token"
TELEGRAM_UPDATES = (
    Path(__file__).resolve().parents[1] / "data" / "telegram_updates.json"
)
#: The caps' defaults (the global one, the webhooks').
GLOBAL_CAP, WEBHOOK_CAP = 1024 * 1024, 256 * 1024
#: Arrays (objects) inside one another, ten times past Python's recursion
#: limit (its json recurses once per level), and small enough for every cap.
DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 5_000 + b"1" + b"}" * 5_000


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return SigningChain()


@pytest.fixture(autouse=True)
def amazon_s3(chain, monkeypatch):
    """Amazon's S3 at its boundary: the chain for any echo.api URL."""
    monkeypatch.setattr(
        verification, "fetch_certificate_chain", lambda url: chain.chain_pem
    )


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Answers of Messenger and Telegram are noted, not queued, here."""
    from webhooks import messenger, telegram

    for module in (messenger, telegram):
        monkeypatch.setattr(module, "queue_answer", lambda received: None)


@pytest.fixture
def config(database_url, tmp_path, model_cache, chain) -> Config:
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        SECRET_KEY="limits-secret-key",
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        PUBLIC_URL=PUBLIC,
        MESSENGER_APP_SECRET=META_SECRET,
        TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET,
        ALEXA_SKILL_ID=SKILL_ID,
        ALEXA_EXTRA_TRUST_ROOTS=str(chain.write_root(tmp_path / "alexa-root.pem")),
        DIALOGFLOW_AUTH_VALUE=DIALOGFLOW,
        RASA_URL="http://127.0.0.1:9",  # never reached: every request is refused
    )


def _rows(db) -> tuple[int, ...]:
    db.rollback()
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (Message, Customer, ChannelIdentity, Booking, Job)
    )


def _refused(db, before, response, status: int, code: str | None = None) -> dict:
    """The answer is ``status`` with a JSON error (``code``), nothing written."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    if code is not None:
        assert error["code"] == code, error
    assert _rows(db) == before
    return error


def _padded(size: int) -> bytes:
    """A JSON object of ``size`` bytes."""
    return b'{"pad": "' + b"x" * (size - 11) + b'"}'


# ---------------------------------------------------------------- senders


def _meta_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()


def _twilio_signature(path: str, params: dict[str, str]) -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)


def _json_post(client, path: str, body: bytes, headers: dict | None = None):
    return client.post(
        path,
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


@pytest.fixture
def visitor(app) -> str:
    """A web chat visitor's live token."""
    with app.app_context():
        return visitor_token("web-limits")


@pytest.fixture
def routes(api_token, chain, visitor):
    """(name, path, headers for a body) of every JSON route, authenticated."""
    with_token = {TOKEN_HEADER: visitor}
    return [
        ("api", "/api/v1/jobs", lambda b: {"Authorization": f"Bearer {api_token}"}),
        ("webchat", "/webhooks/webchat", lambda b: with_token),
        ("webchat outbox", "/webhooks/webchat/outbox", lambda b: with_token),
        (
            "messenger",
            "/webhooks/messenger",
            lambda b: {"X-Hub-Signature-256": _meta_signature(b)},
        ),
        (
            "telegram",
            "/webhooks/telegram",
            lambda b: {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        ),
        ("alexa", "/webhooks/alexa", chain.headers),
        (
            "dialogflow es",
            "/webhooks/dialogflow/es",
            lambda b: {"Authorization": DIALOGFLOW},
        ),
        (
            "dialogflow cx",
            "/webhooks/dialogflow/cx",
            lambda b: {"Authorization": DIALOGFLOW},
        ),
    ]


# ---------------------------------------------------------------- nesting


def test_deep_json_is_400_on_every_route_never_a_500(client, db, routes):
    for name, path, headers in routes:
        for body in (DEEP, DEEP_OBJECT):
            before = _rows(db)
            response = _json_post(client, path, body, headers(body))
            error = _refused(db, before, response, 400, "bad_request")
            assert "nested" in error["message"], (name, error)


def test_100_000_brackets_are_400(client, db, api_token):
    auth = {"Authorization": f"Bearer {api_token}"}
    before = _rows(db)
    body = b"[" * 100_000 + b"]" * 100_000
    _refused(db, before, _json_post(client, "/api/v1/jobs", body, auth), 400)


def test_the_web_chat_in_rasa_s_shape_refuses_deep_json_too(client, db):
    """Without the header, the token is in the body (``sender``), which the
    rate limit reads first: still a 400."""
    for path in ("/webhooks/webchat", "/webhooks/webchat/outbox"):
        before = _rows(db)
        _refused(db, before, _json_post(client, path, DEEP), 400, "bad_request")


def test_nesting_up_to_the_limit_is_read_and_brackets_in_strings_do_not_count():
    from backend import bodies

    limit = bodies.MAX_JSON_DEPTH
    assert bodies.loads("[" * limit + "]" * limit) is not None
    with pytest.raises(bodies.TooDeep):
        bodies.loads("[" * (limit + 1) + "]" * (limit + 1))
    in_a_string = json.dumps({"text": "[" * 100_000, "quote": 'say "[[["'})
    assert bodies.loads(in_a_string.encode())["text"] == "[" * 100_000
    with pytest.raises(ValueError):
        bodies.loads(b'["never ends' + b"[" * 1000)


# ---------------------------------------------------------------- size


def test_a_body_past_the_webhooks_cap_is_413_on_every_webhook(client, db, routes):
    body = _padded(WEBHOOK_CAP + 1)
    for name, path, headers in routes:
        before = _rows(db)
        response = _json_post(client, path, body, headers(body))
        if name == "api":  # the API takes up to the global cap
            assert response.status_code != 413, name
            continue
        error = _refused(db, before, response, 413, "too_large")
        assert "at most" in error["message"], name


def test_a_twilio_form_past_the_cap_is_413(client, db):
    form = dict(
        parse_qsl(fixture_path("twilio", "sms_inbound_webhook.form").read_text())
    )
    form["Body"] = "x" * (WEBHOOK_CAP + 1)
    for path in (
        "/webhooks/twilio/sms",
        "/webhooks/twilio/voice",
        "/webhooks/twilio/status",
    ):
        before = _rows(db)
        response = client.post(
            path,
            data=form,
            headers={"X-Twilio-Signature": _twilio_signature(path, form)},
        )
        _refused(db, before, response, 413, "too_large")


def test_the_api_s_cap_is_the_global_one(client, db, api_token):
    auth = {"Authorization": f"Bearer {api_token}"}
    before = _rows(db)
    response = _json_post(client, "/api/v1/jobs", _padded(GLOBAL_CAP + 1), auth)
    _refused(db, before, response, 413, "too_large")
    # and the OpenAPI description says so of every route that takes a body
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)


def test_the_web_chat_s_cap_is_its_own(client, db, visitor):
    assert webchat.MAX_BODY < WEBHOOK_CAP
    before = _rows(db)
    body = json.dumps({"message": "x" * webchat.MAX_BODY}).encode()
    response = _json_post(client, "/webhooks/webchat", body, {TOKEN_HEADER: visitor})
    _refused(db, before, response, 413, "too_large")


def test_a_chunked_body_without_a_length_is_cut_at_the_cap(client, db):
    """A server that ends the stream itself (gunicorn, chunked) gives no
    Content-Length: the cap still holds as the body is read."""
    body = _padded(WEBHOOK_CAP + 1)
    before = _rows(db)
    response = client.post(
        "/webhooks/telegram",
        input_stream=io.BytesIO(body),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    _refused(db, before, response, 413, "too_large")
    # one under the cap is read whole
    update = json.loads(TELEGRAM_UPDATES.read_text())["text_message"]
    response = client.post(
        "/webhooks/telegram",
        input_stream=io.BytesIO(json.dumps(update).encode()),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200
    assert _rows(db)[0] == before[0] + 1  # the message, recorded


def test_the_console_answers_413_with_its_own_page(client):
    page = client.post(
        "/admin/login",
        data={"email": "a@example.com", "password": "x" * (GLOBAL_CAP + 1)},
    )
    assert page.status_code == 413
    assert "Too much at once" in page.get_data(as_text=True)


# ---------------------------------------------------------------- order


def test_alexa_checks_the_signature_before_parsing(client, db):
    """An unsigned body is refused as unsigned, whatever it holds."""
    request = envelope("alexaapp_launch_request.json", user_id="amzn1.ask.account.A")
    for body in (DEEP, b"not json at all", json.dumps(request).encode()):
        before = _rows(db)
        response = _json_post(client, "/webhooks/alexa", body)
        _refused(db, before, response, 400, "verification_failed")


def test_a_forged_signature_is_refused_before_parsing(client, db, chain):
    signed = chain.headers(b"{}")  # a signature of another body
    before = _rows(db)
    response = _json_post(client, "/webhooks/alexa", DEEP, signed)
    _refused(db, before, response, 400, "verification_failed")


def test_the_web_chat_checks_its_header_token_before_parsing(client, db):
    for token in ("forged", ""):
        for path in ("/webhooks/webchat", "/webhooks/webchat/outbox"):
            before = _rows(db)
            response = _json_post(client, path, DEEP, {TOKEN_HEADER: token})
            _refused(db, before, response, 403, "bad_visitor_token")


def test_the_other_channels_refuse_unauthenticated_deep_bodies_unread(client, db):
    for path, status in (
        ("/api/v1/jobs", 401),
        ("/webhooks/messenger", 403),
        ("/webhooks/telegram", 403),
        ("/webhooks/dialogflow/es", 401),
        ("/webhooks/dialogflow/cx", 401),
    ):
        before = _rows(db)
        _refused(db, before, _json_post(client, path, DEEP), status)


def test_the_chat_page_sends_its_token_in_the_header(client):
    page = client.get("/chat").get_data(as_text=True)
    assert '"X-Visitor-Token": token' in page
    assert "body.sender" not in page


# ---------------------------------------------------------------- settings


def test_the_caps_are_settings_with_checked_values(monkeypatch):
    monkeypatch.setenv("BECKON_MAX_BODY_BYTES", "65536")
    monkeypatch.setenv("BECKON_MAX_WEBHOOK_BODY_BYTES", "16384")
    config = Config.from_env()
    assert (config.MAX_CONTENT_LENGTH, config.MAX_WEBHOOK_CONTENT_LENGTH) == (
        65536,
        16384,
    )
    monkeypatch.setenv("BECKON_MAX_WEBHOOK_BODY_BYTES", "131072")
    with pytest.raises(ConfigError, match="BECKON_MAX_WEBHOOK_BODY_BYTES"):
        Config.from_env()
    monkeypatch.setenv("BECKON_MAX_BODY_BYTES", "a lot")
    with pytest.raises(ConfigError, match="BECKON_MAX_BODY_BYTES"):
        Config.from_env()
