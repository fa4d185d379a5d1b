"""A stand-in for the Telegram Bot API (``POST /bot<token>/<method>``), on a
real port: answers ``{"ok": true, "result": ...}`` as documented, or a queued
``{"ok": false, "error_code", "description"}``; records each call."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.http import read_json, send_json


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.failures: list[tuple[int, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                prefix = f"/bot{fake.token}/"
                body = read_json(self)
                if not self.path.startswith(prefix):
                    status, answer = (
                        404,
                        {"ok": False, "error_code": 404, "description": "Not Found"},
                    )
                elif fake.failures:
                    code, description = fake.failures.pop(0)
                    status = code
                    answer = {
                        "ok": False,
                        "error_code": code,
                        "description": description,
                    }
                else:
                    method = self.path[len(prefix) :]
                    fake.calls.append((method, body))
                    result = (
                        {
                            "message_id": 2000 + len(fake.calls),
                            "chat": {"id": body.get("chat_id")},
                            "date": 1763719300,
                            "text": body.get("text"),
                        }
                        if method == "sendMessage"
                        else True
                    )
                    status, answer = 200, {"ok": True, "result": result}
                send_json(self, status, answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
