"""A stand-in for Twilio's Messages API at its HTTP boundary.

It answers ``POST`` and ``GET /2010-04-01/Accounts/{Sid}/Messages.json`` with
the shapes Twilio documents (the Message resource, its list page, and the
error body ``{code, message, more_info, status}``), checks HTTP basic auth,
and keeps every message it accepted. Tests steer it: a slow answer, numbers
that unsubscribed (error 21610), or a number of 500s before success.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import send_json

API_PREFIX = "/2010-04-01/Accounts/"


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    delay_seconds: float = 0.0
    unsubscribed: set[str] = field(default_factory=set)
    fail_next: int = 0  # answer this many creates with a 500 first
    messages: list[dict[str, Any]] = field(default_factory=list)
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # ------------------------------------------------------------ handling

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        expected = f"{API_PREFIX}{self.account_sid}/Messages.json"
        if parts.path != expected:
            return send_json(
                request, 404, _error(20404, "The requested resource was not found", 404)
            )
        if not self._authorised(request):
            return send_json(request, 401, _error(20003, "Authenticate", 401))
        if method == "GET":
            return self._list(request, parse_qs(parts.query))
        length = int(request.headers.get("Content-Length") or 0)
        form = {
            k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()
        }
        with self.lock:
            self.posts += 1
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
        if failing:
            return send_json(request, 500, _error(20500, "Internal Server Error", 500))
        to = form.get("To", "")
        if not to or not form.get("Body"):
            return send_json(
                request, 400, _error(21602, "Message body is required.", 400)
            )
        if to in self.unsubscribed:
            return send_json(
                request,
                400,
                _error(21610, "Attempt to send to unsubscribed recipient", 400),
            )
        message = self._message(form)
        with self.lock:
            self.messages.append(message)  # accepted: it exists even if we answer late
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        send_json(request, 201, message)

    def _authorised(self, request: BaseHTTPRequestHandler) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == self.account_sid and password == self.auth_token

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        uri = f"{API_PREFIX}{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": form["To"],
            "uri": uri,
        }

    def _list(
        self, request: BaseHTTPRequestHandler, query: dict[str, list[str]]
    ) -> None:
        to = query.get("To", [None])[0]
        sender = query.get("From", [None])[0]
        size = int(query.get("PageSize", ["50"])[0])
        with self.lock:
            found = [
                m
                for m in reversed(self.messages)  # newest first, as Twilio lists
                if (to is None or m["to"] == to)
                and (sender is None or m["from"] == sender)
            ][:size]
        uri = f"{API_PREFIX}{self.account_sid}/Messages.json?PageSize={size}&Page=0"
        send_json(
            request,
            200,
            {
                "end": max(len(found) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "messages": found,
                "start": 0,
                "uri": uri,
            },
        )


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
