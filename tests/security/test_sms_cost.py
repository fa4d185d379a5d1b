"""Issue 18, item 1 (and 12 d): no one can make Beckon text any number at our
cost. Phone codes go only to the allowed countries (by the number's country
as libphonenumber reads it), within an hourly budget of all texts and one per
country, counted before any send even when many ask at once, with an alert
on the console's dashboard when a budget is spent; web chat's per-visitor
limit holds across the token's renewals; a text that fails after the code
was committed is a clear 502/503 (or a sentence, by voice), leaves no usable
code and gives its place in the budget back.

Everything goes through the real endpoints; what was texted is read from the
notify log (``config.NOTIFY_LOG``), and Twilio is stood in at its HTTP
boundary where a send must fail."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from backend.models import PhoneVerification
from tests.fakes.rasa_rest import FakeRasa
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import config_for_test, console_login, make_admin

ACCOUNT, TOKEN, SENDER = "AC" + "2" * 32, "twilio-test-token", "+13125550000"
DIALOGFLOW = "Bearer dialogflow-test-token"
ANTIGUA = "+12684641234"  # +1, like the US, but a Caribbean (premium) number
UK = "+447400123456"
CANADA = "+15062345678"


@pytest.fixture
def rasa():
    fake = FakeRasa().start()
    yield fake
    fake.stop()


@pytest.fixture
def twilio():
    fake = FakeTwilio(ACCOUNT, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def config(database_url, tmp_path, model_cache, request, rasa, twilio):
    """The test's settings (``request.param``); ``twilio=True``: texts go
    through the Twilio stand-in instead of the log notifier."""
    settings = dict(getattr(request, "param", {}))
    if settings.pop("twilio", False):
        settings |= {
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_SMS_FROM": SENDER,
            "TWILIO_API_BASE_URL": twilio.url,
        }
    return config_for_test(
        database_url,
        tmp_path,
        model_cache,
        SECRET_KEY="sms-cost-test-secret",
        RASA_URL=rasa.url,
        DIALOGFLOW_AUTH_VALUE=DIALOGFLOW,
        **settings,
    )


def _texts(config) -> list[dict]:
    """Everything the log notifier recorded as sent."""
    path = config.NOTIFY_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _visitor(api, n) -> int:
    response = api.post(
        "/api/v1/customers/identify",
        json={"channel": "webchat", "external_id": f"web-visitor-{n}"},
    )
    return response.get_json()["id"]


def _ask(api, customer_id, phone):
    return api.post(
        f"/api/v1/customers/{customer_id}/phone-link", json={"phone": phone}
    )


def _codes_kept(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(PhoneVerification))


def _settings(**values):
    return pytest.mark.parametrize("config", [values], indirect=True, ids=["settings"])


# ---------------------------------------------------------------- where


def test_a_number_of_a_country_not_allowed_is_refused_and_nothing_is_sent(
    api, config, db
):
    assert config.SMS_COUNTRIES == ("US",)  # the operator's region by default
    visitor = _visitor(api, 1)
    for phone, country in ((UK, "United Kingdom"), (ANTIGUA, "Antigua & Barbuda")):
        refused = _ask(api, visitor, phone)
        assert refused.status_code == 422, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == "phone_country_not_served"
        assert error["details"][0]["field"] == "phone"
        assert "only to numbers in United States" in error["message"]
        assert country in error["message"]
    assert _texts(config) == []
    assert _codes_kept(db) == 0
    assert _ask(api, visitor, "+13125550160").status_code == 202


@_settings(SMS_COUNTRIES="US GB")
def test_an_operator_may_allow_more_countries(api, config):
    """BECKON_SMS_COUNTRIES lists them; the rest stay refused."""
    assert config.SMS_COUNTRIES == ("US", "GB")
    visitor = _visitor(api, 2)
    assert _ask(api, visitor, UK).status_code == 202
    assert _ask(api, visitor, ANTIGUA).status_code == 422
    assert [t["to"] for t in _texts(config)] == [UK]


# ---------------------------------------------------------------- how many


@_settings(SMS_HOURLY_BUDGET=3)
def test_the_hourly_budget_is_counted_before_any_send(api, config, db):
    """Three codes an hour in all: three visitors get theirs, the fourth is
    refused and nothing is texted (each visitor and number is under its own
    limits: only the budget holds them)."""
    for n in range(3):
        assert _ask(api, _visitor(api, n), f"+1312555017{n}").status_code == 202
    refused = _ask(api, _visitor(api, 9), "+13125550179")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "texts_budget_spent"
    assert "try again after" in refused.get_json()["error"]["message"]
    assert len(_texts(config)) == 3
    assert _codes_kept(db) == 3


@_settings(SMS_COUNTRIES="US CA", SMS_COUNTRY_HOURLY_BUDGET=2)
def test_each_country_has_its_own_hourly_budget(api, config, db):
    assert _ask(api, _visitor(api, 1), CANADA).status_code == 202
    assert _ask(api, _visitor(api, 2), "+15062345679").status_code == 202
    refused = _ask(api, _visitor(api, 3), "+15062345670")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "texts_budget_spent"
    assert "to Canada" in refused.get_json()["error"]["message"]
    # the United States' budget is not Canada's
    assert _ask(api, _visitor(api, 4), "+13125550171").status_code == 202
    assert [t["to"][:3] for t in _texts(config)] == ["+15", "+15", "+13"]


@_settings(SMS_HOURLY_BUDGET=3)
def test_many_asking_at_once_never_overshoot_the_budget(app, api, api_token, config):
    """Twelve visitors ask at the same moment (each its own request and
    database connection): exactly the budget's three codes go."""
    ids = [_visitor(api, n) for n in range(12)]
    barrier = threading.Barrier(len(ids))
    statuses: list[int] = []
    lock = threading.Lock()

    def ask(n: int, customer_id: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/customers/{customer_id}/phone-link",
            json={"phone": f"+131255501{n + 10}"},
            headers={"Authorization": f"Bearer {api_token}"},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=ask, args=(n, c)) for n, c in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(statuses) == {202: 3, 409: 9}
    assert len(_texts(config)) == 3


@_settings(SMS_HOURLY_BUDGET=2)
def test_the_console_s_dashboard_says_when_a_budget_is_spent(api, client, db):
    make_admin(db)
    console_login(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'data-test="text-alerts"' not in page
    for n in range(3):
        _ask(api, _visitor(api, n), f"+1312555017{n}")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'data-test="text-alerts"' in page
    assert "Phone-code texts: the hourly budget of 2 was spent" in page


# ---------------------------------------------------------------- web chat


def test_a_visitor_s_limit_holds_however_often_the_token_is_signed_again(
    client, rasa, monkeypatch
):
    """Each answer brings the token signed anew, and a token signed a second
    later is another string: the limit counts the visitor inside it."""
    from itsdangerous import TimestampSigner

    from webhooks.webchat import POSTS_PER_VISITOR

    clock = iter(range(1_900_000_000, 1_900_010_000))  # a new second each signing
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: next(clock))
    page = client.get("/chat").get_data(as_text=True)
    token = re.search(r'\|\| "([^"]+)"', page)[1]
    allowed = int(POSTS_PER_VISITOR.split()[0])
    statuses, tokens = [], {token}
    for n in range(allowed + 1):
        response = client.post(
            "/webhooks/webchat", json={"sender": token, "message": f"hello {n}"}
        )
        statuses.append(response.status_code)
        token = response.headers.get("X-Visitor-Token", token)
        tokens.add(token)
    assert len(tokens) > allowed  # every answer a token never seen before
    assert statuses == [200] * allowed + [429]
    assert len(rasa.received) == allowed


# ---------------------------------------------------------------- failed sends


@_settings(twilio=True, SMS_HOURLY_BUDGET=1)
def test_a_text_that_fails_is_a_clear_503_and_asking_again_counts_once(api, twilio, db):
    """Twilio answers 500: 503 with Retry-After, the code kept cannot be
    used, and the one text of the hour's budget is still there for the
    second ask, which is sent."""
    visitor = _visitor(api, 1)
    twilio.fail_next = 1
    failed = _ask(api, visitor, "+13125550161")
    assert failed.status_code == 503, failed.get_data(as_text=True)
    assert failed.get_json()["error"]["code"] == "code_not_sent"
    assert failed.headers["Retry-After"] == "60"
    assert "ask for a new one" in failed.get_json()["error"]["message"]
    db.rollback()
    [kept] = db.scalars(select(PhoneVerification)).all()
    assert kept.consumed_at is not None  # no code waits that was never sent
    confirm = api.post(
        f"/api/v1/customers/{visitor}/phone-link/confirm",
        json={"phone": "+13125550161", "code": "123456"},
    )
    assert confirm.get_json()["error"]["code"] == "code_expired"
    again = _ask(api, visitor, "+13125550161")
    assert again.status_code == 202, again.get_json()  # its budget was given back
    assert [m["to"] for m in twilio.messages] == ["+13125550161"]


@_settings(twilio=True, SMS_HOURLY_BUDGET=1)
def test_a_number_the_sms_provider_refuses_is_a_clear_502(api, twilio):
    twilio.unsubscribed.add("+13125550162")  # Twilio's 21610: it will never go
    refused = _ask(api, _visitor(api, 1), "+13125550162")
    assert refused.status_code == 502
    assert refused.get_json()["error"]["code"] == "code_not_sent"
    assert "refused the number" in refused.get_json()["error"]["message"]
    assert twilio.messages == []
    assert _ask(api, _visitor(api, 2), "+13125550163").status_code == 202


@_settings(twilio=True, SMS_HOURLY_BUDGET=1)
def test_by_voice_a_text_that_fails_is_said_and_asking_again_works(client, twilio, db):
    """The same through the voice desk (a Dialogflow ES caller): a sentence,
    not an apology for an error, and the budget of one text still there."""
    from tests.integration.test_dialogflow_webhook import EsCaller

    caller = EsCaller(client)
    caller.say("LinkPhone", "link my phone")
    twilio.fail_next = 1
    heard = caller.say("ChooseOption", "312 555 0164", number=3125550164.0)
    assert heard.startswith("Sorry, I couldn't text a code to that number.")
    db.rollback()
    assert db.scalars(select(PhoneVerification)).one().consumed_at is not None
    caller.say("LinkPhone", "link my phone")
    heard = caller.say("ChooseOption", "312 555 0164", number=3125550164.0)
    assert heard.startswith("I've texted a six-digit code to the number ending 0164.")
    assert [m["to"] for m in twilio.messages] == ["+13125550164"]
