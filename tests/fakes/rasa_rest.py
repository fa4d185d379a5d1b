"""A stand-in for the Rasa server's REST channel, on a real port.

Answers ``POST /webhooks/rest/webhook`` in the shape of
tests/fixtures/rasa/rest_channel.json (``recipient_id`` always present,
``buttons`` when given), from replies queued by the test; records what it
was sent. ``down()`` makes it answer 503, ``slow(seconds)`` makes it late.
``core``, when set, stands in for Rasa's dialogue core: called with each
message's body, it answers with the replies (e.g. what an action of the real
action server said, run on a tracker it builds).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class FakeRasa:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.replies: deque[list[dict]] = deque()
        self.default = [{"text": "Hi! Tell me what you need."}]
        self.failing = False
        self.delay = 0.0
        #: what NLU reads in the messages from now on (the tracker API says it)
        self.intent = "greet"
        #: the user events of each sender's tracker
        self.events: dict[str, list[dict]] = {}
        #: trackers replaced with PUT /conversations/<id>/tracker/events
        self.replaced: dict[str, list] = {}
        #: what answers a message instead of the queued replies (see above)
        self.core: Callable[[dict], list[dict]] | None = None
        self._server = None

    def start(self) -> FakeRasa:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def answer(self, *replies: dict) -> None:
        """Queue the replies for the next message."""
        self.replies.append(list(replies))

    def _app(self, environ, start_response):
        request = Request(environ)
        if request.method == "GET" and request.path.startswith("/conversations/"):
            # as Rasa's tracker API: the user events (what NLU read, the
            # metadata they came with) and the latest of them
            sender = request.path.removeprefix("/conversations/").removesuffix(
                "/tracker"
            )
            events = self.events.get(sender, [])
            tracker = {
                "sender_id": sender,
                "latest_message": events[-1]["parse_data"] if events else {},
                "events": None
                if request.args.get("include_events") == "NONE"
                else events,
            }
            return Response(json.dumps(tracker), mimetype="application/json")(
                environ, start_response
            )
        if request.method == "PUT" and request.path.endswith("/tracker/events"):
            if self.failing:
                return Response("unavailable", 503)(environ, start_response)
            sender = request.path.removeprefix("/conversations/").removesuffix(
                "/tracker/events"
            )
            self.replaced[sender] = request.get_json()
            tracker = {"sender_id": sender, "events": self.replaced[sender]}
            return Response(json.dumps(tracker), mimetype="application/json")(
                environ, start_response
            )
        if request.path != "/webhooks/rest/webhook" or request.method != "POST":
            return Response("not found", 404)(environ, start_response)
        if self.delay:
            time.sleep(self.delay)
        if self.failing:
            return Response("unavailable", 503)(environ, start_response)
        body = request.get_json()
        self.received.append(body)
        metadata = body.get("metadata") or {}
        self.events.setdefault(body["sender"], []).append(
            {
                "event": "user",
                "timestamp": time.time(),
                "text": body["message"],
                "parse_data": {
                    "intent": {"name": self.intent, "confidence": 0.98},
                    "entities": [],
                    "text": body["message"],
                    "message_id": f"{len(self.received):032x}",
                    "metadata": metadata,
                },
                "input_channel": "rest",
                "message_id": f"{len(self.received):032x}",
                "metadata": metadata,
            }
        )
        if self.core is not None:
            replies = self.core(body)
        else:
            replies = self.replies.popleft() if self.replies else self.default
        out = [{"recipient_id": body["sender"], **r} for r in replies]
        return Response(json.dumps(out), mimetype="application/json")(
            environ, start_response
        )
