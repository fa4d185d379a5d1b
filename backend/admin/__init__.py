"""The admin console: a server-rendered web app for running the marketplace.

Sessions by Flask-Login in a signed cookie (Secure outside development,
HttpOnly, SameSite=Lax) that also carries the admin's session token, so
logging out ends the session for good; a CSRF token on every form
(Flask-WTF); the login rate-limited per address (Flask-Limiter); two roles,
``admin`` and ``support`` (support cannot change providers, erase data or
manage API keys). Every change goes through a service call.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response

from backend.admin.blueprint import admin_bp


def init_admin(app: Flask) -> None:
    """Bind the console's extensions to ``app`` and mount it at /admin."""
    from backend.extensions import csrf, limiter, login_manager

    config = app.config["BECKON"]
    app.config.update(
        SESSION_COOKIE_SECURE=config.ENV != "development",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.ENV != "development",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # CSRF is checked on the console's requests only (the API and the
        # webhooks authenticate otherwise): see auth.check_csrf
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        RATELIMIT_STORAGE_URI=config.RATELIMIT_STORAGE_URI,
        # any 60 seconds, not the clock's minutes: a burst across a minute's
        # turn is counted as one
        RATELIMIT_STRATEGY="moving-window",
        RATELIMIT_HEADERS_ENABLED=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Log in to use the console."
    login_manager.login_message_category = "info"

    from backend.admin import (  # noqa: F401 - registers the views
        auth,
        bookings,
        conversations,
        customers,
        dashboard,
        operations,
        providers,
    )

    app.register_blueprint(admin_bp)


#: Scripts, styles and fonts from this app only; no framing; forms post here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@admin_bp.after_request
def security_headers(response: Response) -> Response:
    """Every console answer: a strict CSP, no framing, no sniffing; pages
    (personal data) are not kept in caches."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype in ("text/html", "application/json", "text/csv"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
