"""Texts and WhatsApp messages through the Twilio webhook: verified, recorded
once, keywords honoured in the customer's language, answered in TwiML; the
assistant (a stand-in at Rasa's REST boundary here, the real one in
tests/e2e) being down, slow or silent loses nothing; a redelivery gets the
same answer, waited for when the first is still being made, made now when
the first attempt died; two deliveries at once are one message.

Request bodies are Twilio's (tests/fixtures/twilio/sms_inbound_webhook.form);
signatures are Twilio's algorithm, checked against its published vectors,
which are also replayed against the endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from backend.app import create_app
from backend.config import Config
from backend.db import utcnow
from backend.extensions import db as database
from backend.models import (
    ChannelIdentity,
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Message,
)
from backend.services import inbound, texts
from tests.helpers import config_for_test, fixture_path

TOKEN = "twilio-inbound-token"
PUBLIC = "https://beckon.example.com"
URL = PUBLIC + "/webhooks/twilio/sms"
#: JSON-body cases are signed over bodySHA256, not form parameters; and
#: twilio-node's re-encoding of "'" as %27 is a Node normalisation the Python
#: validator does not make: the webhook checks the query string exactly as it
#: arrived (webhooks.twilio.public_url), which is what Twilio signed.
NOT_FOR_FORM_WEBHOOKS = {"node_special_characters"}
#: Twilio's default keywords: https://help.twilio.com/articles/223134027
OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"]
OPT_IN = ["START", "YES", "UNSTOP"]
HELP = ["HELP", "INFO"]


def _fixture(name: str) -> dict:
    return json.loads(fixture_path("twilio", name).read_text())


def _form(name: str) -> dict[str, str]:
    """A webhook body as Twilio posts it (x-www-form-urlencoded)."""
    return dict(parse_qsl(fixture_path("twilio", name).read_text().strip()))


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
    return {**_form("sms_inbound_webhook.form"), **changes}


def _post(client, params, *, signature=None, url=URL):
    signature = (
        RequestValidator(TOKEN).compute_signature(url, params)
        if signature is None
        else signature
    )
    headers = {"X-Twilio-Signature": signature} if signature else {}
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    # buffered: the response is closed, as a server closes it once sent
    return client.post(path, data=params, headers=headers, buffered=True)


def _bodies(response) -> list[str]:
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def _count(db, model) -> int:
    db.rollback()  # a fresh snapshot of what the requests wrote
    return db.scalar(select(func.count()).select_from(model))


def _in(db) -> Message:
    db.rollback()
    return db.scalars(select(Message).where(Message.direction == Direction.IN)).one()


def _say(kind: str, locale: str = "en-US") -> str:
    return inbound.text(kind, locale)


# ---------------------------------------------------------------- signatures


def _cases():
    vectors = _fixture("request_validator_vectors.json")
    return [
        case
        for case in vectors["cases"]
        if "body" not in case and case["id"] not in NOT_FOR_FORM_WEBHOOKS
    ]


def _multidict(params: dict) -> MultiDict:
    # repeated keys as a form carries them (what Flask's request.form is)
    return MultiDict(
        [
            (key, value)
            for key, values in params.items()
            for value in (values if isinstance(values, list) else [values])
        ]
    )


def test_the_validator_agrees_with_twilio_s_published_vectors():
    vectors = _fixture("request_validator_vectors.json")
    checked = 0
    for case in _cases():
        validator = RequestValidator(vectors["auth_token"])
        url = case["url"]  # as the request arrived: the validator normalises ports
        params = _multidict(case["params"])
        assert validator.validate(url, params, case.get("signature") or "") is bool(
            case["expect_valid"]
        ), case["id"]
        checked += 1
    assert checked >= 5


def _twilio_signature(token: str, url: str, params: dict) -> str:
    """Twilio's algorithm as the vectors' file states it, written out here
    (not the library's): HMAC-SHA1 over the URL, then each key and its
    sorted, distinct values."""
    data = url
    for key in sorted(params):
        values = params[key] if isinstance(params[key], list) else [params[key]]
        for value in sorted(set(values)):
            data += key + value
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"])
def test_the_published_vectors_replayed_against_the_call_endpoint(
    app, database_url, tmp_path, model_cache, db, case
):
    """Each vector's token, and its URL's scheme, credentials, host, port and
    query as BECKON_PUBLIC_URL and the request's: a valid case is answered,
    the others are 403 and write nothing."""
    vectors = _fixture("request_validator_vectors.json")
    token, parts = vectors["auth_token"], urlsplit(case["url"])
    path = "/webhooks/twilio/voice"
    if case.get("signature") and case["expect_valid"]:
        # the signature over the vector's own URL, as published...
        signed = case.get("signed_url_form") or case["url"]
        assert _twilio_signature(token, signed, case["params"]) == case["signature"]
        # ...and over the same URL with our path, as Twilio would sign it
        ours = urlsplit(signed)._replace(path=path).geturl()
        signature = _twilio_signature(token, ours, case["params"])
    else:
        signature = case.get("signature") or ""
    served = create_app(
        config_for_test(
            database_url,
            tmp_path / case["id"],
            model_cache,
            TWILIO_AUTH_TOKEN=token,
            PUBLIC_URL=f"{parts.scheme}://{parts.netloc}",
        )
    )
    try:
        response = served.test_client().post(
            f"{path}?{parts.query}",
            data=_multidict(case["params"]),
            headers={"X-Twilio-Signature": signature} if signature else {},
        )
    finally:
        database.dispose(served)
    assert response.status_code == (200 if case["expect_valid"] else 403), case["id"]
    if response.status_code == 200:
        assert ET.fromstring(response.data).find("Gather") is not None
    assert _count(db, Message) == 0 and _count(db, Customer) == 0


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


# ---------------------------------------------------------------- the path


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
    assert sent["metadata"]["beckon_id"] == messages[0].id


def test_what_the_assistant_understood_is_noted_later_for_each_message(
    app, client, db, rasa
):
    """Not on the person's time: beat's note_intents reads each sender's
    tracker once and matches its user events to our messages by beckon_id."""
    from backend import tasks

    rasa.intent = "request_service"
    _post(client, _inbound(Body="I need a plumber", MessageSid="SM" + "1" * 32))
    rasa.intent = "inform"
    _post(client, _inbound(Body="Chicago", MessageSid="SM" + "2" * 32))
    _post(client, _inbound(Body="STOP", MessageSid="SM" + "3" * 32))
    db.rollback()
    assert db.scalars(
        select(Message.intent)
        .where(Message.direction == Direction.IN)
        .order_by(Message.id)
    ).all() == [None, None, "keyword:stop"]
    assert tasks.note_intents() == 2
    assert tasks.note_intents() == 0  # noted once
    db.rollback()
    intents = db.scalars(
        select(Message.intent)
        .where(Message.direction == Direction.IN)
        .order_by(Message.id)
    ).all()
    assert intents == ["request_service", "inform", "keyword:stop"]


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


# ---------------------------------------------------------------- keywords


def _variants(word: str) -> list[str]:
    return [word, word.lower(), word.capitalize() + ".", word.lower() + "?", word + "!"]


@pytest.mark.parametrize(
    "said", [v for w in OPT_OUT for v in _variants(w)] + [" stop ", "Stop!!"]
)
def test_every_opt_out_keyword_unsubscribes(client, db, rasa, said):
    assert _bodies(_post(client, _inbound(Body=said))) == [_say("opted_out")]
    customer = db.scalars(select(Customer)).one()
    assert customer.opt_outs == ["sms"]
    assert rasa.received == []  # keywords never reach the assistant
    assert _in(db).intent == f"keyword:{inbound.keyword_of(said)}"


@pytest.mark.parametrize("said", [v for w in OPT_IN for v in _variants(w)])
def test_every_opt_in_keyword_subscribes_again(client, db, rasa, said):
    _post(client, _inbound(Body="STOP", MessageSid="SM" + "1" * 32))
    assert _bodies(_post(client, _inbound(Body=said))) == [_say("opted_in")]
    db.rollback()
    assert db.scalars(select(Customer)).one().opt_outs == []
    assert rasa.received == []


@pytest.mark.parametrize("said", [v for w in HELP for v in _variants(w)])
def test_every_help_keyword_is_answered_with_help(client, db, rasa, said):
    assert _bodies(_post(client, _inbound(Body=said))) == [_say("help")]
    assert rasa.received == []
    db.rollback()
    assert db.scalars(select(Customer)).one().opt_outs == []


def test_yes_is_an_answer_unless_opted_out_and_a_sentence_is_never_a_keyword(
    client, db, rasa
):
    def say(text, n):
        return _bodies(_post(client, _inbound(Body=text, MessageSid=f"SM{n:032d}")))

    assert say("yes", 1) == ["Hi! Tell me what you need."]
    assert say("Cancel my booking please", 2) == ["Hi! Tell me what you need."]
    assert say("stop the plumber", 3) == ["Hi! Tell me what you need."]
    assert len(rasa.received) == 3
    db.rollback()
    assert db.scalars(select(Customer)).one().opt_outs == []


@pytest.mark.parametrize("language", sorted(texts.available_templates()))
def test_no_help_text_tells_people_to_send_an_opt_out_word(language):
    """Following our own help must not unsubscribe anyone: the only opt-out
    word in it is the one the carriers require, to say how to opt out."""
    help_text = _say("help", language)
    sentences = re.split(r"(?<=[.!?])\s+", help_text)
    how_to_stop = [s for s in sentences if re.search(r"\bSTOP\b", s)]
    assert len(how_to_stop) == 1, help_text  # how to opt out is still said
    for sentence in sentences:
        if sentence not in how_to_stop:
            words = set(re.findall(r"\w+", sentence.lower()))
            assert not words & inbound.OPT_OUT_WORDS, sentence


def test_a_spanish_customer_gets_the_keyword_answers_in_spanish(client, db, rasa):
    phone = "+5215512345678"
    db.add(Customer(phone=phone, locale="es-MX", timezone="America/Mexico_City"))
    db.commit()
    answers = [
        _bodies(
            _post(client, _inbound(From=phone, Body=word, MessageSid=f"SM{n:032d}"))
        )
        for n, word in enumerate(["STOP", "START", "HELP"])
    ]
    assert answers == [[_say(k, "es-MX")] for k in ("opted_out", "opted_in", "help")]
    assert answers[0][0].startswith("Ya no recibirá")


# ---------------------------------------------------------------- without words


def test_a_picture_without_words_is_kept_and_answered_without_the_assistant(
    client, db, rasa
):
    params = _inbound(
        Body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="audio/amr",
    )
    assert _bodies(_post(client, params)) == [_say("text_only")]
    assert rasa.received == []
    message = _in(db)
    assert message.status == "answered" and message.intent == "no_text"
    assert [m["type"] for m in message.payload["media"]] == ["image/jpeg", "audio/amr"]
    assert message.payload["media"][0]["url"].endswith("/ME1")


def test_words_with_a_picture_go_to_the_assistant_and_the_picture_is_kept(
    client, db, rasa
):
    params = _inbound(
        Body="this leak",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/x/Media/ME1",
        MediaContentType0="image/png",
    )
    assert _bodies(_post(client, params)) == ["Hi! Tell me what you need."]
    assert rasa.received[-1]["message"] == "this leak"
    assert _in(db).payload["media"] == [
        {"url": "https://api.twilio.com/x/Media/ME1", "type": "image/png"}
    ]


# ---------------------------------------------------------------- the assistant


def test_with_the_assistant_down_the_person_is_told_and_the_message_kept(
    client, db, rasa
):
    rasa.failing = True
    response = _post(client, _inbound(Body="I need an electrician"))
    assert _bodies(response) == [_say("holding")]
    message = _in(db)
    assert message.status == "held" and message.text == "I need an electrician"
    assert message.held_reason == "assistant_unreachable"
    assert db.scalars(select(Conversation)).one().flagged is True


def test_an_assistant_with_nothing_to_say_counts_as_unreachable(client, db, rasa):
    """Rasa answers 200 with [] when, e.g., its action server is down."""
    rasa.answer()  # an empty list of replies
    assert _bodies(_post(client, _inbound(Body="I need an electrician"))) == [
        _say("holding")
    ]
    assert _in(db).status == "held"
    assert db.scalars(select(Conversation)).one().flagged is True


def test_a_slow_assistant_gets_the_holding_reply_too(client, db, rasa):
    rasa.delay = 2.0  # past RASA_TIMEOUT
    assert _bodies(_post(client, _inbound(Body="hello"))) == [_say("holding")]


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
    assert held.status == "held" and held.held_reason == "taken_over"


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


# ---------------------------------------------------------------- status of replies


def test_each_twiml_reply_reports_its_delivery_to_its_own_record(client, db, rasa):
    """TwiML replies have no sid of ours: each <Message action> names our
    record, and Twilio's callbacks there move it past "sent"."""
    rasa.answer({"text": "First"}, {"text": "Second"})
    root = ET.fromstring(_post(client, _inbound(Body="hi")).data)
    actions = [m.get("action") for m in root.findall("Message")]
    replies = db.scalars(
        select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
    ).all()
    assert actions == [f"/webhooks/twilio/status?reply={r.id}" for r in replies]
    assert {r.status for r in replies} == {"sent"}
    for status in ("sent", "delivered", "sending"):  # a late one changes nothing
        callback = {
            "AccountSid": "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "ApiVersion": "2010-04-01",
            "From": "+15558675310",
            "To": "+15017122661",
            "MessageSid": "SM" + "e" * 32,
            "MessageStatus": status,
            "SmsSid": "SM" + "e" * 32,
            "SmsStatus": status,
        }
        response = _post(client, callback, url=PUBLIC + actions[0])
        assert response.status_code == 204
    db.rollback()
    first, second = (db.get(Message, r.id) for r in replies)
    assert (first.delivery_status, first.external_id) == ("delivered", "SM" + "e" * 32)
    assert (second.status, second.delivery_status, second.external_id) == (
        "sent",
        None,
        None,
    )


def test_a_redelivery_carries_the_same_status_callbacks(client, db, rasa):
    params = _inbound(Body="hi")
    first = ET.fromstring(_post(client, params).data)
    again = ET.fromstring(_post(client, params).data)
    assert ET.tostring(first) == ET.tostring(again)
    assert first.find("Message").get("action").startswith("/webhooks/twilio/status")


# ---------------------------------------------------------------- redeliveries


def _taken_not_answered(app, params) -> tuple[int, str]:
    """A first attempt that recorded and claimed the message, and is still
    at work (or died)."""
    from backend.conversation import Inbound, turn
    from backend.models import Channel

    with app.test_request_context():
        received = turn.take(
            Inbound(
                Channel.SMS,
                params["From"],
                params["Body"],
                message_id=params["MessageSid"],
                metadata={"phone": params["From"]},
            )
        )
        return received.message.id, turn.claim(received)


def test_a_redelivery_while_the_first_is_answering_waits_for_its_answer(
    app, client, db, rasa
):
    from backend.conversation import turn

    params = _inbound(Body="I need a plumber")
    message_id, token = _taken_not_answered(app, params)
    rasa.answer({"text": "Which city?"})
    got: list = []
    again = threading.Thread(
        target=lambda: got.append(_post(app.test_client(), params))
    )
    again.start()
    with app.test_request_context():  # ...and the first attempt finishes
        received = inbound.received_by_id(database.session, message_id)
        assert turn.answer(received, token).replies[0].text == "Which city?"
    again.join(timeout=30)
    assert _bodies(got[0]) == ["Which city?"]
    assert len(rasa.received) == 1  # answered once
    assert _count(db, Message) == 2


def test_a_redelivery_of_one_a_dead_attempt_left_is_answered_now(
    app, client, db, rasa, config
):
    from backend.conversation import turn

    params = _inbound(Body="I need a plumber")
    message_id, token = _taken_not_answered(app, params)
    lease = config.FOLLOW_UPS.lease_seconds
    db.execute(  # the attempt's process died a lease ago
        update(Message)
        .where(Message.id == message_id)
        .values(status_at=utcnow() - timedelta(seconds=lease + 1))
    )
    db.commit()
    assert _bodies(_post(client, params)) == ["Hi! Tell me what you need."]
    assert len(rasa.received) == 1
    with app.test_request_context():  # were it alive after all, it records nothing
        received = inbound.received_by_id(database.session, message_id)
        assert turn.answer(received, token).lost
    assert _count(db, Message) == 2 and _in(db).status == "answered"


def test_a_redelivery_of_one_never_claimed_is_answered(app, client, db, rasa):
    from backend.conversation import Inbound, turn
    from backend.models import Channel

    params = _inbound(Body="hello")
    with app.test_request_context():  # recorded, then the process died
        turn.take(
            Inbound(
                Channel.SMS, params["From"], "hello", message_id=params["MessageSid"]
            )
        )
    assert _bodies(_post(client, params)) == ["Hi! Tell me what you need."]
    assert len(rasa.received) == 1 and _count(db, Message) == 2


# ---------------------------------------------------------------- at once


def _at_once(app, monkeypatch, database_url, posts: list[dict]) -> list:
    """Post each body from its own thread at the same moment. On PostgreSQL
    both pass the "seen before?" check before either writes (a barrier in
    the customer lookup); SQLite runs writers one at a time anyway."""
    if database_url.startswith("postgresql"):
        barrier = threading.Barrier(len(posts), timeout=10)
        real = inbound.find_or_create_by_identity

        def together(*args, **kwargs):
            barrier.wait()
            return real(*args, **kwargs)

        monkeypatch.setattr(inbound, "find_or_create_by_identity", together)
    results: list = [None] * len(posts)

    def send(i: int) -> None:
        results[i] = _post(app.test_client(), posts[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_deliveries_of_one_new_message_at_once_are_one_message(
    app, db, rasa, monkeypatch, database_url
):
    params = _inbound(Body="book a plumber")
    first, second = _at_once(app, monkeypatch, database_url, [params, params])
    assert _bodies(first) == _bodies(second) == ["Hi! Tell me what you need."]
    assert len(rasa.received) == 1
    assert _count(db, Customer) == 1 and _count(db, ChannelIdentity) == 1
    assert _count(db, Message) == 2


def test_two_first_messages_at_once_from_a_new_number_are_one_customer(
    app, db, rasa, monkeypatch, database_url
):
    one = _inbound(Body="hello", MessageSid="SM" + "1" * 32)
    two = _inbound(Body="a plumber please", MessageSid="SM" + "2" * 32)
    results = _at_once(app, monkeypatch, database_url, [one, two])
    assert [_bodies(r) for r in results] == [["Hi! Tell me what you need."]] * 2
    assert _count(db, Customer) == 1 and _count(db, ChannelIdentity) == 1
    senders = {m["sender"] for m in rasa.received}
    assert senders == {"+15017122661"} and len(rasa.received) == 2
    assert _count(db, Message) == 4
