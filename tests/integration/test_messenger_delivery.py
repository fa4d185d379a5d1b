"""The Messenger notifier against a stand-in for the Send API (its HTTP shapes:
``{recipient_id, message_id}`` on success, ``{"error": {...}}`` on failure)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from backend.models import Channel
from backend.notifiers import DeliveryError, MessengerNotifier, Outgoing

TOKEN = "page-access-token"
PSID = "6543210987654321"
MESSAGE_ID = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fpl"


class FakeSendApi:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": parts.path, "query": parse_qs(parts.query), "body": body}
                )
                status, answer = (
                    fake.answers.pop(0)
                    if fake.answers
                    else (
                        200,
                        {
                            "recipient_id": PSID,
                            "message_id": MESSAGE_ID,
                        },
                    )
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}/v21.0"


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
