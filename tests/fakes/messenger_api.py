"""A stand-in for Meta's Send API (``POST /{version}/me/messages``), on a real
port: answers ``{recipient_id, message_id}``, or a queued ``{"error": {...}}``,
and records each request."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import read_json, send_json

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
                body = read_json(self)
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
                            "message_id": f"{MESSAGE_ID}{len(fake.requests)}",
                        },
                    )
                )
                send_json(self, status, answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}/v21.0"
