"""Texts and WhatsApp messages through the Twilio webhook: verified, recorded
once, keywords honoured, answered in TwiML; the assistant (a stand-in at
Rasa's REST boundary here, the real one in tests/e2e) being down loses nothing.

Request bodies are Twilio's (../shared/fixtures/twilio/sms_inbound_webhook.json),
signatures are Twilio's algorithm checked against its published vectors.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

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
from tests.helpers import config_for_test, shared_fixture

TOKEN = "twilio-inbound-token"
PUBLIC = "https://beckon.example.com"
URL = PUBLIC + "/webhooks/twilio/sms"
#: JSON-body cases are signed over bodySHA256, not form parameters; and
#: twilio-node's re-encoding of "'" as %27 is a Node normalisation the Python
#: validator does not make: the webhook checks the query string exactly as it
#: arrived (webhooks.twilio.public_url), which is what Twilio signed.
NOT_FOR_FORM_WEBHOOKS = {"node_special_characters"}


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
        RASA_TIMEOUT=1.0,
    )


def _inbound(**changes) -> dict:
    body = dict(_fixture("sms_inbound_webhook.json")["body"])
    body.update(changes)
    return body


def _post(client, params, *, signature=None, url=URL):
    signature = (
        RequestValidator(TOKEN).compute_signature(url, params)
        if signature is None
        else signature
    )
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post("/webhooks/twilio/sms", data=params, headers=headers)


def _bodies(response) -> list[str]:
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def _count(db, model) -> int:
    db.rollback()  # a fresh snapshot of what the requests wrote
    return db.scalar(select(func.count()).select_from(model))


def test_the_validator_agrees_with_twilio_s_published_vectors():
    vectors = _fixture("request_validator_vectors.json")
    checked = 0
    for case in vectors["cases"]:
        if "body" in case or case["id"] in NOT_FOR_FORM_WEBHOOKS:
            continue
        validator = RequestValidator(vectors["auth_token"])
        url = case["url"]  # as the request arrived: the validator normalises ports
        # repeated keys as a form carries them (what Flask's request.form is)
        params = MultiDict(
            [
                (key, value)
                for key, values in case["params"].items()
                for value in (values if isinstance(values, list) else [values])
            ]
        )
        assert validator.validate(url, params, case.get("signature") or "") is bool(
            case["expect_valid"]
        ), case["id"]
        checked += 1
    assert checked >= 5


def test_a_text_reaches_the_assistant_and_its_reply_comes_back_in_twiml(
    client, db, rasa
):
    rasa.answer(
        {
            "text": "Here's who can do it:\n1. Ana Plumbing (4.8★): free Mon 9:00",
            "buttons": [{"title": "1. Ana Plumbing", "payload": "/choose_option"}],
        },
        {
            "text": "Book Ana Plumbing? (yes/no)",
            "buttons": [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        },
    )
    rasa.intent = "request_service"
    response = _post(client, _inbound(Body="I need a plumber in Chicago"))
    assert response.status_code == 200
    assert _bodies(response) == [
        "Here's who can do it:\n1. Ana Plumbing (4.8★): free Mon 9:00",
        "Book Ana Plumbing? (yes/no)",  # the options are in the words already
    ]
    sent = rasa.received[-1]
    assert sent["sender"] == "+15017122661"
    assert sent["message"] == "I need a plumber in Chicago"
    assert sent["metadata"]["channel"] == "sms"
    assert sent["metadata"]["phone"] == "+15017122661"

    customer = db.scalars(select(Customer)).one()
    assert customer.phone == "+15017122661"
    messages = db.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.direction, m.text[:14]) for m in messages] == [
        (Direction.IN, "I need a plumb"),
        (Direction.OUT, "Here's who can"),
        (Direction.OUT, "Book Ana Plumb"),
    ]
    assert messages[0].external_id == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert messages[0].status == "answered"
    assert messages[0].intent == "request_service"  # what the assistant understood


def test_whatsapp_is_its_own_channel_for_the_same_person(client, db, rasa):
    _post(client, _inbound(Body="hi"))
    _post(
        client,
        _inbound(Body="hola", From="whatsapp:+15017122661", MessageSid="SM" + "b" * 32),
    )
    assert rasa.received[-1]["sender"] == "whatsapp:+15017122661"
    assert rasa.received[-1]["metadata"]["channel"] == "whatsapp"
    assert _count(db, Customer) == 1
    channels = {i.channel.value for i in db.scalars(select(ChannelIdentity))}
    assert channels == {"sms", "whatsapp"}
    assert _count(db, Conversation) == 2


def test_the_same_message_delivered_three_times_is_one_message_one_reply(
    client, db, rasa
):
    params = _inbound(Body="book a plumber")
    answers = [_bodies(_post(client, params)) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2] == ["Hi! Tell me what you need."]
    assert len(rasa.received) == 1  # one action taken
    assert _count(db, Message) == 2  # one in, one out


@pytest.mark.parametrize(
    "tamper",
    ["body", "url", "missing", "wrong", "other_token"],
)
def test_a_request_twilio_did_not_sign_is_refused_and_writes_nothing(
    client, db, rasa, tamper
):
    params = _inbound(Body="book a plumber")
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    if tamper == "body":
        response = _post(
            client, {**params, "Body": "cancel everything"}, signature=signature
        )
    elif tamper == "url":
        other = RequestValidator(TOKEN).compute_signature(
            PUBLIC + "/webhooks/twilio/status", params
        )
        response = _post(client, params, signature=other)
    elif tamper == "missing":
        response = _post(client, params, signature="")
    elif tamper == "wrong":
        response = _post(client, params, signature="RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    else:
        forged = RequestValidator("not-our-token").compute_signature(URL, params)
        response = _post(client, params, signature=forged)
    assert response.status_code == 403
    assert rasa.received == []
    assert _count(db, Message) == 0 and _count(db, Customer) == 0


def test_stop_start_and_help_are_answered_and_remembered(client, db, rasa):
    def say(text, n):
        return _bodies(_post(client, _inbound(Body=text, MessageSid=f"SM{n:032d}")))

    assert say("STOP", 1) == [inbound.OPTED_OUT]
    customer = db.scalars(select(Customer)).one()
    assert customer.opt_outs == ["sms"]
    assert say("yes", 2) == [inbound.OPTED_IN]  # opted out: YES opts back in
    db.rollback()  # a fresh snapshot of what the requests wrote
    assert db.scalars(select(Customer)).one().opt_outs == []
    assert say("help", 3) == [inbound.HELP]
    assert rasa.received == []  # keywords never reach the assistant
    assert say("yes", 4) == ["Hi! Tell me what you need."]  # now an answer
    assert say("Cancel my booking please", 5) == ["Hi! Tell me what you need."]


def test_with_the_assistant_down_the_person_is_told_and_the_message_kept(
    client, db, rasa
):
    rasa.failing = True
    response = _post(client, _inbound(Body="I need an electrician"))
    assert response.status_code == 200
    assert _bodies(response) == [inbound.HOLDING]
    message = db.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert message.status == "held" and message.text == "I need an electrician"
    assert db.scalars(select(Conversation)).one().flagged is True


def test_a_slow_assistant_gets_the_holding_reply_too(client, db, rasa):
    rasa.delay = 2.0  # past RASA_TIMEOUT
    assert _bodies(_post(client, _inbound(Body="hello"))) == [inbound.HOLDING]


def test_a_conversation_taken_over_by_a_person_is_held_for_them(client, db, rasa):
    _post(client, _inbound(Body="hi"))
    conversation = db.scalars(select(Conversation)).one()
    conversation.status = ConversationStatus.HUMAN
    db.commit()
    response = _post(
        client, _inbound(Body="are you there?", MessageSid="SM" + "c" * 32)
    )
    assert _bodies(response) == []
    assert len(rasa.received) == 1
    held = db.scalars(select(Message).where(Message.text == "are you there?")).one()
    assert held.status == "held"


def test_a_long_reply_is_split_at_the_sms_limit(client, rasa):
    rasa.answer({"text": "\n".join(f"line {i} " + "x" * 90 for i in range(40))})
    bodies = _bodies(_post(client, _inbound(Body="list everything")))
    assert len(bodies) == 3 and all(len(b) <= 1600 for b in bodies)
    assert "".join(bodies).count("line") == 40


def test_a_request_without_sender_or_sid_is_a_clear_400(client, db):
    params = {k: v for k, v in _inbound().items() if k != "MessageSid"}
    response = _post(client, params)
    assert response.status_code == 400
    assert "MessageSid" in response.get_json()["error"]["message"]
    assert _count(db, Message) == 0
