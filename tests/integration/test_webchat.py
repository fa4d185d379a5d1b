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
