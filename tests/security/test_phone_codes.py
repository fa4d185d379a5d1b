"""Issue 18, item 4: phone codes cannot be guessed over time. Each try is
counted by one atomic UPDATE before the code is compared, so however many
guess at once no more than a code's five tries are checked; a number's wrong
codes in a row are capped for good (100, NIST SP 800-63B) and then linking it
is locked until an operator lifts it (console or CLI), with one text to the
number telling its owner; and strangers asking for codes to a number can
neither use up its owner's codes nor lock the owner out.

Through the real API (threads, each its own request and connection, on
SQLite and PostgreSQL); what was texted is read from the notify log
(``config.NOTIFY_LOG``)."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter

from click.testing import CliRunner
from sqlalchemy import select

from backend.db import utcnow
from backend.models import PhoneGuard, PhoneVerification
from backend.services.customers import MAX_CODE_ATTEMPTS
from backend.services.texting import MAX_CONSECUTIVE_FAILURES
from tests.helpers import console_login, csrf_token_of, make_admin

OWNERS_PHONE = "+13125550177"


def _texts(config, to: str | None = None) -> list[dict]:
    path = config.NOTIFY_LOG
    if not path.exists():
        return []
    sent = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [t for t in sent if to is None or t["to"] == to]


def _code_sent_to(config, phone: str) -> str:
    return re.search(r"\b(\d{6})\b", _texts(config, phone)[-1]["body"])[1]


def _customer(api, channel: str, external_id: str) -> int:
    response = api.post(
        "/api/v1/customers/identify",
        json={"channel": channel, "external_id": external_id},
    )
    return response.get_json()["id"]


def _ask(api, customer_id: int, phone: str = OWNERS_PHONE):
    return api.post(
        f"/api/v1/customers/{customer_id}/phone-link", json={"phone": phone}
    )


def _say(api, customer_id: int, code: str, phone: str = OWNERS_PHONE):
    return api.post(
        f"/api/v1/customers/{customer_id}/phone-link/confirm",
        json={"phone": phone, "code": code},
    )


def _wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


def _an_hour_passes(db) -> None:
    """The codes asked for so far are more than an hour old."""
    from datetime import timedelta

    db.rollback()
    for verification in db.scalars(select(PhoneVerification)):
        verification.created_at -= timedelta(hours=2)
    db.commit()


def _race(app, api_token, calls) -> list[tuple[int, str]]:
    """Each ``(path, body)`` posted by its own thread at the same moment:
    their statuses and error codes."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post(path, body):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            path, json=body, headers={"Authorization": f"Bearer {api_token}"}
        )
        error = (response.get_json() or {}).get("error") or {}
        with lock:
            results.append((response.status_code, error.get("code", "")))

    threads = [threading.Thread(target=post, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == len(calls)
    return results


def test_wrong_codes_said_at_once_are_checked_no_more_than_a_code_allows(
    app, api, api_token, config, db
):
    visitor = _customer(api, "webchat", "web-guesser")
    assert _ask(api, visitor).status_code == 202
    code = _code_sent_to(config, OWNERS_PHONE)
    path = f"/api/v1/customers/{visitor}/phone-link/confirm"
    guesses = [
        (path, {"phone": OWNERS_PHONE, "code": _wrong(code, n)}) for n in range(1, 21)
    ]
    results = _race(app, api_token, guesses)
    assert Counter(results) == {
        (422, "invalid"): MAX_CODE_ATTEMPTS,  # checked, and wrong
        (409, "too_many_attempts"): 20 - MAX_CODE_ATTEMPTS,  # not checked
    }
    db.rollback()
    [verification] = db.scalars(select(PhoneVerification)).all()
    assert verification.attempts == MAX_CODE_ATTEMPTS
    # the right code is not checked either, now
    assert _say(api, visitor, code).get_json()["error"]["code"] == "too_many_attempts"


def test_a_number_locks_after_100_wrong_codes_in_a_row_and_its_owner_is_told_once(
    api, client, config, db
):
    """Twenty strangers, five wrong codes each, an hour apart as the hourly
    limits allow: the hundredth locks the number. No code is checked or sent
    for it then, the owner is texted once, their own account still links,
    and an admin lifts the lock from the dashboard."""
    owner = _customer(api, "sms", OWNERS_PHONE)  # texted us: owns the number
    last = last_code = None
    for n in range(20):
        if n and n % 5 == 0:
            _an_hour_passes(db)
        stranger = _customer(api, "webchat", f"web-stranger-{n}")
        assert _ask(api, stranger).status_code == 202, n
        code = _code_sent_to(config, OWNERS_PHONE)
        if n == 19:  # one more stranger has a code waiting, the right one known
            _an_hour_passes(db)
            last = _customer(api, "webchat", "web-stranger-last")
            assert _ask(api, last).status_code == 202
            last_code = _code_sent_to(config, OWNERS_PHONE)
        for k in range(1, MAX_CODE_ATTEMPTS + 1):
            said = _say(api, stranger, _wrong(code, k))
            assert said.status_code == 422, (n, k, said.get_json())
    # locked: even the right code is not checked, and no code is sent
    refused = _say(api, last, last_code)
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"]["code"] == "phone_locked"
    db.rollback()
    guard = db.get(PhoneGuard, OWNERS_PHONE)
    assert guard.failures == MAX_CONSECUTIVE_FAILURES and guard.locked_at
    codes_before = len(_texts(config, OWNERS_PHONE))
    asked = _ask(api, _customer(api, "webchat", "web-late"))
    assert asked.status_code == 409
    assert asked.get_json()["error"]["code"] == "phone_locked"

    notices = [t for t in _texts(config, OWNERS_PHONE) if "locked" in t["body"]]
    assert len(notices) == 1
    assert "wrong code 100 times" in notices[0]["body"]
    assert len(_texts(config, OWNERS_PHONE)) == codes_before  # nothing more

    # the owner is not locked out of their own account
    assert _customer(api, "sms", OWNERS_PHONE) == owner
    assert _ask(api, owner).status_code == 202
    linked = _say(api, owner, _code_sent_to(config, OWNERS_PHONE))
    assert linked.status_code == 200 and linked.get_json()["id"] == owner

    # the console shows the lock, and an admin lifts it
    db.rollback()
    make_admin(db)
    console_login(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert f"Linking {OWNERS_PHONE} is locked after 100 wrong codes" in page
    lifted = client.post(
        "/admin/phone-locks/lift",
        data={"phone": OWNERS_PHONE, "csrf_token": csrf_token_of(page)},
    )
    assert lifted.status_code == 302
    db.rollback()
    db.expire_all()
    guard = db.get(PhoneGuard, OWNERS_PHONE)
    assert guard.failures == 0 and guard.locked_at is None
    assert guard.lifted_by == "admin:ops@example.com"
    _an_hour_passes(db)
    assert _ask(api, _customer(api, "webchat", "web-after")).status_code == 202


def test_at_the_cap_many_guessing_at_once_lock_the_number_once(
    app, api, api_token, config, db
):
    """Three wrong codes short of the cap, twenty guesses on four strangers'
    codes at once: exactly three are checked, and one text tells the owner."""
    db.add(PhoneGuard(phone=OWNERS_PHONE, failures=MAX_CONSECUTIVE_FAILURES - 3))
    db.commit()
    calls = []
    for n in range(4):
        stranger = _customer(api, "webchat", f"web-crowd-{n}")
        assert _ask(api, stranger).status_code == 202
        code = _code_sent_to(config, OWNERS_PHONE)
        path = f"/api/v1/customers/{stranger}/phone-link/confirm"
        calls += [
            (path, {"phone": OWNERS_PHONE, "code": _wrong(code, k)})
            for k in range(1, 6)
        ]
    results = _race(app, api_token, calls)
    assert Counter(status for status, _ in results) == {422: 3, 409: 17}
    db.rollback()
    assert db.get(PhoneGuard, OWNERS_PHONE).failures == MAX_CONSECUTIVE_FAILURES
    notices = [t for t in _texts(config, OWNERS_PHONE) if "locked" in t["body"]]
    assert len(notices) == 1


def test_strangers_asking_for_codes_cannot_use_up_the_owner_s(api, config):
    """Five strangers ask for codes to a number within the hour: a sixth is
    refused, but the number's owner still gets theirs."""
    owner = _customer(api, "sms", OWNERS_PHONE)
    for n in range(5):
        assert _ask(api, _customer(api, "webchat", f"web-s-{n}")).status_code == 202
    refused = _ask(api, _customer(api, "webchat", "web-s-6"))
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "too_many_codes"
    assert _ask(api, owner).status_code == 202
    assert _say(api, owner, _code_sent_to(config, OWNERS_PHONE)).status_code == 200


def test_an_operator_lifts_a_lock_from_the_command_line(api, config, db, monkeypatch):
    from backend.cli import main

    db.add(
        PhoneGuard(
            phone=OWNERS_PHONE, failures=MAX_CONSECUTIVE_FAILURES, locked_at=utcnow()
        )
    )
    db.commit()
    assert _ask(api, _customer(api, "webchat", "web-1")).status_code == 409
    monkeypatch.setenv("DATABASE_URL", config.DATABASE_URL)
    monkeypatch.setenv("BECKON_DATA_DIR", str(config.DATA_DIR))
    monkeypatch.setenv("BECKON_MODEL_CACHE_DIR", str(config.MODEL_CACHE_DIR))
    runner = CliRunner()
    listed = runner.invoke(main, ["phone", "locks"])
    assert listed.exit_code == 0 and OWNERS_PHONE in listed.output
    lifted = runner.invoke(main, ["phone", "unlock", "(312) 555-0177"])
    assert lifted.exit_code == 0, lifted.output
    assert f"{OWNERS_PHONE} may be linked again" in lifted.output
    again = runner.invoke(main, ["phone", "unlock", OWNERS_PHONE])
    assert again.exit_code == 1 and "is not locked" in again.output
    db.rollback()
    assert db.get(PhoneGuard, OWNERS_PHONE).lifted_by == "cli"
    assert _ask(api, _customer(api, "webchat", "web-2")).status_code == 202
