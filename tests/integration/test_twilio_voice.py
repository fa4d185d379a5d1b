"""Phone calls through Twilio Voice: greeted in a speech Gather with the
catalogue's words as hints, each turn answered with <Say> and listened to
again, silence asked again once then ended, goodbye hung up, and a call
nobody can answer (the assistant down or silent, a person took over) ended
politely; the caller's number is who they are only when fully attested
(SHAKEN/STIR), withheld and unattested callers are a person of their own for
the call; signed like every Twilio request (Rasa stood in at its REST
boundary). Call bodies are Twilio's (tests/fixtures/twilio/voice_*)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from backend.config import Config
from backend.models import (
    ChannelIdentity,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
)
from backend.services import inbound
from tests.helpers import config_for_test, fixture_path

TOKEN, PUBLIC = "twilio-voice-token", "https://beckon.example.com"


def _fixture(name: str) -> dict:
    return json.loads(fixture_path("twilio", name).read_text())


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa) -> Config:
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_URL=PUBLIC,
        RASA_URL=rasa.url,
    )


def _call(**changes) -> dict:
    """Twilio's incoming-call body (the .form file, as posted)."""
    body = dict(
        parse_qsl(
            fixture_path("twilio", "voice_incoming_call_webhook.form")
            .read_text()
            .strip()
        )
    )
    return {**body, **changes}


ATTESTED = {"StirVerstat": "TN-Validation-Passed-A"}


def _post(client, path, params, *, sign=True):
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(
            PUBLIC + path, params
        )
    return client.post(path, data=params, headers=headers, buffered=True)


def _twiml(response) -> ET.Element:
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/xml"
    return ET.fromstring(response.data)


def _turn(client, gather: ET.Element, speech: str | None, call: dict | None = None):
    """What Twilio posts to a Gather's action after the caller spoke."""
    url = gather.get("action")
    call = call or _call()
    case = _fixture("voice_gather_speech_cases.json")["cases"][0]["event"]
    params = {**case, "CallSid": call["CallSid"], "From": call["From"]}
    if speech is None:
        params.pop("SpeechResult")
    else:
        params["SpeechResult"] = speech
        params["Confidence"] = "0.91"
    return _twiml(_post(client, url, params))


def test_a_call_is_greeted_and_listened_to_with_the_catalogue_as_hints(client):
    root = _twiml(_post(client, "/webhooks/twilio/voice", _call()))
    [gather] = root.findall("Gather")
    assert gather.get("input") == "speech"
    assert gather.get("actionOnEmptyResult") == "true"
    assert "plumbing" in gather.get("hints") and "tarot" in gather.get("hints")
    assert "Tell me what you need" in gather.find("Say").text
    query = parse_qs(urlsplit(gather.get("action")).query)
    assert query == {
        "turn": ["1"],
        "quiet": ["0"],
        "lang": ["en"],
        "caller": ["call"],  # not attested: not the number's owner
    }


def test_each_turn_is_answered_and_the_call_listens_again(client, db, rasa):
    call = _call(**ATTESTED)
    gather = _twiml(_post(client, "/webhooks/twilio/voice", call)).find("Gather")
    rasa.answer(
        {"text": "Which city is it in?"},
    )
    root = _turn(client, gather, "I need a plumber for a leak", call)
    [gather] = root.findall("Gather")
    assert [s.text for s in gather.findall("Say")] == ["Which city is it in?"]
    assert parse_qs(urlsplit(gather.get("action")).query)["turn"] == ["2"]
    sent = rasa.received[-1]
    assert sent["message"] == "I need a plumber for a leak"
    assert sent["metadata"]["channel"] == "voice"
    assert sent["sender"] == call["From"] == sent["metadata"]["phone"]

    rasa.answer({"text": "1. Ana Plumbing (4.8★): free Mon 9:00\nReply 1, or more."})
    said = [
        s.text
        for s in _turn(client, gather, "Chicago", call).find("Gather").findall("Say")
    ]
    assert said == [
        "1. Ana Plumbing, rated 4.8 stars: free Mon 9:00",
        "Say 1, or more.",
    ]


def test_a_retried_turn_is_not_a_second_turn(client, db, rasa):
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    first = _turn(client, gather, "hello")
    again = _turn(client, gather, "hello")
    assert ET.tostring(first) == ET.tostring(again)
    assert len(rasa.received) == 1
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 2


def test_silence_is_asked_again_once_then_the_call_ends(client, rasa):
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    again = _turn(client, gather, None)
    retry = again.find("Gather")
    assert "didn't catch that" in retry.find("Say").text
    ended = _turn(client, retry, None)
    assert ended.find("Hangup") is not None and ended.find("Gather") is None
    assert rasa.received == []


def test_goodbye_hangs_up(client, rasa):
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    rasa.answer(
        {"text": "Bye for now. Text me any time."},
        {"custom": {"end_conversation": True}},
    )
    root = _turn(client, gather, "that's all, bye")
    assert [s.text for s in root.findall("Say")] == ["Bye for now. Text me any time."]
    assert root.find("Hangup") is not None and root.find("Gather") is None


@pytest.mark.parametrize("silent", [False, True], ids=["down", "nothing_to_say"])
def test_an_assistant_that_cannot_answer_ends_the_call_politely(
    client, db, rasa, silent
):
    """Down, or answering [] (its action server down): the caller hears that
    someone will get back to them, and the call ends; nothing loops."""
    if silent:
        rasa.answer()
    else:
        rasa.failing = True
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    root = _turn(client, gather, "I need an electrician")
    said = " ".join(s.text for s in root.iter("Say"))
    assert said == inbound.text("voice_holding", "en-US")
    assert root.find("Hangup") is not None and root.find("Gather") is None
    db.rollback()
    held = db.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert held.status == "held" and held.held_reason == "assistant_unreachable"
    assert db.scalars(select(Conversation)).one().flagged is True


def test_a_call_taken_over_by_a_person_ends_politely_instead_of_looping(
    client, db, rasa
):
    """A person in the console cannot speak into a live call: the caller is
    told someone will get back to them, and the call ends."""
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    gather = _turn(client, gather, "hello").find("Gather")
    conversation = db.scalars(select(Conversation)).one()
    conversation.status = ConversationStatus.HUMAN
    db.commit()
    root = _turn(client, gather, "are you still there")
    assert [s.text for s in root.iter("Say")] == [
        inbound.text("voice_holding", "en-US")
    ]
    assert root.find("Hangup") is not None and root.find("Gather") is None
    assert len(rasa.received) == 1
    db.rollback()
    held = db.scalars(
        select(Message).where(Message.text == "are you still there")
    ).one()
    assert held.status == "held" and held.held_reason == "taken_over"


@pytest.mark.parametrize(
    ("caller", "attestation"),
    [
        ("anonymous", None),
        ("+266696687", "TN-Validation-Passed-A"),  # withheld, whatever it says
        ("Restricted", None),
        ("+7378742833", None),
        ("+15017122661", None),  # a number, but nobody vouches for it
        ("+15017122661", "TN-Validation-Passed-B"),
        ("+15017122661", "TN-Validation-Failed-A"),
    ],
)
def test_a_caller_nobody_vouches_for_is_a_person_of_their_own_for_the_call(
    client, db, rasa, caller, attestation
):
    """Each such call is its own customer and its own conversation with the
    assistant, and never reaches the customer who owns that number: they can
    book, but not act on that customer's bookings or check in as a provider
    (the assistant is not told a phone)."""
    from tests.helpers import make_customer

    owner = make_customer(db, phone="+15017122661")
    for n in (1, 2):
        extra = {"StirVerstat": attestation} if attestation else {}
        call = _call(From=caller, CallSid=f"CA{n:032d}", **extra)
        gather = _twiml(_post(client, "/webhooks/twilio/voice", call)).find("Gather")
        _turn(client, gather, "what are my bookings", call)
    assert [m["sender"] for m in rasa.received] == [
        f"call:CA{1:032d}",
        f"call:CA{2:032d}",
    ]
    assert all("phone" not in m["metadata"] for m in rasa.received)
    db.rollback()
    identities = db.scalars(
        select(ChannelIdentity).where(ChannelIdentity.channel == "voice")
    ).all()
    assert len(identities) == 2 and len({i.customer_id for i in identities}) == 2
    assert owner.id not in {i.customer_id for i in identities}
    assert all(i.verified_at is None for i in identities)
    callers = db.scalars(select(Customer).where(Customer.id != owner.id)).all()
    assert [c.phone for c in callers] == [None, None]
    messages = db.scalars(select(Message).where(Message.direction == Direction.IN))
    assert {m.payload["caller"] for m in messages} == {caller}


def test_a_fully_attested_caller_is_their_number_verified(client, db, rasa):
    from tests.helpers import make_customer

    owner = make_customer(db, phone="+15017122661")  # texted us before
    call = _call(**ATTESTED)
    gather = _twiml(_post(client, "/webhooks/twilio/voice", call)).find("Gather")
    assert parse_qs(urlsplit(gather.get("action")).query)["caller"] == ["number"]
    _turn(client, gather, "what are my bookings", call)
    assert rasa.received[-1]["sender"] == "+15017122661"
    db.rollback()
    identity = db.scalars(
        select(ChannelIdentity).where(ChannelIdentity.channel == "voice")
    ).one()
    assert identity.customer_id == owner.id and identity.verified_at is not None


def test_a_spanish_speaking_caller_is_greeted_and_heard_in_spanish(client, db, rasa):
    db.add(Customer(phone="+15017122661", locale="es-MX", timezone="America/Chicago"))
    db.commit()
    root = _twiml(_post(client, "/webhooks/twilio/voice", _call(**ATTESTED)))
    gather = root.find("Gather")
    say = gather.find("Say")
    assert gather.get("language") == "es-US"
    assert (say.get("voice"), say.get("language")) == ("Polly.Lupe", "es-US")
    assert say.text == inbound.text("voice_greeting", "es-MX")
    again = _turn(client, gather, None).find("Gather")
    assert again.find("Say").text == inbound.text("voice_not_heard", "es-MX")


def test_unsigned_calls_and_turns_are_refused(client, db, rasa):
    assert (
        _post(client, "/webhooks/twilio/voice", _call(), sign=False).status_code == 403
    )
    params = {**_call(), "SpeechResult": "book a plumber"}
    response = _post(
        client, "/webhooks/twilio/voice/turn?turn=1&quiet=0", params, sign=False
    )
    assert response.status_code == 403
    assert rasa.received == []
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 0
