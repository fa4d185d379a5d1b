"""The dashboard: the marketplace at a glance over a date range."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from backend.admin.auth import admin_only
from backend.admin.blueprint import admin_bp
from backend.admin.common import CHANNEL_NAMES, press
from backend.admin.stats import Dashboard, Range
from backend.admin.stats import dashboard as figures
from backend.db import utcnow
from backend.extensions import db
from backend.services import phones, texting

PRESETS = (7, 30, 90)
MAX_DAYS = 366
#: The figures of a range are reused this long (the whole range is read
#: again after it, or at once with ?fresh=1).
CACHE_SECONDS = 30
_cache_lock = threading.Lock()


def cached_figures(rng: Range, fresh: bool = False) -> Dashboard:
    """The dashboard's figures for ``rng``, at most CACHE_SECONDS old."""
    cache: dict[tuple[date, date], tuple[float, Dashboard]]
    cache = current_app.extensions.setdefault("beckon.dashboard_cache", {})
    key = (rng.start, rng.end)
    now = time.monotonic()
    with _cache_lock:
        hit = cache.get(key)
    if hit and not fresh and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    data = figures(db.session, rng)
    db.session.commit()  # the rollup of the days it summed
    with _cache_lock:
        for old in [k for k, (at, _) in cache.items() if now - at >= CACHE_SECONDS]:
            del cache[old]
        cache[key] = (now, data)
    return data


def chosen_range() -> tuple[Range, str | None]:
    """The range of ``?from=&to=`` or ``?days=`` (default the last 30 days),
    and what was wrong with the input, if anything."""
    today = utcnow().date()
    error = None
    try:
        days = int(request.args.get("days", 30))
    except ValueError:
        days, error = 30, "days must be a number"
    days = min(max(days, 1), MAX_DAYS)
    start, end = today - timedelta(days=days - 1), today
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    if raw_from or raw_to:
        try:
            start = date.fromisoformat(raw_from) if raw_from else start
            end = date.fromisoformat(raw_to) if raw_to else end
        except ValueError:
            error = "dates are written YYYY-MM-DD"
        else:
            if end < start:
                error, start, end = "the range ends before it starts", end, start
            if (end - start).days >= MAX_DAYS:
                error = f"a range is at most {MAX_DAYS} days"
                start = end - timedelta(days=MAX_DAYS - 1)
    return Range(start, end), error


@dataclass(frozen=True)
class Alert:
    """A line of the dashboard's alert: what happened, and the number to
    unlock if it is a lock."""

    text: str
    phone: str | None = None


def text_alerts() -> list[Alert]:
    """The phone-code budgets spent in the last day and the numbers whose
    linking is locked: signs that someone is spending our texts or guessing
    codes, which an operator should see first."""
    rules = current_app.extensions["beckon.text_rules"]
    alerts = []
    for spent in texting.spent_budgets(db.session, rules):
        whose = f" to {phones.region_name(spent.country)}" if spent.country else ""
        until = spent.hour + timedelta(hours=1)
        alerts.append(
            Alert(
                f"Phone-code texts{whose}: the hourly budget of {spent.cap} was "
                f"spent between {spent.hour:%b %-d, %H:%M} and {until:%H:%M} UTC; "
                "codes asked for then were refused."
            )
        )
    for guard in texting.locked_numbers(db.session):
        alerts.append(
            Alert(
                f"Linking {guard.phone} is locked after {guard.failures} wrong "
                f"codes in a row (since {guard.locked_at:%b %-d, %H:%M} UTC); "
                "its owner was texted.",
                phone=guard.phone,
            )
        )
    db.session.commit()  # spent_budgets drops rows older than it keeps
    return alerts


@admin_bp.post("/phone-locks/lift")
@admin_only
def phone_lock_lift():
    """Unlock linking a number locked by wrong codes (the dashboard's alert)."""
    phone = (request.form.get("phone") or "").strip()
    press(
        lambda: texting.lift_lock(db.session, phone, by=f"admin:{current_user.email}"),
        lambda _: f"{phone} may be linked again.",
    )
    return redirect(url_for("admin.dashboard"))


@admin_bp.get("/")
@login_required
def dashboard():
    rng, error = chosen_range()
    data = cached_figures(rng, fresh=request.args.get("fresh") == "1")
    preset = None
    if not request.args.get("from") and not request.args.get("to"):
        preset = (rng.end - rng.start).days + 1
    return render_template(
        "dashboard.html",
        data=data,
        rng=rng,
        error=error,
        presets=PRESETS,
        channel_names=CHANNEL_NAMES,
        preset=preset,
        alerts=text_alerts(),
    )
