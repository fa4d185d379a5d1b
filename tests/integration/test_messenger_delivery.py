"""The Messenger notifier against a stand-in for the Send API (its HTTP shapes:
``{recipient_id, message_id}`` on success, ``{"error": {...}}`` on failure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.models import Channel
from backend.notifiers import DeliveryError, MessengerNotifier, Outgoing
from tests.fakes.messenger_api import PSID, FakeSendApi

TOKEN = "page-access-token"


@pytest.fixture
def graph():
    fake = FakeSendApi()
    yield fake
    fake.server.shutdown()


def _message(tag=None) -> Outgoing:
    return Outgoing(
        Channel.MESSENGER, PSID, "Booked: Reyes Plumbing", "k1", datetime.now(UTC), tag
    )


def test_inside_the_window_a_response_outside_it_a_tagged_update(graph):
    notifier = MessengerNotifier(TOKEN, graph.url)
    receipt = notifier.send(_message())
    assert receipt.external_id.startswith("m_")
    first = graph.requests[0]
    assert first["path"] == "/v21.0/me/messages"
    assert first["query"] == {"access_token": [TOKEN]}
    assert first["body"] == {
        "recipient": {"id": PSID},
        "message": {"text": "Booked: Reyes Plumbing"},
        "messaging_type": "RESPONSE",
    }
    notifier.send(_message(tag="CONFIRMED_EVENT_UPDATE"))
    tagged = graph.requests[1]["body"]
    assert tagged["messaging_type"] == "MESSAGE_TAG"
    assert tagged["tag"] == "CONFIRMED_EVENT_UPDATE"


def test_errors_say_whether_to_try_again(graph):
    notifier = MessengerNotifier(TOKEN, graph.url)
    graph.answers.append(
        (
            400,
            {
                "error": {
                    "message": "(#10) This message is sent outside of allowed window.",
                    "type": "OAuthException",
                    "code": 10,
                    "error_subcode": 2018278,
                    "fbtrace_id": "AbCdEf",
                }
            },
        )
    )
    with pytest.raises(DeliveryError) as outside:
        notifier.send(_message())
    assert outside.value.permanent and "allowed window" in str(outside.value)
    graph.answers.append(
        (500, {"error": {"message": "An unexpected error has occurred.", "code": 2}})
    )
    with pytest.raises(DeliveryError) as hiccup:
        notifier.send(_message())
    assert not hiccup.value.permanent
    assert notifier.find_sent(_message()) is None  # the Send API cannot be asked
