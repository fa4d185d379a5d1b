"""Issue 18, item 12: the smaller findings, a test (or a few) for each.

(a) a console account is locked after failed logins from any address, one
    answer for every reason, lifted after a time or by another admin;
(b) console lists build their links from the arguments they name, so
    ``?endpoint=`` (or ``?_external=1&_scheme=javascript``) is never a 500
    nor a link elsewhere;
(c) a provider's check-in answers alike for a job that does not exist and
    another provider's (voice and the assistant's actions);
(d) is another helper's;
(e) ``beckon run`` in development says loudly what that means; the image
    defaults to production;
(f) a long text is read as a carrier keyword in one bounded pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.attributes_manager import AttributesManager
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from click.testing import CliRunner
from sqlalchemy import select, update

from backend.db import make_engine, make_session_factory, utcnow
from backend.models import AdminUser, Booking, Channel, Customer, FollowUp
from backend.schemas import BookingCreate, ReviewCreate
from backend.services import access, bookings, followups, inbound, reviews
from backend.services.errors import NotFound
from backend.services.rules import BookingRules, FollowUpRules
from tests.fakes.http import send_json
from tests.helpers import (
    ADMIN_PASSWORD,
    csrf_token_of,
    make_admin,
    make_customer,
    make_provider,
)
from voice_skills import speech
from voice_skills.alexa.handlers.base import TurnContext, TurnContextInterceptor
from voice_skills.alexa.handlers.check_in import ProviderCheckInIntentHandler
from voice_skills.desk import VoiceDesk

REPO = Path(__file__).resolve().parents[2]
OPS, HELP = "ops@example.com", "help@example.com"


def _login(client, email: str, password: str, address: str = "10.0.0.1"):
    """One try at the console's login, from ``address``."""
    page = client.get("/admin/login", environ_base={"REMOTE_ADDR": address})
    token = csrf_token_of(page.get_data(as_text=True))
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def _error(response) -> str:
    found = re.search(r'role="alert">([^<]*)<', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    return found.group(1)


def _account(db, email: str) -> AdminUser:
    db.expire_all()
    user = db.scalar(select(AdminUser).where(AdminUser.email == email))
    db.commit()
    return user


# ------------------------------------------------- (a) per-account lockout


def test_failed_logins_from_many_addresses_lock_the_account(app, db):
    make_admin(db, OPS)
    client = app.test_client()
    # each try from an address of its own: the per-address throttle never
    # sees more than one
    answers = {
        _error(_login(client, OPS, "not the password", f"10.0.1.{n}"))
        for n in range(access.FAILED_LOGINS_BEFORE_LOCK)
    }
    account = _account(db, OPS)
    assert account.locked_until is not None and account.locked_until > utcnow()
    # the right password is refused now, in the words an unknown email gets
    right = _login(client, OPS, ADMIN_PASSWORD, "10.0.2.1")
    assert right.status_code == 401
    unknown = _login(client, "nobody@example.com", ADMIN_PASSWORD, "10.0.2.2")
    assert unknown.status_code == 401
    assert _error(right) == _error(unknown) and answers == {_error(unknown)}
    assert "/admin/login" in client.get("/admin/").headers["Location"]


def test_a_good_login_resets_the_count_and_the_lock_lifts_after_its_time(app, db):
    make_admin(db, OPS)
    client = app.test_client()
    for n in range(access.FAILED_LOGINS_BEFORE_LOCK - 1):
        _login(client, OPS, "not the password", f"10.0.3.{n}")
    assert _login(client, OPS, ADMIN_PASSWORD, "10.0.3.200").status_code == 302
    assert _account(db, OPS).failed_logins == 0
    client.post("/admin/logout", data={"csrf_token": _csrf(client, "/admin/")})
    for n in range(access.FAILED_LOGINS_BEFORE_LOCK):
        _login(client, OPS, "not the password", f"10.0.4.{n}")
    assert _login(client, OPS, ADMIN_PASSWORD, "10.0.4.200").status_code == 401
    # the lock's time passes
    db.execute(
        update(AdminUser)
        .where(AdminUser.email == OPS)
        .values(locked_until=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    assert _login(client, OPS, ADMIN_PASSWORD, "10.0.4.201").status_code == 302


def _csrf(client, path: str) -> str:
    return csrf_token_of(client.get(path).get_data(as_text=True))


def test_another_admin_unlocks_an_account_and_support_cannot(app, db):
    make_admin(db, OPS)
    make_admin(db, HELP, role="support")
    make_admin(db, "second@example.com")
    client = app.test_client()
    for n in range(access.FAILED_LOGINS_BEFORE_LOCK):
        _login(client, OPS, "not the password", f"10.0.5.{n}")
    locked = _account(db, OPS)

    support = app.test_client()
    assert _login(support, HELP, ADMIN_PASSWORD).status_code == 302
    assert support.get("/admin/admins").status_code == 403
    refused = support.post(
        f"/admin/admins/{locked.id}/unlock",
        data={"csrf_token": _csrf(support, "/admin/")},
    )
    assert refused.status_code == 403

    other = app.test_client()
    assert _login(other, "second@example.com", ADMIN_PASSWORD).status_code == 302
    page = other.get("/admin/admins").get_data(as_text=True)
    assert f'data-admin="{OPS}"' in page and "locked" in page
    unlocked = other.post(
        f"/admin/admins/{locked.id}/unlock",
        data={"csrf_token": _csrf(other, "/admin/admins")},
    )
    assert unlocked.status_code == 302
    account = _account(db, OPS)
    assert account.locked_until is None and account.failed_logins == 0
    assert _login(client, OPS, ADMIN_PASSWORD, "10.0.6.1").status_code == 302


def test_failures_at_once_are_all_counted(app, db, database_url):
    """Each failure is one UPDATE: none is lost to another's read-modify-write."""
    make_admin(db, OPS)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    tries = access.FAILED_LOGINS_BEFORE_LOCK - 1
    start = threading.Barrier(tries)

    def fail_once() -> None:
        with factory() as session:
            start.wait()
            access.note_failed_login(session, OPS)
            session.commit()

    threads = [threading.Thread(target=fail_once) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert _account(db, OPS).failed_logins == tries


def test_the_command_line_unlocks_an_account(app, db, config, monkeypatch):
    from backend.cli import main

    make_admin(db, OPS)
    for _ in range(access.FAILED_LOGINS_BEFORE_LOCK):
        access.note_failed_login(db, OPS)
    db.commit()
    assert _account(db, OPS).locked_until is not None
    monkeypatch.setenv("DATABASE_URL", config.DATABASE_URL)
    monkeypatch.setenv("BECKON_DATA_DIR", str(config.DATA_DIR))
    monkeypatch.setenv("BECKON_MODEL_CACHE_DIR", str(config.MODEL_CACHE_DIR))
    result = CliRunner().invoke(main, ["admin", "unlock", OPS])
    assert result.exit_code == 0, result.output
    assert _account(db, OPS).locked_until is None
    missing = CliRunner().invoke(main, ["admin", "unlock", "nobody@example.com"])
    assert missing.exit_code == 1 and "no admin" in missing.output


# ------------------------------------------------- (b) paging links

#: What ``url_for(**request.args)`` took for its own.
HOSTILE = (
    "endpoint=admin.logout&_external=1&_scheme=javascript&_anchor=x"
    "&review_id=999&follow_up_id=999&key_id=1&values=x"
)
LISTS = (
    "/admin/",
    "/admin/providers",
    "/admin/bookings",
    "/admin/conversations",
    "/admin/customers",
    "/admin/reviews",
    "/admin/follow-ups?queue=failed",
    "/admin/api-keys",
)


@pytest.fixture
def console(app, db):
    make_admin(db, OPS)
    client = app.test_client()
    assert _login(client, OPS, ADMIN_PASSWORD).status_code == 302
    return client


@pytest.fixture
def a_review_and_a_failed_follow_up(db):
    """So the lists have a moderation form and a retry form to address."""
    provider = make_provider(db)
    customer = make_customer(db)
    start = (datetime.now(UTC) - timedelta(days=2)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    booking = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=start,
            confirm=True,
        ),
        BookingRules(minimum_notice_minutes=0),
        follow_ups=FollowUpRules(),
        now=start - timedelta(days=1),
    )
    db.commit()
    bookings.transition(db, booking.id, "complete", now=start + timedelta(hours=2))
    reviews.leave_review(db, booking.id, ReviewCreate(stars=4, text="on time"))
    row = db.scalars(select(FollowUp).where(FollowUp.booking_id == booking.id)).first()
    followups.fail(db, row.id, "a test failure")
    db.commit()


@pytest.mark.usefixtures("a_review_and_a_failed_follow_up")
def test_list_links_keep_only_their_own_arguments(console):
    for path in LISTS:
        joiner = "&" if "?" in path else "?"
        response = console.get(f"{path}{joiner}{HOSTILE}&q=")
        assert response.status_code == 200, (path, response.status_code)
        page = response.get_data(as_text=True)
        links = re.findall(r'(?:href|action)="([^"]*)"', page)
        for link in links:
            assert not link.startswith(("javascript", "//")), (path, link)
            assert "endpoint=" not in link and "_scheme" not in link, (path, link)
            assert "review_id=" not in link and "follow_up_id=" not in link, link


@pytest.mark.usefixtures("a_review_and_a_failed_follow_up")
def test_list_links_keep_the_filters_and_the_sort(console):
    page = console.get(
        "/admin/reviews?stars=4&q=time&sort=stars&dir=asc&bogus=1"
    ).get_data(as_text=True)
    moderate = re.search(r'action="(/admin/reviews/\d+/moderate[^"]*)"', page)
    assert moderate and "stars=4" in moderate[1] and "q=time" in moderate[1]
    assert "sort=stars" in moderate[1] and "bogus" not in moderate[1]
    retry = console.get("/admin/follow-ups?queue=failed&kind=x&bogus=1").get_data(
        as_text=True
    )
    found = re.search(r'action="(/admin/follow-ups/\d+/retry[^"]*)"', retry)
    assert found and "queue=failed" in found[1] and "bogus" not in found[1]


# ------------------------------------------------- (c) check-in enumeration

OTHER_PROVIDER, CALLER = "+13125550101", "+13125550177"


def _desk(db) -> VoiceDesk:
    return VoiceDesk(
        db,
        channel=Channel.ALEXA,
        index=None,  # type: ignore[arg-type] - a check-in matches nothing
        rules=BookingRules(),
        follow_ups=FollowUpRules(),
        notifiers=None,  # type: ignore[arg-type] - nor sends anything
        region="US",
    )


@pytest.fixture
def someone_elses_job(db) -> Booking:
    provider = make_provider(db, phone=OTHER_PROVIDER)
    customer = make_customer(db, phone="+13125550199")
    booking = bookings.create_booking(
        db,
        BookingCreate(
            provider_id=provider.id,
            customer_id=customer.id,
            start=datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            + timedelta(days=3),
            confirm=True,
        ),
        BookingRules(minimum_notice_minutes=0),
    )
    db.commit()
    return booking


def _linked_caller(db) -> Customer:
    """A caller whose voice account is linked to a phone: no provider's."""
    customer = make_customer(db, phone=CALLER)
    customer.phone = CALLER
    db.commit()
    return customer


def test_the_desk_refuses_a_missing_job_and_someone_elses_alike(db, someone_elses_job):
    caller = _linked_caller(db)
    missing = someone_elses_job.id + 1000
    refusals = []
    for job in (someone_elses_job.id, missing):
        with pytest.raises(NotFound) as refused:
            _desk(db).check_in(caller, job, "arrived")
        refusals.append(
            (refused.value.code, refused.value.message.replace(str(job), "N"))
        )
        db.rollback()
    assert refusals[0] == refusals[1]
    assert db.get(Booking, someone_elses_job.id).status.value == "confirmed"


def _check_in_request(job: int) -> RequestEnvelope:
    doc = json.loads(
        (REPO / "tests/fixtures/alexa/alexaapp_intent_request_slot.json").read_text()
    )
    doc["session"]["attributes"] = {}
    doc["request"]["intent"] = {
        "name": "ProviderCheckInIntent",
        "confirmationStatus": "NONE",
        "slots": {
            name: {"name": name, "value": value, "confirmationStatus": "NONE"}
            for name, value in (("job", str(job)), ("step", "arrived"))
        },
    }
    return DefaultSerializer().deserialize(json.dumps(doc), RequestEnvelope)


def test_alexa_says_the_same_for_a_missing_job_and_someone_elses(db, someone_elses_job):
    caller = _linked_caller(db)
    said = []
    for job in (someone_elses_job.id, someone_elses_job.id + 1000):
        envelope = _check_in_request(job)
        handler_input = HandlerInput(
            request_envelope=envelope,
            attributes_manager=AttributesManager(request_envelope=envelope),
            context=TurnContext(_desk(db), caller),
        )
        TurnContextInterceptor().process(handler_input)
        response = ProviderCheckInIntentHandler().handle(handler_input)
        said.append(response.output_speech.ssml.replace(str(job), "N"))
        db.rollback()
    assert said[0] == said[1]
    assert "of yours" in said[0]
    assert speech.say("check_in_not_yours", number="N") in said[0]


BOT_PYTHON = REPO / "bot" / ".venv" / "bin" / "python"
BOOKINGS = {"42": {"id": 42, "provider_id": 7}, "44": {"id": 44, "provider_id": 8}}
#: the tracker's sender (tests/fixtures/trackers/check_in_from_a_phone.json)
#: is provider 8, by phone
PROVIDERS = {
    "7": {"id": 7, "phone": "+13125550199"},
    "8": {"id": 8, "phone": "+13125550101"},
}


class _BookingsApi:
    """Beckon's /api/v1 bookings and providers, as the check-in form reads them."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0].removeprefix("/api/v1")
                kind, _, key = path.strip("/").partition("/")
                found = {"bookings": BOOKINGS, "providers": PROVIDERS}.get(kind, {})
                if key in found:
                    return send_json(self, 200, found[key])
                error = {"code": "not_found", "message": f"no {path}", "details": None}
                return send_json(self, 404, {"error": error})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.bot
@pytest.mark.skipif(
    not BOT_PYTHON.exists(), reason="the bot's environment: make bot-install"
)
def test_the_assistant_answers_alike_for_a_missing_job_and_someone_elses():
    api = _BookingsApi()
    try:
        cases = [
            {
                "action": "actions.check_in.ValidateCheckInForm",
                "tracker": "check_in_from_a_phone",
                "slot": "booking_ref",
                "value": number,
            }
            for number in ("42", "43", "44")  # someone else's, missing, theirs
        ]
        result = subprocess.run(
            [str(BOT_PYTHON), str(REPO / "tests" / "bot" / "run_actions.py")],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            env=os.environ
            | {
                "BECKON_API_URL": api.url,
                "BECKON_API_KEY": "test-key",
                "BECKON_API_TIMEOUT": "5",
                "PYTHONPATH": str(REPO / "bot"),
            },
            cwd=REPO / "bot",
            timeout=120,
        )
    finally:
        api.close()
    assert result.returncode == 0, result.stderr
    elses, missing, theirs = json.loads(result.stdout)
    told = [
        ([m["text"].replace(n, "N") for m in case["messages"]], case["events"])
        for case, n in ((elses, "42"), (missing, "43"))
    ]
    assert told[0] == told[1]
    assert "of yours" in told[0][0][0]
    assert theirs["events"] == {"booking_ref": "44"}


# ------------------------------------------------- (e) development, loudly


def test_beckon_run_says_loudly_that_it_is_development(
    tmp_path, model_cache, monkeypatch
):
    from backend.cli import main

    for name in ("BECKON_ENV", "SECRET_KEY", "DATABASE_URL", "BECKON_NOTIFY_LOG"):
        # set, then unset: whatever the run puts there (it keeps its generated
        # SECRET_KEY in the environment) is undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("BECKON_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("BECKON_MODEL_CACHE_DIR", str(model_cache))
    served: list[list[str]] = []

    def execvp(file: str, argv: list[str]) -> None:  # the OS's exec, stood in
        served.append(argv)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execvp", execvp)
    result = CliRunner().invoke(main, ["run", "--web-only", "--port", "8999"])
    assert result.exit_code == 0, result.output
    assert served and "gunicorn" in served[0]
    said = result.output
    assert "BECKON_ENV=development" in said
    assert "not Secure" in said
    assert "SECRET_KEY is not set" in said
    assert "BECKON_ENV=production" in said
    # said first, before anything is served
    assert said.index("BECKON_ENV=development") < said.index("Beckon on http://")


def test_production_gets_no_banner(config):
    from backend.cli import development_banner

    config.ENV = "production"
    assert development_banner(config) is None


def test_the_image_defaults_to_production():
    dockerfile = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    env = " ".join(re.findall(r"^ENV (.+)$", dockerfile, re.MULTILINE))
    assert re.search(r"(?:^|\s)BECKON_ENV=production(?:\s|$)", env), env


# ------------------------------------------------- (f) keywords on long texts


def test_a_keyword_is_still_read_with_its_stops_and_spaces():
    assert inbound.keyword_of("  Stop. ") == "stop"
    assert inbound.keyword_of("STOP!!") == "stop"
    assert inbound.keyword_of("help ?\u00a0") == "help"
    assert inbound.keyword_of(" . ") == ""


def test_a_long_text_is_never_read_as_a_keyword():
    """100 KB ending in stops is words for the assistant, not an opt-out (a
    carrier keyword is a short message); the bound also makes every text one
    short pass, however its spaces and stops fall."""
    assert inbound.keyword_of("STOP" + "!" * 100_000) == ""
    # a long run of spaces and stops that does not end the text: quadratic
    # for the old ``[\s.!?,;:]+$`` (tried from every start), bounded here
    assert inbound.keyword_of("a" + " ." * 50_000 + "b") == ""
    assert inbound.keyword_of(" ." * 50_000 + "stop") == ""
    near = "stop" + " ." * ((inbound.KEYWORD_MAX_CHARS - 4) // 2)
    assert len(near) <= inbound.KEYWORD_MAX_CHARS
    assert inbound.keyword_of(near) == "stop"
