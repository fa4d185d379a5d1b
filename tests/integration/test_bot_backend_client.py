"""The assistant's API client (bot/actions/beckon_api.py) against the real API on
a real port: values on success, and on failure a typed error with a sentence
a person can be told."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.helpers import days_ahead, local, make_provider

# the bot's client runs in the bot's environment; it needs only requests
_PATH = Path(__file__).resolve().parents[2] / "bot" / "actions" / "beckon_api.py"
_spec = importlib.util.spec_from_file_location("beckon_api", _PATH)
beckon_api = sys.modules["beckon_api"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(beckon_api)
Backend, BackendUnavailable = beckon_api.Backend, beckon_api.BackendUnavailable
Conflict, Invalid, NotFound = (
    beckon_api.Conflict,
    beckon_api.Invalid,
    beckon_api.NotFound,
)


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_books_and_reports_refusals_in_words(live, api_token, db):
    provider = make_provider(db)
    client = Backend(url=live, key=api_token, timeout=10)
    customer = client.identify("sms", "+13125550166")
    found = client.matches("water dripping under my kitchen sink", city="Chicago")
    assert [m["provider"]["id"] for m in found["matches"]] == [provider.id]
    start = local(days_ahead(3), 10).isoformat()
    booking = client.book(provider.id, customer["id"], start, channel="sms")
    assert booking["status"] == "confirmed"
    assert client.booking(booking["id"])["id"] == booking["id"]
    assert [b["id"] for b in client.bookings_of(customer["id"])] == [booking["id"]]

    with pytest.raises(Conflict) as taken:
        client.book(provider.id, customer["id"], start)
    assert taken.value.code == "slot_taken"
    assert taken.value.say.startswith("That didn't work: ")

    client.act(booking["id"], "cancel", actor="customer", reason="plans changed")
    with pytest.raises(Conflict) as again:
        client.act(booking["id"], "cancel", actor="customer")
    assert "cancelled" in again.value.say

    with pytest.raises(NotFound) as missing:
        client.booking(999_999)
    assert "booking 999999 not found" in missing.value.say

    past = local(days_ahead(-1), 10).isoformat()
    with pytest.raises(Invalid) as invalid:
        client.book(provider.id, customer["id"], past)
    assert "past" in invalid.value.say


def test_a_backend_that_is_down_or_refuses_our_key_is_one_clear_sentence(live):
    down = Backend(url=f"http://127.0.0.1:{_free_port()}", key="x", timeout=2)
    with pytest.raises(BackendUnavailable) as unreachable:
        down.booking(1)
    assert "can't reach our booking system" in unreachable.value.say
    assert "nothing has been booked" in unreachable.value.say

    wrong_key = Backend(url=live, key="bk_wrong_key", timeout=5)
    with pytest.raises(BackendUnavailable):
        wrong_key.booking(1)


def test_a_chat_links_a_phone_written_as_a_national_number(live, api_token, app):
    """A chat's "link my phone 415 286 4371": the assistant sends the number
    as written and the backend reads it; what is not a number comes back
    with why."""
    client = Backend(url=live, key=api_token, timeout=10)
    visitor = client.identify("webchat", "visitor-415")
    with pytest.raises(Invalid) as short:
        client.start_phone_link(visitor["id"], "555 12")
    assert short.value.details == [
        {"field": "phone", "message": "'555 12' is too short to be a phone number"}
    ]
    sent = app.extensions["beckon.notifiers"].log.sent
    assert not sent
    assert client.start_phone_link(visitor["id"], "415 286 4371")["status"] == (
        "code_sent"
    )
    assert sent[-1]["to"] == "+14152864371"
    code = sent[-1]["body"].split("code is ")[1][:6]
    linked = client.confirm_phone_link(visitor["id"], "415 286 4371", code)
    assert linked["phone"] == "+14152864371"


def test_the_assistants_key_acts_for_the_person_it_answers(live, config, db):
    """The action server's key (the assistant scope, as `beckon run` makes
    it) does the actions' calls for the person named, and finds nothing of
    anyone else's."""
    from backend.assistant import assistant_key

    provider = make_provider(db)
    key = assistant_key(config)
    shared = Backend(url=live, key=key, timeout=60)  # the first match loads the model
    ana = shared.acting_for("sms", "+13125550166")
    customer = ana.identify("sms", "+13125550166")
    assert shared.categories() and shared.provider(provider.id)["id"] == provider.id
    found = ana.matches(
        "a leak under the sink", city="Chicago", customer_id=customer["id"]
    )
    assert [m["provider"]["id"] for m in found["matches"]] == [provider.id]
    start = local(days_ahead(3), 10).isoformat()
    booking = ana.book(provider.id, customer["id"], start, channel="sms")
    assert [b["id"] for b in ana.bookings_of(customer["id"])] == [booking["id"]]
    assert ana.booking(booking["id"])["status"] == "confirmed"
    assert shared.provider_slots(
        provider.id, start, local(days_ahead(4), 10).isoformat()
    )
    ana.handoff(customer["id"], "sms", "wants a person")

    ben = shared.acting_for("sms", "+13125550167")
    ben.identify("sms", "+13125550167")
    with pytest.raises(NotFound) as not_his:
        ben.act(booking["id"], "cancel", actor="customer")
    assert (
        not_his.value.say == f"I couldn't find that: booking {booking['id']} not found."
    )
    with pytest.raises(NotFound):
        ben.bookings_of(customer["id"])
    with pytest.raises(BackendUnavailable):  # naming no one: refused (403)
        shared.bookings_of(customer["id"])
    assert ana.act(booking["id"], "cancel", actor="customer")["status"] == "cancelled"
