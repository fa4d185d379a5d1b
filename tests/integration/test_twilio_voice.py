"""Phone calls through Twilio Voice: greeted in a speech Gather with the
catalogue's words as hints, each turn answered with <Say> and listened to
again, silence asked again once then ended, goodbye hung up; signed like
every Twilio request (Rasa stood in at its REST boundary). Call bodies are
Twilio's (../shared/fixtures/twilio/voice_*)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from backend.config import Config
from backend.models import Direction, Message
from tests.helpers import config_for_test, shared_fixture

TOKEN, PUBLIC = "twilio-voice-token", "https://beckon.example.com"


def _fixture(name: str) -> dict:
    return json.loads(shared_fixture("twilio", name).read_text())


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


def _call() -> dict:
    return dict(_fixture("voice_incoming_call_webhook.json")["body"])


def _post(client, path, params, *, sign=True):
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(
            PUBLIC + path, params
        )
    return client.post(path, data=params, headers=headers)


def _twiml(response) -> ET.Element:
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/xml"
    return ET.fromstring(response.data)


def _turn(client, gather: ET.Element, speech: str | None):
    """What Twilio posts to a Gather's action after the caller spoke."""
    url = gather.get("action")
    case = _fixture("voice_gather_speech_cases.json")["cases"][0]["event"]
    params = {**case, "CallSid": _call()["CallSid"], "From": _call()["Caller"]}
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
    assert query == {"turn": ["1"], "quiet": ["0"]}


def test_each_turn_is_answered_and_the_call_listens_again(client, db, rasa):
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    rasa.answer(
        {"text": "Which city is it in?"},
    )
    root = _turn(client, gather, "I need a plumber for a leak")
    [gather] = root.findall("Gather")
    assert [s.text for s in gather.findall("Say")] == ["Which city is it in?"]
    assert parse_qs(urlsplit(gather.get("action")).query)["turn"] == ["2"]
    sent = rasa.received[-1]
    assert sent["message"] == "I need a plumber for a leak"
    assert sent["metadata"]["channel"] == "voice"
    assert sent["sender"] == _call()["Caller"]

    rasa.answer({"text": "1. Ana Plumbing (4.8★): free Mon 9:00\nReply 1, or more."})
    said = [
        s.text for s in _turn(client, gather, "Chicago").find("Gather").findall("Say")
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


def test_with_the_assistant_down_the_caller_hears_the_holding_message(client, db, rasa):
    rasa.failing = True
    gather = _twiml(_post(client, "/webhooks/twilio/voice", _call())).find("Gather")
    said = " ".join(
        s.text for s in _turn(client, gather, "I need an electrician").iter("Say")
    )
    assert "get back to you" in said
    db.rollback()
    held = db.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert held.status == "held"


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
