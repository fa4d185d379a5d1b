"""The Alexa skill through its endpoint: requests signed with a chain like
Amazon's (a test root the app is told to trust), Alexa's envelopes from
tests/fixtures/alexa, real matching and a real database.

"Alexa, ask Beckon to book a plumber in Austin tomorrow morning" is carried
to a confirmed booking through the dialog (STARTED -> IN_PROGRESS ->
COMPLETED, a choice, an explicit yes), read back, and checked in to by the
provider; every check of a request that fails writes nothing.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from backend.app import create_app
from backend.config import Config, ConfigError
from backend.extensions import db as database
from backend.models import Booking, BookingStatus, Channel, Customer, Message
from backend.services.rules import TextRules
from tests.fakes.alexa import (
    CERT_URL,
    DEVICE_ID,
    SKILL_ID,
    FakeAlexaApi,
    SigningChain,
    envelope,
)
from tests.helpers import (
    FIXTURES,
    config_for_test,
    fixture_path,
    make_piano_tuner,
    make_provider,
    make_tarot_reader,
    writers_seen_while_matching,
)
from voice_skills.alexa import verification

AUSTIN = ZoneInfo("America/Chicago")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")
PROVIDER_PHONE = "+15125550101"
AUSTIN_HOURS = {
    d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return SigningChain()


@pytest.fixture
def fetched(chain, monkeypatch) -> list[str]:
    """Amazon's S3 at its boundary: the chain for any echo.api URL."""
    urls: list[str] = []

    def fetch(url: str) -> bytes:
        urls.append(url)
        return chain.chain_pem

    monkeypatch.setattr(verification, "fetch_certificate_chain", fetch)
    return urls


@pytest.fixture
def directive_api(tmp_path, monkeypatch):
    fake = FakeAlexaApi(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def config(database_url, tmp_path, model_cache, chain):
    roots = chain.write_root(tmp_path / "alexa-test-root.pem")
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        ALEXA_SKILL_ID=SKILL_ID,
        ALEXA_EXTRA_TRUST_ROOTS=str(roots),
    )


@pytest.fixture
def austin(db):
    """Two Austin plumbers and an electrician, free every day 8 to 5."""
    common = {
        "city": "Austin",
        "timezone": "America/Chicago",
        "hours": AUSTIN_HOURS,
    }
    return {
        "reyes": make_provider(
            db,
            external_id="aus-1",
            name="Reyes Plumbing",
            phone=PROVIDER_PHONE,
            **common,
        ).id,
        "lone_star": make_provider(
            db,
            external_id="aus-2",
            name="Lone Star Plumbing & Drains",
            phone="+15125550102",
            rating=4.5,
            review_count=30,
            **common,
        ).id,
        "volt": make_provider(
            db,
            external_id="aus-3",
            name="Volt Electric",
            categories=["electrical"],
            description="Outlets, breakers and lighting.",
            phone="+15125550103",
            services=[
                {
                    "name": "Electrical repair",
                    "mode": "onsite",
                    "duration_minutes": 60,
                    "price_cents": 12000,
                }
            ],
            **common,
        ).id,
    }


class Echo:
    """One person's device: posts signed requests, carries the session."""

    def __init__(self, client, chain, user_id: str, api_endpoint: str | None = None):
        self.client, self.chain, self.user_id = client, chain, user_id
        self.attributes: dict = {}
        self.api_endpoint = api_endpoint
        self.last_body: bytes = b""

    def send(self, fixture="alexaapp_dialog_started.json", **kwargs):
        doc = envelope(
            fixture,
            user_id=self.user_id,
            attributes=self.attributes,
            api_endpoint=self.api_endpoint,
            **kwargs,
        )
        return self.post(json.dumps(doc).encode())

    def post(self, body: bytes):
        self.last_body = body
        response = self.client.post(
            "/webhooks/alexa", data=body, headers=self.chain.headers(body)
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        doc = response.get_json()
        assert_a_question_waits_for_its_answer(doc)
        self.attributes = doc.get("sessionAttributes") or {}
        return doc

    def intent(self, name, dialog_state=None, **slots):
        return self.send(intent=name, slots=slots, dialog_state=dialog_state)


def asks(text: str) -> bool:
    """Whether speech invites an answer: a question, or "say ..."."""
    return text.rstrip().endswith("?") or bool(re.search(r"\bsay\b", text, re.I))


def assert_a_question_waits_for_its_answer(doc) -> None:
    """Every answer that asks something keeps the session open, with a
    reprompt (checked on every response of these tests)."""
    speech = (doc["response"].get("outputSpeech") or {}).get("ssml")
    if speech and asks("".join(ET.fromstring(speech).itertext())):
        assert doc["response"].get("shouldEndSession") is not True, speech
        assert doc["response"].get("reprompt"), speech


def spoken(doc) -> str:
    """The outputSpeech as text; its SSML must parse with a <speak> root."""
    ssml = doc["response"]["outputSpeech"]["ssml"]
    root = ET.fromstring(ssml)
    assert root.tag == "speak"
    return "".join(root.itertext())


def reprompt(doc) -> str:
    ssml = doc["response"]["reprompt"]["outputSpeech"]["ssml"]
    return "".join(ET.fromstring(ssml).itertext())


def directives(doc) -> list[dict]:
    return doc["response"].get("directives") or []


def fresh(db, booking_id: int) -> Booking:
    """The booking as the database has it now (the session keeps objects)."""
    db.rollback()
    db.expire_all()
    return db.get(Booking, booking_id)


def messages(db) -> int:
    db.rollback()
    return db.scalar(select(func.count(Message.id)))


def tomorrow_iso() -> str:
    return (datetime.now(AUSTIN).date() + timedelta(days=1)).isoformat()


# ------------------------------------------------------------------ verification


def test_certificate_url_rules_follow_amazons_vectors() -> None:
    vectors = json.loads(
        fixture_path("alexa", "alexa_request_verification_vectors.json").read_text()
    )
    for case in vectors["signature_cert_chain_url_cases"]:
        if case["valid"]:
            verification.validate_certificate_url(case["url"])
        else:
            with pytest.raises(verification.VerificationFailed) as caught:
                verification.validate_certificate_url(case["url"])
            assert case["error_contains"] in str(caught.value), case
    constants = vectors["constants"]
    assert constants["SIGNATURE_HEADER"] == verification.SIGNATURE_HEADER
    assert (
        constants["CERT_CHAIN_DOMAIN (SAN of signing cert)"]
        == verification.CERT_CHAIN_DOMAIN
    )
    assert (
        (constants["MAX_NORMAL_REQUEST_TOLERANCE_IN_MILLIS"])
        == verification.MAX_NORMAL_REQUEST_TOLERANCE_SECONDS * 1000
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _launch(user="amzn1.ask.account.VERIFY", **kwargs) -> bytes:
    doc = envelope("official_launch_request_geolocation.json", user_id=user, **kwargs)
    return json.dumps(doc).encode()


def test_a_signed_launch_request_is_answered(client, chain, fetched) -> None:
    body = _launch()
    response = client.post("/webhooks/alexa", data=body, headers=chain.headers(body))
    assert response.status_code == 200
    doc = response.get_json()
    assert "Welcome to Beckon" in spoken(doc)
    assert reprompt(doc)
    assert doc["response"]["shouldEndSession"] is False
    assert fetched == [CERT_URL]


def _tampered_cases(chain):
    body = _launch()
    good = chain.headers(body)
    stale = _launch(timestamp=datetime.now(UTC) - timedelta(seconds=151))
    other_chain = SigningChain()
    yield "tampered body", body.replace(b"LaunchRequest", b"LaunchRequesT"), good
    yield (
        "missing signature",
        body,
        {k: v for k, v in good.items() if k != "Signature-256"},
    )
    yield (
        "missing certificate url",
        body,
        {k: v for k, v in good.items() if k != "SignatureCertChainUrl"},
    )
    yield "signed by another key", body, other_chain.headers(body)
    yield (
        "bad certificate url",
        body,
        good | {"SignatureCertChainUrl": "https://very.bad/echo.api/cert"},
    )
    yield (
        "certificate url on another port",
        body,
        good | {"SignatureCertChainUrl": "https://s3.amazonaws.com:563/echo.api/cert"},
    )
    yield "not base64", body, good | {"Signature-256": "%%%"}
    yield "stale timestamp", stale, chain.headers(stale)


def test_every_failed_check_is_400_and_writes_nothing(client, db, chain, fetched):
    for name, body, headers in _tampered_cases(chain):
        response = client.post("/webhooks/alexa", data=body, headers=headers)
        assert response.status_code == 400, name
        assert response.get_json()["error"]["code"] == "verification_failed", name
    assert messages(db) == 0


def test_the_chain_is_checked_through_its_intermediate(chain, fetched) -> None:
    """Amazon's chain is leaf, intermediate (both in the PEM), then a root we
    trust: the intermediate is what links them."""
    assert len(chain.intermediates) == 1
    assert chain.leaf.issuer == chain.intermediates[0].subject != chain.root.subject
    verifier = verification.AlexaRequestVerifier([chain.root])
    body = _launch()
    verifier.verify(chain.headers(body), body, json.loads(body), now=_utc_now())
    # without its intermediate the leaf leads to no trusted root
    leaf_only = chain.leaf.public_bytes(serialization.Encoding.PEM)
    alone = verification.AlexaRequestVerifier([chain.root], fetch=lambda u: leaf_only)
    with pytest.raises(verification.VerificationFailed, match="not valid"):
        alone.verify(chain.headers(body), body, json.loads(body), now=_utc_now())


@pytest.mark.parametrize(
    "problem",
    [
        "expired",
        "not valid yet",
        "another domain",
        "no subjectAltName",
        "untrusted root",
    ],
)
def test_a_chain_alexa_would_not_sign_with_is_refused(
    client, db, chain, monkeypatch, problem
) -> None:
    bad = {
        "expired": lambda: SigningChain(
            starts=timedelta(days=-30), ends=timedelta(days=-1), issued_by=chain
        ),
        "not valid yet": lambda: SigningChain(
            starts=timedelta(days=1), ends=timedelta(days=90), issued_by=chain
        ),
        "another domain": lambda: SigningChain("echo-api.example.com", issued_by=chain),
        # echo-api.amazon.com only as the subject's common name
        "no subjectAltName": lambda: SigningChain(san=False, issued_by=chain),
        "untrusted root": lambda: SigningChain(),
    }[problem]()
    monkeypatch.setattr(
        verification, "fetch_certificate_chain", lambda u: bad.chain_pem
    )
    body = _launch()
    response = client.post("/webhooks/alexa", data=body, headers=bad.headers(body))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "verification_failed"
    assert messages(db) == 0


def test_a_cached_chain_is_rechecked_for_both_ends_of_its_validity(chain) -> None:
    fetches: list[str] = []

    def fetch(url: str) -> bytes:
        fetches.append(url)
        return chain.chain_pem

    verifier = verification.AlexaRequestVerifier([chain.root], fetch=fetch)
    body = _launch()
    headers, doc = chain.headers(body), json.loads(body)
    now = _utc_now()
    verifier.verify(headers, body, doc, now=now)
    verifier.verify(headers, body, doc, now=now + timedelta(minutes=1))
    assert fetches == [CERT_URL]  # cached
    # after the leaf's end, or before its start, the cache is no answer
    for moment in (
        chain.leaf.not_valid_after_utc + timedelta(seconds=1),
        chain.leaf.not_valid_before_utc - timedelta(seconds=1),
    ):
        stale = _launch(timestamp=moment)
        with pytest.raises(verification.VerificationFailed, match="not valid"):
            verifier.verify(chain.headers(stale), stale, json.loads(stale), now=moment)
    assert len(fetches) == 3


def _clean_env(monkeypatch) -> None:
    for name in ("BECKON_ENV", "ALEXA_VERIFY_SIGNATURE", "ALEXA_VERIFY_TIMESTAMP"):
        monkeypatch.delenv(name, raising=False)


def test_verification_is_on_without_settings(monkeypatch, tmp_path) -> None:
    _clean_env(monkeypatch)
    config = Config.from_env(DATA_DIR=tmp_path)
    assert config.ALEXA_VERIFY_SIGNATURE is True
    assert config.ALEXA_VERIFY_TIMESTAMP is True
    verifier = verification.verifier_from_config(config)
    assert verifier.verify_signature and verifier.verify_timestamp


@pytest.mark.parametrize("check", ["ALEXA_VERIFY_SIGNATURE", "ALEXA_VERIFY_TIMESTAMP"])
@pytest.mark.parametrize("env", ["production", "staging", "test"])
def test_turning_a_check_off_is_refused_outside_development(
    monkeypatch, tmp_path, check, env
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("BECKON_ENV", env)
    monkeypatch.setenv(check, "0")
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "x.sqlite3"))
    with pytest.raises(ConfigError, match="only in development"):
        Config.from_env(DATA_DIR=tmp_path)


@pytest.mark.parametrize("check", ["ALEXA_VERIFY_SIGNATURE", "ALEXA_VERIFY_TIMESTAMP"])
def test_a_check_turned_off_in_development_is_warned_of_at_start(
    monkeypatch, tmp_path, caplog, database_url, model_cache, check
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv(check, "0")
    config = Config.from_env(
        DATABASE_URL=database_url,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
        TESTING=True,
    )
    assert getattr(config, check) is False
    with caplog.at_level(logging.WARNING, logger=verification.__name__):
        app = create_app(config)
    database.dispose(app)
    (warning,) = [r for r in caplog.records if r.name == verification.__name__]
    assert "VERIFICATION IS OFF" in warning.getMessage()
    assert check in warning.getMessage()
    verifier = verification.verifier_from_config(config)
    on = "verify_timestamp" if check == "ALEXA_VERIFY_SIGNATURE" else "verify_signature"
    assert getattr(verifier, on) is True


def test_no_warning_when_both_checks_are_on(app, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger=verification.__name__):
        assert verification.warn_if_checks_are_off(app.config["BECKON"]) is False
    assert not caplog.records


def test_another_skills_request_writes_nothing(client, db, chain, fetched) -> None:
    doc = envelope("official_launch_request_geolocation.json", user_id="u-1")
    doc["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.other"
    doc["session"]["application"]["applicationId"] = "amzn1.ask.skill.other"
    body = json.dumps(doc).encode()
    response = client.post("/webhooks/alexa", data=body, headers=chain.headers(body))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "wrong_skill"
    assert messages(db) == 0


def test_signed_but_malformed_identities_are_400_and_write_nothing(
    client, db, chain, fetched
) -> None:
    def broken(change):
        doc = envelope("official_launch_request_geolocation.json", user_id="u-1")
        change(doc)
        return json.dumps(doc).encode()

    def no_user(doc):
        doc["context"]["System"]["user"] = "someone"
        doc["session"]["user"] = {"userId": 42}

    def bad_context(doc):
        doc["context"] = ["not", "an", "object"]
        doc["session"]["application"] = "amzn1.ask.skill.x"

    for body in (broken(no_user), broken(bad_context)):
        response = client.post(
            "/webhooks/alexa", data=body, headers=chain.headers(body)
        )
        assert response.status_code == 400, response.get_data(as_text=True)
    assert messages(db) == 0


def test_not_json_and_not_an_envelope_are_400(client, db, chain, fetched) -> None:
    for body in (b"not json", b"[]", b'{"version": "1.0"}'):
        response = client.post(
            "/webhooks/alexa", data=body, headers=chain.headers(body)
        )
        assert response.status_code == 400
    assert messages(db) == 0


# ------------------------------------------------------------------ every fixture

ALEXA_FIXTURES = sorted(
    p.name
    for p in (FIXTURES / "alexa").glob("*.json")
    if p.name != "alexa_request_verification_vectors.json"
)
#: Files Alexa's request model refuses, and why: an undocumented dialogState
#: (the cookbook's "BEGINNING"), a request type the SDK does not know.
MALFORMED = {
    "official_cookbook_dialog_started_PlanMyTrip.json": "not a valid DialogState",
    "alexaapp_unknown_type_request.json": "not an Alexa request",
}
DIRECTIVES = {"Dialog.Delegate", "Dialog.ElicitSlot"}


def as_sent(name: str, api_endpoint: str | None = None) -> dict:
    """A fixture as Alexa would send it to this skill: verbatim, but for our
    skill id, a fresh timestamp and the API endpoint (the fake's). A file of
    the request object alone gets the envelope Alexa sends every request in."""
    doc = json.loads(fixture_path("alexa", name).read_text())
    if "request" not in doc:
        user = {"userId": "amzn1.ask.account.REQUEST_ONLY"}
        doc = {
            "version": "1.0",
            "session": {"new": False, "sessionId": "s-1", "user": user},
            "context": {"System": {"user": user}},
            "request": doc,
        }
    system = doc.setdefault("context", {}).setdefault("System", {})
    system["application"] = {"applicationId": SKILL_ID}
    if isinstance(doc.get("session"), dict):
        doc["session"]["application"] = {"applicationId": SKILL_ID}
    if "apiEndpoint" in system:
        system["apiEndpoint"] = api_endpoint
    doc["request"]["timestamp"] = _utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return doc


def assert_well_formed(doc: dict) -> None:
    """An Alexa response body: its SSML parses with a <speak> root, its
    directives are ones we send, its session flag a boolean."""
    assert doc["version"] == "1.0"
    response = doc["response"]
    assert isinstance(response, dict)
    for speech in (
        response.get("outputSpeech"),
        (response.get("reprompt") or {}).get("outputSpeech"),
    ):
        if speech is not None:
            assert speech["type"] == "SSML"
            assert ET.fromstring(speech["ssml"]).tag == "speak"
    for directive in response.get("directives") or []:
        assert directive["type"] in DIRECTIVES, directive
    if "shouldEndSession" in response:
        assert isinstance(response["shouldEndSession"], bool)
    assert_a_question_waits_for_its_answer(doc)


@pytest.mark.parametrize("name", ALEXA_FIXTURES)
def test_every_alexa_fixture_gets_an_answer_or_a_400(
    client, db, chain, fetched, directive_api, name, caplog
) -> None:
    body = json.dumps(as_sent(name, directive_api.url)).encode()
    with caplog.at_level(logging.WARNING):
        response = client.post(
            "/webhooks/alexa", data=body, headers=chain.headers(body)
        )
    if name in MALFORMED:
        assert response.status_code == 400
        assert MALFORMED[name] in response.get_json()["error"]["message"]
        assert messages(db) == 0
        return
    assert response.status_code == 200, response.get_data(as_text=True)
    doc = response.get_json()
    assert_well_formed(doc)
    kind = json.loads(body)["request"]["type"]
    if kind == "SessionEndedRequest":
        assert doc["response"] == {}
    if "error" in json.loads(body)["request"]:  # the session ended on an error
        assert "INTERNAL_SERVICE_ERROR" in caplog.text
    if kind == "CanFulfillIntentRequest":
        # not ours (PlaySound), or no intent at all: no; and nothing kept
        assert doc["response"]["canFulfillIntent"]["canFulfill"] == "NO"
        assert messages(db) == 0
    if kind == "LaunchRequest":
        assert spoken(doc).startswith("Welcome to Beckon")


def _ours(name: str, intent: str, slots: dict) -> dict:
    """A fixture's request made one of ours: its intent renamed, its slots'
    objects (resolutions, confirmation) kept but renamed and given our values."""
    doc = as_sent(name)
    request = doc["request"]
    request["requestId"] = f"amzn1.echo-api.request.{name}"
    request["intent"]["name"] = intent
    given = list((request["intent"].get("slots") or {}).values())
    renamed = {}
    for slot_name, value in slots.items():
        slot = copy.deepcopy(given.pop(0)) if given else {"confirmationStatus": "NONE"}
        slot["name"] = slot_name
        if value is None:
            slot.pop("value", None)
        elif isinstance(value, tuple):  # words, and the id resolution matched
            slot["value"], matched = value
            for authority in slot["resolutions"]["resolutionsPerAuthority"]:
                for each in authority.get("values", []):
                    each["value"] = {"name": slot["value"], "id": matched}
        else:
            slot["value"] = value
        renamed[slot_name] = slot
    request["intent"]["slots"] = renamed
    return doc


def _post(client, chain, doc: dict) -> dict:
    body = json.dumps(doc).encode()
    response = client.post("/webhooks/alexa", data=body, headers=chain.headers(body))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_well_formed(response.get_json())
    return response.get_json()


def test_entity_resolution_as_alexa_sends_it(client, chain, fetched, austin) -> None:
    # ER_SUCCESS_MATCH: the resolved id is the category, whatever was said
    matched = _post(
        client,
        chain,
        _ours(
            "alexaapp_intent_request_resolutions_match.json",
            "FindProviderIntent",
            {"service": ("my pipes", "plumbing"), "city": "Austin"},
        ),
    )
    said = spoken(matched)
    assert "Reyes Plumbing" in said and "Volt Electric" not in said
    assert matched["sessionAttributes"]["search"]["slug"] == "plumbing"
    # ER_SUCCESS_NO_MATCH: the words as said go to matching, no category
    unmatched = _post(
        client,
        chain,
        _ours(
            "alexaapp_intent_request_resolutions_no_match.json",
            "FindProviderIntent",
            {"service": "someone to fix my breaker", "city": "Austin"},
        ),
    )
    kept = unmatched["sessionAttributes"]
    assert kept["search"]["slug"] is None
    assert kept["words"] == "someone to fix my breaker"
    said = spoken(unmatched)
    assert said.index("Volt Electric") < said.index("Reyes Plumbing")


def test_dialog_states_as_alexa_sends_them(client, chain, fetched, austin) -> None:
    started = _post(
        client,
        chain,
        _ours("alexaapp_dialog_started.json", "BookServiceIntent", {"service": None}),
    )
    assert [d["type"] for d in directives(started)] == ["Dialog.Delegate"]
    in_progress = _post(
        client,
        chain,
        _ours(
            "alexaapp_dialog_in_progress.json",
            "BookServiceIntent",
            {"service": "plumber", "city": None},
        ),
    )
    (elicit,) = directives(in_progress)
    assert (elicit["type"], elicit["slotToElicit"]) == ("Dialog.ElicitSlot", "city")
    completed = _ours(
        "alexaapp_dialog_completed.json",
        "BookServiceIntent",
        {"service": "plumber", "city": "Austin"},
    )
    assert completed["request"]["intent"]["confirmationStatus"] == "CONFIRMED"
    done = _post(client, chain, completed)
    assert not directives(done)
    assert spoken(done).startswith("I found ") and "Reyes Plumbing" in spoken(done)


def test_a_name_free_request_of_ours_can_be_fulfilled(
    client, db, chain, fetched
) -> None:
    doc = _ours(
        "alexaapp_can_fulfill_intent_request_play_sound.json",
        "FindProviderIntent",
        {"service": "plumber", "city": "Austin"},
    )
    doc["context"]["System"].pop("apiEndpoint", None)
    answer = _post(client, chain, doc)["response"]["canFulfillIntent"]
    assert answer["canFulfill"] == "YES"
    assert answer["slots"]["service"] == {"canUnderstand": "YES", "canFulfill": "YES"}
    assert messages(db) == 0


# ------------------------------------------------------------------ the booking


def test_book_a_plumber_in_austin_tomorrow_morning(
    client, db, chain, fetched, austin, directive_api
) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.CUSTOMER", directive_api.url)
    service = ("plumber", "plumbing")

    # "ask Beckon to book a plumber": Alexa's dialog starts, the city is asked for
    started = echo.intent("BookServiceIntent", "STARTED", service=service, city=None)
    elicit = directives(started)
    assert elicit[0]["type"] == "Dialog.ElicitSlot"
    assert elicit[0]["slotToElicit"] == "city"
    assert spoken(started) == "In which city?" and reprompt(started)

    # "in Austin tomorrow morning": every slot filled, Alexa may complete the dialog
    slots = {"service": service, "city": "Austin", "date": tomorrow_iso(), "time": "MO"}
    in_progress = echo.intent("BookServiceIntent", "IN_PROGRESS", **slots)
    assert directives(in_progress)[0]["type"] == "Dialog.Delegate"
    assert "outputSpeech" not in in_progress["response"]

    completed = echo.intent("BookServiceIntent", "COMPLETED", **slots)
    said = spoken(completed)
    assert said.startswith("I found 2 near Austin, TX."), said
    assert "First, Reyes Plumbing, free tomorrow at 8:00 AM" in said
    assert "Lone Star Plumbing & Drains" in said  # escaped in SSML, read back whole
    assert "Volt Electric" not in said
    assert "Which one would you like" in said and reprompt(completed)
    assert len(echo.attributes["offers"]) == 2
    # "Looking for plumbing near Austin, TX" went out first, for this request
    assert directive_api.received, "no progressive response"
    sent = directive_api.received[0]
    assert sent["path"] == "/v1/directives"
    assert sent["authorization"] == "Bearer test-api-access-token"
    assert sent["body"]["directive"]["type"] == "VoicePlayer.Speak"
    assert "Looking for plumbing near Austin" in sent["body"]["directive"]["speech"]

    chosen = echo.intent("ChooseProviderIntent", ordinal="first")
    assert spoken(chosen) == "Reyes Plumbing, tomorrow at 8:00 AM. Shall I book it?"
    assert messages(db) and db.scalar(select(func.count(Booking.id))) == 0

    yes = echo.intent("AMAZON.YesIntent")
    said = spoken(yes)
    assert said.startswith("Done. Reyes Plumbing is booked for tomorrow at 8:00 AM.")
    assert yes["response"]["shouldEndSession"] is True
    db.rollback()
    booking = db.scalar(select(Booking))
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.channel == Channel.ALEXA
    assert booking.provider_id == austin["reyes"]
    assert booking.starts_at.astimezone(AUSTIN).hour == 8
    assert booking.match_rank == 1  # the first offer read out, for the console
    assert f"number is {booking.id}" in said

    # a new session: "what's the status of my job?"
    status = Echo(client, chain, echo.user_id).intent("JobStatusIntent")
    assert spoken(status) == (
        f"Booking {booking.id}: Reyes Plumbing, tomorrow at 8:00 AM, confirmed."
    )

    # the provider links their phone by a texted code, then checks in by voice
    provider = Echo(client, chain, "amzn1.ask.account.PROVIDER")
    stranger = provider.intent(
        "ProviderCheckInIntent", job=booking.id, step=("arrived", "arrived")
    )
    assert "Only the job's provider" in spoken(stranger)
    asked = provider.intent("LinkPhoneIntent", phone="(512) 555-0101")
    assert directives(asked)[0]["slotToElicit"] == "code"
    assert "ending 0101" in spoken(asked)
    code = _texted_code(client.application, PROVIDER_PHONE)
    wrong = provider.intent(
        "LinkPhoneIntent", code="000000" if code != "000000" else "111111"
    )
    assert "isn't right" in spoken(wrong)
    linked = provider.intent("LinkPhoneIntent", code=code)
    assert spoken(linked).startswith("Your phone is linked")
    early = provider.intent(
        "ProviderCheckInIntent", job=booking.id, step=("arrived", "arrived")
    )
    assert spoken(early) == (
        f"Job {booking.id} starts tomorrow at 8:00 AM. Check in on the day."
    )
    # the day comes: the job starts within the hour
    db.rollback()
    db.get(Booking, booking.id).starts_at = datetime.now(UTC) + timedelta(minutes=30)
    db.get(Booking, booking.id).ends_at = datetime.now(UTC) + timedelta(minutes=90)
    db.commit()
    arrived = Echo(client, chain, provider.user_id).intent(
        "ProviderCheckInIntent", job=booking.id, step=("I'm here", "arrived")
    )
    assert spoken(arrived) == f"Got it: you're at job {booking.id}. It's now under way."
    db.rollback()
    assert fresh(db, booking.id).status == BookingStatus.IN_PROGRESS
    done = provider.intent(
        "ProviderCheckInIntent", job=booking.id, step=("finished", "done")
    )
    assert "marked done" in spoken(done)
    db.rollback()
    assert fresh(db, booking.id).status == BookingStatus.COMPLETED

    # and the customer rates it
    rated = Echo(client, chain, echo.user_id).intent("RateProviderIntent", stars="5")
    assert spoken(rated) == "Thanks! I've given Reyes Plumbing 5 stars."


@pytest.fixture
def reader(db):
    """A tarot reader who works by phone, 9 to 5 on New York's clock."""
    return make_tarot_reader(db, phone="+12125550177").id


def test_a_los_angeles_caller_books_a_reading_on_their_own_clock(
    client, db, chain, fetched, reader, directive_api
) -> None:
    """The device says Los Angeles (Settings API): "tomorrow morning" is the
    caller's morning, and the times read back are on their clock."""
    directive_api.zone = "America/Los_Angeles"
    echo = Echo(client, chain, "amzn1.ask.account.LA", directive_api.url)
    tomorrow = (datetime.now(LOS_ANGELES).date() + timedelta(days=1)).isoformat()
    found = echo.intent(
        "FindProviderIntent",
        service=("tarot reader", "tarot-reading"),
        date=tomorrow,
        time="MO",
    )
    # her 9:00 in New York is 6:00 in LA, before the caller's morning: the
    # first time in it is 8:00 in LA (11:00 in New York)
    assert "Madame Ostrova, free tomorrow at 8:00 AM" in spoken(found)
    assert [a["device"] for a in directive_api.zone_asked] == [DEVICE_ID]
    assert directive_api.zone_asked[0]["authorization"] == (
        "Bearer test-api-access-token"
    )
    echo.intent("AMAZON.YesIntent")
    db.rollback()
    booking = db.scalar(select(Booking))
    assert booking.starts_at.astimezone(LOS_ANGELES).hour == 8
    customer = db.get(Customer, booking.customer_id)
    assert customer.timezone == "America/Los_Angeles"
    status = echo.intent("JobStatusIntent")
    assert spoken(status) == (
        f"Booking {booking.id}: Madame Ostrova, tomorrow at 8:00 AM, confirmed."
    )
    # asked once in the session
    assert len(directive_api.zone_asked) == 1


@pytest.mark.parametrize("failure", [500, 403, "no zone set"])
def test_when_the_settings_api_fails_the_zone_we_have_stays(
    client, db, chain, fetched, reader, directive_api, failure
) -> None:
    if failure == "no zone set":
        directive_api.zone = None  # 204 No Content
    else:
        directive_api.settings_status = failure
    echo = Echo(client, chain, "amzn1.ask.account.NOZONE", directive_api.url)
    tomorrow = (datetime.now(NEW_YORK).date() + timedelta(days=1)).isoformat()
    found = echo.intent(
        "FindProviderIntent",
        service=("tarot reader", "tarot-reading"),
        date=tomorrow,
        time="MO",
    )
    # New York, the zone every customer starts with: her 9:00 is the caller's
    assert "Madame Ostrova, free tomorrow at 9:00 AM" in spoken(found)
    assert len(directive_api.zone_asked) == 1
    db.rollback()
    assert db.scalar(select(Customer.timezone)) == "America/New_York"
    # not asked again this session; a new session asks again
    echo.intent("JobStatusIntent")
    assert len(directive_api.zone_asked) == 1
    Echo(client, chain, echo.user_id, directive_api.url).send(
        "official_launch_request_geolocation.json", new=True
    )
    assert len(directive_api.zone_asked) == 2


def _texted_code(app, phone: str) -> str:
    log = app.config["BECKON"].NOTIFY_LOG
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    body = [s["body"] for s in sent if s["to"] == phone][-1]
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_spoken_digits_are_read_in_the_marketplace_s_region(
    client, db, chain, fetched, config, monkeypatch
) -> None:
    """Alexa's phone slot is digits as said: too few are asked again and
    nothing is texted; a national number is the configured region's."""
    echo = Echo(client, chain, "amzn1.ask.account.DIGITS")
    short = echo.intent("LinkPhoneIntent", phone="55512")
    assert directives(short)[0]["slotToElicit"] == "phone"
    assert spoken(short) == (
        "That doesn't sound like a phone number. Say it with the area code."
    )
    assert not config.NOTIFY_LOG.exists()
    asked = echo.intent("LinkPhoneIntent", phone="4152864371")
    assert "ending 4371" in spoken(asked)
    assert _texted_code(client.application, "+14152864371")
    monkeypatch.setattr(config, "DEFAULT_REGION", "GB")
    # codes may be texted to British numbers too (BECKON_SMS_COUNTRIES)
    monkeypatch.setitem(
        client.application.extensions,
        "beckon.text_rules",
        TextRules(countries=("US", "GB")),
    )
    london = Echo(client, chain, "amzn1.ask.account.LONDON")
    asked = london.intent("LinkPhoneIntent", phone="02079460958")
    assert directives(asked)[0]["slotToElicit"] == "code"
    code = _texted_code(client.application, "+442079460958")
    linked = london.intent("LinkPhoneIntent", code=code)
    assert spoken(linked).startswith("Your phone is linked")
    db.rollback()
    assert db.scalar(select(Customer.phone).where(Customer.phone.like("+44%"))) == (
        "+442079460958"
    )


def test_a_redelivered_yes_books_once_and_answers_the_same(
    client, db, chain, fetched, austin
) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.TWICE")
    slots = {
        "service": ("plumber", "plumbing"),
        "city": "Austin",
        "date": tomorrow_iso(),
    }
    echo.intent("FindProviderIntent", **slots)
    echo.intent("ChooseProviderIntent", ordinal="2nd")
    first = echo.intent("AMAZON.YesIntent")
    again = echo.post(echo.last_body)
    assert again == first
    db.rollback()
    assert db.scalar(select(func.count(Booking.id))) == 1
    assert db.scalar(select(Booking.provider_id)) == austin["lone_star"]


def test_cancel_asks_which_then_confirms(client, db, chain, fetched, austin) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.CANCELS")
    made = []
    for ordinal in ("first", "second"):
        echo.intent(
            "FindProviderIntent",
            service=("plumber", "plumbing"),
            city="Austin",
            date=tomorrow_iso(),
        )
        echo.intent("ChooseProviderIntent", ordinal=ordinal)
        echo.intent("AMAZON.YesIntent")
        db.rollback()
        made.append(db.scalar(select(func.max(Booking.id))))
    which = echo.intent("CancelBookingIntent")
    assert directives(which)[0]["slotToElicit"] == "number"
    assert f"{made[0]} or {made[1]}" in spoken(which)
    confirm = echo.intent("CancelBookingIntent", number=str(made[1]))
    assert spoken(confirm).startswith(f"Cancel booking {made[1]} with Lone Star")
    kept = echo.intent("AMAZON.NoIntent")
    assert spoken(kept) == "Okay, I've left it as it is."
    echo.intent("CancelBookingIntent", number=str(made[1]))
    done = echo.intent("AMAZON.YesIntent")
    assert (
        spoken(done)
        == f"Booking {made[1]} with Lone Star Plumbing & Drains is cancelled."
    )
    db.rollback()
    assert fresh(db, made[1]).status == BookingStatus.CANCELLED
    assert fresh(db, made[0]).status == BookingStatus.CONFIRMED
    # someone else's booking is not found among yours
    other = Echo(client, chain, "amzn1.ask.account.OTHER")
    refused = other.intent("CancelBookingIntent", number=str(made[0]))
    assert f"can't find booking {made[0]}" in spoken(refused)


def test_reschedule_to_the_day_after(client, db, chain, fetched, austin) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.MOVES")
    echo.intent(
        "FindProviderIntent",
        service=("plumber", "plumbing"),
        city="Austin",
        date=tomorrow_iso(),
        time="MO",
    )
    echo.intent("ChooseProviderIntent", ordinal="first")
    echo.intent("AMAZON.YesIntent")
    db.rollback()
    booking = db.scalar(select(Booking))
    ask = echo.intent("RescheduleIntent")
    assert directives(ask)[0]["slotToElicit"] == "date"
    day_after = (
        booking.starts_at.astimezone(AUSTIN).date() + timedelta(days=1)
    ).isoformat()
    confirm = echo.intent("RescheduleIntent", date=day_after, time="14:00")
    assert "to" in spoken(confirm) and "2:00 PM" in spoken(confirm)
    moved = echo.intent("AMAZON.YesIntent")
    assert "is now booked for" in spoken(moved)
    db.rollback()
    local = fresh(db, booking.id).starts_at.astimezone(AUSTIN)
    assert (local.date().isoformat(), local.hour) == (day_after, 14)


# ------------------------------------------------------------------ the rest


def test_matching_runs_without_holding_the_write_lock(
    client, chain, fetched, austin, database_url, monkeypatch
) -> None:
    """On SQLite a request's transactions take the write lock; the search
    reads through a session that does not, so another writer is not kept
    waiting while a find is matched."""
    writers = writers_seen_while_matching(monkeypatch, database_url)
    found = Echo(client, chain, "amzn1.ask.account.LOCK").intent(
        "FindProviderIntent", service=("plumber", "plumbing"), city="Austin"
    )
    assert "Reyes Plumbing" in spoken(found)
    assert writers == ["not kept waiting"]


def test_words_the_slot_type_does_not_know_are_matched_as_said(
    client, chain, fetched, austin
) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.WORDS")
    found = echo.intent(
        "FindProviderIntent",
        service=("someone for the water dripping from my ceiling", None),
        city="Austin",
    )
    said = spoken(found)
    # the words alone rank the plumbers before the electrician
    assert said.index("Reyes Plumbing") < said.index("Volt Electric")
    assert said.index("Lone Star Plumbing") < said.index("Volt Electric")
    assert echo.attributes["words"] == "someone for the water dripping from my ceiling"


@pytest.fixture
def piano_tuner(db, austin):
    """A piano tuner in Austin: a kind of provider the catalogue has no
    category for (filed under handyman), known only by their profile."""
    return make_piano_tuner(
        db,
        external_id="aus-4",
        city="Austin",
        timezone="America/Chicago",
        hours=AUSTIN_HOURS,
        phone="+15125550104",
    ).id


def test_a_service_the_catalogue_does_not_have_is_matched_as_said(
    client, db, chain, fetched, piano_tuner
) -> None:
    """No category is a piano tuner's: Alexa passes the words as heard
    (ER_SUCCESS_NO_MATCH), and the profiles that fit them are read out first."""
    echo = Echo(client, chain, "amzn1.ask.account.PIANO")
    found = echo.intent(
        "FindProviderIntent", service=("a piano tuner", None), city="Austin"
    )
    said = spoken(found)
    assert said.startswith("I found"), said
    assert said.index("Keys & Hammers") < said.index("Reyes Plumbing")
    assert echo.attributes["offers"][0]["provider_id"] == piano_tuner
    assert echo.attributes["words"] == "a piano tuner"
    assert echo.attributes["search"]["slug"] is None
    # and by Alexa's own dialog (BookServiceIntent, delegated), the same
    booked = Echo(client, chain, "amzn1.ask.account.PIANO2").intent(
        "BookServiceIntent",
        "COMPLETED",
        service=("a piano tuner", None),
        city="Austin",
    )
    assert spoken(booked).index("Keys & Hammers") < spoken(booked).index("Reyes")


def test_a_job_described_in_the_caller_s_words_is_matched_as_said(
    client, db, chain, fetched, piano_tuner, directive_api
) -> None:
    """DescribeJobIntent ("I need someone to tune my piano", an
    AMAZON.SearchQuery): the city is asked on FindProviderIntent with the
    words carried in its service slot; the words reach matching and are not
    said back."""
    echo = Echo(client, chain, "amzn1.ask.account.DESCRIBE", directive_api.url)
    asked = echo.intent("DescribeJobIntent", description="tune my piano")
    (elicit,) = directives(asked)
    assert (elicit["type"], elicit["slotToElicit"]) == ("Dialog.ElicitSlot", "city")
    updated = elicit["updatedIntent"]
    assert updated["name"] == "FindProviderIntent"
    assert updated["slots"]["service"]["value"] == "tune my piano"
    assert spoken(asked) == "In which city?" and reprompt(asked)
    # Alexa sends the chained intent back with the city; the slot type does
    # not know the words
    found = echo.intent(
        "FindProviderIntent", service=("tune my piano", None), city="Austin"
    )
    said = spoken(found)
    assert said.index("Keys & Hammers") < said.index("Reyes Plumbing"), said
    assert "tune my piano" not in said
    assert echo.attributes["words"] == "tune my piano"
    assert echo.attributes["search"]["described"] is True
    progress = directive_api.received[-1]["body"]["directive"]["speech"]
    assert "Looking for someone who can help near Austin, TX." in progress
    # a leak described, where plumbers are: the plumbers first
    leak = Echo(client, chain, "amzn1.ask.account.LEAK")
    leak.intent("DescribeJobIntent", description="kitchen ceiling is leaking")
    found = leak.intent(
        "FindProviderIntent",
        service=("kitchen ceiling is leaking", None),
        city="Austin",
    )
    said = spoken(found)
    assert said.index("Plumbing") < said.index("Volt Electric"), said
    # no one near: said without repeating the description
    far = leak.intent(
        "FindProviderIntent",
        service=("kitchen ceiling is leaking", None),
        city="Boston",
    )
    assert spoken(far).startswith("I couldn't find anyone near Boston"), spoken(far)
    assert db.scalar(select(func.count(Booking.id))) == 0


def test_nothing_found_a_bad_city_and_a_past_day(client, db, chain, fetched, austin):
    echo = Echo(client, chain, "amzn1.ask.account.EDGES")
    nowhere = echo.intent(
        "FindProviderIntent", service=("plumber", "plumbing"), city="Springfieldtown"
    )
    assert directives(nowhere)[0]["slotToElicit"] == "city"
    assert "I don't know the city Springfieldtown" in spoken(nowhere)
    past = echo.intent(
        "FindProviderIntent",
        service=("plumber", "plumbing"),
        city="Austin",
        date="2020-01-01",
    )
    assert "already gone by" in spoken(past)
    far = echo.intent(
        "FindProviderIntent", service=("plumber", "plumbing"), city="Boston"
    )
    assert spoken(far).startswith("I couldn't find anyone for plumbing near Boston")
    assert db.scalar(select(func.count(Booking.id))) == 0


def test_answers_that_invite_a_reply_keep_the_session_open(
    client, db, chain, fetched, austin
) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.OPEN")
    # no one near Boston: "Try another city, or say online..." waits for a city
    far = echo.intent(
        "FindProviderIntent", service=("plumber", "plumbing"), city="Boston"
    )
    assert spoken(far).startswith("I couldn't find anyone for plumbing near Boston")
    assert directives(far)[0]["slotToElicit"] == "city"
    assert reprompt(far) and far["response"]["shouldEndSession"] is False
    nearer = echo.intent(
        "FindProviderIntent", service=("plumber", "plumbing"), city="Austin"
    )
    assert "Reyes Plumbing" in spoken(nearer)
    echo.intent("ChooseProviderIntent", ordinal="first")
    echo.intent("AMAZON.YesIntent")
    db.rollback()
    job = db.scalar(select(Booking.id))
    # no bookings: "You can say: book a plumber."
    none = Echo(client, chain, "amzn1.ask.account.NONE").intent("JobStatusIntent")
    assert spoken(none).startswith("You have no upcoming bookings.")
    assert reprompt(none) and none["response"]["shouldEndSession"] is False
    # not the job's provider: "Say: link my phone, to link it."
    stranger = echo.intent("ProviderCheckInIntent", job=job, step=("done", "done"))
    assert spoken(stranger).startswith("Only the job's provider")
    assert reprompt(stranger) and stranger["response"]["shouldEndSession"] is False
    # a code said when none is waiting: "Say: link my phone, to get a new one."
    echo.attributes = {"pending": {"ask": "code", "phone": "+15125550199"}}
    expired = echo.intent("LinkPhoneIntent", code="123456")
    assert spoken(expired).startswith("That code has expired.")
    assert reprompt(expired) and expired["response"]["shouldEndSession"] is False
    # the closing lines still close
    done = echo.intent("AMAZON.StopIntent")
    assert done["response"]["shouldEndSession"] is True


def test_a_taken_time_offers_to_search_again_and_yes_does(
    client, db, chain, fetched, austin, app
) -> None:
    from backend.extensions import db as database
    from backend.schemas import BookingCreate
    from backend.services.bookings import create_booking
    from tests.helpers import make_customer

    echo = Echo(client, chain, "amzn1.ask.account.AGAIN")
    slots = {
        "service": ("plumber", "plumbing"),
        "city": "Austin",
        "date": tomorrow_iso(),
        "time": "MO",
    }
    echo.intent("FindProviderIntent", **slots)
    echo.intent("ChooseProviderIntent", ordinal="first")
    offer = echo.attributes["offers"][0]
    # someone else books that hour meanwhile (through the same service)
    with app.app_context():
        create_booking(
            database.session,
            BookingCreate(
                provider_id=offer["provider_id"],
                customer_id=make_customer(database.session).id,
                start=datetime.fromisoformat(offer["start"]),
                confirm=True,
                channel=Channel.SMS,
            ),
            app.extensions["beckon.rules"],
        )
        database.session.commit()
    taken = echo.intent("AMAZON.YesIntent")
    assert spoken(taken) == (
        "Sorry, Reyes Plumbing was just booked at that time by someone else. "
        "Would you like to search again?"
    )
    assert reprompt(taken) == "Shall I search again? Say yes or no."
    again = echo.intent("AMAZON.YesIntent")
    said = spoken(again)
    assert said.startswith("I found 2 near Austin, TX."), said
    # the same search, without the time just taken
    assert "Reyes Plumbing, free tomorrow at" in said
    assert "Reyes Plumbing, free tomorrow at 8:00 AM" not in said
    assert offer not in echo.attributes["offers"]
    echo.intent("ChooseProviderIntent", ordinal="first")
    booked = echo.intent("AMAZON.YesIntent")
    assert spoken(booked).startswith("Done. ")
    db.rollback()
    assert db.scalar(select(func.count(Booking.id))) == 2
    # and "no" to searching again books nothing
    echo.attributes = {"pending": {"ask": "search_again"}, "search": {}}
    declined = echo.intent("AMAZON.NoIntent")
    assert spoken(declined) == "Okay, I haven't booked anything. Anything else?"


def test_built_ins_and_session_end(client, chain, fetched) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.BUILTINS")
    assert "book an electrician" in spoken(echo.intent("AMAZON.HelpIntent"))
    stop = echo.intent("AMAZON.StopIntent")
    assert spoken(stop) == "Goodbye." and stop["response"]["shouldEndSession"] is True
    assert spoken(echo.intent("AMAZON.CancelIntent")) == "Goodbye."
    assert "didn't get that" in spoken(echo.intent("AMAZON.FallbackIntent"))
    assert "nothing to say yes or no" in spoken(echo.intent("AMAZON.YesIntent"))
    assert "Welcome" in spoken(echo.intent("AMAZON.NavigateHomeIntent"))
    ended = echo.send("alexaapp_session_ended_request.json")
    assert "outputSpeech" not in ended["response"]
    # a request type the SDK's model does not know is refused, not guessed at
    doc = envelope("alexaapp_unknown_type_request.json", user_id=echo.user_id)
    body = json.dumps(doc).encode()
    unknown = client.post("/webhooks/alexa", data=body, headers=chain.headers(body))
    assert unknown.status_code == 400
    assert "not an Alexa request" in unknown.get_json()["error"]["message"]


def test_a_failing_handler_apologises_and_keeps_nothing(
    client, db, chain, fetched, austin, monkeypatch
) -> None:
    from voice_skills.desk import VoiceDesk

    echo = Echo(client, chain, "amzn1.ask.account.FAILS")
    echo.intent("FindProviderIntent", service=("plumber", "plumbing"), city="Austin")
    echo.intent("ChooseProviderIntent", ordinal="first")

    def broken(self, customer, offer, words=""):
        customer.display_name = "half-done work"  # must not be kept
        raise RuntimeError("database on fire")

    monkeypatch.setattr(VoiceDesk, "book", broken)
    failed = echo.intent("AMAZON.YesIntent")
    assert spoken(failed).startswith("Sorry, something went wrong")
    assert failed["response"]["shouldEndSession"] is True
    db.rollback()
    assert db.scalar(select(func.count(Booking.id))) == 0
    assert (
        db.scalar(
            select(func.count(Customer.id)).where(
                Customer.display_name == "half-done work"
            )
        )
        == 0
    )
    # the request and the apology are recorded, nothing of the failed work
    last = db.scalars(select(Message).order_by(Message.id.desc()).limit(2)).all()
    assert [m.direction.value for m in last] == ["out", "in"]
    assert "went wrong" in last[0].text


def test_a_refusal_of_the_domain_is_spoken(client, db, chain, fetched, austin) -> None:
    echo = Echo(client, chain, "amzn1.ask.account.REFUSED")
    echo.intent("FindProviderIntent", service=("plumber", "plumbing"), city="Austin")
    echo.intent("ChooseProviderIntent", ordinal="first")
    # the offer went stale: its provider stopped taking bookings meanwhile
    from backend.models import Provider

    db.get(Provider, austin["reyes"]).active = False
    db.commit()
    refused = echo.intent("AMAZON.YesIntent")
    # the catalogue's sentence for the code, not the service's message
    assert spoken(refused) == ("Sorry, that provider isn't taking bookings right now.")
    assert reprompt(refused)
    db.rollback()
    assert db.scalar(select(func.count(Booking.id))) == 0
