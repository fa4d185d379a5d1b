"""Telegram through its webhook: updates checked by the secret token, taken
once by update_id, answered from a task with sendMessage and an inline
keyboard (a stand-in at the Bot API's and Rasa's HTTP boundaries);
``beckon telegram set-webhook`` registers the URL and the secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.config import Config
from backend.models import Customer, Direction, Message
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import config_for_test

UPDATES = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "telegram_updates.json").read_text()
)
BOT_TOKEN, SECRET = "123456:ABC-test-token", "telegram-secret-token"


@pytest.fixture
def bot_api():
    fake = FakeTelegram(BOT_TOKEN)
    yield fake
    fake.stop()


@pytest.fixture
def config(database_url, tmp_path, model_cache, rasa, bot_api) -> Config:
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        RASA_URL=rasa.url,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_SECRET_TOKEN=SECRET,
        TELEGRAM_API_BASE_URL=bot_api.url,
    )


def _post(client, update, secret=SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)


def _work(db, chat="1111111"):
    from backend import tasks

    db.rollback()
    waiting = db.scalars(
        select(Message.id).where(
            Message.direction == Direction.IN, Message.status == "received"
        )
    ).all()
    for message_id in waiting:
        tasks.answer_message(message_id, chat)
    db.rollback()


def _count(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Message))


def test_a_message_is_answered_with_an_inline_keyboard(client, db, rasa, bot_api):
    rasa.answer(
        {
            "text": "Which one would you like?",
            "buttons": [
                {"title": "1. Ana Plumbing", "payload": '/choose_option{"option":"7"}'},
                {"title": "More", "payload": "/ask_more"},
            ],
        }
    )
    response = _post(client, UPDATES["text_message"])
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    assert bot_api.calls == []  # answered from the task
    _work(db)
    assert rasa.received[-1]["sender"] == "1111111"
    metadata = rasa.received[-1]["metadata"]
    assert (metadata["channel"], metadata["locale"]) == ("telegram", "en")
    method, body = bot_api.calls[-1]
    assert method == "sendMessage"
    assert body == {
        "chat_id": "1111111",
        "text": "Which one would you like?",
        "reply_markup": {
            "inline_keyboard": [
                [
                    {
                        "text": "1. Ana Plumbing",
                        "callback_data": '/choose_option{"option":"7"}',
                    }
                ],
                [{"text": "More", "callback_data": "/ask_more"}],
            ]
        },
    }
    customer = db.scalars(select(Customer)).one()
    assert customer.display_name == "Dana Ortiz" and customer.locale == "en"
    out = db.scalars(select(Message).where(Message.direction == Direction.OUT)).one()
    assert out.status == "sent" and out.external_id == "2001"


def test_a_button_press_sends_its_payload_and_stops_the_spinner(
    client, db, rasa, bot_api
):
    assert _post(client, UPDATES["callback_query"]).status_code == 200
    _work(db)
    assert rasa.received[-1]["message"] == '/choose_option{"option":"7"}'
    methods = [m for m, _ in bot_api.calls]
    assert methods == ["answerCallbackQuery", "sendMessage"]
    assert bot_api.calls[0][1] == {"callback_query_id": "4382bfdwdsb323b2d9"}


def test_a_redelivered_update_is_one_message_and_one_answer(client, db, rasa, bot_api):
    for _ in range(3):
        assert _post(client, UPDATES["text_message"]).status_code == 200
    _work(db)
    _work(db)
    assert len(rasa.received) == 1
    assert [m for m, _ in bot_api.calls] == ["sendMessage"]
    assert _count(db) == 2


@pytest.mark.parametrize("secret", ["", "not-the-secret"])
def test_an_update_without_the_secret_is_refused_and_writes_nothing(
    client, db, rasa, secret
):
    response = _post(client, UPDATES["text_message"], secret=secret)
    assert response.status_code == 403
    assert _count(db) == 0


def test_other_updates_and_bodies_we_cannot_use_are_acknowledged_and_ignored(
    client, db
):
    """Telegram retries anything but a 2xx: a verified body we cannot use is
    answered 200 and dropped."""
    for body in (
        UPDATES["edited_message"],
        {"message": {"text": "hi"}},  # no update_id
        {"update_id": "7", "message": {"text": "hi"}},
        {"update_id": 7, "message": {"text": "hi", "chat": "1111111"}},
        [UPDATES["text_message"]],
    ):
        assert _post(client, body).status_code == 200, body
    assert _count(db) == 0


@pytest.mark.parametrize(
    "media",
    [
        {
            "photo": [
                {"file_id": "AgAD-small", "file_unique_id": "s", "width": 90},
                {"file_id": "AgAD-large", "file_unique_id": "l", "width": 1280},
            ]
        },
        {
            "voice": {
                "file_id": "AwAD-voice",
                "file_unique_id": "v",
                "duration": 3,
                "mime_type": "audio/ogg",
            }
        },
        {
            "sticker": {
                "file_id": "CAAD-sticker",
                "file_unique_id": "k",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        },
    ],
    ids=["photo", "voice", "sticker"],
)
def test_a_message_without_words_is_kept_and_answered_without_the_assistant(
    client, db, rasa, bot_api, media
):
    from backend.services import inbound

    message = {k: v for k, v in UPDATES["text_message"]["message"].items()}
    del message["text"]
    update = {"update_id": 864100099, "message": {**message, **media}}
    assert _post(client, update).status_code == 200
    _work(db)
    assert rasa.received == []
    [(method, body)] = bot_api.calls
    assert body["text"] == inbound.text("text_only", "en")
    db.rollback()
    kept = db.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    [kind] = media
    [item] = kept.payload["media"]
    assert item["type"] == kind and item["file_id"].endswith(
        "large" if kind == "photo" else kind
    )


def test_a_photo_with_a_caption_sends_the_caption(client, db, rasa, bot_api):
    message = dict(UPDATES["text_message"]["message"])
    del message["text"]
    message |= {"photo": [{"file_id": "AgAD-1", "file_unique_id": "u"}]}
    message["caption"] = "this leak under the sink"
    _post(client, {"update_id": 864100100, "message": message})
    _work(db)
    assert rasa.received[-1]["message"] == "this leak under the sink"


def test_a_bot_api_hiccup_is_retried_and_sent_once(client, db, rasa, bot_api):
    from backend import tasks

    bot_api.failures.append((429, "Too Many Requests: retry after 1"))
    _post(client, UPDATES["text_message"])
    db.rollback()
    message_id = db.scalar(select(Message.id).where(Message.direction == Direction.IN))
    with pytest.raises(ConnectionError):
        tasks.answer_message(message_id, "1111111")
    assert tasks.answer_message(message_id, "1111111") == 1
    assert [m for m, _ in bot_api.calls] == ["sendMessage"]
    assert len(rasa.received) == 1


def test_a_blocked_bot_marks_the_reply_failed(client, db, rasa, bot_api):
    bot_api.failures.append((403, "Forbidden: bot was blocked by the user"))
    _post(client, UPDATES["text_message"])
    _work(db)
    out = db.scalars(select(Message).where(Message.direction == Direction.OUT)).one()
    assert out.status == "failed" and out.error_code == "403"


def test_set_webhook_registers_the_public_url_and_the_secret(bot_api, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "BECKON_DATA_DIR": str(tmp_path / "var"),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_SECRET_TOKEN": SECRET,
        "TELEGRAM_API_BASE_URL": bot_api.url,
        "BECKON_PUBLIC_URL": "https://beckon.example.com",
    }
    beckon = str(Path(sys.executable).parent / "beckon")
    done = subprocess.run(
        [beckon, "telegram", "set-webhook"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert bot_api.calls == [
        (
            "setWebhook",
            {
                "url": "https://beckon.example.com/webhooks/telegram",
                "secret_token": SECRET,
                "allowed_updates": ["message", "callback_query"],
            },
        )
    ]
    insecure = subprocess.run(
        [beckon, "telegram", "set-webhook", "--url", "http://example.com/hook"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert insecure.returncode != 0 and "https" in insecure.stderr
