"""Logging in and out, the signed-in user, CSRF and role checks."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import UserMixin, current_user, login_required, login_user
from flask_login import logout_user as _logout_user
from flask_wtf.csrf import CSRFError

from backend.admin.blueprint import admin_bp
from backend.admin.forms import LoginForm
from backend.bodies import too_large_message
from backend.extensions import csrf, db, limiter, login_manager
from backend.models import AdminRole, AdminUser
from backend.services import access
from backend.services.errors import Unauthorized

#: Failed logins allowed per address in any 60 seconds; the next gets 429.
#: Each account also counts its own (``access.note_failed_login``): after
#: ``access.FAILED_LOGINS_BEFORE_LOCK`` in a row, from any addresses, it is
#: locked for a while or until another admin unlocks it.
FAILED_LOGINS_ALLOWED = 5
LOGIN_WINDOW_SECONDS = 60
#: Good logins an address may make in a window (a cap on the credit they give).
GOOD_LOGINS_COUNTED = 1000


@dataclass
class ConsoleUser(UserMixin):
    """The signed-in admin, detached from any database session."""

    admin_id: int
    email: str
    role: AdminRole
    token: str

    def get_id(self) -> str:
        # the session token is part of the id: a new token (logout) ends it
        return f"{self.admin_id}:{self.token}"

    @property
    def is_admin(self) -> bool:
        return self.role == AdminRole.ADMIN

    @property
    def initials(self) -> str:
        return self.email[:2].upper()


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    admin_id, _, token = user_id.partition(":")
    if not admin_id.isdigit() or not token:
        return None
    user = db.session.get(AdminUser, int(admin_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return ConsoleUser(user.id, user.email, user.role, token)


@admin_bp.before_request
def check_csrf() -> None:
    """Every form the console receives carries its CSRF token."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@admin_bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    return (
        render_template(
            "error.html",
            title="This form expired",
            message="The page was open too long or came from elsewhere. "
            "Go back, reload it and try again.",
        ),
        400,
    )


def _too_many(retry_after: int):
    """The login page again (429), with how long to wait."""
    form = LoginForm()
    form.email.data = request.form.get("email", "")
    return (
        render_template(
            "login.html",
            form=form,
            error="Too many attempts. Wait a minute and try again.",
        ),
        429,
        {"Retry-After": str(retry_after)},
    )


def admin_only(view: Callable) -> Callable:
    """Only the ``admin`` role may do this (support gets 403)."""

    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@admin_bp.errorhandler(403)
def forbidden(error: Any):
    return (
        render_template(
            "error.html",
            title="Not allowed for your role",
            message="Support can read everything and answer customers; "
            "changing providers, erasing data and API keys need an admin.",
        ),
        403,
    )


@admin_bp.errorhandler(404)
def not_found(error: Any):
    return (
        render_template(
            "error.html",
            title="Not found",
            message="That page or record does not exist (any more).",
        ),
        404,
    )


@admin_bp.errorhandler(413)
def too_large(error: Any):
    return (
        render_template(
            "error.html",
            title="Too much at once",
            message=too_large_message(request.max_content_length).capitalize()
            + ". Send less and try again.",
        ),
        413,
    )


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/admin"):
            return target
    return url_for("admin.dashboard")


class LoginThrottle:
    """At most FAILED_LOGINS_ALLOWED failed logins per address in any
    LOGIN_WINDOW_SECONDS, counted before the password is checked.

    Every try takes an entry in a moving window at once (atomic in the
    limiter's storage: memory, or Redis shared by the web processes), so tries
    sent together cannot all pass while scrypt runs; a good login is counted
    in a second window, and each one there allows one more try: tries minus
    good logins, the failures, never exceed the limit.
    """

    def __init__(self, address: str) -> None:
        self.tries = f"beckon/login-tries/{address}"
        self.good = f"beckon/login-good/{address}"

    def take(self) -> bool:
        """Count a try; False (not counted) when the address must wait."""
        storage = limiter.storage
        _, good = storage.get_moving_window(
            self.good, GOOD_LOGINS_COUNTED, LOGIN_WINDOW_SECONDS
        )
        return storage.acquire_entry(
            self.tries, FAILED_LOGINS_ALLOWED + good, LOGIN_WINDOW_SECONDS
        )

    def succeeded(self) -> None:
        """The try was a good login: it does not count as a failure."""
        limiter.storage.acquire_entry(
            self.good, GOOD_LOGINS_COUNTED, LOGIN_WINDOW_SECONDS
        )

    def wait_seconds(self) -> int:
        """When the oldest try in the window leaves it."""
        oldest, count = limiter.storage.get_moving_window(
            self.tries, 1, LOGIN_WINDOW_SECONDS
        )
        if not count:
            return 1
        return max(1, math.ceil(oldest + LOGIN_WINDOW_SECONDS - time.time()))


@admin_bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    if request.method == "POST":
        throttle = LoginThrottle(get_remote_address())
        if not throttle.take():
            return _too_many(throttle.wait_seconds())
        if form.validate_on_submit():
            try:
                user = access.authenticate_admin(
                    db.session, form.email.data, form.password.data
                )
            except Unauthorized as exc:
                db.session.rollback()
                # the account's count, in a transaction of its own: kept
                access.note_failed_login(db.session, form.email.data)
                db.session.commit()
                return render_template("login.html", form=form, error=exc.message), 401
            db.session.commit()
            throttle.succeeded()
            session.clear()  # no state from before the login survives it
            login_user(ConsoleUser(user.id, user.email, user.role, user.session_token))
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@admin_bp.post("/logout")
@login_required
def logout():
    access.end_sessions(db.session, current_user.admin_id)
    db.session.commit()
    _logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("admin.login"))
