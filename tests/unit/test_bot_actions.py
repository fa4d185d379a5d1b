"""The assistant's custom actions, as Rasa's reference bots test them: each
action's ``run`` awaited on a tracker loaded from JSON (tests/fixtures/trackers)
with a CollectingDispatcher, the backend's REST API stood in at its HTTP
boundary.

rasa_sdk lives in the bot's own environment (Rasa 3.6 pins what the main one
cannot have), so the actions run there (tests/bot/run_actions.py) while the
stand-in API runs here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.http import read_json, send_json

REPO = Path(__file__).resolve().parents[2]
BOT_PYTHON = REPO / "bot" / ".venv" / "bin" / "python"

pytestmark = [
    pytest.mark.bot,
    pytest.mark.skipif(
        not BOT_PYTHON.exists(), reason="the bot's environment: make bot-install"
    ),
]

ANA = {"id": 1, "display_name": "Ana"}
BEN = {"id": 2, "display_name": "Ben"}
CUSTOMERS = {"+13125550101": ANA, "+13125550102": BEN}
ANAS_BOOKING = {
    "id": 42,
    "customer_id": 1,
    "provider_name": "Reyes Plumbing",
    "status": "confirmed",
    "start": "2026-11-26T15:00:00Z",
    "local_start": "2026-11-26T09:00:00-06:00",
    "remote": False,
}


class FakeBeckonApi:
    """Beckon's /api/v1, as much of it as the actions here call, on a real port."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        #: each request's Idempotency-Key: (method, path, key or None)
        self.keys: list[tuple[str, str, str | None]] = []
        #: each call's path and the person it named (Beckon-Identity)
        self.identities: list[tuple[str, str | None]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api.answer(self, "GET", None)

            def do_POST(self) -> None:
                api.answer(self, "POST", read_json(self))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, request: BaseHTTPRequestHandler, method: str, body: Any) -> None:
        path = request.path.split("?")[0].removeprefix("/api/v1")
        self.requests.append((method, path, body))
        self.keys.append((method, path, request.headers.get("Idempotency-Key")))
        self.identities.append((path, request.headers.get("Beckon-Identity")))
        if request.headers.get("Authorization") != "Bearer test-key":
            return send_json(request, 401, {"error": {"code": "unauthorized"}})
        if path == "/customers/identify":
            customer = CUSTOMERS.get(body["external_id"])
            if customer is None:  # the backend fails for this one
                return send_json(request, 503, {"error": {"code": "unavailable"}})
            return send_json(request, 200, customer)
        if match := re.fullmatch(r"/customers/(\d+)/bookings", path):
            mine = [b for b in [ANAS_BOOKING] if b["customer_id"] == int(match[1])]
            return send_json(request, 200, {"items": mine})
        if path == "/bookings/42":
            return send_json(request, 200, ANAS_BOOKING)
        if re.fullmatch(r"/customers/\d+/handoff", path):
            return send_json(request, 200, {"handoff": True})
        if path == "/customers/1/phone-link" and body["phone"].startswith("+44"):
            reason = "Beckon texts codes only to numbers in United States"
            error = {
                "code": "phone_country_not_served",
                "message": reason,
                "details": [{"field": "phone", "message": reason}],
            }
            return send_json(request, 422, {"error": error})
        if path == "/bookings/42/cancel":
            return send_json(request, 200, ANAS_BOOKING | {"status": "cancelled"})
        error = {"code": "not_found", "message": f"no {path}", "details": None}
        return send_json(request, 404, {"error": error})

    def __enter__(self) -> FakeBeckonApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


CASES = [
    ("actions.status.BookingStatus", "status_one_booking"),
    ("actions.status.BookingStatus", "status_no_bookings"),
    ("actions.status.BookingStatus", "status_someone_elses_booking"),
    ("actions.status.BookingStatus", "status_backend_down"),
    ("actions.human.HandOff", "hand_off"),
    ("actions.cancel.CancelBooking", "cancel_confirmed"),
    ("actions.phone.ValidateLinkPhoneForm", "check_in_from_a_phone"),
]
#: cases that call a form's validator of one slot with a value
VALIDATES = {
    ("actions.phone.ValidateLinkPhoneForm", "check_in_from_a_phone"): {
        "slot": "phone",
        "value": "+44 20 7946 0958",
    },
}


@pytest.fixture(scope="module")
def ran() -> tuple[dict[tuple[str, str], dict], list, list]:
    """Every case run in one start of the bot's Python (rasa_sdk takes a while
    to import), with what the API was asked."""
    with FakeBeckonApi() as api:
        env = os.environ | {
            "BECKON_API_URL": api.url,
            "BECKON_API_KEY": "test-key",
            "BECKON_API_TIMEOUT": "5",
            "PYTHONPATH": str(REPO / "bot"),
        }
        cases = [
            {"action": a, "tracker": t, **VALIDATES.get((a, t), {})} for a, t in CASES
        ]
        result = subprocess.run(
            [str(BOT_PYTHON), str(REPO / "tests" / "bot" / "run_actions.py")],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO / "bot",
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    results = dict(zip(CASES, json.loads(result.stdout), strict=True))
    return results, api.requests, api.identities, api.keys


def said(ran, action: str, tracker: str) -> list[str]:
    return [m["text"] for m in ran[0][(action, tracker)]["messages"]]


def test_status_describes_the_one_live_booking(ran):
    assert said(ran, "actions.status.BookingStatus", "status_one_booking") == [
        "Booking #42 with Reyes Plumbing on Thu Nov 26 at 9:00 is confirmed."
    ]
    assert (
        ran[0][("actions.status.BookingStatus", "status_one_booking")]["events"] == []
    )


def test_status_with_no_bookings_invites_a_request(ran):
    assert said(ran, "actions.status.BookingStatus", "status_no_bookings") == [
        "You have no bookings yet. Tell me what you need and I'll find someone."
    ]


def test_status_never_shows_someone_elses_booking(ran):
    assert said(
        ran, "actions.status.BookingStatus", "status_someone_elses_booking"
    ) == ["I can't find booking #42 on your account."]


def test_a_backend_failure_is_a_sentence_not_silence(ran):
    assert said(ran, "actions.status.BookingStatus", "status_backend_down") == [
        "Sorry, I can't reach our booking system right now. "
        "Please try again in a few minutes; nothing has been booked or changed."
    ]


def test_hand_off_flags_the_conversation_on_its_channel(ran):
    assert said(ran, "actions.human.HandOff", "hand_off") == [
        "I've asked a person from our team to join. They'll reply right here."
    ]
    handoffs = [r for r in ran[1] if r[1].endswith("/handoff")]
    assert handoffs == [
        (
            "POST",
            "/customers/1/handoff",
            {"channel": "whatsapp", "reason": "can I talk to a real person please"},
        )
    ]


def test_a_change_carries_its_messages_key_so_a_second_run_changes_nothing(ran):
    """Issue 18, item 9: the inbound message's id (``beckon_id`` in its
    metadata) goes with each side-effecting call as an Idempotency-Key, one
    per call; finding the customer and reading carry none."""
    assert said(ran, "actions.cancel.CancelBooking", "cancel_confirmed") == [
        "Booking #42 is cancelled. The provider has been told."
    ]
    keys = ran[3]
    assert (
        "POST",
        "/bookings/42/cancel",
        "beckon-message-314:POST:/bookings/42/cancel",
    ) in keys
    assert (
        "POST",
        "/customers/1/handoff",
        "beckon-message-77:POST:/customers/1/handoff",
    ) in keys
    assert {key for method, path, key in keys if path == "/customers/identify"} == {
        None
    }
    assert {key for method, _, key in keys if method == "GET"} == {None}


def test_every_call_names_the_person_it_is_for(ran):
    """The assistant's key acts only for the person named in each call: the
    channel and sender of the message being answered (every call these
    actions make is about someone)."""
    named = dict(ran[2])
    assert named["/customers/1/handoff"] == "whatsapp:+13125550101"
    assert named["/customers/1/bookings"] == "sms:+13125550101"
    assert all(person for _, person in ran[2])


def test_a_number_in_a_country_not_texted_is_refused_without_a_country_code_hint(
    ran,
):
    """Issue 18, item 1: the refusal says which countries are texted; the hint
    about writing a country code (which the number has) is not given."""
    case = ("actions.phone.ValidateLinkPhoneForm", "check_in_from_a_phone")
    (told,) = said(ran, *case)
    assert "only to numbers in United States" in told
    assert "country code" not in told
    assert ran[0][case]["events"] == {"phone": None}
