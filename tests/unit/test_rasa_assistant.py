"""Rasa's answers read as replies and intents (backend.conversation.assistant)."""

from __future__ import annotations

from backend.conversation.assistant import intents_in, replies_of


def test_replies_keep_texts_buttons_and_the_end_of_a_conversation():
    replies = replies_of(
        [
            {"recipient_id": "a", "text": "Which city?"},
            "not a dict",
            {"recipient_id": "a", "buttons": [{"title": "Yes", "payload": "/yes"}, 3]},
            {"recipient_id": "a", "custom": {"end_conversation": True}},
        ]
    )
    assert [r.text for r in replies] == ["Which city?", ""]
    assert replies[1].buttons == [{"title": "Yes", "payload": "/yes"}]
    assert [r.end for r in replies] == [False, True]
    assert [r.end for r in replies_of([{"custom": {"end_conversation": True}}])] == [
        True
    ]


def test_intents_are_those_of_our_messages_only():
    events = [
        {
            "event": "user",
            "metadata": {"beckon_id": 7},
            "parse_data": {"intent": {"name": "greet"}},
        },
        {"event": "user", "metadata": {"beckon_id": 8}, "parse_data": {"intent": {}}},
        {
            "event": "user",
            "metadata": {"beckon_id": 9},
            "parse_data": {"intent": {"name": "other"}},
        },
        {"event": "bot", "metadata": {"beckon_id": 7}},
        "junk",
    ]
    assert intents_in(events, {7, 8}) == {7: "greet"}
    assert intents_in("not a list", {7}) == {}
