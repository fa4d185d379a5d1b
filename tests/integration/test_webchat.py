"""The web chat page and its endpoint: a signed visitor token, Rasa's REST
shape in and out, the same conversation records as every channel (Rasa stood
in at its REST boundary)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backend.config import Config
from backend.models import ChannelIdentity, Direction, Message
from tests.helpers import config_for_test


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa) -> Config:
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        SECRET_KEY="webchat-test-secret",
        RASA_URL=rasa.url,
    )


def _token(client) -> str:
    page = client.get("/chat")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/webhooks/webchat" in html
    return re.search(r'\|\| "([^"]+)"', html)[1]


def _count(db, **where) -> int:
    db.rollback()
    query = select(func.count()).select_from(Message)
    for key, value in where.items():
        query = query.where(getattr(Message, key) == value)
    return db.scalar(query)


def test_a_visitor_talks_to_the_assistant_in_rasa_s_rest_shape(client, db, rasa):
    token = _token(client)
    rasa.answer(
        {"text": "Which city?", "buttons": [{"title": "Online", "payload": "online"}]}
    )
    response = client.post(
        "/webhooks/webchat",
        json={"sender": token, "message": "I need a tarot reading", "message_id": "a1"},
    )
    assert response.status_code == 200
    [reply] = response.get_json()
    visitor = reply["recipient_id"]
    assert visitor.startswith("web-")
    assert reply["text"] == "Which city?"
    assert reply["buttons"] == [{"title": "Online", "payload": "online"}]
    assert rasa.received[-1]["sender"] == visitor
    assert rasa.received[-1]["metadata"]["channel"] == "webchat"
    identity = db.scalars(select(ChannelIdentity)).one()
    assert (identity.channel.value, identity.external_id) == ("webchat", visitor)
    assert _count(db, direction=Direction.IN) == 1
    assert _count(db, direction=Direction.OUT) == 1


def test_a_retried_post_is_answered_once(client, db, rasa):
    token = _token(client)
    body = {"sender": token, "message": "hello", "message_id": "same"}
    first = client.post("/webhooks/webchat", json=body).get_json()
    again = client.post("/webhooks/webchat", json=body).get_json()
    assert first == again and len(rasa.received) == 1
    assert _count(db) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sender": "web-forged", "message": "hi"}, 403),
        ({"message": "hi"}, 403),
        ({"sender": "TOKEN", "message": "  "}, 400),
        ({"sender": "TOKEN", "message": "x" * 2001}, 422),
    ],
)
def test_bad_posts_get_a_clear_error_and_write_nothing(client, db, rasa, body, status):
    token = _token(client)
    body = {k: (token if v == "TOKEN" else v) for k, v in body.items()}
    response = client.post("/webhooks/webchat", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert rasa.received == [] and _count(db) == 0


def test_a_token_signed_with_another_key_is_refused(app, client, db):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("another-key", salt="webchat").dumps("web-x")
    response = client.post(
        "/webhooks/webchat", json={"sender": forged, "message": "hi"}
    )
    assert response.status_code == 403


# ---------------------------------------------------------------- tokens


def _expired_token(monkeypatch, visitor: str = "web-0123456789abcdef01234567") -> str:
    """A token this server signed 31 days ago."""
    import time

    from itsdangerous import TimestampSigner

    from webhooks import webchat

    signed_at = int(time.time()) - (webchat.TOKEN_DAYS + 1) * 86400
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        return webchat.visitor_token(visitor)


def test_each_answer_renews_the_token_so_an_active_visitor_keeps_it(
    app, client, db, rasa
):
    from webhooks.webchat import visitor_of

    token = _token(client)
    response = client.post("/webhooks/webchat", json={"sender": token, "message": "hi"})
    renewed = response.headers["X-Visitor-Token"]
    visitor = response.get_json()[0]["recipient_id"]
    with app.test_request_context():
        assert visitor_of(renewed) == visitor
    again = client.post("/webhooks/webchat", json={"sender": renewed, "message": "yo"})
    assert again.status_code == 200
    assert {m["sender"] for m in rasa.received} == {visitor}


def test_an_expired_token_is_refused_and_the_page_gets_a_fresh_one(
    app, client, db, rasa, monkeypatch
):
    with app.test_request_context():
        old = _expired_token(monkeypatch)
    refused = client.post("/webhooks/webchat", json={"sender": old, "message": "hi"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "bad_visitor_token"
    assert "/webhooks/webchat/token" in refused.get_json()["error"]["message"]
    assert rasa.received == [] and _count(db) == 0
    fresh = client.post("/webhooks/webchat/token")
    assert fresh.status_code == 200
    token = fresh.get_json()["token"]
    answered = client.post("/webhooks/webchat", json={"sender": token, "message": "hi"})
    assert answered.status_code == 200 and _count(db) == 2


def test_the_page_asks_for_a_fresh_token_when_refused_and_polls_its_outbox():
    """The page's script does what the endpoints expect of it."""
    from pathlib import Path

    page = (
        Path(__file__).resolve().parents[2] / "webhooks/templates/chat.html"
    ).read_text()
    assert "r.status === 403 && !retried" in page
    assert "url_for('webhooks.webchat_token')" in page
    assert "url_for('webhooks.webchat_outbox')" in page
    assert 'r.headers.get("X-Visitor-Token")' in page


def test_minting_tokens_is_limited_per_address(client, db):
    from webhooks.webchat import TOKENS_PER_ADDRESS

    allowed = int(TOKENS_PER_ADDRESS.split()[0])
    statuses = [client.get("/chat").status_code for _ in range(allowed // 2)]
    statuses += [
        client.post("/webhooks/webchat/token").status_code
        for _ in range(allowed - allowed // 2 + 1)
    ]
    assert statuses[:allowed] == [200] * allowed
    assert statuses[allowed] == 429
    limited = client.post("/webhooks/webchat/token")
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    # another address is not held back
    other = client.get("/chat", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 200


def test_posting_is_limited_per_visitor(client, db, rasa):
    from webhooks.webchat import POSTS_PER_VISITOR

    allowed = int(POSTS_PER_VISITOR.split()[0])
    token = _token(client)
    statuses = [
        client.post(
            "/webhooks/webchat", json={"sender": token, "message": f"hi {n}"}
        ).status_code
        for n in range(allowed + 1)
    ]
    assert statuses == [200] * allowed + [429]
    assert len(rasa.received) == allowed
    other = _token(client)  # another visitor on the same address still talks
    assert (
        client.post(
            "/webhooks/webchat", json={"sender": other, "message": "hello"}
        ).status_code
        == 200
    )


# ---------------------------------------------------------------- the outbox


def _outbox(client, token, after=0):
    response = client.post(
        "/webhooks/webchat/outbox", json={"sender": token, "after": after}
    )
    assert response.status_code == 200, response.data
    return response.get_json()["messages"]


def test_a_person_who_took_over_reaches_the_page_through_its_outbox(
    app, client, db, rasa
):
    """Taken over: the visitor's words are held (no assistant), the admin's
    reply is queued, the page's poll shows it and it is delivered then."""
    from backend.models import Conversation
    from backend.services.conversations import console_reply, take_over
    from tests.helpers import make_admin

    token = _token(client)
    client.post("/webhooks/webchat", json={"sender": token, "message": "hello"})
    admin = make_admin(db)
    conversation = db.scalars(select(Conversation)).one()
    take_over(db, conversation.id, admin.id)
    db.commit()
    held = client.post(
        "/webhooks/webchat", json={"sender": token, "message": "is anyone there?"}
    )
    assert held.status_code == 200 and held.get_json() == []
    assert len(rasa.received) == 1  # not asked
    db.rollback()
    kept = db.scalars(select(Message).where(Message.text == "is anyone there?")).one()
    assert kept.status == "held"
    assert _outbox(client, token) == []

    reply = console_reply(db, conversation.id, admin.id, "Hi, I'm Sam from Beckon.")
    db.commit()
    from backend import tasks

    assert tasks.send_console_reply(reply.id) == "queued"  # waits for the page
    shown = _outbox(client, token)
    assert [(m["id"], m["text"]) for m in shown] == [
        (reply.id, "Hi, I'm Sam from Beckon.")
    ]
    db.rollback()
    db.expire_all()
    assert db.get(Message, reply.id).delivery_status == "delivered"
    assert _outbox(client, token, after=reply.id) == []
    # a poll whose answer was lost asks again from where it was: shown again
    assert [m["id"] for m in _outbox(client, token)] == [reply.id]


def test_the_outbox_is_the_visitor_s_own(app, client, db, rasa):
    from backend.models import Conversation
    from backend.services.conversations import console_reply, take_over
    from tests.helpers import make_admin

    mine, theirs = _token(client), _token(client)
    client.post("/webhooks/webchat", json={"sender": mine, "message": "hello"})
    admin = make_admin(db)
    conversation = db.scalars(select(Conversation)).one()
    take_over(db, conversation.id, admin.id)
    console_reply(db, conversation.id, admin.id, "For you only")
    db.commit()
    assert _outbox(client, theirs) == []
    refused = client.post("/webhooks/webchat/outbox", json={"sender": "web-x"})
    assert refused.status_code == 403
    bad = client.post("/webhooks/webchat/outbox", json={"sender": mine, "after": "1"})
    assert bad.status_code == 422
    assert [m["text"] for m in _outbox(client, mine)] == ["For you only"]
