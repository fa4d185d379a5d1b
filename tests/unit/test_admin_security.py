"""The console's security: sessions, CSRF, cookie flags, the login rate limit
and the two roles."""

from __future__ import annotations

import threading

import pytest

from backend.app import create_app
from backend.config import Config
from backend.extensions import db as database
from tests.helpers import (
    ADMIN_PASSWORD,
    console_login,
    csrf_token_of,
    make_admin,
    make_provider,
)


@pytest.fixture
def admin(db):
    return make_admin(db)


def test_pages_need_a_login(client):
    for path in ("/admin/", "/admin/providers", "/admin/bookings", "/admin/customers"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")


def test_login_dashboard_and_logout_ends_the_session(client, admin):
    response = console_login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    stolen = client.get_cookie("session").value  # a copy of the signed cookie

    page = client.get("/admin/").get_data(as_text=True)
    response = client.post("/admin/logout", data={"csrf_token": csrf_token_of(page)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302

    # the old cookie, replayed, no longer opens the console
    client.set_cookie("session", stolen)
    assert client.get("/admin/").status_code == 302


def test_a_wrong_password_is_refused_with_one_message(client, admin):
    response = console_login(client, password="wrong password here")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    unknown = console_login(client, email="nobody@example.com")
    assert unknown.status_code == 401
    assert "Wrong email or password" in unknown.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(client, admin, db):
    provider = make_provider(db)
    # the login form itself
    response = client.post(
        "/admin/login", data={"email": admin.email, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 400
    console_login(client)
    for path in (
        f"/admin/providers/{provider.id}/deactivate",
        "/admin/logout",
        "/admin/api-keys",
    ):
        assert client.post(path, data={}).status_code == 400, path
        bad = client.post(path, data={"csrf_token": "forged"})
        assert bad.status_code == 400, path
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(type(provider), provider.id).active
    assert client.get("/admin/").status_code == 200  # still logged in


def test_the_sixth_bad_login_in_a_minute_gets_429(client, admin):
    for _ in range(5):
        assert console_login(client, password="not the password").status_code == 401
    response = console_login(client, password="not the password")
    assert response.status_code == 429
    # even the right password waits until the minute is over
    assert console_login(client).status_code == 429


def test_bad_logins_sent_at_once_are_counted_before_any_password_is_checked(
    app, admin, monkeypatch
):
    """Twelve wrong passwords posted together: five are checked, the rest get
    429 at once (a count after the answer would let them all through while
    scrypt runs)."""
    from backend.services import access

    checked = []
    check = access.authenticate_admin

    def counted_check(*args, **kwargs):
        checked.append(True)
        return check(*args, **kwargs)

    monkeypatch.setattr(access, "authenticate_admin", counted_check)
    clients = [app.test_client() for _ in range(12)]
    tokens = [
        csrf_token_of(c.get("/admin/login").get_data(as_text=True)) for c in clients
    ]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client, token):
        start.wait()
        response = client.post(
            "/admin/login",
            data={"email": admin.email, "password": "guess", "csrf_token": token},
        )
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=attempt, args=pair)
        for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 7
    refused = console_login(clients[0])  # the right password waits too
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len(checked) == 5


def test_good_logins_do_not_count_towards_the_limit(client, admin):
    for _ in range(7):
        assert console_login(client).status_code == 302
        page = client.get("/admin/").get_data(as_text=True)
        client.post("/admin/logout", data={"csrf_token": csrf_token_of(page)})


def test_cookie_flags_in_development(client, admin):
    response = console_login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on a developer's machine


def test_cookies_are_secure_outside_development(database_url, tmp_path, model_cache):
    config = Config.from_env(
        ENV="production",
        DATABASE_URL=database_url,
        SECRET_KEY="s" * 64,
        DATA_DIR=tmp_path / "var",
        MODEL_CACHE_DIR=model_cache,
    )
    app = create_app(config)
    try:
        with app.app_context():
            make_admin(database.session, email="prod@example.com")
        client = app.test_client()
        response = console_login(client, email="prod@example.com")
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        with app.app_context():
            from sqlalchemy import delete

            from backend.models import AdminUser

            database.session.execute(delete(AdminUser))
            database.session.commit()
        database.dispose(app)


def test_support_reads_but_cannot_change_providers_erase_or_manage_keys(client, db):
    make_admin(db, email="help@example.com", role="support")
    provider = make_provider(db)
    from tests.helpers import make_customer

    customer = make_customer(db)
    console_login(client, email="help@example.com")
    assert client.get(f"/admin/providers/{provider.id}").status_code == 200
    page = client.get(f"/admin/providers/{provider.id}").get_data(as_text=True)
    token = csrf_token_of(page)
    assert 'data-test="verify"' not in page  # the form is not even offered
    refused = {
        f"/admin/providers/{provider.id}/edit": {"name": "Renamed"},
        f"/admin/providers/{provider.id}/verify": {"identity": "y"},
        f"/admin/providers/{provider.id}/deactivate": {},
        f"/admin/customers/{customer.id}/erase": {"confirm": "ERASE"},
        "/admin/api-keys": {"name": "sneaky"},
    }
    for path, data in refused.items():
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
    assert client.get(f"/admin/providers/{provider.id}/edit").status_code == 403
    assert client.get("/admin/api-keys").status_code == 403
    assert 'href="/admin/api-keys"' not in page  # not offered in the menu
    db.rollback()  # a fresh look: a new transaction
    db.expire_all()
    assert db.get(type(provider), provider.id).active
    assert db.get(type(customer), customer.id).erased_at is None
    # what support does do: read customers and export them for a request
    assert client.get(f"/admin/customers/{customer.id}").status_code == 200
    assert client.get(f"/admin/customers/{customer.id}/export.json").status_code == 200


def test_an_admin_has_the_api_keys_in_the_menu(client, admin):
    console_login(client)
    assert 'href="/admin/api-keys"' in client.get("/admin/").get_data(as_text=True)


def test_a_deactivated_admin_is_logged_out(client, admin, db):
    console_login(client)
    assert client.get("/admin/").status_code == 200
    user = db.get(type(admin), admin.id)
    user.active = False
    db.commit()
    assert client.get("/admin/").status_code == 302


def test_next_only_goes_to_console_pages(client, admin):
    page = client.get("/admin/login?next=https://evil.example/")
    token = csrf_token_of(page.get_data(as_text=True))
    response = client.post(
        "/admin/login?next=https://evil.example/",
        data={"email": admin.email, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/"


def test_console_answers_carry_security_headers(client, admin):
    console_login(client)
    for path in ("/admin/login", "/admin/", "/admin/providers"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script>" not in response.get_data(as_text=True)  # no inline JS
    # the API and webhooks keep their own headers
    assert "Content-Security-Policy" not in client.get("/healthz").headers
