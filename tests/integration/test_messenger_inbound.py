"""Messenger through its webhook: the subscription handshake, events verified
by X-Hub-Signature-256 over the raw body, texts, quick replies and postbacks
taken once and answered from a task through the Send API (stand-ins at the
Send API's and Rasa's HTTP boundaries). Bodies and vectors are from
tests/fixtures/messenger."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import func, select

from backend.config import Config
from backend.models import ChannelIdentity, Conversation, Direction, Message
from backend.services import inbound
from tests.fakes.messenger_api import FakeSendApi
from tests.helpers import config_for_test, fixture_path
from webhooks.messenger import signature_ok

SECRET, VERIFY = "messenger-app-secret", "messenger-verify-token"


def _fixture(name: str):
    return fixture_path("messenger", name).read_bytes()


@pytest.fixture
def graph():
    fake = FakeSendApi()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa, graph) -> Config:
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        RASA_URL=rasa.url,
        RASA_TIMEOUT=1.0,
        MESSENGER_APP_SECRET=SECRET,
        MESSENGER_VERIFY_TOKEN=VERIFY,
        MESSENGER_PAGE_ACCESS_TOKEN="page-token",
        MESSENGER_API_BASE_URL=graph.url,
    )


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(client, body: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    if signature is None:
        signature = _sign(body)
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/webhooks/messenger", data=body, headers=headers)


def _work(db):
    """Run the queued answers as the worker would (the task's own code)."""
    from backend import tasks

    db.rollback()
    waiting = db.execute(
        select(Message.id, Conversation.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.direction == Direction.IN, Message.status == "received")
    ).all()
    for message_id, _ in waiting:
        sender = db.scalar(
            select(ChannelIdentity.external_id)
            .join(Conversation, Conversation.customer_id == ChannelIdentity.customer_id)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.id == message_id, ChannelIdentity.channel == "messenger")
        )
        tasks.answer_message(message_id, sender)
    db.rollback()


def test_the_signature_check_agrees_with_the_vectors():
    vectors = json.loads(_fixture("signature_vectors.json"))
    for case in vectors["sha256_values_computed_here_not_from_a_source"]:
        body = case["raw_body"].encode()
        assert signature_ok(body, case["value"], case["app_secret"])
        assert not signature_ok(body + b" ", case["value"], case["app_secret"])
        assert not signature_ok(body, case["value"], case["app_secret"] + "x")


def test_the_subscription_handshake(client):
    cases = json.loads(_fixture("verification_handshake.json"))["cases"]
    for case in cases:
        query = dict(case["query"])
        if query.get("hub.verify_token") == case["configured_verify_token"]:
            query["hub.verify_token"] = VERIFY
        response = client.get("/webhooks/messenger", query_string=query)
        assert response.status_code == case["expected"]["status"], case
        if response.status_code == 200:
            assert response.get_data(as_text=True) == case["expected"]["body"]


def test_a_text_is_answered_through_the_send_api_with_quick_replies(
    app, client, db, rasa, graph
):
    rasa.answer(
        {
            "text": "Which one would you like?",
            "buttons": [
                {
                    "title": "1. Ana Rivera Plumbing Co.",
                    "payload": '/choose_option{"option":"7"}',
                },
                {"title": "More", "payload": "/ask_more"},
            ],
        }
    )
    body = _fixture("events/fbmessenger_message.json")
    response = _post(client, body)
    assert response.status_code == 200
    assert graph.requests == []  # answered later, not in the webhook
    _work(db)
    sent = rasa.received[-1]
    assert sent["sender"] == "1234" and sent["message"] == "hello, world!"
    assert sent["metadata"]["channel"] == "messenger"
    request = graph.requests[-1]["body"]
    assert request["recipient"] == {"id": "1234"}
    assert request["messaging_type"] == "RESPONSE"
    assert request["message"]["text"] == "Which one would you like?"
    assert request["message"]["quick_replies"] == [
        {
            "content_type": "text",
            "title": "1. Ana Rivera Plumbi",
            "payload": '/choose_option{"option":"7"}',
        },
        {"content_type": "text", "title": "More", "payload": "/ask_more"},
    ]
    out = db.scalars(select(Message).where(Message.direction == Direction.OUT)).one()
    assert out.status == "sent" and out.external_id.startswith("m_")


def test_a_quick_reply_and_a_postback_send_their_payloads(client, db, rasa, graph):
    for name in (
        "events/botman_message_quick_reply.json",
        "events/botman_postback.json",
    ):
        assert _post(client, _fixture(name)).status_code == 200
    _work(db)
    assert [r["message"] for r in rasa.received] == ["MY_PAYLOAD", "MY_PAYLOAD"]
    shown = db.scalars(
        select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
    ).all()
    assert shown[0].payload["shown"] == "Red"


def test_a_redelivered_event_is_one_message_and_one_answer(client, db, rasa, graph):
    body = _fixture("events/fbmessenger_message.json")
    for _ in range(3):
        assert _post(client, body).status_code == 200
    _work(db)
    _work(db)  # a task delivered twice does nothing the second time
    assert len(rasa.received) == 1 and len(graph.requests) == 1
    count = db.scalar(select(func.count()).select_from(Message))
    assert count == 2


@pytest.mark.parametrize("tamper", ["body", "missing", "secret", "sha1"])
def test_an_event_meta_did_not_sign_is_refused_and_writes_nothing(
    client, db, rasa, tamper
):
    body = _fixture("events/fbmessenger_message.json")
    if tamper == "body":
        response = _post(client, body.replace(b"hello", b"hullo"), _sign(body))
    elif tamper == "missing":
        response = _post(client, body, signature="")
    elif tamper == "secret":
        response = _post(client, body, _sign(body, "another-secret"))
    else:
        sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
        response = _post(client, body, sha1)
    assert response.status_code == 403
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_echoes_deliveries_and_reads_are_acknowledged_and_ignored(client, db, rasa):
    for name in (
        "events/botman_message_echo.json",
        "events/fbmessenger_delivery.json",
        "events/fbmessenger_read.json",
    ):
        assert _post(client, _fixture(name)).status_code == 200
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 0


def test_a_signed_body_we_cannot_use_is_acknowledged_and_ignored(client, db):
    """Meta retries anything but a 2xx (and disables a webhook that keeps
    failing): a verified event we cannot use is answered 200 and dropped."""
    for body in (b'{"object": "instagram", "entry": []}', b"[1, 2]", b"not json"):
        response = _post(client, body)
        assert response.status_code == 200, body
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize("silent", [False, True], ids=["down", "nothing_to_say"])
def test_with_the_assistant_unable_to_answer_the_holding_reply_is_sent(
    client, db, rasa, graph, silent
):
    if silent:
        rasa.answer()
    else:
        rasa.failing = True
    _post(client, _fixture("events/fbmessenger_message.json"))
    _work(db)
    assert graph.requests[-1]["body"]["message"]["text"] == inbound.text(
        "holding", "en-US"
    )
    held = db.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert held.status == "held"
    assert db.scalars(select(Conversation)).one().flagged is True


def _event(message: dict, mid: str = "mid.attachment.1") -> bytes:
    """A page event from person 1234 (the shape of the fixtures' events)."""
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "111899832631525",
                    "time": 1763719200000,
                    "messaging": [
                        {
                            "sender": {"id": "1234"},
                            "recipient": {"id": "111899832631525"},
                            "timestamp": 1763719200000,
                            "message": {"mid": mid, **message},
                        }
                    ],
                }
            ],
        }
    ).encode()


@pytest.mark.parametrize(
    "message",
    [
        {"attachments": [{"type": "image", "payload": {"url": "https://x/1.jpg"}}]},
        {  # a sticker: an image with its id, and since 2026 a sticker too
            "sticker_id": 369239263222822,
            "attachments": [
                {
                    "type": "image",
                    "payload": {
                        "url": "https://x/s.png",
                        "sticker_id": 369239263222822,
                    },
                },
                {"type": "sticker", "payload": {"sticker_id": 369239263222822}},
            ],
        },
        {"attachments": [{"type": "audio", "payload": {"url": "https://x/v.mp4"}}]},
    ],
    ids=["image", "sticker", "audio"],
)
def test_an_attachment_without_words_is_kept_and_answered_without_the_assistant(
    client, db, rasa, graph, message
):
    assert _post(client, _event(message)).status_code == 200
    _work(db)
    assert rasa.received == []
    assert graph.requests[-1]["body"]["message"]["text"] == inbound.text(
        "text_only", "en-US"
    )
    kept = db.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert kept.status == "answered" and kept.text == ""
    assert [a["type"] for a in kept.payload["media"]] == [
        a["type"] for a in message["attachments"]
    ]


# ---------------------------------------------------------------- nothing lost


def test_a_task_that_fails_after_asking_is_retried_into_one_answer(
    client, db, rasa, graph, monkeypatch
):
    """The database fails as the replies are recorded: the claim is given
    back and the task raises (Celery retries it); the retry answers once."""
    from sqlalchemy.exc import OperationalError

    from backend import tasks

    real, failures = inbound.record_replies, [1]

    def flaky(*args, **kwargs):
        if failures:
            failures.pop()
            raise OperationalError("INSERT INTO messages", {}, Exception("gone"))
        return real(*args, **kwargs)

    monkeypatch.setattr(inbound, "record_replies", flaky)
    _post(client, _fixture("events/fbmessenger_message.json"))
    message = _waiting(db)
    with pytest.raises(OperationalError):
        tasks.answer_message(message.id, "1234")
    assert _waiting(db).status == "received"  # given back, not stuck
    assert tasks.answer_message(message.id, "1234") == 1
    assert tasks.answer_message(message.id, "1234") == 0  # a third run: nothing
    assert len(graph.requests) == 1
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Message)) == 2


def _waiting(db) -> Message:
    db.rollback()
    return db.scalars(select(Message).where(Message.direction == Direction.IN)).one()


def _after_the_lease(app, config):
    """What the sweep finds a lease from now, as beat would."""
    from datetime import timedelta

    from backend.db import unit_of_work, utcnow
    from backend.extensions import db as database

    later = utcnow() + timedelta(seconds=config.FOLLOW_UPS.lease_seconds + 1)
    with app.app_context(), unit_of_work(database.session_factory) as session:
        return inbound.take_stale(
            session, lease_seconds=config.FOLLOW_UPS.lease_seconds, now=later
        )


def test_a_worker_killed_while_answering_is_swept_into_one_answer(
    app, config, client, db, rasa, graph
):
    from backend import tasks

    _post(client, _fixture("events/fbmessenger_message.json"))
    message = _waiting(db)
    with app.app_context():  # a worker claimed it, then was killed
        from backend.extensions import db as database

        assert inbound.claim(database.session, message.id, lease_seconds=120)
        database.session.commit()
    assert tasks.answer_message(message.id, "1234") == 0  # a copy: not twice
    assert _waiting(db).status == "answering"
    [left] = _after_the_lease(app, config)
    assert (left.message_id, left.sender) == (message.id, "1234")
    assert tasks.answer_message(left.message_id, left.sender) == 1
    assert len(rasa.received) == 1 and len(graph.requests) == 1
    assert _after_the_lease(app, config) == []


def test_a_message_whose_task_could_not_be_queued_is_answered_once(
    app, config, client, db, rasa, graph, monkeypatch
):
    """The broker refuses the task after the message was committed: the
    webhook still says 200; Meta's redelivery queues it again, and the
    sweep would too."""
    from kombu.exceptions import OperationalError

    from backend import tasks

    queued: list[tuple] = []

    def refused(*args):
        raise OperationalError("Connection refused")

    body = _fixture("events/fbmessenger_message.json")
    monkeypatch.setattr(tasks.answer_message, "delay", refused)
    assert _post(client, body).status_code == 200
    assert _waiting(db).status == "received"
    monkeypatch.setattr(tasks.answer_message, "delay", lambda *a: queued.append(a))
    assert _post(client, body).status_code == 200  # Meta delivers it again
    assert queued == [(_waiting(db).id, "1234")]
    assert [s.message_id for s in _after_the_lease(app, config)] == [queued[0][0]]
    for args in queued * 2:  # queued twice (redelivery and sweep): one answer
        tasks.answer_message(*args)
    assert len(rasa.received) == 1 and len(graph.requests) == 1


def test_a_send_api_hiccup_is_retried_and_the_reply_sent_once(client, db, rasa, graph):
    from backend import tasks

    graph.answers.append(
        (500, {"error": {"message": "An unexpected error has occurred.", "code": 2}})
    )
    _post(client, _fixture("events/fbmessenger_message.json"))
    message = _waiting(db)
    with pytest.raises(ConnectionError):  # Celery retries it with backoff
        tasks.answer_message(message.id, "1234")
    db.rollback()
    reply = db.scalars(select(Message).where(Message.direction == Direction.OUT)).one()
    assert reply.status == "queued"  # not failed for good
    assert tasks.answer_message(message.id, "1234") == 1
    assert len(rasa.received) == 1 and len(graph.requests) == 2
    db.rollback()
    assert db.get(Message, reply.id).status == "sent"


def test_a_refusal_of_the_send_api_fails_the_reply_for_good(client, db, rasa, graph):
    from backend import tasks

    graph.answers.append(
        (400, {"error": {"message": "(#551) This person isn't available", "code": 551}})
    )
    _post(client, _fixture("events/fbmessenger_message.json"))
    assert tasks.answer_message(_waiting(db).id, "1234") == 0
    db.rollback()
    reply = db.scalars(select(Message).where(Message.direction == Direction.OUT)).one()
    assert (reply.status, reply.error_code) == ("failed", "551")


def test_a_long_answer_is_sent_in_parts_with_the_choices_on_the_last(
    client, db, rasa, graph
):
    rasa.answer(
        {
            "text": "\n".join(f"option {i}: " + "x" * 90 for i in range(30)),
            "buttons": [{"title": "More", "payload": "/ask_more"}],
        }
    )
    _post(client, _fixture("events/fbmessenger_message.json"))
    _work(db)
    sent = [r["body"]["message"] for r in graph.requests]
    assert len(sent) == 2 and all(len(m["text"]) <= 2000 for m in sent)
    assert (
        "quick_replies" not in sent[0]
        and sent[1]["quick_replies"][0]["title"] == "More"
    )
    assert "".join(m["text"] for m in sent).count("option") == 30
