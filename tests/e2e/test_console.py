"""The admin console in a real browser: Playwright driving Debian's Chromium
headless (no browser download) against the app on a real port, on a seeded
marketplace. Each test saves a screenshot under tests/artifacts/console/.

Under CI (``CI=true``) a missing Chromium is an error, not a skip: .ci/run
installs it (``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.app import create_app
from backend.config import Config
from backend.extensions import db as database
from backend.migrate import upgrade
from backend.models import (
    Booking,
    BookingStatus,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    Provider,
    VerificationState,
)
from tests.helpers import ADMIN_PASSWORD, make_admin

CHROMIUM = os.environ.get("BECKON_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
EMAIL = "ops@example.com"

pytestmark = pytest.mark.slow

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)


@pytest.fixture(scope="module")
def served(tmp_path_factory, model_cache) -> Iterator[tuple[str, object]]:
    """The app on a real port over a seeded SQLite marketplace."""
    _need_chromium()
    from werkzeug.serving import make_server

    from backend.seed import seed_demo
    from benchmarks.console import seed_traffic

    root = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{root / 'beckon.sqlite3'}"
    upgrade(url)
    app = create_app(
        Config.from_env(
            DATABASE_URL=url, DATA_DIR=root / "var", MODEL_CACHE_DIR=model_cache
        )
    )
    with app.app_context():
        seed_demo(database.session, app.extensions["beckon.rules"], provider_count=60)
        database.session.commit()
        seed_traffic(database.session, 1500, days=30)
        make_admin(database.session, email=EMAIL)
        _a_live_conversation(database.session)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    database.dispose(app)


def _a_live_conversation(session) -> None:
    """A WhatsApp conversation the assistant could not answer: flagged."""
    from backend.schemas import IdentityInput
    from backend.services.customers import find_or_create_by_identity

    customer, _ = find_or_create_by_identity(
        session, IdentityInput(channel="whatsapp", external_id="whatsapp:+13125550777")
    )
    customer.display_name = "Maria Lopez"
    session.flush()
    conversation = Conversation(
        customer_id=customer.id,
        channel="whatsapp",
        status=ConversationStatus.BOT,
        flagged=True,
    )
    session.add(conversation)
    session.flush()
    for direction, text, intent, status in (
        (Direction.IN, "hi, my water heater is leaking", "find_provider", "answered"),
        (Direction.OUT, "Sorry to hear that! Which city are you in?", None, "sent"),
        (Direction.IN, "Chicago, near Wicker Park", "inform_city", "answered"),
        (
            Direction.OUT,
            "Here are three plumbers near you:\n1. Reyes Plumbing ★4.8\n"
            "2. Lakeview Pipe Co ★4.6\n3. North Side Drains ★4.5",
            None,
            "sent",
        ),
        (Direction.IN, "can someone call me? it's flooding", None, "held"),
    ):
        session.add(
            Message(
                conversation=conversation,
                direction=direction,
                channel="whatsapp",
                text=text,
                intent=intent,
                status=status,
                held_reason="assistant_unreachable" if status == "held" else None,
            )
        )
    session.commit()


@pytest.fixture(scope="module")
def browser(served):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, served):
    base, _ = served
    context = browser.new_context(
        base_url=base, viewport={"width": 1440, "height": 960}, accept_downloads=True
    )
    page = context.new_page()
    problems: list[str] = []  # script errors, CSP refusals, failed loads
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    # a form answered 400 or 401 is meant (errors shown); anything else is not
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )
    yield page
    context.close()
    assert problems == [], problems


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _log_in(page) -> None:
    page.goto("/admin/login")
    page.fill("#email", EMAIL)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def test_log_in_and_read_the_dashboard(page):
    page.goto("/admin/")
    assert "/admin/login" in page.url  # not without logging in
    page.fill("#email", EMAIL)
    page.fill("#password", "not my password")
    page.click("button[type=submit]")
    expect(page.get_by_text("wrong email or password")).to_be_visible()
    _shot(page, "00-login-refused")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    expect(page.locator("h1")).to_have_text("Dashboard")
    bookings = int(
        page.locator("[data-test=kpi-bookings]").inner_text().replace(",", "")
    )
    assert bookings > 100
    # the charts were drawn by the locally served Chart.js
    drawn = page.evaluate(
        "['perDay', 'categories', 'cities', 'followUps']"
        ".map((id) => !!Chart.getChart(id))"
    )
    assert drawn == [True, True, True, True]
    expect(page.locator("[data-test=funnel] .step")).to_have_count(5)
    _shot(page, "01-dashboard")
    page.click("text=7 days")
    page.wait_for_url(re.compile(r"days=7"))
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_verify_a_provider(page, served):
    _, app = served
    _log_in(page)
    page.goto("/admin/providers?verified=unverified&status=all")
    page.locator("table tbody tr a").first.click()
    name = page.locator("h1").inner_text().split("\n")[0].strip()
    # without the checks a trade cannot be verified: errors next to the boxes
    page.uncheck("#licence")
    page.uncheck("#insurance")
    page.check("#identity")
    page.select_option("#decision", "approve")
    page.click("[data-test=verify]")
    expect(page.locator("[data-error-for=licence]")).to_be_visible()
    _shot(page, "02-verify-refused")
    page.check("#licence")
    page.check("#insurance")
    page.check("#identity")
    page.fill("#notes", "Licence PL-2231 and COI checked on the state site.")
    page.click("[data-test=verify]")
    expect(page.get_by_text("is verified")).to_be_visible()
    expect(page.locator("[data-test=verified-by]")).to_contain_text("checked by")
    _shot(page, "03-provider-verified")
    provider_id = int(page.url.rstrip("/").split("/")[-1])
    with app.app_context():
        provider = database.session.get(Provider, provider_id)
        assert provider.verification_state == VerificationState.VERIFIED
        assert provider.verification_notes["by"] == EMAIL
        assert provider.name.startswith(name[:10])


def test_take_over_a_conversation_and_reply(page, served):
    _, app = served
    _log_in(page)
    page.goto("/admin/conversations?view=flagged")
    page.get_by_role("link", name="Maria Lopez").click()
    expect(page.get_by_text("assistant unreachable")).to_be_visible()
    page.click("[data-test=take-over]")
    expect(page.locator("[data-test=taken-over]")).to_be_visible()
    page.fill(
        "#text", "Hi Maria, this is Sam from Beckon. A plumber can be there at 3pm."
    )
    page.click("[data-test=send-reply]")
    bubble = page.locator(".msg.out.person .bubble").last
    expect(bubble).to_contain_text("Sam from Beckon")
    _shot(page, "04-conversation-taken-over")

    # the worker sends it on WhatsApp, to the customer's identity
    from backend import tasks

    with app.app_context():
        reply_id, conversation_id = database.session.execute(
            select(Message.id, Message.conversation_id).where(
                Message.text.like("Hi Maria%")
            )
        ).one()
    # (the task runs in an app context of its own, as in the worker)
    assert tasks.send_console_reply(reply_id) == "logged"
    sent = app.extensions["beckon.notifiers"].log.sent[-1]
    assert sent["to"] == "whatsapp:+13125550777" and sent["channel"] == "whatsapp"

    page.click("[data-test=hand-back]")
    expect(page.get_by_text("the assistant answers again")).to_be_visible()
    with app.app_context():
        conversation = database.session.get(Conversation, conversation_id)
        assert conversation.status == ConversationStatus.BOT


def test_export_a_customer(page, served, tmp_path):
    _log_in(page)
    page.goto("/admin/customers?q=Maria")
    page.get_by_role("link", name="Maria Lopez").click()
    expect(page.locator("h1")).to_contain_text("Maria Lopez")
    with page.expect_download() as info:
        page.click("[data-test=export]")
    path = tmp_path / "export.json"
    info.value.save_as(path)
    document = json.loads(path.read_text())
    assert set(document) >= {
        "profile",
        "identities",
        "bookings",
        "reviews",
        "conversations",
    }
    assert document["profile"]["display_name"] == "Maria Lopez"
    assert document["identities"][0]["external_id"] == "whatsapp:+13125550777"
    assert document["conversations"][0]["messages"][0]["text"].startswith("hi, my")
    _shot(page, "05-customer")


def test_cancel_a_booking_with_a_reason(page, served):
    """Cancel asks why and confirms first; without a reason it says so next
    to the box; with one the booking is cancelled and the reason kept."""
    _, app = served
    _log_in(page)
    page.goto("/admin/bookings?status=confirmed&sort=starts&dir=desc")
    page.locator("table tbody tr a").first.click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^Booking #"))
    booking_id = int(page.url.rstrip("/").split("/")[-1])
    page.click("[data-test=cancel] summary")
    panel = page.locator("[data-test=cancel] .confirm-panel")
    expect(panel).to_be_visible()
    page.click("[data-test=confirm-cancel]")  # no reason yet
    expect(page.locator("[data-error-for=cancel-reason]")).to_have_text(
        re.compile("say why")
    )
    expect(panel).to_be_visible()  # still open, with the error in it
    page.fill("#cancel-reason", "Customer called: the leak fixed itself.")
    _shot(page, "08-cancel-confirm")
    page.click("[data-test=confirm-cancel]")
    expect(page.get_by_text(f"Booking {booking_id} is cancelled.")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("cancelled")
    expect(page.locator(".facts")).to_contain_text("the leak fixed itself")
    _shot(page, "09-booking-cancelled")
    with app.app_context():
        booking = database.session.get(Booking, booking_id)
        assert booking.status == BookingStatus.CANCELLED
        assert booking.cancel_reason == "Customer called: the leak fixed itself."


def test_log_out(page):
    _log_in(page)
    page.goto("/admin/bookings")
    _shot(page, "06-bookings")
    page.click("[data-test=logout]")
    page.wait_for_url(re.compile(r"/admin/login"))
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    _shot(page, "07-logged-out")
    page.goto("/admin/")
    assert "/admin/login" in page.url


def test_the_other_pages(page, served):
    """Providers, a booking, a calendar, reviews, follow-ups, API keys: each
    renders in the browser (screenshots to look at)."""
    _, app = served
    _log_in(page)
    page.goto("/admin/providers?sort=rating&dir=desc")
    expect(page.locator("table tbody tr")).to_have_count(25)
    _shot(page, "10-providers")
    page.goto("/admin/bookings?status=confirmed")
    page.locator("table tbody tr a").first.click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^Booking #"))
    _shot(page, "11-booking")
    page.locator(".sub a").first.click()  # its provider
    page.click("text=Calendar")
    expect(page.locator(".cal .day")).to_have_count(7)
    page.click("text=Next ›")
    expect(page.locator(".cal .day")).to_have_count(7)
    _shot(page, "12-calendar")
    page.goto("/admin/reviews?q=late")
    expect(page.locator("table tbody tr").first).to_contain_text("Late")
    _shot(page, "13-reviews")
    page.goto("/admin/follow-ups?queue=failed")
    expect(page.get_by_role("button", name="Retry").first).to_be_visible()
    _shot(page, "14-follow-ups-failed")
    page.goto("/admin/api-keys")
    page.fill("#name", "partner-acme")
    page.click("text=Create key")  # without a scope: refused, saying why
    expect(page.get_by_text("choose at least one scope")).to_be_visible()
    page.get_by_label("read: catalogue, providers, matches, records by id").check()
    page.click("text=Create key")
    expect(page.locator("[data-test=new-key]")).to_have_text(re.compile(r"^bk_"))
    _shot(page, "15-api-keys")
    page.goto("/admin/conversations")
    _shot(page, "16-conversations")
    # an Alexa conversation: nothing typed can reach it, so no takeover
    page.goto("/admin/conversations?channel=alexa")
    page.locator("table tbody tr a").first.click()
    expect(page.locator("[data-test=no-takeover]")).to_contain_text("Alexa")
    expect(page.locator("[data-test=take-over]")).to_have_count(0)
    _shot(page, "16b-conversation-no-takeover")
    page.goto("/admin/customers")
    _shot(page, "17-customers")
