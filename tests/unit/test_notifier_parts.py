"""What every notifier does with a text before sending it (backend.notifiers):
cut it at its channel's limit; Telegram alone acknowledges a button press."""

from __future__ import annotations

from typing import Any

from backend.models import Channel
from backend.notifiers import (
    DeliveryError,
    LogNotifier,
    MessengerNotifier,
    TelegramNotifier,
    split,
)


def test_split_cuts_at_line_breaks_then_spaces_then_anywhere():
    assert split("one two\nthree four", 12) == ["one two", "three four"]
    assert split("one two three", 8) == ["one two", "three"]
    assert split("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert split("", 10) == []


def test_each_channel_has_its_own_limit_whoever_sends_it():
    text = ("word " * 1000).strip()  # 4999 characters
    for notifier in (LogNotifier(), MessengerNotifier("token", "http://graph")):
        parts = notifier.parts(Channel.MESSENGER, text)
        assert max(map(len, parts)) <= 2000 and len(parts) == 3
    assert len(LogNotifier().parts(Channel.TELEGRAM, text)) == 2
    for channel in (Channel.SMS, Channel.WHATSAPP):  # Twilio takes 1600 a body
        parts = LogNotifier().parts(channel, text)
        assert max(map(len, parts)) <= 1600 and len(parts) == 4
    assert len(LogNotifier().parts(Channel.WEBCHAT, text)) == 2  # the default 4096


class _Telegram(TelegramNotifier):
    def __init__(self, fail: bool = False) -> None:
        super().__init__("bot-token", "http://telegram")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((method, body))
        if self.fail:
            raise DeliveryError("Telegram 400: query is too old", code="400")
        return {}


def test_telegram_stops_the_spinner_of_a_pressed_button_only():
    telegram = _Telegram()
    telegram.acknowledge({"media": []})
    telegram.acknowledge({"callback_query_id": "q-1"})
    assert telegram.calls == [("answerCallbackQuery", {"callback_query_id": "q-1"})]
    _Telegram(fail=True).acknowledge({"callback_query_id": "q-2"})  # only logged
    LogNotifier().acknowledge({"callback_query_id": "q-3"})  # nothing to say
